package landscape

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
)

// The steps of a fault round, in order. The example shoot (A) has MachinesPerZone machines per zone and the
// metal API one spare Server per zone; the second shoot (B, secondshoot.go) has one machine per zone.
const (
	// stepScaleUp scales A to every Server (removing the short pool first): the zones' last free Servers.
	stepScaleUp = "scale-up"
	// stepCompete creates B while A holds every Server: B's machines say ResourceExhausted.
	stepCompete = "compete"
	// stepScaleDown scales A back: its Servers are released and powered off, and B catches up.
	stepScaleDown = "scale-down"
	// stepBeyond scales A beyond the free Servers: its surplus machines say ResourceExhausted, nothing else breaks.
	stepBeyond = "beyond"
	// stepDeleteRolling rolls B to another image and deletes it while the roll is in progress: A's surplus machines
	// come up on B's Servers.
	stepDeleteRolling = "delete-while-rolling"
	// stepHibernate hibernates A (pools to zero): every Server is Available and off.
	stepHibernate = "hibernate"
	// stepWakeUp wakes A up; one of its Servers powers on but never becomes a Node and is replaced after the
	// machine creation timeout.
	stepWakeUp = "wake-up"
	// stepRoll rolls A to another image while the metal API is down for 60 s.
	stepRoll = "roll"
	// stepBadConfigs writes invalid provider configs into A's Worker, ControlPlane and Infrastructure.
	stepBadConfigs = "bad-configs"
)

// creationTimeout is the machine creation timeout of A's pool from the hibernation on, so that the Server that
// never becomes a Node is replaced within the round.
const creationTimeout = 2 * time.Minute

// step is one scenario step of a fault round.
type step struct {
	name  string
	phase phase
	// noFaults keeps the timed faults out of the step (the hibernation scales machine-controller-manager to zero,
	// the wake-up has the never-a-Node fault).
	noFaults bool
	// builtIn is the fault the step itself makes, which the table lists too.
	builtIn fault
	// run changes the landscape; it may wait for intermediate states itself.
	run func(ctx context.Context) error
	// goal describes and done decides convergence.
	goal string
	done func(ctx context.Context, s roundState) (bool, error)
	// check runs once the step converged.
	check func(ctx context.Context) (string, error)
}

// roundShoot is what a fault round sees of one shoot.
type roundShoot struct {
	worker     string
	machines   map[machinev1alpha1.MachinePhase]int
	live       int
	exhausted  int
	claims     int
	bound      int
	nodesReady int
	// classes counts the live machines per MachineClass.
	classes map[string]int
}

// roundState is a snapshot of the shoots and the Servers.
type roundState struct {
	shoots map[string]*roundShoot
	// available counts the Servers that are Available and powered off.
	available, servers int
}

func (s roundState) String() string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(s.shoots)) {
		r := s.shoots[name]
		var phases []string
		for _, p := range slices.Sorted(maps.Keys(r.machines)) {
			phases = append(phases, fmt.Sprintf("%s:%d", p, r.machines[p]))
		}
		line := fmt.Sprintf("%s worker=%s machines [%s] claims %d (bound %d) nodes ready %d", name, r.worker, strings.Join(phases, " "), r.claims, r.bound, r.nodesReady)
		if r.exhausted > 0 {
			line += fmt.Sprintf(" ResourceExhausted %d", r.exhausted)
		}
		parts = append(parts, line)
	}
	return strings.Join(parts, " | ") + fmt.Sprintf(" | Servers available and off %d of %d", s.available, s.servers)
}

// shootLabel names a shoot in the round's lines.
func shootLabel(t *shootEnv) string {
	if t.label == "" {
		return "A"
	}
	return t.label
}

func (l *landscape) observeRound(ctx context.Context) (roundState, error) {
	s := roundState{shoots: map[string]*roundShoot{}}
	for _, t := range l.shootEnvs() {
		r, err := l.observeShoot(ctx, t)
		if err != nil {
			return s, err
		}
		s.shoots[shootLabel(t)] = r
	}
	servers := &metalv1alpha1.ServerList{}
	if err := l.metal.Client().List(ctx, servers); err != nil {
		return s, err
	}
	s.servers = len(servers.Items)
	for _, server := range servers.Items {
		if server.Status.State == metalv1alpha1.ServerStateAvailable && server.Status.PowerState == metalv1alpha1.ServerOffPowerState {
			s.available++
		}
	}
	return s, nil
}

func (l *landscape) observeShoot(ctx context.Context, t *shootEnv) (*roundShoot, error) {
	r := &roundShoot{machines: map[machinev1alpha1.MachinePhase]int{}, classes: map[string]int{}}
	worker := workerOf(t.seedNamespace)
	if err := l.seed.Get(ctx, client.ObjectKeyFromObject(worker), worker); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return nil, err
		}
		r.worker = "gone"
	} else {
		r.worker = lastOperationState(worker.Status.LastOperation)
		if worker.Annotations["gardener.cloud/operation"] != "" {
			r.worker = "Pending"
		}
	}
	machines := &machinev1alpha1.MachineList{}
	if err := l.seed.List(ctx, machines, client.InNamespace(t.seedNamespace)); err != nil {
		return nil, err
	}
	for _, m := range machines.Items {
		r.machines[m.Status.CurrentStatus.Phase]++
		if m.DeletionTimestamp == nil {
			r.live++
			r.classes[m.Spec.Class.Name]++
		}
		if m.Status.LastOperation.ErrorCode == "ResourceExhausted" {
			r.exhausted++
		}
	}
	claims := &metalv1alpha1.ServerClaimList{}
	if err := l.metal.Client().List(ctx, claims, client.InNamespace(t.metalNamespace)); err != nil {
		return nil, err
	}
	r.claims = len(claims.Items)
	for _, c := range claims.Items {
		if c.Spec.ServerRef != nil {
			r.bound++
		}
	}
	nodes := &corev1.NodeList{}
	if err := t.client.List(ctx, nodes); err != nil {
		return nil, err
	}
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				r.nodesReady++
			}
		}
	}
	return r, nil
}

// running says that a shoot's Worker succeeded and it runs exactly n machines with Ready Nodes and nothing else.
func (r *roundShoot) running(n int) bool {
	return r != nil && r.worker == "Succeeded" && r.machines[machinev1alpha1.MachineRunning] == n && r.live == n &&
		len(r.machines) == 1 && r.claims == n && r.bound == n && r.nodesReady == n
}

// faultRound runs the steps of one round with the faults the seed places into them.
func (l *landscape) faultRound(ctx context.Context, inv *invariants, round int, seed int64) ([]faultResult, error) {
	steps := l.roundSteps(round, inv)
	injections := schedule(round, seed, steps)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	var results []faultResult
	for _, st := range steps {
		var mine []injection
		for _, in := range injections {
			if in.step == st.name {
				mine = append(mine, in)
			}
		}
		rs, err := l.runStep(ctx, inv, st, mine, rng)
		for i := range rs {
			rs[i].round, rs[i].seed, rs[i].phase = round, seed, st.phase
		}
		results = append(results, rs...)
		if err != nil {
			return results, fmt.Errorf("step %q (%s): %w", st.name, st.goal, err)
		}
	}
	return results, nil
}

// runStep runs a step with its faults, waits until it converged and checks the settled invariants.
func (l *landscape) runStep(ctx context.Context, inv *invariants, st *step, injections []injection, rng *rand.Rand) ([]faultResult, error) {
	var names []string
	for _, in := range injections {
		names = append(names, fmt.Sprintf("%s at +%.1fs", in.fault, in.delay.Seconds()))
	}
	l.step(fmt.Sprintf("step %s (%s): %s; faults: %s", st.name, st.phase, st.goal, orNone(names)))
	started := time.Now()
	before := inv.counts()
	faultCtx, cancelFaults := context.WithCancel(ctx)
	defer cancelFaults()
	wait := l.runInjections(faultCtx, injections, rng, started)
	runErr := st.run(ctx)
	results, faultErr := wait()
	if st.builtIn != "" {
		results = append(results, faultResult{fault: st.builtIn, step: st.name, detail: "made by the step"})
	}
	if err := errors.Join(runErr, faultErr); err != nil {
		return results, err
	}
	if err := l.watchRound(ctx, st.goal, st.done); err != nil {
		return results, err
	}
	converged := time.Since(started)
	// Settled: what converged has no orphans, allowing the controllers half a minute for their last deletions.
	var checked int
	settleCtx, cancelSettle := context.WithTimeout(ctx, 30*time.Second)
	defer cancelSettle()
	err := l.retryUntil(settleCtx, func() error {
		var err error
		checked, err = inv.settled(ctx)
		return err
	})
	if err != nil {
		return results, fmt.Errorf("after the step converged: %w", err)
	}
	detail := ""
	if st.check != nil {
		if detail, err = st.check(ctx); err != nil {
			return results, err
		}
	}
	counts := inv.counts().minus(before)
	for i := range results {
		results[i].converged = converged - results[i].injectedAt
		results[i].checks = counts
	}
	if counts.excursions > 0 {
		detail += fmt.Sprintf("; machine-controller-manager was outside the roll's bounds in %d checks (listed above)", counts.excursions)
	}
	l.step(fmt.Sprintf("step %s converged after %.1fs; %d objects have their owners; invariants checked %d times (%d claims, %d Servers), %d violations%s",
		st.name, converged.Seconds(), checked, counts.checks, counts.claims, counts.servers, counts.violations, prefixed("; ", strings.TrimPrefix(detail, "; "))))
	if counts.violations > 0 {
		return results, inv.err()
	}
	return results, nil
}

func orNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// watchRound prints each new round state until done holds, bounded by twice the landscape's timeout (a step may
// wait for a creation timeout and a 60 s outage).
func (l *landscape) watchRound(ctx context.Context, goal string, done func(context.Context, roundState) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, 2*l.opts.Timeout)
	defer cancel()
	var last string
	retried := map[string]time.Time{}
	for {
		for _, p := range l.processes() {
			if err := p.running(); err != nil {
				return err
			}
		}
		s, err := l.observeRound(ctx)
		if err == nil {
			if line := s.String(); line != last {
				l.step(line)
				last = line
			}
			l.retryFailedWorkers(ctx, s, retried)
			ok, err := done(ctx, s)
			if err != nil {
				return err
			}
			if ok {
				l.step(goal)
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not happen within %s (last: %s); logs in %s", goal, 2*l.opts.Timeout, last, l.opts.StateDir)
		case <-time.After(time.Second):
		}
	}
}

// retryFailedWorkers does what gardenlet's shoot flow does when its wait for the Worker fails: it deploys the
// Worker again (the reconcile annotation), every 20 s while the Worker's last operation is an error. Without it a
// Worker that failed while its machines waited for Servers would wait for the controller's growing backoff.
func (l *landscape) retryFailedWorkers(ctx context.Context, s roundState, retried map[string]time.Time) {
	for _, t := range l.shootEnvs() {
		r := s.shoots[shootLabel(t)]
		if r == nil || (r.worker != "Error" && r.worker != "Failed") || time.Since(retried[t.seedNamespace]) < 20*time.Second {
			continue
		}
		retried[t.seedNamespace] = time.Now()
		worker := workerOf(t.seedNamespace)
		patch := client.MergeFrom(worker.DeepCopy())
		metav1.SetMetaDataAnnotation(&worker.ObjectMeta, v1beta1constants.GardenerOperation, v1beta1constants.GardenerOperationReconcile)
		if err := l.seed.Patch(ctx, worker, patch); err == nil {
			l.logf("gardenlet: Worker %s is %s; deployed again", t.seedNamespace, r.worker)
		}
	}
}

// roundSteps are the steps of a round. The image of the rolls alternates between the CloudProfile's versions.
func (l *landscape) roundSteps(round int, inv *invariants) []*step {
	base := l.opts.MachinesPerZone * len(zones)
	all := len(zones) * (l.opts.MachinesPerZone + 1)
	other := len(zones)
	image := imageVersions[(round+1)%len(imageVersions)]
	var (
		rollClasses map[string]int
		rollServers map[string]string
		never       = &neverNode{}
	)
	a := func(s roundState) *roundShoot { return s.shoots["A"] }
	b := func(s roundState) *roundShoot { return s.shoots[otherLabel] }
	return []*step{{
		name: stepScaleUp, phase: phaseCreate,
		goal: fmt.Sprintf("A runs %d machines, one on each Server", all),
		run: func(ctx context.Context) error {
			if err := l.removeShortPool(ctx); err != nil {
				return err
			}
			return l.setPoolSize(ctx, seedNamespace, all)
		},
		done: func(_ context.Context, s roundState) (bool, error) { return a(s).running(all) && s.available == 0, nil },
	}, {
		name: stepCompete, phase: phaseCreate,
		goal: fmt.Sprintf("B's %d machines say ResourceExhausted and its Infrastructure reports the shortage; A runs on", other),
		run:  l.createOtherShoot,
		done: func(ctx context.Context, s roundState) (bool, error) {
			if !a(s).running(all) || b(s) == nil || b(s).exhausted != other || b(s).bound != 0 {
				return false, nil
			}
			short, err := l.otherShortage(ctx)
			return short != "", err
		},
		check: func(ctx context.Context) (string, error) {
			short, err := l.otherShortage(ctx)
			return "B's Infrastructure: " + short, err
		},
	}, {
		name: stepScaleDown, phase: phaseDelete,
		goal: fmt.Sprintf("A runs %d machines; B caught up with the released Servers and runs %d", base, other),
		run:  func(ctx context.Context) error { return l.setPoolSize(ctx, seedNamespace, base) },
		done: func(_ context.Context, s roundState) (bool, error) {
			return a(s).running(base) && b(s).running(other), nil
		},
	}, {
		name: stepBeyond, phase: phaseCreate,
		goal: fmt.Sprintf("A's %d surplus machines say ResourceExhausted; its %d others and B's %d run", all-base, base, other),
		run:  func(ctx context.Context) error { return l.setPoolSize(ctx, seedNamespace, all) },
		done: func(_ context.Context, s roundState) (bool, error) {
			r := a(s)
			return r.machines[machinev1alpha1.MachineRunning] == base && r.exhausted == all-base && r.live == all && r.nodesReady == base &&
				b(s).running(other), nil
		},
	}, {
		name: stepDeleteRolling, phase: phaseDelete,
		goal: fmt.Sprintf("B is deleted during its roll and leaves nothing; A's surplus came up on its Servers: A runs %d", all),
		run: func(ctx context.Context) error {
			if err := l.setImage(ctx, otherSeedNamespace, image); err != nil {
				return err
			}
			if err := l.waitOtherRolling(ctx); err != nil {
				return err
			}
			return l.deleteOtherShoot(ctx)
		},
		done: func(_ context.Context, s roundState) (bool, error) { return b(s) == nil && a(s).running(all), nil },
		check: func(ctx context.Context) (string, error) {
			return "B left nothing: no machines, ServerClaims, ignition Secrets or Nodes; its control plane namespace and Cluster are gone", nil
		},
	}, {
		name: stepHibernate, phase: phaseDelete, noFaults: true,
		goal: fmt.Sprintf("A is hibernated with no machine; all %d Servers Available and off", all),
		run:  func(ctx context.Context) error { return l.setHibernation(ctx, true, base) },
		done: func(_ context.Context, s roundState) (bool, error) {
			r := a(s)
			return r.worker == "Succeeded" && r.live == 0 && len(r.machines) == 0 && r.claims == 0 && s.available == all, nil
		},
	}, {
		name: stepWakeUp, phase: phaseCreate, noFaults: true, builtIn: faultNeverNode,
		goal: fmt.Sprintf("A is awake with %d machines; the Server that never became a Node was replaced after the %s creation timeout and released", base, creationTimeout),
		run: func(ctx context.Context) error {
			l.nodes.setNeverNode(never.pick)
			return l.setHibernation(ctx, false, base)
		},
		done: func(ctx context.Context, s roundState) (bool, error) {
			if !a(s).running(base) || !never.picked() || s.available != all-base || l.deploymentsSettled(ctx) != nil {
				return false, nil
			}
			return l.neverNodeReleased(ctx, never)
		},
		check: func(context.Context) (string, error) {
			l.nodes.setNeverNode(nil)
			never.mu.Lock()
			defer never.mu.Unlock()
			return fmt.Sprintf("ServerClaim %s on Server %s never became a Node: replaced, the claim is gone, the Server released", never.claim.Name, never.server), nil
		},
	}, {
		name: stepRoll, phase: phaseRoll,
		goal: fmt.Sprintf("A rolled to image %s: %d machines on the new classes, one Server each, within maxSurge/maxUnavailable; the old Servers released and off or claimed anew", image, base),
		run: func(ctx context.Context) error {
			var err error
			if rollClasses, rollServers, err = l.machineClassesAndServers(ctx); err != nil {
				return err
			}
			inv.setRollBounds(true)
			return l.setImage(ctx, seedNamespace, image)
		},
		done: func(_ context.Context, s roundState) (bool, error) {
			r := a(s)
			if !r.running(base) || s.available != all-base {
				return false, nil
			}
			for class := range r.classes {
				if rollClasses[class] > 0 {
					return false, nil
				}
			}
			return true, nil
		},
		check: func(ctx context.Context) (string, error) {
			inv.setRollBounds(false)
			return l.checkOldServersReleased(ctx, rollServers)
		},
	}, {
		name: stepBadConfigs, phase: phaseRoll, noFaults: true, builtIn: faultBadConfigs,
		goal: "each bad provider config is reported with its field path and creates nothing; the good configs reconcile again",
		run:  l.badConfigs,
		done: func(_ context.Context, s roundState) (bool, error) { return a(s).running(base), nil },
	}}
}

// neverNode picks the first claim whose Server powers on after the wake-up started: that Server never runs a kubelet.
type neverNode struct {
	mu     sync.Mutex
	claim  types.NamespacedName
	server string
}

func (n *neverNode) pick(claim types.NamespacedName, server string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.server == "" && claim.Namespace == metalNamespace {
		n.claim, n.server = claim, server
	}
	return n.claim == claim
}

func (n *neverNode) picked() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.server != ""
}

// neverNodeReleased says whether the claim of the Server that never became a Node is gone and the Server is no longer
// bound to it.
func (l *landscape) neverNodeReleased(ctx context.Context, n *neverNode) (bool, error) {
	claim := &metalv1alpha1.ServerClaim{}
	if err := l.metal.Client().Get(ctx, n.claim, claim); err == nil || client.IgnoreNotFound(err) != nil {
		return false, client.IgnoreNotFound(err)
	}
	server := &metalv1alpha1.Server{}
	if err := l.metal.Client().Get(ctx, client.ObjectKey{Name: n.server}, server); err != nil {
		return false, err
	}
	ref := server.Spec.ServerClaimRef
	return ref == nil || ref.Name != n.claim.Name, nil
}

// deploymentsSettled says whether machine-controller-manager's status of A's MachineDeployments and MachineSets
// describes their machines. MCM computes how many old machines a roll may delete from the MachineSets' available
// replicas: with a status that still lagged a replacement, it deleted an old machine before the new one was created
// (observed when the roll followed the wake-up's replacement of the machine that never became a Node). The wake-up
// converges only when the status settled, so that the roll bounds are judged from the start a user's image change
// would find.
func (l *landscape) deploymentsSettled(ctx context.Context) error {
	deployments := &machinev1alpha1.MachineDeploymentList{}
	sets := &machinev1alpha1.MachineSetList{}
	machines := &machinev1alpha1.MachineList{}
	for _, list := range []client.ObjectList{deployments, sets, machines} {
		if err := l.seed.List(ctx, list, client.InNamespace(seedNamespace)); err != nil {
			return err
		}
	}
	running := map[string]int32{}
	for _, m := range machines.Items {
		if m.DeletionTimestamp == nil && m.Status.CurrentStatus.Phase == machinev1alpha1.MachineRunning {
			for _, ref := range m.OwnerReferences {
				running[ref.Name]++
			}
		}
	}
	for _, d := range deployments.Items {
		st := d.Status
		if st.ObservedGeneration != d.Generation || st.Replicas != d.Spec.Replicas || st.UpdatedReplicas != d.Spec.Replicas || st.AvailableReplicas != d.Spec.Replicas {
			return fmt.Errorf("MachineDeployment %s: status of generation %d says %d replicas, %d updated, %d available of %d", d.Name, st.ObservedGeneration, st.Replicas, st.UpdatedReplicas, st.AvailableReplicas, d.Spec.Replicas)
		}
	}
	for _, set := range sets.Items {
		if set.Status.AvailableReplicas != running[set.Name] || set.Status.ObservedGeneration != set.Generation {
			return fmt.Errorf("MachineSet %s: status says %d available, %d machines run", set.Name, set.Status.AvailableReplicas, running[set.Name])
		}
	}
	return nil
}

// machineClassesAndServers returns A's MachineClasses in use and the Server of each of its claims.
func (l *landscape) machineClassesAndServers(ctx context.Context) (map[string]int, map[string]string, error) {
	r, err := l.observeShoot(ctx, l.mainShoot())
	if err != nil {
		return nil, nil, err
	}
	claims := &metalv1alpha1.ServerClaimList{}
	if err := l.metal.Client().List(ctx, claims, client.InNamespace(metalNamespace)); err != nil {
		return nil, nil, err
	}
	servers := map[string]string{}
	for _, c := range claims.Items {
		if c.Spec.ServerRef != nil {
			servers[c.Name] = c.Spec.ServerRef.Name
		}
	}
	return r.classes, servers, nil
}

// checkOldServersReleased checks that no Server is still bound to a claim of the old machines and that each one is
// either Available and off or bound to a claim of a new machine.
func (l *landscape) checkOldServersReleased(ctx context.Context, old map[string]string) (string, error) {
	reused, off := 0, 0
	for claim, name := range old {
		server := &metalv1alpha1.Server{}
		if err := l.metal.Client().Get(ctx, client.ObjectKey{Name: name}, server); err != nil {
			return "", err
		}
		ref := server.Spec.ServerClaimRef
		switch {
		case ref != nil && ref.Name == claim:
			return "", fmt.Errorf("server %s is still bound to the old machine's claim %s", name, claim)
		case ref != nil:
			reused++
		case server.Status.PowerState == metalv1alpha1.ServerOffPowerState:
			off++
		default:
			return "", fmt.Errorf("server %s of the old machine %s was released but is %s, %s", name, claim, server.Status.State, server.Status.PowerState)
		}
	}
	return fmt.Sprintf("%d old Servers released: %d off, %d claimed by new machines", len(old), off, reused), nil
}
