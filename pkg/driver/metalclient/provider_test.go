package metalclient_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/metalclient"
)

func kubeconfig(server, namespace string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: metal
  cluster:
    server: %s
users:
- name: shoot
  user:
    token: t
contexts:
- name: metal
  context:
    cluster: metal
    user: shoot
    namespace: %q
current-context: metal
`, server, namespace)
}

var _ = Describe("FileSource", func() {
	var path string

	BeforeEach(func() {
		path = filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	})

	write := func(content string) {
		// Kubernetes swaps secret volume content by renaming, so does the test.
		tmp := path + ".tmp"
		ExpectWithOffset(1, os.WriteFile(tmp, []byte(content), 0o600)).To(Succeed())
		ExpectWithOffset(1, os.Rename(tmp, path)).To(Succeed())
	}

	It("takes the namespace from the current context and rebuilds the client when the file changes", func() {
		write(kubeconfig("https://metal-a.example.com", "shoot-a"))
		source, err := metalclient.NewFileSource(path, runtime.NewScheme(), nil)
		Expect(err).NotTo(HaveOccurred())
		first, ns := source.Client()
		Expect(ns).To(Equal("shoot-a"))

		ctx, cancel := context.WithCancel(context.Background())
		DeferCleanup(cancel)
		go source.Watch(ctx, 20*time.Millisecond)

		By("keeping the client while the content is the same")
		write(kubeconfig("https://metal-a.example.com", "shoot-a"))
		Consistently(func() bool { c, _ := source.Client(); return c == first }).WithTimeout(200 * time.Millisecond).Should(BeTrue())

		By("rebuilding it when the content changes")
		write(kubeconfig("https://metal-b.example.com", "shoot-b"))
		Eventually(func() string { _, ns := source.Client(); return ns }).Should(Equal("shoot-b"))

		By("keeping the last good client when the file breaks")
		write("not: [a kubeconfig")
		Consistently(func() string { _, ns := source.Client(); return ns }).WithTimeout(200 * time.Millisecond).Should(Equal("shoot-b"))
	})

	It("requires a namespace in the current context", func() {
		write(kubeconfig("https://metal-a.example.com", ""))
		_, err := metalclient.NewFileSource(path, runtime.NewScheme(), nil)
		Expect(err).To(MatchError(ContainSubstring("names no namespace")))
	})

	It("fails for a missing file", func() {
		_, err := metalclient.NewFileSource(filepath.Join(path, "missing"), runtime.NewScheme(), nil)
		Expect(err).To(MatchError(ContainSubstring("cannot read metal kubeconfig")))
	})
})
