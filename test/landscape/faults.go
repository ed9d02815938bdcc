package landscape

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FaultOptions configure the fault rounds that run once the example shoot is up (faults.go, scenarios.go).
type FaultOptions struct {
	// Rounds is the number of rounds of every scenario and fault; zero runs none.
	Rounds int
	// Seed chooses where each fault hits; round r (from 0) uses Seed+r, so a failing round is replayed with
	// Rounds=1 and its seed.
	Seed int64
}

// fault is something the round does to a component while a scenario step runs.
type fault string

const (
	faultExtension   fault = "SIGKILL the extension"
	faultDriver      fault = "SIGKILL the driver (MCM sidecar)"
	faultMCM         fault = "SIGKILL machine-controller-manager"
	faultOperator    fault = "SIGKILL metal-operator"
	faultBMC         fault = "SIGKILL one BMC mock"
	faultSeedAPI     fault = "restart the seed's kube-apiserver"
	faultMetalOutage fault = "stop the metal API's kube-apiserver for 60s"
	faultNeverNode   fault = "a Server that never becomes a Node"
	faultBadConfigs  fault = "bad provider configs"
)

// timedFaults hit a step of the phase the schedule gives them, after a seeded delay.
var timedFaults = []fault{faultExtension, faultDriver, faultMCM, faultOperator, faultBMC, faultSeedAPI}

// phase is the part of a shoot's life a step belongs to.
type phase string

const (
	phaseCreate phase = "create"
	phaseRoll   phase = "roll"
	phaseDelete phase = "delete"
)

var phases = []phase{phaseCreate, phaseRoll, phaseDelete}

// injection is one fault scheduled for a step.
type injection struct {
	fault fault
	step  string
	delay time.Duration
}

// faultResult is a row of the table at the end of the run.
type faultResult struct {
	round      int
	seed       int64
	fault      fault
	step       string
	phase      phase
	detail     string
	injectedAt time.Duration
	converged  time.Duration
	checks     invariantCounts
}

// schedule places every timed fault on a step: the fault's phase rotates with the round (so that three rounds put
// each fault into create, roll and delete), the step of that phase and the delay come from the seed. The metal API
// outage always hits the image roll of the example shoot.
func schedule(round int, seed int64, steps []*step) []injection {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(round)))
	var out []injection
	for i, f := range timedFaults {
		want := phases[(i+round)%len(phases)]
		var candidates []string
		for _, s := range steps {
			if s.phase == want && !s.noFaults {
				candidates = append(candidates, s.name)
			}
		}
		out = append(out, injection{
			fault: f,
			step:  candidates[rng.IntN(len(candidates))],
			delay: time.Duration(rng.IntN(8000)) * time.Millisecond,
		})
	}
	out = append(out, injection{fault: faultMetalOutage, step: stepRoll, delay: time.Duration(2000+rng.IntN(8000)) * time.Millisecond})
	return out
}

// faultRounds runs the scenarios of scenarios.go Rounds times with the faults scheduled into them and prints the
// table of faults, their time to converge and the invariant checks. It fails on the first step that does not
// converge and on any invariant violation.
func (l *landscape) faultRounds(ctx context.Context) error {
	inv := newInvariants(l)
	invCtx, stopInvariants := context.WithCancel(ctx)
	invDone := make(chan struct{})
	go func() {
		defer close(invDone)
		inv.run(invCtx)
	}()
	defer func() {
		stopInvariants()
		<-invDone
	}()
	var results []faultResult
	for round := range l.opts.Faults.Rounds {
		seed := l.opts.Faults.Seed + int64(round)
		l.step(fmt.Sprintf("fault round %d of %d (seed %d)", round+1, l.opts.Faults.Rounds, seed))
		rs, err := l.faultRound(ctx, inv, round, seed)
		results = append(results, rs...)
		if err != nil {
			l.printFaultTable(results, inv)
			return fmt.Errorf("fault round %d (seed %d; replay with Rounds=1 and this seed): %w", round+1, seed, err)
		}
	}
	l.printFaultTable(results, inv)
	if err := inv.err(); err != nil {
		return err
	}
	return nil
}

// inject runs a fault and returns what it hit.
func (l *landscape) inject(ctx context.Context, f fault, rng *rand.Rand) (string, error) {
	switch f {
	case faultExtension:
		return "extension process", l.killExtension(ctx)
	case faultDriver:
		return l.killMCMContainer(ctx, "machine-controller-manager-provider-metal")
	case faultMCM:
		return l.killMCMContainer(ctx, "machine-controller-manager")
	case faultOperator:
		return "metal-operator process", l.metal.KillOperator(ctx)
	case faultBMC:
		i := rng.IntN(len(l.metal.BMCs))
		return l.metal.BMCs[i], l.metal.KillBMC(ctx, i)
	case faultSeedAPI:
		return "seed kube-apiserver", l.restartAPIServer(ctx, "seed", 0)
	case faultMetalOutage:
		return "metal API kube-apiserver, 60s", l.restartAPIServer(ctx, "metal", 60*time.Second)
	}
	return "", fmt.Errorf("unknown fault %q", f)
}

// killExtension SIGKILLs the extension and starts it again.
func (l *landscape) killExtension(ctx context.Context) error {
	p := l.takeProc(func(p *process) bool { return p.name == "extension" })
	if p == nil {
		return errors.New("the extension is not running")
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
	return l.startExtension(ctx)
}

// killMCMContainer SIGKILLs a container of the example shoot's machine-controller-manager pod through the pid file
// of the seed's process kubelet; the kubelet restarts it.
func (l *landscape) killMCMContainer(ctx context.Context, container string) (string, error) {
	var hit string
	// The container may be between two runs (a fault before restarted it): it is killed once it runs again.
	err := l.retry(ctx, "killing "+container, func() error {
		var err error
		hit, err = l.killMCMContainerOnce(ctx, container)
		return err
	})
	return hit, err
}

func (l *landscape) killMCMContainerOnce(ctx context.Context, container string) (string, error) {
	pods := &corev1.PodList{}
	if err := l.seed.List(ctx, pods, client.InNamespace(seedNamespace), client.MatchingLabels{"role": "machine-controller-manager"}); err != nil {
		return "", err
	}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning || !containerRunning(pod, container) {
			continue
		}
		return pod.Name + "/" + container, l.killPodContainer(l.path("pods"), pod, container)
	}
	return "", fmt.Errorf("no running machine-controller-manager pod in %s", seedNamespace)
}

func containerRunning(pod *corev1.Pod, container string) bool {
	for _, status := range pod.Status.ContainerStatuses {
		if status.Name == container {
			return status.State.Running != nil
		}
	}
	return false
}

// restartAPIServer SIGKILLs the seed's or the metal API's kube-apiserver and starts it again after down.
func (l *landscape) restartAPIServer(ctx context.Context, name string, down time.Duration) error {
	cfg := l.seedCluster.config
	if name == "metal" {
		cfg = l.metal.Config
	}
	// A kube-apiserver an earlier fault restarted is a process of the landscape, which must not take its end for a crash.
	if pid, err := apiServerPIDOf(cfg); err == nil {
		l.takeProc(func(p *process) bool { return p.cmd.Process.Pid == pid })
	}
	stopped, err := stopAPIServer(name, cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	l.apiServerRestarts++
	p, err := stopped.start(ctx, l.opts.StateDir, l.apiServerRestarts)
	if p != nil {
		l.addProc(p)
	}
	return err
}

// runInjections starts the step's faults after their delays; the returned function waits for them and reports
// what each hit and when it was done.
func (l *landscape) runInjections(ctx context.Context, injections []injection, rng *rand.Rand, started time.Time) func() ([]faultResult, error) {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []faultResult
		errs    []error
	)
	// Faults of one step run one after the other in the order of their delays, so that two restarts of the same
	// component do not interleave.
	slices.SortFunc(injections, func(a, b injection) int { return int(a.delay - b.delay) })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, in := range injections {
			if wait := time.Until(started.Add(in.delay)); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
			at := time.Since(started)
			detail, err := l.inject(ctx, in.fault, rng)
			l.step(fmt.Sprintf("fault: %s (%s) at +%.1fs of step %q", in.fault, detail, at.Seconds(), in.step))
			mu.Lock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", in.fault, err))
			}
			results = append(results, faultResult{fault: in.fault, step: in.step, detail: detail, injectedAt: at})
			mu.Unlock()
		}
	}()
	return func() ([]faultResult, error) {
		wg.Wait()
		return results, errors.Join(errs...)
	}
}

// printFaultTable prints one row per fault: where it hit, how long the step took to converge after it, and the
// invariant checks made meanwhile.
func (l *landscape) printFaultTable(results []faultResult, inv *invariants) {
	total := inv.counts()
	l.step(fmt.Sprintf("fault table: %d faults; invariants checked %d times over the whole run (%d ServerClaims, %d Servers, %d Machines seen), %d violations; machine-controller-manager outside a roll's bounds in %d checks",
		len(results), total.checks, total.claims, total.servers, total.machines, total.violations, total.excursions))
	_, _ = fmt.Fprintf(l.opts.Out, "          %-5s %-6s %-45s %-22s %-7s %-40s %9s %10s %7s %7s %5s %5s\n",
		"round", "seed", "fault", "step", "phase", "hit", "at", "converged", "checks", "claims", "viol", "mcm")
	for _, r := range results {
		_, _ = fmt.Fprintf(l.opts.Out, "          %-5d %-6d %-45s %-22s %-7s %-40s %8.1fs %9.1fs %7d %7d %5d %5d\n",
			r.round+1, r.seed, r.fault, r.step, r.phase, truncate(r.detail, 40), r.injectedAt.Seconds(), r.converged.Seconds(),
			r.checks.checks, r.checks.claims, r.checks.violations, r.checks.excursions)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// stepNames lists the names of steps, for messages.
func stepNames(steps []*step) string {
	var names []string
	for _, s := range steps {
		names = append(names, s.name)
	}
	return strings.Join(names, ", ")
}
