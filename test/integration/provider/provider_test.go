package provider_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/gardener/gardener/pkg/extensions"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var repoRoot = filepath.Join("..", "..", "..")

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { Expect(l.Close()).To(Succeed()) }()
	return l.Addr().(*net.TCPAddr).Port
}

var _ = Describe("gardener-extension-provider-metal", func() {
	Context("with bad flags or configuration", func() {
		DescribeTable("exits with an error that says what is wrong",
			func(message string, args ...string) {
				session, err := gexec.Start(exec.Command(extensionBinary, args...), GinkgoWriter, GinkgoWriter)
				Expect(err).NotTo(HaveOccurred())
				Eventually(session).WithTimeout(time.Minute).Should(gexec.Exit(1))
				Expect(session.Err).To(gbytes.Say(regexp.QuoteMeta(message)))
			},
			Entry("unknown flag", "unknown flag: --no-such-flag", "--no-such-flag"),
			Entry("missing component configuration", "--config-file is required", "--kubeconfig=/dev/null"),
			Entry("missing configuration file", "no-such-file.yaml", "--config-file=no-such-file.yaml"),
		)

		It("names an unknown field of the component configuration", func() {
			config := filepath.Join(GinkgoT().TempDir(), "config.yaml")
			Expect(os.WriteFile(config, []byte("apiVersion: metal.provider.extensions.config.gardener.cloud/v1alpha1\nkind: ControllerConfiguration\ndns:\n  timeuot: 5s\n"), 0o600)).To(Succeed())
			session, err := gexec.Start(exec.Command(extensionBinary, "--config-file="+config), GinkgoWriter, GinkgoWriter)
			Expect(err).NotTo(HaveOccurred())
			Eventually(session).WithTimeout(time.Minute).Should(gexec.Exit(1))
			Expect(session.Err).To(gbytes.Say(regexp.QuoteMeta(`unknown field \"dns.timeuot\"`)))
		})
	})

	Context("against a real kube-apiserver", func() {
		var (
			env        *envtest.Environment
			kubeconfig string
			c          client.Client
		)

		BeforeEach(func() {
			crdDirs, err := filepath.Glob(filepath.Join(repoRoot, "example", "crds", "*"))
			Expect(err).NotTo(HaveOccurred())
			env = &envtest.Environment{CRDDirectoryPaths: crdDirs, ErrorIfCRDPathMissing: true}
			cfg, err := env.Start()
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(env.Stop)

			user, err := env.AddUser(envtest.User{Name: "extension", Groups: []string{"system:masters"}}, nil)
			Expect(err).NotTo(HaveOccurred())
			data, err := user.KubeConfig()
			Expect(err).NotTo(HaveOccurred())
			kubeconfig = filepath.Join(GinkgoT().TempDir(), "kubeconfig")
			Expect(os.WriteFile(kubeconfig, data, 0o600)).To(Succeed())

			c, err = client.New(cfg, client.Options{})
			Expect(err).NotTo(HaveOccurred())
		})

		It("becomes ready, renews its heartbeat and stops cleanly on SIGTERM", func(ctx SpecContext) {
			healthPort, webhookPort := freePort(), freePort()
			cmd := exec.Command(extensionBinary,
				"--kubeconfig="+kubeconfig,
				"--config-file="+filepath.Join(repoRoot, "example", "component-config.yaml"),
				"--leader-election=false",
				"--heartbeat-namespace=default",
				"--metrics-bind-address=127.0.0.1:0",
				fmt.Sprintf("--health-bind-address=127.0.0.1:%d", healthPort),
				"--webhook-config-mode=url",
				fmt.Sprintf("--webhook-config-url=127.0.0.1:%d", webhookPort),
				"--webhook-config-server-host=127.0.0.1",
				fmt.Sprintf("--webhook-config-server-port=%d", webhookPort),
				"--webhook-config-cert-dir="+GinkgoT().TempDir(),
			)
			session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(func() { session.Kill().Wait() })

			for _, endpoint := range []string{"healthz", "readyz"} {
				url := fmt.Sprintf("http://127.0.0.1:%d/%s", healthPort, endpoint)
				Eventually(func() (int, error) {
					resp, err := http.Get(url) //nolint:gosec // local test endpoint
					if err != nil {
						return 0, err
					}
					defer func() { _ = resp.Body.Close() }()
					return resp.StatusCode, nil
				}).WithTimeout(time.Minute).Should(Equal(http.StatusOK), endpoint)
			}

			lease := &coordinationv1.Lease{}
			Eventually(func(g Gomega) {
				g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "default", Name: extensions.HeartBeatResourceName}, lease)).To(Succeed())
				g.Expect(lease.Spec.HolderIdentity).To(HaveValue(Equal(metal.Name)))
				g.Expect(lease.Spec.RenewTime).NotTo(BeNil())
			}).WithTimeout(time.Minute).Should(Succeed())

			session.Signal(syscall.SIGTERM)
			Eventually(session).WithTimeout(time.Minute).Should(gexec.Exit(0))
		})
	})
})
