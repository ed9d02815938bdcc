package controlplane_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/openkcm/gardener-extension-provider-metal/test/utils/requests"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/gardener/gardener/pkg/client/kubernetes"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/controlplane"
)

func TestControlPlane(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "ControlPlane Controller Integration Suite")
}

var (
	seedClient client.Client
	seedWrites *requests.Recorder
	// mgrClient writes through the recorded transport, like the controller does.
	mgrClient client.Client
	// mgrCache reads the seed as the controller does, from the manager's cache.
	mgrCache client.Reader
)

var _ = BeforeSuite(func() {
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS is not set: run the tests with `make test` or export KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))

	By("starting the seed")
	seedEnv := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "..", "example", "crds", "gardener")},
		ErrorIfCRDPathMissing: true,
	}
	seedConfig, err := seedEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(seedEnv.Stop)

	seedClient, err = client.New(seedConfig, client.Options{Scheme: kubernetes.SeedScheme})
	Expect(err).NotTo(HaveOccurred())

	By("running the ControlPlane controller")
	seedWrites = &requests.Recorder{}
	mgrConfig := rest.CopyConfig(seedConfig)
	mgrConfig.Wrap(seedWrites.Wrap)
	mgr, err := manager.New(mgrConfig, manager.Options{Scheme: kubernetes.SeedScheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	Expect(controlplane.AddToManagerWithOptions(context.Background(), mgr, controlplane.AddOptions{})).To(Succeed())
	mgrClient, err = client.New(mgrConfig, client.Options{Scheme: kubernetes.SeedScheme})
	Expect(err).NotTo(HaveOccurred())
	mgrCache = mgr.GetCache()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer GinkgoRecover()
		defer wg.Done()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	DeferCleanup(func() {
		cancel()
		wg.Wait()
	})
})
