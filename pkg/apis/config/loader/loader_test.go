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
		// Gardener's rate limits for seed components; the content types stay empty so that custom resources
		// go as JSON and built-in kinds as protobuf.
		Expect(cfg.ClientConnection.QPS).To(BeEquivalentTo(100))
		Expect(cfg.ClientConnection.Burst).To(BeEquivalentTo(130))
		Expect(cfg.ClientConnection.ContentType).To(BeEmpty())
		Expect(cfg.ClientConnection.AcceptContentTypes).To(BeEmpty())
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

	It("rejects a content type the API server does not accept for custom resources, naming the field", func() {
		_, err := loader.Load([]byte(`apiVersion: metal.provider.extensions.config.gardener.cloud/v1alpha1
kind: ControllerConfiguration
clientConnection:
  contentType: application/vnd.kubernetes.protobuf
`))
		Expect(err).To(MatchError(ContainSubstring("clientConnection.contentType")))
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
