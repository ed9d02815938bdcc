package validation_test

import (
	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/gardener/gardener/pkg/apis/core"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
)

var _ = Describe("InfrastructureConfig", func() {
	fldPath := field.NewPath("spec", "provider", "infrastructureConfig")

	newConfig := func() *metal.InfrastructureConfig {
		return &metal.InfrastructureConfig{Networks: []metal.Network{
			{Name: "nodes", CIDR: "10.250.0.0/16", IPAMPoolRef: &metal.IPAMPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "shoot-nodes"}},
			{Name: "storage", CIDR: "2001:db8:1::/64"},
		}}
	}
	newNetworking := func() *core.Networking {
		return &core.Networking{
			Nodes:      ptr.To("10.250.0.0/16"),
			Pods:       ptr.To("100.96.0.0/11"),
			Services:   ptr.To("100.64.0.0/13"),
			IPFamilies: []core.IPFamily{core.IPFamilyIPv4, core.IPFamilyIPv6},
		}
	}

	DescribeTable("#ValidateInfrastructureConfig",
		func(mutate func(*metal.InfrastructureConfig, *core.Networking), noNetworking bool, expected ...types.GomegaMatcher) {
			cfg, networking := newConfig(), newNetworking()
			if mutate != nil {
				mutate(cfg, networking)
			}
			if noNetworking {
				networking = nil
			}
			expectErrors(ValidateInfrastructureConfig(cfg, networking, fldPath), expected)
		},
		Entry("valid config", nil, false),
		Entry("valid config without networking", nil, true),
		Entry("empty config", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks = nil }, false),
		Entry("missing name", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[0].Name = "" }, false,
			fieldErr(required, "spec.provider.infrastructureConfig.networks[0].name")),
		Entry("name that is no DNS label", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[0].Name = "Nodes.Net" }, false,
			fieldErr(invalid, "spec.provider.infrastructureConfig.networks[0].name")),
		Entry("duplicate name", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[1].Name = "nodes" }, false,
			fieldErr(duplicate, "spec.provider.infrastructureConfig.networks[1].name")),
		Entry("missing CIDR", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[1].CIDR = "" }, false,
			fieldErr(required, "spec.provider.infrastructureConfig.networks[1].cidr")),
		Entry("invalid CIDR", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[1].CIDR = "10.0.0.0/33" }, false,
			fieldErr(invalid, "spec.provider.infrastructureConfig.networks[1].cidr")),
		Entry("CIDR with host bits", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[0].CIDR = "10.250.1.1/16" }, false,
			fieldErr(invalid, "spec.provider.infrastructureConfig.networks[0].cidr")),
		Entry("overlapping networks", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[1].CIDR = "10.250.128.0/17" }, false,
			fieldErr(invalid, "spec.provider.infrastructureConfig.networks[1].cidr")),
		Entry("overlap with pods", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[0].CIDR = "100.100.0.0/16" }, false,
			fieldErr(invalid, "spec.provider.infrastructureConfig.networks[0].cidr")),
		Entry("overlap with services", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[0].CIDR = "100.64.0.0/24" }, false,
			fieldErr(invalid, "spec.provider.infrastructureConfig.networks[0].cidr")),
		Entry("network part of the nodes network", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[0].CIDR = "10.250.64.0/18" }, false),
		Entry("network larger than the nodes network", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[0].CIDR = "10.248.0.0/14" }, false,
			fieldErr(invalid, "spec.provider.infrastructureConfig.networks[0].cidr")),
		Entry("network outside the nodes network", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[0].CIDR = "10.251.0.0/16" }, false,
			fieldErr(invalid, "spec.provider.infrastructureConfig.networks[0].cidr")),
		Entry("network of a family the shoot does not run", func(_ *metal.InfrastructureConfig, n *core.Networking) {
			n.IPFamilies = []core.IPFamily{core.IPFamilyIPv4}
		}, false, fieldErr(invalid, "spec.provider.infrastructureConfig.networks[1].cidr")),
		Entry("networks without spec.networking.nodes", func(_ *metal.InfrastructureConfig, n *core.Networking) { n.Nodes = nil }, false,
			fieldErr(required, "spec.networking.nodes")),
		Entry("nodes network ignored without networking", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[0].CIDR = "10.251.0.0/16" }, true),
		Entry("overlap with pods ignored without networking", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[0].CIDR = "100.100.0.0/16" }, true),
		Entry("wrong pool API group", func(c *metal.InfrastructureConfig, _ *core.Networking) {
			c.Networks[0].IPAMPoolRef.APIGroup = "ipam.metal.ironcore.dev"
		}, false,
			fieldErr(notSupported, "spec.provider.infrastructureConfig.networks[0].ipamPoolRef.apiGroup")),
		Entry("missing pool kind", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[0].IPAMPoolRef.Kind = "" }, false,
			fieldErr(required, "spec.provider.infrastructureConfig.networks[0].ipamPoolRef.kind")),
		Entry("pool name that is no DNS subdomain", func(c *metal.InfrastructureConfig, _ *core.Networking) {
			c.Networks[0].IPAMPoolRef.Name = "Shoot_Nodes"
		}, false,
			fieldErr(invalid, "spec.provider.infrastructureConfig.networks[0].ipamPoolRef.name")),
		Entry("missing pool name", func(c *metal.InfrastructureConfig, _ *core.Networking) { c.Networks[0].IPAMPoolRef.Name = "" }, false,
			fieldErr(required, "spec.provider.infrastructureConfig.networks[0].ipamPoolRef.name")),
	)

	DescribeTable("#ValidateInfrastructureConfigUpdate",
		func(mutate func(*metal.InfrastructureConfig), expected ...types.GomegaMatcher) {
			newCfg := newConfig()
			mutate(newCfg)
			expectErrors(ValidateInfrastructureConfigUpdate(newConfig(), newCfg, fldPath), expected)
		},
		Entry("unchanged", func(*metal.InfrastructureConfig) {}),
		Entry("network added", func(c *metal.InfrastructureConfig) {
			c.Networks = append(c.Networks, metal.Network{Name: "extra", CIDR: "192.168.0.0/24"})
		}),
		Entry("networks reordered", func(c *metal.InfrastructureConfig) {
			c.Networks[0], c.Networks[1] = c.Networks[1], c.Networks[0]
		}),
		Entry("network removed", func(c *metal.InfrastructureConfig) { c.Networks = c.Networks[1:] },
			fieldErr(forbidden, "spec.provider.infrastructureConfig.networks")),
		Entry("network renamed", func(c *metal.InfrastructureConfig) { c.Networks[1].Name = "storage2" },
			fieldErr(forbidden, "spec.provider.infrastructureConfig.networks")),
		Entry("CIDR changed", func(c *metal.InfrastructureConfig) { c.Networks[0].CIDR = "10.251.0.0/16" },
			fieldErr(invalid, "spec.provider.infrastructureConfig.networks[0].cidr")),
		Entry("pool changed", func(c *metal.InfrastructureConfig) { c.Networks[0].IPAMPoolRef.Name = "other" },
			fieldErr(invalid, "spec.provider.infrastructureConfig.networks[0].ipamPoolRef")),
		Entry("pool added", func(c *metal.InfrastructureConfig) {
			c.Networks[1].IPAMPoolRef = &metal.IPAMPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "storage"}
		}, fieldErr(invalid, "spec.provider.infrastructureConfig.networks[1].ipamPoolRef")),
	)
})
