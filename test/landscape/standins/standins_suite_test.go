package standins_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func TestStandins(t *testing.T) {
	RegisterFailHandler(Fail)
	// The machine that runs the landscape is loaded; a context does not end an Eventually by itself.
	SetDefaultEventuallyTimeout(2 * time.Minute)
	EnforceDefaultTimeoutsWhenUsingContexts()
	RunSpecs(t, "Landscape Stand-ins Suite")
}

var (
	// shootConfig and metalConfig are the administrators' configurations of the two API servers: the shoot (no
	// CRDs; Nodes) and the metal API (metal-operator and IPAM CRDs).
	shootConfig, metalConfig *rest.Config
	shootClient, metalClient client.Client
)

var _ = BeforeSuite(func() {
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS is not set: export KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	crds := filepath.Join("..", "..", "..", "example", "crds")

	shootConfig = startAPIServer(&envtest.Environment{})
	metalConfig = startAPIServer(&envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(crds, "metal"), filepath.Join(crds, "ipam")},
		ErrorIfCRDPathMissing: true,
	})

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(metalv1alpha1.AddToScheme(scheme))
	utilruntime.Must(ipamv1beta2.AddToScheme(scheme))
	var err error
	shootClient, err = client.New(shootConfig, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	metalClient, err = client.New(metalConfig, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
})

func startAPIServer(env *envtest.Environment) *rest.Config {
	cfg, err := env.Start()
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	fast := rest.CopyConfig(cfg)
	fast.QPS, fast.Burst = 1000, 2000
	return fast
}
