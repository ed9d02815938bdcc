package metallb_test

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func TestMetalLB(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "MetalLB Integration Suite")
}

// The suite's shoot: its API server, the clients of the test (admin) and the nodes' network.
var (
	shootClient client.Client
	shootSet    kubernetes.Interface
	lan         *network
	nodes       []*node
	// specFailed keeps the shoot's state directory with the logs.
	specFailed bool
)

var _ = AfterEach(func() {
	if CurrentSpecReport().Failed() {
		specFailed = true
	}
})

var _ = BeforeSuite(func(ctx SpecContext) {
	for env, hint := range map[string]string{
		"KUBEBUILDER_ASSETS":      "hack/envtest.sh",
		"KUBE_CONTROLLERS_ASSETS": "hack/kube-controllers.sh",
		"PROCESS_KUBELET":         "hack/process-kubelet.sh",
		"METALLB_ASSETS":          "hack/metallb.sh",
	} {
		Expect(os.Getenv(env)).NotTo(BeEmpty(), "%s is not set: run the tests with `make test` or export %s=$(%s)", env, env, hint)
	}
	Expect(os.Getuid()).To(BeZero(), "the suite needs root: the process kubelet and the nodes' network namespaces")
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))

	By("starting the seed with the ControlPlane controller")
	startSeed()

	By("starting the shoot's kube-apiserver, kube-controller-manager and kube-scheduler")
	shoot := startShootControlPlane(ctx)
	shootClient, shootSet = shoot.admin()

	By("a layer-2 network with two nodes, each in a network namespace of its own, served by the process kubelet")
	lan = newNetwork(nodeNames)
	for _, name := range nodeNames {
		nodes = append(nodes, shoot.startNode(name, lan))
	}
	waitForReadyNodes(ctx)
})
