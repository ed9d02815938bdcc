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

var _ = Describe("MetalLB address pools and the shoot's networks", func() {
	fldPath := field.NewPath("spec", "provider", "controlPlaneConfig")
	const pools = "spec.provider.controlPlaneConfig.loadBalancer.metallb.ipAddressPools"

	newNetworking := func() *core.Networking {
		return &core.Networking{
			Nodes:      ptr.To("10.250.0.0/16"),
			Pods:       ptr.To("100.96.0.0/11"),
			Services:   ptr.To("100.64.0.0/13"),
			IPFamilies: []core.IPFamily{core.IPFamilyIPv4},
		}
	}
	newConfig := func() *metal.ControlPlaneConfig {
		return &metal.ControlPlaneConfig{LoadBalancer: &metal.LoadBalancerConfig{MetalLB: &metal.MetalLBConfig{
			IPAddressPools: []metal.MetalLBIPAddressPool{
				{Name: "public", Addresses: []string{"192.0.2.0/28", "192.0.2.100-192.0.2.120"}},
				{Name: "internal", Addresses: []string{"10.251.0.0/24"}},
			},
			L2: &metal.MetalLBL2Advertisement{},
		}}}
	}

	// Every rejected entry was accepted before: the pools were checked one by one, never against each other or
	// the shoot.
	DescribeTable("#ValidateControlPlaneConfig",
		func(mutate func(*metal.MetalLBConfig, *core.Networking), noNetworking bool, expected ...types.GomegaMatcher) {
			cfg, networking := newConfig(), newNetworking()
			mutate(cfg.LoadBalancer.MetalLB, networking)
			if noNetworking {
				networking = nil
			}
			expectErrors(ValidateControlPlaneConfig(cfg, networking, fldPath), expected)
		},
		Entry("valid", func(*metal.MetalLBConfig, *core.Networking) {}, false),
		Entry("adjacent entries", func(m *metal.MetalLBConfig, _ *core.Networking) {
			m.IPAddressPools[1].Addresses = []string{"192.0.2.16/28", "192.0.2.99-192.0.2.99", "192.0.2.121-192.0.2.130"}
		}, false),
		Entry("IPv6 pool on an IPv4 shoot", func(m *metal.MetalLBConfig, _ *core.Networking) {
			m.IPAddressPools[1].Addresses = []string{"2001:db8::/120"}
		}, false, fieldErr(invalid, pools+"[1].addresses[0]")),
		Entry("IPv6 range on a shoot with default families", func(m *metal.MetalLBConfig, n *core.Networking) {
			n.IPFamilies = nil
			m.IPAddressPools[1].Addresses = []string{"2001:db8::1-2001:db8::ff"}
		}, false, fieldErr(invalid, pools+"[1].addresses[0]")),
		Entry("IPv4 pool on an IPv6 shoot", func(_ *metal.MetalLBConfig, n *core.Networking) {
			n.IPFamilies = []core.IPFamily{core.IPFamilyIPv6}
			n.Nodes, n.Pods, n.Services = ptr.To("2001:db8:1::/64"), ptr.To("2001:db8:2::/56"), ptr.To("2001:db8:3::/112")
		}, false, fieldErr(invalid, pools+"[0].addresses[0]"), fieldErr(invalid, pools+"[0].addresses[1]"), fieldErr(invalid, pools+"[1].addresses[0]")),
		Entry("both families on a dual-stack shoot", func(m *metal.MetalLBConfig, n *core.Networking) {
			n.IPFamilies = []core.IPFamily{core.IPFamilyIPv4, core.IPFamilyIPv6}
			m.IPAddressPools[1].Addresses = []string{"2001:db8::/120"}
		}, false),
		Entry("pools overlapping each other", func(m *metal.MetalLBConfig, _ *core.Networking) {
			m.IPAddressPools[1].Addresses = []string{"192.0.2.8/29"}
		}, false, fieldErr(invalid, pools+"[1].addresses[0]")),
		Entry("a range overlapping a CIDR of another pool", func(m *metal.MetalLBConfig, _ *core.Networking) {
			m.IPAddressPools[1].Addresses = []string{"192.0.2.15-192.0.2.16"}
		}, false, fieldErr(invalid, pools+"[1].addresses[0]")),
		Entry("entries of one pool overlapping", func(m *metal.MetalLBConfig, _ *core.Networking) {
			m.IPAddressPools[0].Addresses = []string{"192.0.2.0/28", "192.0.2.5-192.0.2.6"}
		}, false, fieldErr(invalid, pools+"[0].addresses[1]")),
		Entry("pool in the nodes network", func(m *metal.MetalLBConfig, _ *core.Networking) {
			m.IPAddressPools[1].Addresses = []string{"10.250.255.0/24"}
		}, false, fieldErr(invalid, pools+"[1].addresses[0]")),
		Entry("pool inside the pod network", func(m *metal.MetalLBConfig, _ *core.Networking) {
			m.IPAddressPools[1].Addresses = []string{"100.96.0.0/12"}
		}, false, fieldErr(invalid, pools+"[1].addresses[0]")),
		Entry("range reaching into the service network", func(m *metal.MetalLBConfig, _ *core.Networking) {
			m.IPAddressPools[1].Addresses = []string{"100.63.255.250-100.64.0.5"}
		}, false, fieldErr(invalid, pools+"[1].addresses[0]")),
		Entry("shoot networks unknown without networking", func(m *metal.MetalLBConfig, _ *core.Networking) {
			m.IPAddressPools[1].Addresses = []string{"10.250.255.0/24", "2001:db8::/120"}
		}, true),
		Entry("pools overlapping each other without networking", func(m *metal.MetalLBConfig, _ *core.Networking) {
			m.IPAddressPools[1].Addresses = []string{"192.0.2.8/29"}
		}, true, fieldErr(invalid, pools+"[1].addresses[0]")),
		Entry("an invalid entry is reported once", func(m *metal.MetalLBConfig, _ *core.Networking) {
			m.IPAddressPools[1].Addresses = []string{"10.250.0.5/16"}
		}, false, fieldErr(invalid, pools+"[1].addresses[0]")),
	)
})
