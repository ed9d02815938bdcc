package charts_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/openkcm/gardener-extension-provider-metal/test/utils/gardencrds"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	vpaautoscalingv1 "k8s.io/autoscaler/vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
)

func TestCharts(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Deployment Charts and Registration Integration Suite")
}

var (
	repoRoot = filepath.Join("..", "..", "..")

	// scheme knows every kind the deployment charts render and the extension resources the RBAC test creates.
	scheme = runtime.NewScheme()

	env        *envtest.Environment
	restConfig *rest.Config
	testClient client.Client
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(vpaautoscalingv1.AddToScheme(scheme))
	utilruntime.Must(extensionscontroller.AddToScheme(scheme))
}

var _ = BeforeSuite(func() {
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS is not set: run the tests with `make test` or export KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))

	crdDirs, err := filepath.Glob(filepath.Join(repoRoot, "example", "crds", "*"))
	Expect(err).NotTo(HaveOccurred())
	env = &envtest.Environment{
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: true,
		CRDInstallOptions:     envtest.CRDInstallOptions{CRDs: gardencrds.CRDs()},
	}
	restConfig, err = env.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	// Gardener's types prefer protobuf, which CRDs do not serve.
	restConfig = rest.CopyConfig(restConfig)
	restConfig.ContentType = runtime.ContentTypeJSON

	testClient, err = client.New(restConfig, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	// The priority classes Gardener defines in seeds and the garden runtime cluster, which the charts name.
	for name, value := range map[string]int32{"gardener-system-900": 999998900, "gardener-garden-system-400": 999998400} {
		Expect(testClient.Create(context.Background(), &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value})).To(Succeed())
	}
})
