package worker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/openkcm/gardener-extension-provider-metal/test/utils/requests"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/worker"
)

func TestWorker(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Worker Controller Integration Suite")
}

var (
	crds = filepath.Join("..", "..", "..", "example", "crds")

	// seedClient is the test's own client; its requests are not recorded.
	seedClient client.Client
	// seedRequests records the requests of the controller's manager.
	seedRequests *requests.Recorder
)

var _ = BeforeSuite(func() {
	env, err := startEnvironment(true)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.stop)
	seedClient, seedRequests = env.client, env.requests
})

// environment is a seed (envtest with the Gardener and machine CRDs), a manager with the Worker controller or
// only its client and cache, and the machine-controller-manager stand-in.
type environment struct {
	client   client.Client
	requests *requests.Recorder
	manager  manager.Manager
	// cacheReads counts the Get and List calls of the manager's client, most of which the cache serves.
	cacheReads *readCounter
	// stopMachineControllerManager stops the stand-in, so that it does not disturb a measurement.
	stopMachineControllerManager func()
	stop                         func()
}

// startEnvironment starts the seed and, with withController, the Worker controller. Without it the caller drives
// the reconciler itself, as the benchmark does.
func startEnvironment(withController bool) (*environment, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, fmt.Errorf("KUBEBUILDER_ASSETS is not set: run the tests with `make test` or export KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	}
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))

	seedEnv := &envtest.Environment{
		// The metal CRDs let the region test list Servers with a MachineClass' selector, as metal-operator selects them.
		CRDDirectoryPaths:     []string{filepath.Join(crds, "gardener"), filepath.Join(crds, "machine"), filepath.Join(crds, "metal")},
		ErrorIfCRDPathMissing: true,
	}
	seedConfig, err := seedEnv.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the seed: %w", err)
	}
	env := &environment{requests: &requests.Recorder{}, cacheReads: &readCounter{}}
	stops := []func(){func() { _ = seedEnv.Stop() }}
	env.stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, extensionscontroller.AddToScheme, machinev1alpha1.AddToScheme, metalv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			env.stop()
			return nil, err
		}
	}
	env.client, err = client.New(seedConfig, client.Options{Scheme: scheme})
	if err != nil {
		env.stop()
		return nil, err
	}

	mgrConfig := rest.CopyConfig(seedConfig)
	mgrConfig.Wrap(env.requests.Wrap)
	env.manager, err = manager.New(mgrConfig, manager.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		NewClient: func(config *rest.Config, options client.Options) (client.Client, error) {
			c, err := client.NewWithWatch(config, options)
			if err != nil {
				return nil, err
			}
			return interceptor.NewClient(c, env.cacheReads.funcs()), nil
		},
	})
	if err != nil {
		env.stop()
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if withController {
		if err := worker.AddToManagerWithOptions(context.Background(), env.manager, worker.AddOptions{}); err != nil {
			env.stop()
			return nil, fmt.Errorf("adding the Worker controller: %w", err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	mcmCtx, stopMCM := context.WithCancel(ctx)
	env.stopMachineControllerManager = stopMCM
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := env.manager.Start(ctx); err != nil {
			GinkgoWriter.Printf("manager stopped: %v\n", err)
		}
	}()
	go func() {
		defer wg.Done()
		runMachineControllerManager(mcmCtx, env.client)
	}()
	stops = append(stops, func() {
		cancel()
		wg.Wait()
	})
	if !env.manager.GetCache().WaitForCacheSync(ctx) {
		env.stop()
		return nil, fmt.Errorf("the manager's cache did not sync")
	}
	return env, nil
}
