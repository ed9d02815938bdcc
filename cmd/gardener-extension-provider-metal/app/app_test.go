package app

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	extensionscmdcontroller "github.com/gardener/gardener/extensions/pkg/controller/cmd"
)

var _ = Describe("REST configuration with the client connection", func() {
	base := func() *rest.Config {
		return &rest.Config{Host: "https://seed.example.com", BearerToken: "token"}
	}

	// loadConfig completes the component configuration the way the command does.
	loadConfig := func(path string) *ConfigOptions {
		opts := &ConfigOptions{ConfigFilePath: path}
		Expect(opts.Complete()).To(Succeed())
		return opts
	}

	It("applies the example component configuration's client connection", func() {
		opts := loadConfig(filepath.Join("..", "..", "..", "example", "component-config.yaml"))
		restConfig := withClientConnection(base(), opts.Completed().ClientConnection)
		Expect(restConfig.QPS).To(BeEquivalentTo(100))
		Expect(restConfig.Burst).To(Equal(130))
		Expect(restConfig.ContentType).To(Equal("application/json"))
		Expect(restConfig.AcceptContentTypes).To(Equal("application/json"))
		Expect(restConfig.Host).To(Equal("https://seed.example.com"))
		Expect(restConfig.BearerToken).To(Equal("token"))
	})

	It("uses Gardener's rate limits for seed components when the configuration sets none", func() {
		path := filepath.Join(GinkgoT().TempDir(), "config.yaml")
		Expect(os.WriteFile(path, []byte("apiVersion: metal.provider.extensions.config.gardener.cloud/v1alpha1\nkind: ControllerConfiguration\n"), 0o600)).To(Succeed())
		restConfig := withClientConnection(base(), loadConfig(path).Completed().ClientConnection)
		Expect(restConfig.QPS).To(BeEquivalentTo(100))
		Expect(restConfig.Burst).To(Equal(130))
		// Empty, so that controller-runtime sends custom resources as JSON and built-in kinds as protobuf.
		Expect(restConfig.ContentType).To(BeEmpty())
		Expect(restConfig.AcceptContentTypes).To(BeEmpty())
	})

	It("leaves the configuration it was given unchanged", func() {
		given := base()
		opts := loadConfig(filepath.Join("..", "..", "..", "example", "component-config.yaml"))
		Expect(withClientConnection(given, opts.Completed().ClientConnection)).NotTo(BeIdenticalTo(given))
		Expect(given.QPS).To(BeZero())
		Expect(given.Burst).To(BeZero())
	})
})

var _ = Describe("Manager options", func() {
	completed := func() *extensionscmdcontroller.ManagerOptions {
		opts := &extensionscmdcontroller.ManagerOptions{LogLevel: "info", LogFormat: "json"}
		Expect(opts.Complete()).To(Succeed())
		return opts
	}

	It("caches objects without their managedFields", func() {
		opts := managerOptions(completed(), &ProfilingOptions{})
		Expect(opts.Cache.DefaultTransform).NotTo(BeNil())
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cloudprovider", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "gardenlet"}}}}
		transformed, err := opts.Cache.DefaultTransform(secret)
		Expect(err).NotTo(HaveOccurred())
		Expect(transformed.(*corev1.Secret).ManagedFields).To(BeEmpty())
		Expect(transformed.(*corev1.Secret).Name).To(Equal("cloudprovider"))
	})

	It("serves the profiling endpoints only when asked to", func() {
		Expect(managerOptions(completed(), &ProfilingOptions{}).PprofBindAddress).To(BeEmpty())
		Expect(managerOptions(completed(), &ProfilingOptions{BindAddress: "127.0.0.1:6060"}).PprofBindAddress).To(Equal("127.0.0.1:6060"))
	})
})
