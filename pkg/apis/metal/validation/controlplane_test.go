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

var _ = Describe("ControlPlaneConfig", func() {
	fldPath := field.NewPath("spec", "provider", "controlPlaneConfig")
	const lb = "spec.provider.controlPlaneConfig.loadBalancer"

	newNetworking := func() *core.Networking {
		return &core.Networking{
			Type:       ptr.To("calico"),
			Pods:       ptr.To("100.96.0.0/11"),
			Services:   ptr.To("100.64.0.0/13"),
			IPFamilies: []core.IPFamily{core.IPFamilyIPv4},
		}
	}
	// newConfig uses MetalLB with L2 and Calico BGP; the metal load balancer is tested on its own because it
	// excludes MetalLB.
	newConfig := func() *metal.ControlPlaneConfig {
		return &metal.ControlPlaneConfig{
			NodeNamePolicy: metal.NodeNamePolicyServerName,
			CloudControllerManager: &metal.CloudControllerManagerConfig{
				FeatureGates:  map[string]bool{"CloudControllerManagerWebhook": true, "ContextualLogging": false},
				PodPrefixSize: ptr.To[int32](24),
				Networking: &metal.CCMNetworking{
					ConfigureNodeAddresses: ptr.To(true),
					IPAMKind:               &metal.IPAMKind{APIGroup: "ipam.cluster.x-k8s.io", Kind: "IPAddress"},
				},
			},
			LoadBalancer: &metal.LoadBalancerConfig{
				MetalLB: &metal.MetalLBConfig{
					IPAddressPools: []metal.MetalLBIPAddressPool{
						{Name: "public", Addresses: []string{"192.0.2.0/28", "192.0.2.100-192.0.2.120"}},
						{Name: "v6", Addresses: []string{"198.51.100.0/28", "198.51.100.100 - 198.51.100.110"}, AutoAssign: ptr.To(false)},
					},
					L2: &metal.MetalLBL2Advertisement{IPAddressPools: []string{"public"}, Interfaces: []string{"eth0"}},
				},
				CalicoBGP: &metal.CalicoBGPConfig{
					ASNumber:               65001,
					ServiceLoadBalancerIPs: []string{"192.0.2.0/24"},
					ServiceExternalIPs:     []string{"198.51.100.0/24"},
					ServiceClusterIPs:      []string{"100.64.0.0/13"},
					Peers: []metal.CalicoBGPPeer{
						{PeerIP: "10.0.0.1", ASNumber: 65000, Filters: []string{"only-lb"}},
						{PeerIP: "[2001:db8::1]:179", ASNumber: 4200000000, NodeSelector: "rack == 'a'"},
					},
					Filters: []metal.CalicoBGPFilter{{
						Name:     "only-lb",
						ExportV4: []metal.CalicoBGPFilterRule{{CIDR: "192.0.2.0/24", MatchOperator: "In", Action: "Accept"}},
						ImportV6: []metal.CalicoBGPFilterRule{{CIDR: "2001:db8::/32", MatchOperator: "NotIn", Action: "Reject"}},
					}},
					IPPools: []metal.CalicoIPPool{
						{Name: "extra-v4", CIDR: "172.16.0.0/16", BlockSize: ptr.To[int32](26)},
						{Name: "extra-v6", CIDR: "2001:db8:100::/48", BlockSize: ptr.To[int32](122)},
					},
				},
			},
			Storage: &metal.StorageConfig{Local: &metal.LocalStorageConfig{Enabled: ptr.To(true), Default: ptr.To(true)}},
		}
	}

	DescribeTable("#ValidateControlPlaneConfig",
		func(mutate func(*metal.ControlPlaneConfig, *core.Networking), expected ...types.GomegaMatcher) {
			cfg, networking := newConfig(), newNetworking()
			if mutate != nil {
				mutate(cfg, networking)
			}
			expectErrors(ValidateControlPlaneConfig(cfg, networking, fldPath), expected)
		},
		Entry("valid config", nil),
		Entry("empty config", func(c *metal.ControlPlaneConfig, _ *core.Networking) { *c = metal.ControlPlaneConfig{} }),
		Entry("MetalLB with BGP instead of Calico BGP", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP = nil
			c.LoadBalancer.MetalLB.BGP = &metal.MetalLBBGPAdvertisement{
				IPAddressPools: []string{"public", "v6"},
				Peers: []metal.MetalLBBGPPeer{
					{Name: "tor-a", PeerAddress: "10.0.0.1", PeerASN: 65000, MyASN: 65001, PeerPort: ptr.To[int32](179), NodeSelector: map[string]string{"rack": "a"}},
					{Name: "tor-b", PeerAddress: "2001:db8::1", PeerASN: 65000, MyASN: 65001},
				},
			}
		}),
		Entry("unknown node name policy", func(c *metal.ControlPlaneConfig, _ *core.Networking) { c.NodeNamePolicy = "Hostname" },
			fieldErr(notSupported, "spec.provider.controlPlaneConfig.nodeNamePolicy")),
		// The CCM exits at start on these (k8s.io/component-base featuregate SetFromMap).
		Entry("feature gate the CCM does not know", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.CloudControllerManager.FeatureGates["SomeFeature"] = false
		}, fieldErr(invalid, "spec.provider.controlPlaneConfig.cloudControllerManager.featureGates[SomeFeature]")),
		Entry("feature gate of kube-controller-manager only", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.CloudControllerManager.FeatureGates["JobPodReplacementPolicy"] = true
		}, fieldErr(invalid, "spec.provider.controlPlaneConfig.cloudControllerManager.featureGates[JobPodReplacementPolicy]")),
		Entry("feature gate with an empty name", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.CloudControllerManager.FeatureGates[""] = true
		}, fieldErr(invalid, "spec.provider.controlPlaneConfig.cloudControllerManager.featureGates[]")),
		Entry("GA feature gate locked to true switched off", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.CloudControllerManager.FeatureGates["AnonymousAuthConfigurableEndpoints"] = false
		}, fieldErr(forbidden, "spec.provider.controlPlaneConfig.cloudControllerManager.featureGates[AnonymousAuthConfigurableEndpoints]")),
		Entry("GA feature gate locked to true set to true", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.CloudControllerManager.FeatureGates["AnonymousAuthConfigurableEndpoints"] = true
		}),
		// The CCM masks the Node's first InternalIP to the size (cloud-provider-metal node_controller.go).
		Entry("pod prefix size 0", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.CloudControllerManager.PodPrefixSize = ptr.To[int32](0)
		}, fieldErr(invalid, "spec.provider.controlPlaneConfig.cloudControllerManager.podPrefixSize")),
		Entry("pod prefix size above 32 on IPv4", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.CloudControllerManager.PodPrefixSize = ptr.To[int32](33)
		}, fieldErr(invalid, "spec.provider.controlPlaneConfig.cloudControllerManager.podPrefixSize")),
		Entry("pod prefix size above 128 on IPv6", func(c *metal.ControlPlaneConfig, n *core.Networking) {
			c.CloudControllerManager.PodPrefixSize = ptr.To[int32](129)
			n.IPFamilies, n.Pods, n.Nodes = []core.IPFamily{core.IPFamilyIPv6}, ptr.To("2001:db8:1::/48"), nil
			c.LoadBalancer.MetalLB = nil // its pools are IPv4
		}, fieldErr(invalid, "spec.provider.controlPlaneConfig.cloudControllerManager.podPrefixSize")),
		Entry("pod prefix size not longer than the node network", func(c *metal.ControlPlaneConfig, n *core.Networking) {
			c.CloudControllerManager.PodPrefixSize = ptr.To[int32](16)
			n.Nodes = ptr.To("10.250.0.0/16")
		}, fieldErr(invalid, "spec.provider.controlPlaneConfig.cloudControllerManager.podPrefixSize")),
		Entry("pod prefix size longer than the node network", func(c *metal.ControlPlaneConfig, n *core.Networking) {
			c.CloudControllerManager.PodPrefixSize = ptr.To[int32](24)
			n.Nodes = ptr.To("10.250.0.0/16")
		}),
		// The pod CIDR comes from the node address, not from the pod network, so a size shorter than the pod
		// network's prefix is fine.
		Entry("pod prefix size shorter than the pod network's prefix", func(c *metal.ControlPlaneConfig, n *core.Networking) {
			c.CloudControllerManager.PodPrefixSize = ptr.To[int32](8)
		}),
		Entry("pod prefix size 64 on IPv6", func(c *metal.ControlPlaneConfig, n *core.Networking) {
			c.CloudControllerManager.PodPrefixSize = ptr.To[int32](64)
			n.IPFamilies, n.Pods, n.Nodes = []core.IPFamily{core.IPFamilyIPv6}, ptr.To("2001:db8:ff::/56"), ptr.To("2001:db8:100::/48")
			c.LoadBalancer.MetalLB = nil // its pools are IPv4
		}),
		Entry("pod prefix size on dual-stack", func(c *metal.ControlPlaneConfig, n *core.Networking) {
			n.IPFamilies = []core.IPFamily{core.IPFamilyIPv4, core.IPFamilyIPv6}
		}, fieldErr(forbidden, "spec.provider.controlPlaneConfig.cloudControllerManager.podPrefixSize")),
		Entry("IPAM kind of another API group", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.CloudControllerManager.Networking.IPAMKind.APIGroup = "ipam.metal.ironcore.dev"
		}, fieldErr(notSupported, "spec.provider.controlPlaneConfig.cloudControllerManager.networking.ipamKind.apiGroup")),
		Entry("IPAM kind other than IPAddress", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.CloudControllerManager.Networking.IPAMKind.Kind = "IPAddressClaim"
		}, fieldErr(notSupported, "spec.provider.controlPlaneConfig.cloudControllerManager.networking.ipamKind.kind")),
		Entry("IPAM kind without API group and kind", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.CloudControllerManager.Networking.IPAMKind = &metal.IPAMKind{}
		}, fieldErr(required, "spec.provider.controlPlaneConfig.cloudControllerManager.networking.ipamKind.apiGroup"),
			fieldErr(required, "spec.provider.controlPlaneConfig.cloudControllerManager.networking.ipamKind.kind")),
		Entry("metalLoadBalancer together with MetalLB", func(c *metal.ControlPlaneConfig, n *core.Networking) {
			// Dual-stack with IPv6 first: the metal load balancer's requirement, and the pools' IPv4 family is run.
			n.IPFamilies = []core.IPFamily{core.IPFamilyIPv6, core.IPFamilyIPv4}
			c.CloudControllerManager.PodPrefixSize = nil
			c.LoadBalancer.MetalLoadBalancer = &metal.MetalLoadBalancerConfig{VNI: 100, MetalBondServer: "[2001:db8::10]:4711"}
		}, fieldErr(forbidden, lb+".metallb")),
		Entry("MetalLB BGP together with Calico BGP", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.MetalLB.BGP = &metal.MetalLBBGPAdvertisement{Peers: []metal.MetalLBBGPPeer{{Name: "tor", PeerAddress: "10.0.0.1", PeerASN: 1, MyASN: 2}}}
		}, fieldErr(forbidden, lb+".calicoBgp")),
		Entry("MetalLB without pools", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.MetalLB.IPAddressPools = nil
			c.LoadBalancer.MetalLB.L2 = &metal.MetalLBL2Advertisement{}
		}, fieldErr(required, lb+".metallb.ipAddressPools")),
		Entry("pool without name", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.MetalLB.IPAddressPools[1].Name = ""
		}, fieldErr(required, lb+".metallb.ipAddressPools[1].name")),
		Entry("pool name that is no DNS label", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.MetalLB.IPAddressPools[1].Name = "V6_Pool"
		}, fieldErr(invalid, lb+".metallb.ipAddressPools[1].name")),
		Entry("duplicate pool name", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.MetalLB.IPAddressPools[1].Name = "public"
		}, fieldErr(duplicate, lb+".metallb.ipAddressPools[1].name")),
		Entry("pool without addresses", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.MetalLB.IPAddressPools[0].Addresses = nil
		}, fieldErr(required, lb+".metallb.ipAddressPools[0].addresses")),
		Entry("pool address that is no CIDR", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.MetalLB.IPAddressPools[0].Addresses[0] = "192.0.2.0"
		}, fieldErr(invalid, lb+".metallb.ipAddressPools[0].addresses[0]")),
		Entry("pool range of mixed families", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.MetalLB.IPAddressPools[0].Addresses[1] = "192.0.2.100-2001:db8::1"
		}, fieldErr(invalid, lb+".metallb.ipAddressPools[0].addresses[1]")),
		Entry("pool range in the wrong order", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.MetalLB.IPAddressPools[0].Addresses[1] = "192.0.2.120-192.0.2.100"
		}, fieldErr(invalid, lb+".metallb.ipAddressPools[0].addresses[1]")),
		Entry("pool range with a bad address", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.MetalLB.IPAddressPools[0].Addresses[1] = "192.0.2.100-192.0.2"
		}, fieldErr(invalid, lb+".metallb.ipAddressPools[0].addresses[1]")),
		Entry("L2 naming an unknown pool", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.MetalLB.L2.IPAddressPools = append(c.LoadBalancer.MetalLB.L2.IPAddressPools, "private")
		}, fieldErr(notFound, lb+".metallb.l2.ipAddressPools[1]")),
		Entry("L2 with an empty interface", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.MetalLB.L2.Interfaces = []string{""}
		}, fieldErr(invalid, lb+".metallb.l2.interfaces[0]")),
		Entry("calico BGP on another networking type", func(_ *metal.ControlPlaneConfig, n *core.Networking) {
			n.Type = ptr.To("cilium")
		}, fieldErr(forbidden, lb+".calicoBgp")),
		Entry("calico BGP with an AS number of 0", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.ASNumber = 0
		}, fieldErr(invalid, lb+".calicoBgp.asNumber")),
		Entry("calico BGP with an AS number above 32 bits", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.ASNumber = 4294967296
		}, fieldErr(invalid, lb+".calicoBgp.asNumber")),
		Entry("calico BGP with invalid service CIDRs", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.ServiceLoadBalancerIPs = []string{"192.0.2.0/24", "192.0.2.300/32"}
			c.LoadBalancer.CalicoBGP.ServiceExternalIPs = []string{"x"}
			c.LoadBalancer.CalicoBGP.ServiceClusterIPs = []string{"100.64.0.1/13"}
		}, fieldErr(invalid, lb+".calicoBgp.serviceLoadBalancerIPs[1]"), fieldErr(invalid, lb+".calicoBgp.serviceExternalIPs[0]"),
			fieldErr(invalid, lb+".calicoBgp.serviceClusterIPs[0]")),
		Entry("calico peer IP that is a hostname", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.Peers[0].PeerIP = "tor.example.com"
		}, fieldErr(invalid, lb+".calicoBgp.peers[0].peerIP")),
		Entry("calico peer IP with port 0", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.Peers[0].PeerIP = "10.0.0.1:0"
		}, fieldErr(invalid, lb+".calicoBgp.peers[0].peerIP")),
		Entry("calico peer with an invalid AS number", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.Peers[1].ASNumber = -1
		}, fieldErr(invalid, lb+".calicoBgp.peers[1].asNumber")),
		Entry("calico peer naming an unknown filter", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.Peers[1].Filters = []string{"missing"}
		}, fieldErr(notFound, lb+".calicoBgp.peers[1].filters[0]")),
		Entry("duplicate calico filter", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.Filters = append(c.LoadBalancer.CalicoBGP.Filters, metal.CalicoBGPFilter{Name: "only-lb"})
		}, fieldErr(duplicate, lb+".calicoBgp.filters[1].name")),
		Entry("calico filter without name", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.Filters = append(c.LoadBalancer.CalicoBGP.Filters, metal.CalicoBGPFilter{})
		}, fieldErr(required, lb+".calicoBgp.filters[1].name")),
		Entry("calico filter rule with an invalid CIDR", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.Filters[0].ExportV4[0].CIDR = "192.0.2.0/40"
		}, fieldErr(invalid, lb+".calicoBgp.filters[0].exportV4[0].cidr")),
		Entry("calico filter rule with an IPv6 CIDR in a V4 list", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.Filters[0].ImportV4 = []metal.CalicoBGPFilterRule{{CIDR: "2001:db8::/32", MatchOperator: "Equal", Action: "Accept"}}
		}, fieldErr(invalid, lb+".calicoBgp.filters[0].importV4[0].cidr")),
		Entry("calico filter rule with an IPv4 CIDR in a V6 list", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.Filters[0].ExportV6 = []metal.CalicoBGPFilterRule{{CIDR: "10.0.0.0/8", MatchOperator: "Equal", Action: "Accept"}}
		}, fieldErr(invalid, lb+".calicoBgp.filters[0].exportV6[0].cidr")),
		Entry("calico filter rule with an unknown operator and action", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.Filters[0].ImportV6[0].MatchOperator = "Contains"
			c.LoadBalancer.CalicoBGP.Filters[0].ImportV6[0].Action = "Drop"
		}, fieldErr(notSupported, lb+".calicoBgp.filters[0].importV6[0].matchOperator"), fieldErr(notSupported, lb+".calicoBgp.filters[0].importV6[0].action")),
		Entry("duplicate calico IP pool", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.IPPools[1].Name = "extra-v4"
		}, fieldErr(duplicate, lb+".calicoBgp.ipPools[1].name")),
		Entry("calico IP pool with an invalid CIDR", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.IPPools[0].CIDR = "172.16.0.0"
		}, fieldErr(invalid, lb+".calicoBgp.ipPools[0].cidr")),
		Entry("calico IPv4 block size below 20", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.IPPools[0].BlockSize = ptr.To[int32](19)
		}, fieldErr(invalid, lb+".calicoBgp.ipPools[0].blockSize")),
		Entry("calico pool named like networking-calico's IPv4 pod pool", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.IPPools[0].Name = "default-ipv4-ippool"
		}, fieldErr(forbidden, lb+".calicoBgp.ipPools[0].name")),
		Entry("calico pool named like networking-calico's IPv6 pod pool", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.IPPools[1].Name = "default-ipv6-ippool"
		}, fieldErr(forbidden, lb+".calicoBgp.ipPools[1].name")),
		Entry("calico pool named like networking-calico's no-SNAT pool", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.IPPools[0].Name = "no-snat-for-node-cidr"
		}, fieldErr(forbidden, lb+".calicoBgp.ipPools[0].name")),
		Entry("calico IPv6 block size below 116", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.IPPools[1].BlockSize = ptr.To[int32](64)
		}, fieldErr(invalid, lb+".calicoBgp.ipPools[1].blockSize")),
		Entry("calico block larger than the pool", func(c *metal.ControlPlaneConfig, _ *core.Networking) {
			c.LoadBalancer.CalicoBGP.IPPools[0].CIDR = "172.16.0.0/28"
		}, fieldErr(invalid, lb+".calicoBgp.ipPools[0].blockSize")),
	)

	DescribeTable("MetalLB BGP",
		func(mutate func(*metal.MetalLBBGPAdvertisement), expected ...types.GomegaMatcher) {
			cfg := newConfig()
			cfg.LoadBalancer.CalicoBGP = nil
			bgp := &metal.MetalLBBGPAdvertisement{
				IPAddressPools: []string{"public"},
				Peers:          []metal.MetalLBBGPPeer{{Name: "tor-a", PeerAddress: "10.0.0.1", PeerASN: 65000, MyASN: 65001, PeerPort: ptr.To[int32](179)}},
			}
			mutate(bgp)
			cfg.LoadBalancer.MetalLB.BGP = bgp
			expectErrors(ValidateControlPlaneConfig(cfg, newNetworking(), fldPath), expected)
		},
		Entry("unknown pool", func(b *metal.MetalLBBGPAdvertisement) { b.IPAddressPools = []string{"nope"} },
			fieldErr(notFound, lb+".metallb.bgp.ipAddressPools[0]")),
		Entry("no peers", func(b *metal.MetalLBBGPAdvertisement) { b.Peers = nil },
			fieldErr(required, lb+".metallb.bgp.peers")),
		Entry("duplicate peer", func(b *metal.MetalLBBGPAdvertisement) { b.Peers = append(b.Peers, b.Peers[0]) },
			fieldErr(duplicate, lb+".metallb.bgp.peers[1].name")),
		Entry("peer without name", func(b *metal.MetalLBBGPAdvertisement) { b.Peers[0].Name = "" },
			fieldErr(required, lb+".metallb.bgp.peers[0].name")),
		Entry("peer address that is no IP", func(b *metal.MetalLBBGPAdvertisement) { b.Peers[0].PeerAddress = "10.0.0.1:179" },
			fieldErr(invalid, lb+".metallb.bgp.peers[0].peerAddress")),
		Entry("peer ASN 0", func(b *metal.MetalLBBGPAdvertisement) { b.Peers[0].PeerASN = 0 },
			fieldErr(invalid, lb+".metallb.bgp.peers[0].peerASN")),
		Entry("my ASN too large", func(b *metal.MetalLBBGPAdvertisement) { b.Peers[0].MyASN = 1 << 33 },
			fieldErr(invalid, lb+".metallb.bgp.peers[0].myASN")),
		Entry("peer port 0", func(b *metal.MetalLBBGPAdvertisement) { b.Peers[0].PeerPort = ptr.To[int32](0) },
			fieldErr(invalid, lb+".metallb.bgp.peers[0].peerPort")),
		Entry("peer port above 65535", func(b *metal.MetalLBBGPAdvertisement) { b.Peers[0].PeerPort = ptr.To[int32](70000) },
			fieldErr(invalid, lb+".metallb.bgp.peers[0].peerPort")),
		Entry("invalid node selector", func(b *metal.MetalLBBGPAdvertisement) {
			b.Peers[0].NodeSelector = map[string]string{"rack": "a b"}
		}, fieldErr(invalid, lb+".metallb.bgp.peers[0].nodeSelector[rack]")),
	)

	DescribeTable("metal load balancer",
		func(mutate func(*metal.MetalLoadBalancerConfig, *core.Networking), noNetworking bool, expected ...types.GomegaMatcher) {
			cfg := &metal.ControlPlaneConfig{LoadBalancer: &metal.LoadBalancerConfig{
				MetalLoadBalancer: &metal.MetalLoadBalancerConfig{VNI: 100, MetalBondServer: "[2001:db8::10]:4711"},
			}}
			networking := newNetworking()
			networking.IPFamilies = []core.IPFamily{core.IPFamilyIPv6}
			mutate(cfg.LoadBalancer.MetalLoadBalancer, networking)
			if noNetworking {
				networking = nil
			}
			expectErrors(ValidateControlPlaneConfig(cfg, networking, fldPath), expected)
		},
		Entry("valid", func(*metal.MetalLoadBalancerConfig, *core.Networking) {}, false),
		Entry("valid dual-stack, IPv6 first, with a hostname", func(m *metal.MetalLoadBalancerConfig, n *core.Networking) {
			m.MetalBondServer = "metalbond.example.com:4711"
			n.IPFamilies = []core.IPFamily{core.IPFamilyIPv6, core.IPFamilyIPv4}
		}, false),
		// A Service's first cluster IP is of the first family; the controller cannot handle an IPv4 one.
		Entry("dual-stack with IPv4 first", func(_ *metal.MetalLoadBalancerConfig, n *core.Networking) {
			n.IPFamilies = []core.IPFamily{core.IPFamilyIPv4, core.IPFamilyIPv6}
		}, false, fieldErr(forbidden, lb+".metalLoadBalancer")),
		Entry("IPv4 only", func(_ *metal.MetalLoadBalancerConfig, n *core.Networking) {
			n.IPFamilies = []core.IPFamily{core.IPFamilyIPv4}
		}, false, fieldErr(forbidden, lb+".metalLoadBalancer")),
		Entry("default IP families", func(_ *metal.MetalLoadBalancerConfig, n *core.Networking) { n.IPFamilies = nil },
			false, fieldErr(forbidden, lb+".metalLoadBalancer")),
		Entry("IP families unknown without networking", func(_ *metal.MetalLoadBalancerConfig, n *core.Networking) { n.IPFamilies = nil }, true),
		Entry("VNI 0", func(m *metal.MetalLoadBalancerConfig, _ *core.Networking) { m.VNI = 0 }, false,
			fieldErr(invalid, lb+".metalLoadBalancer.vni")),
		Entry("VNI above 24 bits", func(m *metal.MetalLoadBalancerConfig, _ *core.Networking) { m.VNI = 16777216 }, false,
			fieldErr(invalid, lb+".metalLoadBalancer.vni")),
		Entry("metalbond server without port", func(m *metal.MetalLoadBalancerConfig, _ *core.Networking) { m.MetalBondServer = "2001:db8::10" }, false,
			fieldErr(invalid, lb+".metalLoadBalancer.metalBondServer")),
		Entry("metalbond server with port 0", func(m *metal.MetalLoadBalancerConfig, _ *core.Networking) { m.MetalBondServer = "metalbond:0" }, false,
			fieldErr(invalid, lb+".metalLoadBalancer.metalBondServer")),
		Entry("metalbond server without host", func(m *metal.MetalLoadBalancerConfig, _ *core.Networking) { m.MetalBondServer = ":4711" }, false,
			fieldErr(invalid, lb+".metalLoadBalancer.metalBondServer")),
		Entry("missing metalbond server", func(m *metal.MetalLoadBalancerConfig, _ *core.Networking) { m.MetalBondServer = "" }, false,
			fieldErr(required, lb+".metalLoadBalancer.metalBondServer")),
	)

	DescribeTable("#ValidateControlPlaneConfigUpdate",
		func(oldPolicy, newPolicy metal.NodeNamePolicy, expected ...types.GomegaMatcher) {
			expectErrors(ValidateControlPlaneConfigUpdate(
				&metal.ControlPlaneConfig{NodeNamePolicy: oldPolicy},
				&metal.ControlPlaneConfig{NodeNamePolicy: newPolicy}, fldPath), expected)
		},
		Entry("unchanged", metal.NodeNamePolicyBMCName, metal.NodeNamePolicyBMCName),
		Entry("defaulted on one side only", metal.NodeNamePolicy(""), metal.NodeNamePolicyServerClaimName),
		Entry("changed", metal.NodeNamePolicyServerClaimName, metal.NodeNamePolicyServerName,
			fieldErr(invalid, "spec.provider.controlPlaneConfig.nodeNamePolicy")),
		Entry("changed from the default", metal.NodeNamePolicy(""), metal.NodeNamePolicyBMCName,
			fieldErr(invalid, "spec.provider.controlPlaneConfig.nodeNamePolicy")),
	)
})
