// Command scale is the scale benchmark of gardener-extension-provider-metal: N shoots, each with an
// Infrastructure, a ControlPlane and a Worker of two pools in two zones, reconciled by the extension binary
// against an envtest seed and an envtest metal API. It prints per kind the latency of the first and of an
// unchanged reconcile, the API requests per shoot by verb as the API servers' audit logs record them, and the
// extension's CPU time and memory. See docs/development/testing.md; run it with hack/bench-scale.sh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	resourcesv1alpha1 "github.com/gardener/gardener/pkg/apis/resources/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	metalclient "github.com/openkcm/gardener-extension-provider-metal/pkg/metal/client"
)

// extensionUser is the seed user the extension authenticates as; the audit log's requests of this user are the
// extension's. In the metal API the extension uses the shoots' ServiceAccount tokens.
const extensionUser = "gardener-extension-provider-metal"

type options struct {
	shoots          int
	binary          string
	componentConfig string
	seedCRDs        string
	metalCRDs       string
	parallel        int
	settle          time.Duration
	timeout         time.Duration
	details         bool
	extensionArgs   string
	keep            bool
	pprofSeconds    int
}

func main() {
	var o options
	flag.IntVar(&o.shoots, "shoots", 10, "number of shoots")
	flag.StringVar(&o.binary, "extension", "", "path of the gardener-extension-provider-metal binary")
	flag.StringVar(&o.componentConfig, "config", "example/component-config.yaml", "component configuration of the extension")
	flag.StringVar(&o.seedCRDs, "seed-crds", "example/crds", "folder with the gardener and machine CRD folders for the seed")
	flag.StringVar(&o.metalCRDs, "metal-crds", "", "comma-separated folders with the metal-operator (and IPAM) CRDs for the metal API")
	flag.IntVar(&o.parallel, "parallel", 16, "requests the benchmark sends at a time when it creates or annotates objects")
	flag.DurationVar(&o.settle, "settle", 5*time.Second, "quiet time after a phase whose requests still count to it")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "how long a phase may take")
	flag.BoolVar(&o.details, "details", false, "also print the requests by verb and resource")
	flag.StringVar(&o.extensionArgs, "extension-args", "", "space-separated extra flags for the extension")
	flag.BoolVar(&o.keep, "keep", false, "keep the audit logs and the extension's log and print their folder")
	flag.IntVar(&o.pprofSeconds, "pprof", 0, "if > 0, write a CPU profile of the extension over the first this many seconds of each phase, and heap profiles when idle and after each phase (go tool pprof); implies -keep")
	flag.Parse()
	if o.pprofSeconds > 0 {
		o.keep = true
	}
	if o.binary == "" || o.metalCRDs == "" {
		fmt.Fprintln(os.Stderr, "-extension and -metal-crds are required (hack/bench-scale.sh sets them)")
		os.Exit(2)
	}
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "scale benchmark:", err)
		os.Exit(1)
	}
}

// result holds the measurements of one phase.
type result struct {
	latencies map[string][]float64
	makespan  time.Duration
	errors    int
	seed      requestCounts
	metal     requestCounts
	cpu       float64
	runQueue  float64
	throttled int
	// load is the machine's 1-minute load average at the end of the phase, to judge how much other processes
	// competed for the CPUs.
	load string
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "bench-scale-")
	if err != nil {
		return err
	}
	defer func() {
		if o.keep {
			fmt.Fprintln(os.Stderr, "audit logs and extension log kept in", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()

	metalDirs := strings.Split(o.metalCRDs, ",")
	metalAPI, err := startAPIServer(dir, "metal", metalDirs...)
	if err != nil {
		return err
	}
	defer metalAPI.stop()
	seed, err := startAPIServer(dir, "seed", filepath.Join(o.seedCRDs, "gardener"), filepath.Join(o.seedCRDs, "machine"))
	if err != nil {
		return err
	}
	defer seed.stop()

	metalClient, err := client.New(metalAPI.config, client.Options{Scheme: metalclient.Scheme})
	if err != nil {
		return err
	}
	if err := metalClient.Create(ctx, serversReader()); err != nil {
		return err
	}
	mgr, t, err := startBenchmarkManager(ctx, seed)
	if err != nil {
		return err
	}
	seedClient := mgr.GetClient()

	// The extension is a member of system:masters: the benchmark measures its requests, not its RBAC.
	kubeconfig, err := seed.kubeconfigFor(dir, extensionUser, "system:masters")
	if err != nil {
		return err
	}
	extensionArgs := strings.Fields(o.extensionArgs)
	var prof *profiler
	if o.pprofSeconds > 0 {
		port, err := freePort()
		if err != nil {
			return err
		}
		prof = &profiler{address: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, seconds: o.pprofSeconds}
		extensionArgs = append(extensionArgs, "--pprof-bind-address="+prof.address)
	}
	ext, err := startExtension(ctx, o.binary, kubeconfig, o.componentConfig, dir, extensionArgs)
	if err != nil {
		return err
	}
	defer ext.stop()
	time.Sleep(o.settle)
	idle, err := readUsage(ext.pid())
	if err != nil {
		return err
	}
	if prof != nil {
		if err := prof.heap(ctx, "idle"); err != nil {
			return err
		}
	}

	regionConfig := &api.RegionConfig{Name: region, Server: metalAPI.config.Host, CertificateAuthorityData: metalAPI.config.CAData}
	shoots := make([]*shoot, o.shoots)
	for i := range shoots {
		shoots[i] = newShoot(i)
	}
	fmt.Fprintf(os.Stderr, "preparing %d shoots\n", o.shoots)
	if err := forEach(ctx, o.parallel, shoots, func(ctx context.Context, s *shoot) error {
		token, err := s.prepareMetal(ctx, metalClient)
		if err != nil {
			return fmt.Errorf("preparing shoot %s in the metal API: %w", s.namespace, err)
		}
		return s.prepareSeed(ctx, seedClient, regionConfig, token)
	}); err != nil {
		return err
	}
	time.Sleep(o.settle)

	fmt.Fprintln(os.Stderr, "first reconcile")
	first, err := measure(ctx, o, t, ext, seed, metalAPI, prof, "first", func(ctx context.Context, s *shoot) error {
		for _, obj := range s.extensionObjects() {
			t.arm(obj, metav1.Time{})
			if err := seedClient.Create(ctx, obj); err != nil {
				return fmt.Errorf("creating %s of %s: %w", kindOf(obj), s.namespace, err)
			}
		}
		return nil
	}, shoots)
	if err != nil {
		return err
	}
	loaded, err := readUsage(ext.pid())
	if err != nil {
		return err
	}

	fmt.Fprintln(os.Stderr, "unchanged reconcile")
	unchanged, err := measure(ctx, o, t, ext, seed, metalAPI, prof, "unchanged", func(ctx context.Context, s *shoot) error {
		for _, obj := range s.extensionObjects() {
			if err := seedClient.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return err
			}
			patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
			annotations := obj.GetAnnotations()
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[v1beta1constants.GardenerOperation] = v1beta1constants.GardenerOperationReconcile
			obj.SetAnnotations(annotations)
			t.arm(obj, obj.(extensionsv1alpha1.Object).GetExtensionStatus().GetLastOperation().LastUpdateTime)
			if err := seedClient.Patch(ctx, obj, patch); err != nil {
				return fmt.Errorf("annotating %s of %s: %w", kindOf(obj), s.namespace, err)
			}
		}
		return nil
	}, shoots)
	if err != nil {
		return err
	}

	return report(os.Stdout, o, idle, loaded, first, unchanged)
}

// measure runs one phase: it asks for a reconcile of every shoot's objects with ask, waits until all succeeded
// and for the settle time, and reads the audit logs and the extension's CPU time for the whole phase. With a
// profiler it also writes the extension's CPU profile of the phase's start and its heap profile at the end.
func measure(ctx context.Context, o options, t *tracker, ext *extension, seed, metalAPI *apiServer, prof *profiler, phase string, ask func(context.Context, *shoot) error, shoots []*shoot) (*result, error) {
	before, err := readUsage(ext.pid())
	if err != nil {
		return nil, err
	}
	throttledBefore := ext.throttled()
	t.start(len(shoots) * len(kinds))
	var cpuProfile <-chan error
	if prof != nil {
		cpuProfile = prof.cpu(ctx, phase)
	}
	from := time.Now()
	if err := forEach(ctx, o.parallel, shoots, ask); err != nil {
		return nil, err
	}
	if err := t.wait(o.timeout); err != nil {
		return nil, err
	}
	makespan := time.Since(from)
	time.Sleep(o.settle)
	to := time.Now()
	after, err := readUsage(ext.pid())
	if err != nil {
		return nil, err
	}
	load, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil, err
	}
	r := &result{load: strings.Fields(string(load))[0], latencies: t.latencies(), makespan: makespan, errors: t.errorCount(), cpu: after.cpuSeconds - before.cpuSeconds, runQueue: after.runQueueSeconds - before.runQueueSeconds, throttled: ext.throttled() - throttledBefore}
	if r.seed, err = seed.audit.count(func(user string) bool { return user == extensionUser }, from, to); err != nil {
		return nil, err
	}
	if r.metal, err = metalAPI.audit.count(isServiceAccount, from, to); err != nil {
		return nil, err
	}
	if prof != nil {
		if err := errors.Join(<-cpuProfile, prof.heap(ctx, phase)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// startBenchmarkManager starts the benchmark's own manager on the seed: the stand-ins and the watch of the
// extension objects.
func startBenchmarkManager(ctx context.Context, seed *apiServer) (manager.Manager, *tracker, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, extensionscontroller.AddToScheme, resourcesv1alpha1.AddToScheme, machinev1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, nil, err
		}
	}
	mgr, err := manager.New(seed.config, manager.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return nil, nil, err
	}
	if err := addResourceManager(mgr); err != nil {
		return nil, nil, err
	}
	if err := addMachineControllerManager(mgr); err != nil {
		return nil, nil, err
	}
	t, err := newTracker(ctx, mgr.GetCache())
	if err != nil {
		return nil, nil, err
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "benchmark manager:", err)
		}
	}()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return nil, nil, errors.New("the benchmark's cache did not sync")
	}
	return mgr, t, nil
}

// forEach calls f for every shoot, at most parallel at a time.
func forEach(ctx context.Context, parallel int, shoots []*shoot, f func(context.Context, *shoot) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	slots := make(chan struct{}, parallel)
	for _, s := range shoots {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := f(ctx, s); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
