package worker

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/ignition"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var _ = Describe("ProviderSpec", func() {
	var in providerSpecInput
	configPath := field.NewPath("spec", "pools").Index(1).Child("providerConfig")

	BeforeEach(func() {
		in = providerSpecInput{
			shootID:     "shoot--p--s",
			image:       "r.io/gl:1.0",
			region:      "r1",
			zone:        "z2",
			machineType: &api.MachineType{Name: "m1", ServerLabels: map[string]string{"type": "m1", "vendor": "x"}},
			config:      &api.WorkerConfig{},
			infra: &api.InfrastructureConfig{Networks: []api.Network{{
				Name: "nodes", IPAMPoolRef: &api.IPAMPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "nodes-pool"},
			}}},
			profile: &api.CloudProfileConfig{DNSServers: []string{"10.0.0.53"}},
		}
	})

	It("selects Servers by machine type, extra labels, zone and region and scopes the claims to the shoot", func() {
		in.config = &api.WorkerConfig{
			ExtraServerLabels: map[string]string{"rack": "r1", "vendor": "x"},
			ServerTolerations: []api.ServerToleration{{Key: "dedicated", Operator: "Equal", Value: "gpu", Effect: "NoBind"}},
			IPAMConfig: []api.IPAMConfig{
				{MetadataKey: "node", IPAMRef: api.IPAMReference{Network: "nodes"}},
				{MetadataKey: "storage", IPAMRef: api.IPAMReference{Pool: &api.IPAMPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "GlobalInClusterIPPool", Name: "storage"}}},
			},
			Metadata: map[string]string{"role": "worker"},
		}
		spec, err := buildProviderSpec(in, configPath)
		Expect(err).NotTo(HaveOccurred())
		Expect(spec.Image).To(Equal("r.io/gl:1.0"))
		Expect(spec.ServerSelector.MatchLabels).To(Equal(map[string]string{"type": "m1", "vendor": "x", "rack": "r1", metal.ZoneLabel: "z2", metal.RegionLabel: "r1"}))
		Expect(spec.ServerSelector.MatchExpressions).To(BeEmpty())
		Expect(spec.ServerTolerations).To(Equal([]apis.Toleration{{Key: "dedicated", Operator: "Equal", Value: "gpu", Effect: "NoBind"}}))
		Expect(spec.IPAMConfig).To(Equal([]apis.IPAMConfig{
			{MetadataKey: "node", IPAMRef: apis.IPAMObjectReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "nodes-pool"}},
			{MetadataKey: "storage", IPAMRef: apis.IPAMObjectReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "GlobalInClusterIPPool", Name: "storage"}},
		}))
		Expect(spec.Metadata).To(Equal(map[string]string{"role": "worker"}))
		Expect(spec.Labels).To(Equal(map[string]string{metal.ShootLabel: "shoot--p--s"}))
	})

	It("rejects an extra label that contradicts the region, with its path", func() {
		in.config = &api.WorkerConfig{ExtraServerLabels: map[string]string{metal.RegionLabel: "r2"}}
		_, err := buildProviderSpec(in, configPath)
		Expect(err).To(MatchError(ContainSubstring("spec.pools[1].providerConfig.extraServerLabels[topology.kubernetes.io/region]")))
		Expect(v1beta1helper.ExtractErrorCodes(err)).To(ConsistOf(gardencorev1beta1.ErrorConfigurationProblem))
	})

	It("announces extra Ignition without its content", func() {
		in.ignition = &poolIgnition{merged: `{"ignition":{"version":"3.5.0"}}`, own: `{}`, override: true}
		spec, err := buildProviderSpec(in, configPath)
		Expect(err).NotTo(HaveOccurred())
		Expect(spec.ExtraIgnition).To(Equal(&apis.ExtraIgnition{Override: true}))
		raw, err := json.Marshal(spec)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(raw)).NotTo(ContainSubstring("3.5.0"))
	})

	It("adds the Shoot's UID to the scope labels, so that shoots of the same technical ID in other gardens stay apart", func() {
		in.shootUID = "0c6d8a52-1111-4c1e-9d0a-6c1f7e2a9b11"
		spec, err := buildProviderSpec(in, configPath)
		Expect(err).NotTo(HaveOccurred())
		Expect(spec.Labels).To(Equal(map[string]string{metal.ShootLabel: "shoot--p--s", metal.ShootUIDLabel: "0c6d8a52-1111-4c1e-9d0a-6c1f7e2a9b11"}))
	})

	It("round-trips through the driver's strict decoder", func() {
		in.config = &api.WorkerConfig{ServerTolerations: []api.ServerToleration{{Key: "k", Operator: "Exists"}}}
		spec, err := buildProviderSpec(in, configPath)
		Expect(err).NotTo(HaveOccurred())
		raw, err := json.Marshal(spec)
		Expect(err).NotTo(HaveOccurred())
		decoded, err := apis.Decode(raw)
		Expect(err).NotTo(HaveOccurred())
		Expect(decoded).To(Equal(spec))
	})

	It("takes the pool's DNS servers over the CloudProfile's", func() {
		spec, err := buildProviderSpec(in, configPath)
		Expect(err).NotTo(HaveOccurred())
		Expect(spec.DNSServers).To(Equal([]string{"10.0.0.53"}))

		in.config = &api.WorkerConfig{DNSServers: []string{"192.168.0.1"}}
		spec, err = buildProviderSpec(in, configPath)
		Expect(err).NotTo(HaveOccurred())
		Expect(spec.DNSServers).To(Equal([]string{"192.168.0.1"}))
	})

	It("rejects an extra label that contradicts the machine type with its field path", func() {
		in.config = &api.WorkerConfig{ExtraServerLabels: map[string]string{"type": "m2"}}
		_, err := buildProviderSpec(in, configPath)
		Expect(err).To(MatchError(ContainSubstring("spec.pools[1].providerConfig.extraServerLabels[type]")))
		Expect(err).To(MatchError(ContainSubstring(`machine type "m1"`)))
		Expect(v1beta1helper.ExtractErrorCodes(err)).To(ConsistOf(gardencorev1beta1.ErrorConfigurationProblem))
	})

	It("rejects a network without a pool", func() {
		in.config = &api.WorkerConfig{IPAMConfig: []api.IPAMConfig{{MetadataKey: "n", IPAMRef: api.IPAMReference{Network: "other"}}}}
		_, err := buildProviderSpec(in, configPath)
		Expect(err).To(MatchError(ContainSubstring("spec.pools[1].providerConfig.ipamConfig[0].ipamRef.network")))
	})

	It("rejects what the driver would reject", func() {
		// The worker validation accepts any metadata key, the driver names IPAddressClaims after it.
		in.config = &api.WorkerConfig{IPAMConfig: []api.IPAMConfig{{MetadataKey: "Node_IP", IPAMRef: api.IPAMReference{Network: "nodes"}}}}
		_, err := buildProviderSpec(in, configPath)
		Expect(err).To(MatchError(And(ContainSubstring("spec.pools[1].providerConfig"), ContainSubstring("providerSpec.ipamConfig[0].metadataKey"))))
		Expect(v1beta1helper.ExtractErrorCodes(err)).To(ConsistOf(gardencorev1beta1.ErrorConfigurationProblem))
	})

	Describe("Ignition", func() {
		profile := `{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/a","contents":{"source":"data:,profile-a"}},{"path":"/etc/b","contents":{"source":"data:,profile-b"}}]}}`
		pool := "ignition:\n  version: 3.2.0\nstorage:\n  files:\n  - path: /etc/b\n    contents:\n      source: data:,pool-b\n"

		It("is nil without any", func() {
			Expect(mergeIgnition("", "", true)).To(BeNil())
		})

		It("merges the pool's YAML over the CloudProfile's JSON into Ignition 3.5 JSON", func() {
			merged, err := mergeIgnition(profile, pool, true)
			Expect(err).NotTo(HaveOccurred())
			Expect(merged.override).To(BeTrue())
			cfg, err := ignition.ParseExtra(merged.merged)
			Expect(err).NotTo(HaveOccurred())
			Expect(cfg.Ignition.Version).To(Equal("3.5.0"))
			sources := map[string]string{}
			for _, f := range cfg.Storage.Files {
				sources[f.Path] = ptr.Deref(f.Contents.Source, "")
			}
			Expect(sources).To(Equal(map[string]string{"/etc/a": "data:,profile-a", "/etc/b": "data:,pool-b"}))

			own, err := ignition.ParseExtra(merged.own)
			Expect(err).NotTo(HaveOccurred())
			Expect(own.Storage.Files).To(ConsistOf(HaveField("Path", "/etc/b")), "the pool's own part leaves the CloudProfile's out")
		})

		It("passes a single config on", func() {
			merged, err := mergeIgnition("", pool, false)
			Expect(err).NotTo(HaveOccurred())
			Expect(merged.override).To(BeFalse())
			Expect(merged.merged).To(ContainSubstring("pool-b"))
		})

		It("names the invalid part", func() {
			_, err := mergeIgnition(`{"ignition":{"version":"9.0.0"}}`, "", false)
			Expect(err).To(MatchError(ContainSubstring("CloudProfile Ignition")))
		})
	})
})
