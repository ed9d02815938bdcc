package controlplane

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

func kubeconfigFor(server string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
current-context: metal
contexts:
- name: metal
  context: {cluster: metal, user: metal, namespace: metal-ns}
clusters:
- name: metal
  cluster: {server: %q}
users:
- name: metal
  user: {token: not-a-secret}
`, server)
}

var _ = Describe("Egress to the metal API", func() {
	// The labels are those Gardener's seed network policies select on (gardener docs/operations/network_policies.md,
	// gardener-resource-manager's networkpolicy controller for Services of other namespaces).
	DescribeTable("labels the cloud-controller-manager for where the metal API runs",
		func(server string, expected map[string]any) {
			labels, err := metalAPIEgressLabels(kubeconfigFor(server))
			Expect(err).NotTo(HaveOccurred())
			Expect(labels).To(Equal(expected))

			cluster := testCluster(ipv4, "cilium")
			seed, err := seedValues(&api.ControlPlaneConfig{}, cluster, &metalAccess{namespace: metalNamespace, egressLabels: labels}, serverSecret, 1)
			Expect(err).NotTo(HaveOccurred())
			podLabels := get[*appsv1.Deployment](render(seedChart, seedNamespace, seed), "Deployment", "cloud-controller-manager").Spec.Template.Labels
			for key, value := range expected {
				Expect(podLabels).To(HaveKeyWithValue(key, value))
			}
		},
		Entry("the runtime cluster's API server", "https://kubernetes.default.svc",
			map[string]any{"networking.gardener.cloud/to-runtime-apiserver": "allowed"}),
		Entry("the runtime cluster's API server, fully qualified", "https://kubernetes.default.svc.cluster.local:443",
			map[string]any{"networking.gardener.cloud/to-runtime-apiserver": "allowed"}),
		Entry("a Service in the seed", "https://metal-apiserver.metal-system.svc:6443",
			map[string]any{"networking.resources.gardener.cloud/to-metal-system-metal-apiserver-tcp-6443": "allowed"}),
		Entry("a Service in the seed without a port", "https://metal-apiserver.metal-system.svc.cluster.local",
			map[string]any{"networking.resources.gardener.cloud/to-metal-system-metal-apiserver-tcp-443": "allowed"}),
		Entry("a public host", "https://metal.example.com",
			map[string]any{"networking.gardener.cloud/to-public-networks": "allowed", "networking.gardener.cloud/to-private-networks": "allowed"}),
		Entry("an IP address", "https://10.0.0.1:6443",
			map[string]any{"networking.gardener.cloud/to-public-networks": "allowed", "networking.gardener.cloud/to-private-networks": "allowed"}),
	)

	It("rejects a kubeconfig without a usable server", func() {
		_, err := metalAPIEgressLabels(kubeconfigFor("not a url"))
		Expect(err).To(MatchError(ContainSubstring("server")))
		_, err = metalAPIEgressLabels([]byte("current-context: missing\n"))
		Expect(err).To(MatchError(ContainSubstring("current context")))
		_, err = metalAPIEgressLabels([]byte("users: [{name: metal, user: {token: secret-token}}\n"))
		Expect(err).To(MatchError(Not(ContainSubstring("secret-token"))))
	})
})
