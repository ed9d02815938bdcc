package helper_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
)

const apiVersion = `"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1"`

func raw(s string) *runtime.RawExtension {
	return &runtime.RawExtension{Raw: []byte(s)}
}

var _ = Describe("Decoding", func() {
	Describe("#CloudProfileConfigFromRaw", func() {
		It("should require a providerConfig", func() {
			_, err := CloudProfileConfigFromRaw(nil)
			Expect(err).To(MatchError(ContainSubstring("providerConfig is required")))
			_, err = CloudProfileConfigFromRaw(&runtime.RawExtension{})
			Expect(err).To(MatchError(ContainSubstring("providerConfig is required")))
		})

		It("should decode JSON and default the image architecture", func() {
			cfg, err := CloudProfileConfigFromRaw(raw(`{` + apiVersion + `,"kind":"CloudProfileConfig",
				"machineImages":[{"name":"gardenlinux","versions":[{"version":"1.0","image":"ghcr.io/a/b:1.0"}]}],
				"machineTypes":[{"name":"m1","serverLabels":{"type":"m1"}}],
				"regionConfigs":[{"name":"r1","server":"https://metal.example.com"}]}`))
			Expect(err).NotTo(HaveOccurred())
			Expect(cfg.MachineImages).To(HaveLen(1))
			Expect(cfg.MachineImages[0].Versions[0].Architecture).To(Equal(ptr.To("amd64")))
			Expect(cfg.MachineTypes[0].ServerLabels).To(HaveKeyWithValue("type", "m1"))
			Expect(cfg.RegionConfigs[0].Server).To(Equal("https://metal.example.com"))
		})

		It("should decode YAML", func() {
			cfg, err := CloudProfileConfigFromRaw(raw("apiVersion: metal.provider.extensions.gardener.cloud/v1alpha1\n" +
				"kind: CloudProfileConfig\nmachineImages: []\nmachineTypes: []\nregionConfigs: []\ndnsServers: [\"10.0.0.1\"]\n"))
			Expect(err).NotTo(HaveOccurred())
			Expect(cfg.DNSServers).To(ConsistOf("10.0.0.1"))
		})

		It("should reject unknown fields and name them", func() {
			_, err := CloudProfileConfigFromRaw(raw(`{` + apiVersion + `,"kind":"CloudProfileConfig","machineImagez":[]}`))
			Expect(err).To(MatchError(And(ContainSubstring("CloudProfileConfig"), ContainSubstring(`unknown field "machineImagez"`))))
		})

		It("should reject a wrong kind", func() {
			_, err := CloudProfileConfigFromRaw(raw(`{` + apiVersion + `,"kind":"WorkerConfig"}`))
			Expect(err).To(MatchError(ContainSubstring(`kind must be "CloudProfileConfig", got "WorkerConfig"`)))
		})

		It("should reject a wrong apiVersion", func() {
			_, err := CloudProfileConfigFromRaw(raw(`{"apiVersion":"local.provider.extensions.gardener.cloud/v1alpha1","kind":"CloudProfileConfig"}`))
			Expect(err).To(MatchError(ContainSubstring(`apiVersion must be "metal.provider.extensions.gardener.cloud/v1alpha1"`)))
		})

		It("should reject a missing apiVersion", func() {
			_, err := CloudProfileConfigFromRaw(raw(`{"kind":"CloudProfileConfig"}`))
			Expect(err).To(MatchError(ContainSubstring(`got ""`)))
		})

		It("should reject malformed data", func() {
			_, err := CloudProfileConfigFromRaw(raw(`{`))
			Expect(err).To(MatchError(ContainSubstring("could not decode CloudProfileConfig")))
		})
	})

	Describe("#InfrastructureConfigFromRaw", func() {
		It("should return an empty config for nil", func() {
			cfg, err := InfrastructureConfigFromRaw(nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(cfg.Networks).To(BeEmpty())
		})

		It("should decode networks", func() {
			cfg, err := InfrastructureConfigFromRaw(raw(`{` + apiVersion + `,"kind":"InfrastructureConfig","networks":[{"name":"n1","cidr":"10.0.0.0/24",
				"ipamPoolRef":{"apiGroup":"ipam.cluster.x-k8s.io","kind":"InClusterIPPool","name":"p1"}}]}`))
			Expect(err).NotTo(HaveOccurred())
			Expect(cfg.Networks).To(ConsistOf(metal.Network{Name: "n1", CIDR: "10.0.0.0/24",
				IPAMPoolRef: &metal.IPAMPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "p1"}}))
		})

		It("should reject unknown nested fields", func() {
			_, err := InfrastructureConfigFromRaw(raw(`{` + apiVersion + `,"kind":"InfrastructureConfig","networks":[{"name":"n1","cidrs":"10.0.0.0/24"}]}`))
			Expect(err).To(MatchError(And(ContainSubstring("InfrastructureConfig"), ContainSubstring(`unknown field "networks[0].cidrs"`))))
		})
	})

	Describe("#ControlPlaneConfigFromRaw", func() {
		It("should default an absent config", func() {
			for _, r := range []*runtime.RawExtension{nil, {}} {
				cfg, err := ControlPlaneConfigFromRaw(r)
				Expect(err).NotTo(HaveOccurred())
				Expect(cfg.NodeNamePolicy).To(Equal(metal.NodeNamePolicyServerClaimName))
			}
		})

		It("should apply nested defaults", func() {
			cfg, err := ControlPlaneConfigFromRaw(raw(`{` + apiVersion + `,"kind":"ControlPlaneConfig","storage":{"local":{}},
				"loadBalancer":{"metallb":{"ipAddressPools":[{"name":"p","addresses":["10.0.0.0/28"]}],
				"bgp":{"peers":[{"name":"tor","peerAddress":"10.0.0.1","peerASN":65000,"myASN":65001}]}},
				"calicoBgp":{"asNumber":65001}},"cloudControllerManager":{"networking":{}}}`))
			Expect(err).NotTo(HaveOccurred())
			Expect(cfg.CloudControllerManager.Networking.ConfigureNodeAddresses).To(Equal(ptr.To(true)))
			Expect(cfg.NodeNamePolicy).To(Equal(metal.NodeNamePolicyServerClaimName))
			Expect(cfg.Storage.Local.Enabled).To(Equal(ptr.To(true)))
			Expect(cfg.LoadBalancer.MetalLB.BGP.Peers[0].PeerPort).To(Equal(ptr.To[int32](179)))
			Expect(cfg.LoadBalancer.CalicoBGP.NodeToNodeMeshEnabled).To(Equal(ptr.To(true)))
		})

		It("should keep an explicit node name policy", func() {
			cfg, err := ControlPlaneConfigFromRaw(raw(`{` + apiVersion + `,"kind":"ControlPlaneConfig","nodeNamePolicy":"BMCName"}`))
			Expect(err).NotTo(HaveOccurred())
			Expect(cfg.NodeNamePolicy).To(Equal(metal.NodeNamePolicyBMCName))
		})

		It("should reject unknown fields", func() {
			_, err := ControlPlaneConfigFromRaw(raw(`{` + apiVersion + `,"kind":"ControlPlaneConfig","loadBalancer":{"metalLB":{}}}`))
			Expect(err).To(MatchError(ContainSubstring(`unknown field "loadBalancer.metalLB"`)))
		})

		It("should reject a wrong kind", func() {
			_, err := ControlPlaneConfigFromRaw(raw(`{` + apiVersion + `,"kind":"InfrastructureConfig"}`))
			Expect(err).To(MatchError(ContainSubstring(`kind must be "ControlPlaneConfig"`)))
		})
	})

	Describe("#WorkerConfigFromRaw", func() {
		It("should return an empty config for nil", func() {
			cfg, err := WorkerConfigFromRaw(nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(cfg).To(Equal(&metal.WorkerConfig{}))
		})

		It("should default the toleration operator", func() {
			cfg, err := WorkerConfigFromRaw(raw(`{` + apiVersion + `,"kind":"WorkerConfig","serverTolerations":[{"key":"k","value":"v"}]}`))
			Expect(err).NotTo(HaveOccurred())
			Expect(cfg.ServerTolerations).To(ConsistOf(metal.ServerToleration{Key: "k", Operator: "Equal", Value: "v"}))
		})

		It("should reject duplicate fields", func() {
			_, err := WorkerConfigFromRaw(raw(`{` + apiVersion + `,"kind":"WorkerConfig","dnsServers":[],"dnsServers":[]}`))
			Expect(err).To(MatchError(ContainSubstring(`duplicate field "dnsServers"`)))
		})
	})

	Describe("status", func() {
		It("should return nil for absent status", func() {
			infra, err := InfrastructureStatusFromRaw(nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(infra).To(BeNil())
			worker, err := WorkerStatusFromRaw(&runtime.RawExtension{})
			Expect(err).NotTo(HaveOccurred())
			Expect(worker).To(BeNil())
		})

		It("should decode the infrastructure status", func() {
			status, err := InfrastructureStatusFromRaw(raw(`{` + apiVersion + `,"kind":"InfrastructureStatus","networks":[{"name":"n","cidr":"10.0.0.0/24"}],
				"serverCapacity":[{"pool":"p","zone":"z","machineType":"m","matching":3,"available":2,"minimum":1}]}`))
			Expect(err).NotTo(HaveOccurred())
			Expect(status.Networks).To(ConsistOf(metal.NetworkStatus{Name: "n", CIDR: "10.0.0.0/24"}))
			Expect(status.ServerCapacity).To(ConsistOf(metal.ServerCapacity{Pool: "p", Zone: "z", MachineType: "m", Matching: 3, Available: 2, Minimum: 1}))
		})

		It("should decode the worker status", func() {
			status, err := WorkerStatusFromRaw(raw(`{` + apiVersion + `,"kind":"WorkerStatus","machineImages":[{"name":"gl","version":"1","image":"ghcr.io/a/b:1"}]}`))
			Expect(err).NotTo(HaveOccurred())
			Expect(status.MachineImages).To(ConsistOf(metal.MachineImage{Name: "gl", Version: "1", Image: "ghcr.io/a/b:1"}))
		})

		It("should reject a status of the wrong kind", func() {
			_, err := WorkerStatusFromRaw(raw(`{` + apiVersion + `,"kind":"InfrastructureStatus"}`))
			Expect(err).To(MatchError(ContainSubstring(`kind must be "WorkerStatus"`)))
		})
	})
})
