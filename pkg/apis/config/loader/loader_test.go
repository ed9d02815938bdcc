package loader_test

import (
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/config/loader"
)

var _ = Describe("Loader", func() {
	It("loads the example configuration", func() {
		cfg, err := loader.LoadFromFile(filepath.Join("..", "..", "..", "..", "example", "component-config.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(cfg.ClientConnection.QPS).To(BeEquivalentTo(100))
		Expect(cfg.HealthCheckConfig.SyncPeriod.Duration).To(Equal(30 * time.Second))
		Expect(cfg.DNS.Timeout.Duration).To(Equal(10 * time.Second))
	})

	It("applies defaults to an empty configuration", func() {
		cfg, err := loader.Load([]byte(`apiVersion: metal.provider.extensions.config.gardener.cloud/v1alpha1
kind: ControllerConfiguration
`))
		Expect(err).NotTo(HaveOccurred())
		Expect(cfg.ClientConnection).NotTo(BeNil())
		Expect(cfg.ClientConnection.ContentType).To(Equal("application/vnd.kubernetes.protobuf"))
		Expect(cfg.DNS.Timeout.Duration).To(Equal(10 * time.Second))
	})

	It("rejects unknown fields and names them", func() {
		_, err := loader.Load([]byte(`apiVersion: metal.provider.extensions.config.gardener.cloud/v1alpha1
kind: ControllerConfiguration
dns:
  timeuot: 5s
`))
		Expect(err).To(MatchError(ContainSubstring(`unknown field "dns.timeuot"`)))
	})

	It("rejects other kinds", func() {
		_, err := loader.Load([]byte(`apiVersion: metal.provider.extensions.gardener.cloud/v1alpha1
kind: WorkerConfig
`))
		Expect(err).To(HaveOccurred())
	})

	It("reports a missing file with its path", func() {
		_, err := loader.LoadFromFile("does-not-exist.yaml")
		Expect(err).To(MatchError(ContainSubstring("does-not-exist.yaml")))
	})
})
