package validation

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/gardener/gardener/pkg/apis/core"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

const (
	// maxVNI is the largest VXLAN network identifier (24 bits).
	maxVNI = 16777215
	// calicoNetworkingType is the networking type of Gardener's Calico extension.
	calicoNetworkingType = "calico"
)

var (
	supportedNodeNamePolicies = []string{
		string(metal.NodeNamePolicyServerClaimName),
		string(metal.NodeNamePolicyServerName),
		string(metal.NodeNamePolicyBMCName),
	}
	supportedMatchOperators = []string{"Equal", "NotEqual", "In", "NotIn"}
	supportedFilterActions  = []string{"Accept", "Reject"}

	// reservedCalicoIPPoolNames are the IPPools gardener-extension-networking-calico manages itself (its pod pools and
	// the pool that exempts the node network from SNAT); a pool of ours with one of these names would make two
	// ManagedResources fight over the same object.
	reservedCalicoIPPoolNames = []string{"default-ipv4-ippool", "default-ipv6-ippool", "no-snat-for-node-cidr"}
)

// ValidateControlPlaneConfig validates the providerConfig of a shoot's control plane. networking may be nil;
// when it is given, settings that depend on the pod network, the IP families or the networking type are
// checked against it.
func ValidateControlPlaneConfig(cfg *metal.ControlPlaneConfig, networking *core.Networking, fldPath *field.Path) field.ErrorList {
	if cfg == nil {
		return nil
	}
	allErrs := field.ErrorList{}
	// An empty policy is what the API defaults to ServerClaimName.
	if cfg.NodeNamePolicy != "" && !slices.Contains(supportedNodeNamePolicies, string(cfg.NodeNamePolicy)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("nodeNamePolicy"), cfg.NodeNamePolicy, supportedNodeNamePolicies))
	}
	if cfg.CloudControllerManager != nil {
		allErrs = append(allErrs, validateCloudControllerManager(cfg.CloudControllerManager, networking, fldPath.Child("cloudControllerManager"))...)
	}
	if cfg.LoadBalancer != nil {
		allErrs = append(allErrs, validateLoadBalancer(cfg.LoadBalancer, networking, fldPath.Child("loadBalancer"))...)
	}
	return allErrs
}

// ValidateControlPlaneConfigUpdate validates a change of the control plane providerConfig. The node name
// policy is immutable: existing Nodes keep their names, so a change would leave the cloud-controller-manager
// unable to find the Servers of existing nodes.
func ValidateControlPlaneConfigUpdate(oldCfg, newCfg *metal.ControlPlaneConfig, fldPath *field.Path) field.ErrorList {
	if oldCfg == nil || newCfg == nil {
		return nil
	}
	oldPolicy, newPolicy := effectiveNodeNamePolicy(oldCfg), effectiveNodeNamePolicy(newCfg)
	if oldPolicy != newPolicy {
		return field.ErrorList{field.Invalid(fldPath.Child("nodeNamePolicy"), newPolicy, fmt.Sprintf("field is immutable (was %q): existing Nodes keep their names", oldPolicy))}
	}
	return nil
}

func effectiveNodeNamePolicy(cfg *metal.ControlPlaneConfig) metal.NodeNamePolicy {
	if cfg.NodeNamePolicy == "" {
		return metal.NodeNamePolicyServerClaimName
	}
	return cfg.NodeNamePolicy
}

func validateCloudControllerManager(ccm *metal.CloudControllerManagerConfig, networking *core.Networking, fldPath *field.Path) field.ErrorList {
	allErrs := validateCCMFeatureGates(ccm.FeatureGates, fldPath.Child("featureGates"))
	if ccm.PodPrefixSize != nil {
		allErrs = append(allErrs, ValidatePodPrefixSize(*ccm.PodPrefixSize, networking, fldPath.Child("podPrefixSize"))...)
	}
	if ccm.Networking != nil && ccm.Networking.IPAMKind != nil {
		allErrs = append(allErrs, validateIPAMKind(ccm.Networking.IPAMKind, fldPath.Child("networking", "ipamKind"))...)
	}
	return allErrs
}

// validateIPAMKind accepts only the IPAM kind the cloud-controller-manager reads: any other makes it fail every
// Node with "unknown ipamKind used for node ip address assignment" (cloud-provider-metal v0.5.0
// pkg/cloudprovider/metal/instances_v2.go, getNodeAddresses).
func validateIPAMKind(kind *metal.IPAMKind, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	for _, f := range []struct{ name, value, supported string }{
		{"apiGroup", kind.APIGroup, SupportedIPAMAPIGroup},
		{"kind", kind.Kind, SupportedIPAMKind},
	} {
		switch f.value {
		case "":
			allErrs = append(allErrs, field.Required(fldPath.Child(f.name), "must be "+f.supported))
		case f.supported:
		default:
			allErrs = append(allErrs, field.NotSupported(fldPath.Child(f.name), f.value, []string{f.supported}))
		}
	}
	return allErrs
}

func validateLoadBalancer(lb *metal.LoadBalancerConfig, networking *core.Networking, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	if lb.MetalLoadBalancer != nil && lb.MetalLB != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("metallb"), "must not be set together with metalLoadBalancer: both would assign load balancer IPs"))
	}
	if lb.MetalLB != nil && lb.MetalLB.BGP != nil && lb.CalicoBGP != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("calicoBgp"), "must not be set together with metallb.bgp: both speakers would peer from the same nodes"))
	}
	if lb.MetalLoadBalancer != nil {
		allErrs = append(allErrs, validateMetalLoadBalancer(lb.MetalLoadBalancer, networking, fldPath.Child("metalLoadBalancer"))...)
	}
	if lb.MetalLB != nil {
		allErrs = append(allErrs, validateMetalLB(lb.MetalLB, fldPath.Child("metallb"))...)
		allErrs = append(allErrs, validateMetalLBNetworks(lb.MetalLB, networking, fldPath.Child("metallb"))...)
	}
	if lb.CalicoBGP != nil {
		allErrs = append(allErrs, validateCalicoBGP(lb.CalicoBGP, networking, fldPath.Child("calicoBgp"))...)
	}
	return allErrs
}

func validateMetalLoadBalancer(cfg *metal.MetalLoadBalancerConfig, networking *core.Networking, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	if cfg.VNI < 1 || cfg.VNI > maxVNI {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("vni"), cfg.VNI, fmt.Sprintf("must be between 1 and %d", maxVNI)))
	}
	allErrs = append(allErrs, validateHostPort(cfg.MetalBondServer, fldPath.Child("metalBondServer"))...)
	if networking != nil {
		allErrs = append(allErrs, ValidateMetalLoadBalancerIPFamilies(networking.IPFamilies, fldPath)...)
	}
	return allErrs
}

// ValidateMetalLoadBalancerIPFamilies requires IPv6 as the shoot's first IP family when the
// metal-load-balancer-controller is selected. The first family is that of a Service's first cluster IP, and the
// controller handles IPv6 only: its manager rejects an IPv4 cluster IP and its speaker fails parsing one and keeps
// its finalizer, so the Service cannot be deleted (metal-load-balancer-controller v0.2.0). Admission and the
// ControlPlane reconcile both call it.
func ValidateMetalLoadBalancerIPFamilies(ipFamilies []core.IPFamily, fldPath *field.Path) field.ErrorList {
	if len(ipFamilies) > 0 && ipFamilies[0] == core.IPFamilyIPv6 {
		return nil
	}
	return field.ErrorList{field.Forbidden(fldPath, fmt.Sprintf("requires IPv6 as the first family of spec.networking.ipFamilies (is %v): the metal-load-balancer-controller handles IPv6 cluster IPs only; use metallb for IPv4", ipFamilies))}
}

// validateHostPort checks a required host:port address.
func validateHostPort(value string, fldPath *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, "must provide host:port")}
	}
	host, port, err := net.SplitHostPort(value)
	if err != nil {
		return field.ErrorList{field.Invalid(fldPath, value, fmt.Sprintf("must be host:port: %v", err))}
	}
	if host == "" {
		return field.ErrorList{field.Invalid(fldPath, value, "must have a host")}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return field.ErrorList{field.Invalid(fldPath, value, "must have a port between 1 and 65535")}
	}
	return nil
}

func validateMetalLB(cfg *metal.MetalLBConfig, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	poolsPath := fldPath.Child("ipAddressPools")
	if len(cfg.IPAddressPools) == 0 {
		allErrs = append(allErrs, field.Required(poolsPath, "must provide at least one address pool"))
	}
	pools := map[string]bool{}
	for i, pool := range cfg.IPAddressPools {
		idxPath := poolsPath.Index(i)
		allErrs = append(allErrs, validateDNS1123Label(pool.Name, idxPath.Child("name"))...)
		allErrs = append(allErrs, validateUniqueName(pools, pool.Name, idxPath.Child("name"))...)
		if len(pool.Addresses) == 0 {
			allErrs = append(allErrs, field.Required(idxPath.Child("addresses"), "must provide at least one CIDR or range"))
		}
		for j, address := range pool.Addresses {
			allErrs = append(allErrs, validateAddressPoolEntry(address, idxPath.Child("addresses").Index(j))...)
		}
	}

	if cfg.L2 != nil {
		l2Path := fldPath.Child("l2")
		allErrs = append(allErrs, validateReferences(cfg.L2.IPAddressPools, pools, l2Path.Child("ipAddressPools"))...)
		for i, iface := range cfg.L2.Interfaces {
			if strings.TrimSpace(iface) == "" {
				allErrs = append(allErrs, field.Invalid(l2Path.Child("interfaces").Index(i), iface, "must name a network interface"))
			}
		}
	}
	if cfg.BGP != nil {
		allErrs = append(allErrs, validateMetalLBBGP(cfg.BGP, pools, fldPath.Child("bgp"))...)
	}
	return allErrs
}

// validateAddressPoolEntry checks a MetalLB pool entry: a CIDR or a range "first-last" of one IP family.
func validateAddressPoolEntry(address string, fldPath *field.Path) field.ErrorList {
	first, last, isRange := strings.Cut(address, "-")
	if !isRange {
		_, errs := parseCIDR(address, fldPath)
		return errs
	}
	from, errFrom := netip.ParseAddr(strings.TrimSpace(first))
	to, errTo := netip.ParseAddr(strings.TrimSpace(last))
	if errFrom != nil || errTo != nil || from.Zone() != "" || to.Zone() != "" {
		return field.ErrorList{field.Invalid(fldPath, address, "must be a CIDR or a range of two IP addresses, for example 192.0.2.10-192.0.2.20")}
	}
	if from.Is4() != to.Is4() {
		return field.ErrorList{field.Invalid(fldPath, address, "both ends of the range must be of the same IP family")}
	}
	if from.Compare(to) > 0 {
		return field.ErrorList{field.Invalid(fldPath, address, "the first address of the range must not be greater than the last")}
	}
	return nil
}

// validateReferences checks that references (to pools, filters) name entries that exist.
func validateReferences(refs []string, existing map[string]bool, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	for i, ref := range refs {
		if !existing[ref] {
			allErrs = append(allErrs, field.NotFound(fldPath.Index(i), ref))
		}
	}
	return allErrs
}

func validateMetalLBBGP(bgp *metal.MetalLBBGPAdvertisement, pools map[string]bool, fldPath *field.Path) field.ErrorList {
	allErrs := validateReferences(bgp.IPAddressPools, pools, fldPath.Child("ipAddressPools"))
	peersPath := fldPath.Child("peers")
	if len(bgp.Peers) == 0 {
		allErrs = append(allErrs, field.Required(peersPath, "must provide at least one BGP peer to announce to"))
	}
	names := map[string]bool{}
	for i, peer := range bgp.Peers {
		idxPath := peersPath.Index(i)
		allErrs = append(allErrs, validateDNS1123Label(peer.Name, idxPath.Child("name"))...)
		allErrs = append(allErrs, validateUniqueName(names, peer.Name, idxPath.Child("name"))...)
		allErrs = append(allErrs, validateIP(peer.PeerAddress, idxPath.Child("peerAddress"))...)
		allErrs = append(allErrs, validateASN(peer.PeerASN, idxPath.Child("peerASN"))...)
		allErrs = append(allErrs, validateASN(peer.MyASN, idxPath.Child("myASN"))...)
		if peer.PeerPort != nil {
			allErrs = append(allErrs, validatePort(int64(*peer.PeerPort), idxPath.Child("peerPort"))...)
		}
		allErrs = append(allErrs, validateLabels(peer.NodeSelector, idxPath.Child("nodeSelector"))...)
	}
	return allErrs
}

func validateCalicoBGP(cfg *metal.CalicoBGPConfig, networking *core.Networking, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	if networking != nil && (networking.Type == nil || *networking.Type != calicoNetworkingType) {
		allErrs = append(allErrs, field.Forbidden(fldPath, "is only supported when spec.networking.type is calico"))
	}
	allErrs = append(allErrs, validateASN(cfg.ASNumber, fldPath.Child("asNumber"))...)
	allErrs = append(allErrs, validateCIDRs(cfg.ServiceLoadBalancerIPs, fldPath.Child("serviceLoadBalancerIPs"))...)
	allErrs = append(allErrs, validateCIDRs(cfg.ServiceExternalIPs, fldPath.Child("serviceExternalIPs"))...)
	allErrs = append(allErrs, validateCIDRs(cfg.ServiceClusterIPs, fldPath.Child("serviceClusterIPs"))...)

	filters := map[string]bool{}
	for i, filter := range cfg.Filters {
		allErrs = append(allErrs, validateCalicoFilter(filter, filters, fldPath.Child("filters").Index(i))...)
	}
	for i, peer := range cfg.Peers {
		idxPath := fldPath.Child("peers").Index(i)
		allErrs = append(allErrs, validateCalicoPeerIP(peer.PeerIP, idxPath.Child("peerIP"))...)
		allErrs = append(allErrs, validateASN(peer.ASNumber, idxPath.Child("asNumber"))...)
		allErrs = append(allErrs, validateReferences(peer.Filters, filters, idxPath.Child("filters"))...)
	}

	pools := map[string]bool{}
	for i, pool := range cfg.IPPools {
		allErrs = append(allErrs, validateCalicoIPPool(pool, pools, fldPath.Child("ipPools").Index(i))...)
	}
	return allErrs
}

// validateCalicoPeerIP accepts an IP address or IP:port, as Calico's BGPPeer.peerIP does.
func validateCalicoPeerIP(value string, fldPath *field.Path) field.ErrorList {
	if addr, err := netip.ParseAddr(value); err == nil && addr.Zone() == "" {
		return nil
	}
	if addrPort, err := netip.ParseAddrPort(value); err == nil && addrPort.Port() != 0 && addrPort.Addr().Zone() == "" {
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath, value, "must be an IP address or IP:port, for example 192.0.2.1, 192.0.2.1:179 or [2001:db8::1]:179")}
}

func validateCalicoFilter(filter metal.CalicoBGPFilter, names map[string]bool, fldPath *field.Path) field.ErrorList {
	allErrs := validateDNS1123Subdomain(filter.Name, fldPath.Child("name"))
	allErrs = append(allErrs, validateUniqueName(names, filter.Name, fldPath.Child("name"))...)
	for _, rules := range []struct {
		name  string
		rules []metal.CalicoBGPFilterRule
		ipv4  bool
	}{
		{"exportV4", filter.ExportV4, true},
		{"importV4", filter.ImportV4, true},
		{"exportV6", filter.ExportV6, false},
		{"importV6", filter.ImportV6, false},
	} {
		for i, rule := range rules.rules {
			allErrs = append(allErrs, validateCalicoFilterRule(rule, rules.ipv4, fldPath.Child(rules.name).Index(i))...)
		}
	}
	return allErrs
}

func validateCalicoFilterRule(rule metal.CalicoBGPFilterRule, ipv4 bool, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	cidrPath := fldPath.Child("cidr")
	prefix, errs := parseCIDR(rule.CIDR, cidrPath)
	allErrs = append(allErrs, errs...)
	if prefix.IsValid() && prefix.Addr().Is4() != ipv4 {
		family := "IPv6"
		if ipv4 {
			family = "IPv4"
		}
		allErrs = append(allErrs, field.Invalid(cidrPath, rule.CIDR, fmt.Sprintf("must be an %s CIDR in this rule list", family)))
	}
	if !slices.Contains(supportedMatchOperators, rule.MatchOperator) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("matchOperator"), rule.MatchOperator, supportedMatchOperators))
	}
	if !slices.Contains(supportedFilterActions, rule.Action) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("action"), rule.Action, supportedFilterActions))
	}
	return allErrs
}

// validateCalicoIPPool checks a Calico IP pool; the block size bounds are those Calico enforces per family.
func validateCalicoIPPool(pool metal.CalicoIPPool, names map[string]bool, fldPath *field.Path) field.ErrorList {
	allErrs := validateDNS1123Subdomain(pool.Name, fldPath.Child("name"))
	allErrs = append(allErrs, validateUniqueName(names, pool.Name, fldPath.Child("name"))...)
	if slices.Contains(reservedCalicoIPPoolNames, pool.Name) {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("name"), fmt.Sprintf("must not be one of %v: networking-calico manages these pools", reservedCalicoIPPoolNames)))
	}
	prefix, errs := parseCIDR(pool.CIDR, fldPath.Child("cidr"))
	allErrs = append(allErrs, errs...)
	if pool.BlockSize == nil || !prefix.IsValid() {
		return allErrs
	}
	blockSize := int(*pool.BlockSize)
	blockSizePath := fldPath.Child("blockSize")
	minSize, maxSize := 116, 128
	if prefix.Addr().Is4() {
		minSize, maxSize = 20, 32
	}
	if blockSize < minSize || blockSize > maxSize {
		allErrs = append(allErrs, field.Invalid(blockSizePath, blockSize, fmt.Sprintf("must be between %d and %d for the pool's CIDR %s", minSize, maxSize, prefix)))
	} else if blockSize < prefix.Bits() {
		allErrs = append(allErrs, field.Invalid(blockSizePath, blockSize, fmt.Sprintf("blocks must fit into the pool's CIDR %s", prefix)))
	}
	return allErrs
}
