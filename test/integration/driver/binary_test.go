package driver_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"time"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// writeKubeconfig writes a kubeconfig for config whose current context names namespace.
func writeKubeconfig(path string, config *rest.Config, namespace string) {
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.Clusters["envtest"] = &clientcmdapi.Cluster{Server: config.Host, CertificateAuthorityData: config.CAData}
	kubeconfig.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: config.CertData, ClientKeyData: config.KeyData}
	kubeconfig.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin", Namespace: namespace}
	kubeconfig.CurrentContext = "envtest"
	ExpectWithOffset(1, clientcmd.WriteToFile(*kubeconfig, path)).To(Succeed())
}

func freePort() int {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	defer func() { _ = listener.Close() }()
	return listener.Addr().(*net.TCPAddr).Port
}

var _ = Describe("the machine-controller-manager-provider-metal binary", Ordered, func() {
	var binary string

	BeforeAll(func() {
		var err error
		binary, err = gexec.Build("github.com/openkcm/gardener-extension-provider-metal/cmd/machine-controller-manager-provider-metal")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)
	})

	run := func(args ...string) *gexec.Session {
		session, err := gexec.Start(exec.Command(binary, args...), GinkgoWriter, GinkgoWriter)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		return session
	}

	It("prints its flags with --help", func() {
		session := run("--help")
		Eventually(session).Should(gexec.Exit(0))
		Expect(session.Err).To(gbytes.Say("--metal-kubeconfig"))
		Expect(session.Err.Contents()).To(And(ContainSubstring("--node-name-policy"), ContainSubstring("--control-kubeconfig")))
	})

	DescribeTable("rejects bad flags with a clear message",
		func(code int, message string, args ...string) {
			session := run(args...)
			Eventually(session).Should(gexec.Exit(code))
			Expect(session.Err).To(gbytes.Say(message))
		},
		Entry("unknown flag", 2, "unknown flag: --bogus", "--bogus"),
		Entry("no metal kubeconfig", 1, "--metal-kubeconfig is required"),
		Entry("unknown policy", 1, `unknown node name policy "NodeName"`, "--metal-kubeconfig=x", "--node-name-policy=NodeName"),
		Entry("unreadable kubeconfig", 1, "cannot read metal kubeconfig", "--metal-kubeconfig=/nonexistent"),
	)

	It("creates the ServerClaim of a Machine in the namespace of the metal kubeconfig", func() {
		ctx := context.Background()
		controlNS, metalNS := newNamespace(ctx, "shoot"), newNamespace(ctx, "metal")
		dir := GinkgoT().TempDir()
		kubeconfig, metalKubeconfig := filepath.Join(dir, "kubeconfig"), filepath.Join(dir, "metal-kubeconfig")
		writeKubeconfig(kubeconfig, cfg, "")
		writeKubeconfig(metalKubeconfig, cfg, metalNS)

		session := run(
			"--control-kubeconfig="+kubeconfig, "--target-kubeconfig="+kubeconfig, "--namespace="+controlNS,
			"--metal-kubeconfig="+metalKubeconfig, "--leader-elect=false", "--address=127.0.0.1",
			fmt.Sprintf("--port=%d", freePort()),
		)
		DeferCleanup(func() { session.Kill().Wait(10 * time.Second) })

		Expect(createMachineObjects(ctx, admin, controlNS, "worker-b")).To(Succeed())
		Eventually(func() error {
			return admin.Get(ctx, client.ObjectKey{Namespace: metalNS, Name: "worker-b"}, &metalv1alpha1.ServerClaim{})
		}).WithTimeout(60 * time.Second).Should(Succeed())
		Expect(session.ExitCode()).To(Equal(-1), "the binary exited")

		By("a pod's termination (SIGTERM) ends it with exit code 0, not as a failed container")
		session.Terminate()
		Eventually(session).WithTimeout(10 * time.Second).Should(gexec.Exit(0))
		Expect(session.Err).To(gbytes.Say("Stopping the machine controller with the metal driver"))
	})
})
