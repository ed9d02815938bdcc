package infrastructure_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/openkcm/gardener-extension-provider-metal/test/utils/requests"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/infrastructure"
	metalclient "github.com/openkcm/gardener-extension-provider-metal/pkg/metal/client"
)

func TestInfrastructure(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Infrastructure Controller Integration Suite")
}

var (
	crds = filepath.Join("..", "..", "..", "example", "crds")

	seedClient  client.Client
	metalConfig *rest.Config
	metalAdmin  client.Client
	seedWrites  *requests.Recorder
	// metalRequests records every request the controller sends to the metal API.
	metalRequests *requests.Recorder
)

var _ = BeforeSuite(func() {
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS is not set: run the tests with `make test` or export KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))

	By("starting the metal API")
	metalEnv := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(crds, "metal"), filepath.Join(crds, "ipam"), "testdata"},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	metalConfig, err = metalEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(metalEnv.Stop)
	metalAdmin, err = client.New(metalConfig, client.Options{Scheme: metalclient.Scheme})
	Expect(err).NotTo(HaveOccurred())

	By("starting the seed")
	seedEnv := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(crds, "gardener")},
		ErrorIfCRDPathMissing: true,
	}
	seedConfig, err := seedEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(seedEnv.Stop)

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(extensionscontroller.AddToScheme(scheme)).To(Succeed())
	seedClient, err = client.New(seedConfig, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	By("running the Infrastructure controller")
	seedWrites = &requests.Recorder{}
	mgrConfig := rest.CopyConfig(seedConfig)
	mgrConfig.Wrap(seedWrites.Wrap)
	mgr, err := manager.New(mgrConfig, manager.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	metalRequests = &requests.Recorder{}
	metalClients := metalclient.NewCache()
	metalClients.WrapTransport = metalRequests.Wrap
	Expect(infrastructure.AddToManagerWithOptions(context.Background(), mgr, infrastructure.AddOptions{MetalClients: metalClients})).To(Succeed())

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
