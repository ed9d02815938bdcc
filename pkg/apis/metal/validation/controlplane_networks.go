package validation

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/gardener/gardener/pkg/apis/core"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

// addressRange is an inclusive range of addresses of one IP family, the form both kinds of MetalLB pool entries
// (CIDR and "first-last") and the shoot's networks are compared in.
type addressRange struct {
	first, last netip.Addr
}

func (r addressRange) overlaps(other addressRange) bool {
	return r.first.Is4() == other.first.Is4() && r.first.Compare(other.last) <= 0 && other.first.Compare(r.last) <= 0
}

func (r addressRange) family() core.IPFamily {
	if r.first.Is4() {
		return core.IPFamilyIPv4
	}
	return core.IPFamilyIPv6
}

func prefixRange(prefix netip.Prefix) addressRange {
	first := prefix.Masked().Addr()
	last := first.AsSlice()
	for bit := prefix.Bits(); bit < len(last)*8; bit++ {
		last[bit/8] |= 1 << (7 - bit%8)
	}
	lastAddr, _ := netip.AddrFromSlice(last)
	return addressRange{first: first, last: lastAddr}
}

// parseAddressPoolEntry returns the range of a MetalLB pool entry; false for entries that validateAddressPoolEntry
// rejects.
func parseAddressPoolEntry(address string) (addressRange, bool) {
	first, last, isRange := strings.Cut(address, "-")
	if !isRange {
		prefix, err := netip.ParsePrefix(address)
		if err != nil || prefix.Masked() != prefix {
			return addressRange{}, false
		}
		return prefixRange(prefix), true
	}
	from, errFrom := netip.ParseAddr(strings.TrimSpace(first))
	to, errTo := netip.ParseAddr(strings.TrimSpace(last))
	if errFrom != nil || errTo != nil || from.Is4() != to.Is4() || from.Compare(to) > 0 {
		return addressRange{}, false
	}
	return addressRange{first: from, last: to}, true
}

// shootNetwork is a network of the shoot's spec.networking that Service load balancer addresses must stay out of.
type shootNetwork struct {
	path   *field.Path
	cidr   string
	prefix addressRange
}

// shootNetworks returns the node, pod and service networks of the shoot that parse; invalid ones are left to
// Gardener's own validation.
func shootNetworks(networking *core.Networking) []shootNetwork {
	if networking == nil {
		return nil
	}
	networkingPath := field.NewPath("spec", "networking")
	var networks []shootNetwork
	for _, network := range []struct {
		name string
		cidr *string
	}{
		{"nodes", networking.Nodes},
		{"pods", networking.Pods},
		{"services", networking.Services},
	} {
		if network.cidr == nil {
			continue
		}
		prefix, err := netip.ParsePrefix(*network.cidr)
		if err != nil {
			continue
		}
		networks = append(networks, shootNetwork{path: networkingPath.Child(network.name), cidr: *network.cidr, prefix: prefixRange(prefix)})
	}
	return networks
}

// shootIPFamilies returns the shoot's IP families with Gardener's default, IPv4 only.
func shootIPFamilies(networking *core.Networking) []core.IPFamily {
	if networking == nil || len(networking.IPFamilies) == 0 {
		return []core.IPFamily{core.IPFamilyIPv4}
	}
	return networking.IPFamilies
}

// validateMetalLBNetworks checks MetalLB's address pools against each other and the shoot's networks: MetalLB
// hands out an address of a pool to a Service whatever else uses it, so an address of two pools goes to two
// Services, and an address of the node, pod or service network answers for a node, a pod or a ClusterIP at the
// same time. A pool of a family the shoot does not run gives Services an address kube-proxy cannot serve.
// networking may be nil (no shoot known), then only the pools are compared.
func validateMetalLBNetworks(cfg *metal.MetalLBConfig, networking *core.Networking, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	families := shootIPFamilies(networking)
	networks := shootNetworks(networking)

	type seenEntry struct {
		path *field.Path
		r    addressRange
	}
	var seen []seenEntry
	poolsPath := fldPath.Child("ipAddressPools")
	for i, pool := range cfg.IPAddressPools {
		for j, address := range pool.Addresses {
			entryPath := poolsPath.Index(i).Child("addresses").Index(j)
			r, ok := parseAddressPoolEntry(address)
			if !ok {
				// validateAddressPoolEntry reports it.
				continue
			}
			if networking != nil && !slices.Contains(families, r.family()) {
				allErrs = append(allErrs, field.Invalid(entryPath, address, fmt.Sprintf("is an %s address but spec.networking.ipFamilies is %v", r.family(), families)))
			}
			for _, other := range seen {
				if r.overlaps(other.r) {
					allErrs = append(allErrs, field.Invalid(entryPath, address, fmt.Sprintf("must not overlap with %s", other.path)))
				}
			}
			for _, network := range networks {
				if r.overlaps(network.prefix) {
					allErrs = append(allErrs, field.Invalid(entryPath, address, fmt.Sprintf("must not overlap with %s (%s)", network.path, network.cidr)))
				}
			}
			seen = append(seen, seenEntry{path: entryPath, r: r})
		}
	}
	return allErrs
}
