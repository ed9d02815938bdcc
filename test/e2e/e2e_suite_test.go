package e2e_test

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/openkcm/gardener-extension-provider-metal/test/landscape"
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End-to-end Suite")
}

var binaries landscape.Binaries

var _ = BeforeSuite(func() {
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS is not set: run the tests with `make test` or export KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	Expect(os.Getenv("METAL_OPERATOR_ASSETS")).NotTo(BeEmpty(), "METAL_OPERATOR_ASSETS is not set: run the tests with `make test` or export METAL_OPERATOR_ASSETS=$(hack/metal-operator.sh)")

	var err error
	binaries.Extension, err = gexec.Build("github.com/openkcm/gardener-extension-provider-metal/cmd/gardener-extension-provider-metal")
	Expect(err).NotTo(HaveOccurred())
	binaries.Driver, err = gexec.Build("github.com/openkcm/gardener-extension-provider-metal/cmd/machine-controller-manager-provider-metal")
	Expect(err).NotTo(HaveOccurred())
	binaries.MachineControllerManager, err = gexec.Build("github.com/gardener/machine-controller-manager/cmd/machine-controller-manager")
	Expect(err).NotTo(HaveOccurred())
	binaries.ResourceManager, err = gexec.Build("github.com/gardener/gardener/cmd/gardener-resource-manager")
	Expect(err).NotTo(HaveOccurred())
	binaries.KubeControllers = os.Getenv("KUBE_CONTROLLERS_ASSETS")
	Expect(binaries.KubeControllers).NotTo(BeEmpty(), "KUBE_CONTROLLERS_ASSETS is not set: run the tests with `make test` or export KUBE_CONTROLLERS_ASSETS=$(hack/kube-controllers.sh)")
	binaries.ProcessKubelet = os.Getenv("PROCESS_KUBELET")
	Expect(binaries.ProcessKubelet).NotTo(BeEmpty(), "PROCESS_KUBELET is not set: run the tests with `make test` or export PROCESS_KUBELET=$(hack/process-kubelet.sh)")
	binaries.MetalLB = os.Getenv("METALLB_ASSETS")
	Expect(binaries.MetalLB).NotTo(BeEmpty(), "METALLB_ASSETS is not set: run the tests with `make test` or export METALLB_ASSETS=$(hack/metallb.sh)")
	DeferCleanup(gexec.CleanupBuildArtifacts)
})
