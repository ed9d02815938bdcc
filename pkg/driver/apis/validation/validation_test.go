package validation_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis/validation"
)

const valid = `{
  "image": "gardenlinux:1877.0",
  "serverSelector": {"matchLabels": {"topology.kubernetes.io/zone": "z1"}},
  "serverTolerations": [{"key": "maintenance", "operator": "Exists"}],
  "extraIgnition": {"override": true},
  "ipamConfig": [{"metadataKey": "node", "ipamRef": {"apiGroup": "ipam.cluster.x-k8s.io", "kind": "GlobalInClusterIPPool", "name": "nodes"}}],
  "metadata": {"cluster": "c"},
  "dnsServers": ["10.0.0.53"],
  "labels": {"shoot": "s"}
}`

var _ = Describe("provider spec", func() {
	It("decodes and accepts a valid spec", func() {
		spec, err := apis.Decode([]byte(valid))
		Expect(err).NotTo(HaveOccurred())
		Expect(spec.IPAMConfig[0].IPAMRef.Kind).To(Equal("GlobalInClusterIPPool"))
		Expect(validation.ValidateProviderSpec(spec, field.NewPath("providerSpec"))).To(BeEmpty())
	})

	DescribeTable("decoding errors",
		func(raw, message string) {
			_, err := apis.Decode([]byte(raw))
			Expect(err).To(MatchError(ContainSubstring(message)))
		},
		Entry("empty", "  ", "empty"),
		Entry("unknown field", `{"image":"i","colour":"red"}`, `unknown field "colour"`),
		Entry("unknown nested field", `{"ipamConfig":[{"metadataKey":"k","ipamRef":{"group":"g"}}]}`, `unknown field "group"`),
		Entry("trailing data", `{"image":"i"} {}`, "unexpected data"),
		Entry("wrong type", `{"labels":"shoot"}`, "cannot unmarshal"),
	)

	DescribeTable("validation errors",
		func(mutate func(*apis.ProviderSpec), fieldPath string) {
			spec, err := apis.Decode([]byte(valid))
			Expect(err).NotTo(HaveOccurred())
			mutate(spec)
			Expect(validation.ValidateProviderSpec(spec, field.NewPath("providerSpec"))).To(ContainElement(HaveField("Field", fieldPath)))
		},
		Entry("no image", func(s *apis.ProviderSpec) { s.Image = "" }, "providerSpec.image"),
		Entry("no labels", func(s *apis.ProviderSpec) { s.Labels = nil }, "providerSpec.labels"),
		Entry("bad label", func(s *apis.ProviderSpec) { s.Labels = map[string]string{"a b": "c"} }, "providerSpec.labels"),
		Entry("no selector", func(s *apis.ProviderSpec) { s.ServerSelector = nil }, "providerSpec.serverSelector"),
		Entry("empty selector", func(s *apis.ProviderSpec) { s.ServerSelector.MatchLabels = nil }, "providerSpec.serverSelector"),
		Entry("toleration without key", func(s *apis.ProviderSpec) { s.ServerTolerations[0].Key = "" }, "providerSpec.serverTolerations[0].key"),
		Entry("unknown operator", func(s *apis.ProviderSpec) { s.ServerTolerations[0].Operator = "In" }, "providerSpec.serverTolerations[0].operator"),
		Entry("value with Exists", func(s *apis.ProviderSpec) { s.ServerTolerations[0].Value = "v" }, "providerSpec.serverTolerations[0].value"),
		Entry("unknown effect", func(s *apis.ProviderSpec) { s.ServerTolerations[0].Effect = "NoSchedule" }, "providerSpec.serverTolerations[0].effect"),
		Entry("no metadata key", func(s *apis.ProviderSpec) { s.IPAMConfig[0].MetadataKey = "" }, "providerSpec.ipamConfig[0].metadataKey"),
		Entry("metadata key no DNS label", func(s *apis.ProviderSpec) { s.IPAMConfig[0].MetadataKey = "Node_IP" }, "providerSpec.ipamConfig[0].metadataKey"),
		Entry("duplicate metadata key", func(s *apis.ProviderSpec) { s.IPAMConfig = append(s.IPAMConfig, s.IPAMConfig[0]) }, "providerSpec.ipamConfig[1].metadataKey"),
		Entry("metadata key in metadata", func(s *apis.ProviderSpec) { s.Metadata["node"] = "x" }, "providerSpec.ipamConfig[0].metadataKey"),
		Entry("pool without group", func(s *apis.ProviderSpec) { s.IPAMConfig[0].IPAMRef.APIGroup = "" }, "providerSpec.ipamConfig[0].ipamRef.apiGroup"),
		Entry("pool without kind", func(s *apis.ProviderSpec) { s.IPAMConfig[0].IPAMRef.Kind = "" }, "providerSpec.ipamConfig[0].ipamRef.kind"),
		Entry("pool without name", func(s *apis.ProviderSpec) { s.IPAMConfig[0].IPAMRef.Name = "" }, "providerSpec.ipamConfig[0].ipamRef.name"),
		Entry("DNS server no IP", func(s *apis.ProviderSpec) { s.DNSServers = []string{"ns1.example.com"} }, "providerSpec.dnsServers[0]"),
	)
})
