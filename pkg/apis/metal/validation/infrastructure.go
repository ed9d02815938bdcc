package validation

import (
	"fmt"
	"net/netip"
	"slices"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/gardener/gardener/pkg/apis/core"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

// ValidateInfrastructureConfig validates the providerConfig of a shoot's infrastructure. networking may be nil;
// when it is given, the node networks must lie within the shoot's nodes network and must not overlap its pod and
// service networks.
func ValidateInfrastructureConfig(cfg *metal.InfrastructureConfig, networking *core.Networking, fldPath *field.Path) field.ErrorList {
	if cfg == nil {
		return nil
	}
	allErrs := field.ErrorList{}
	networksPath := fldPath.Child("networks")
	if networking != nil && networking.Nodes == nil && len(cfg.Networks) > 0 {
		allErrs = append(allErrs, field.Required(field.NewPath("spec", "networking", "nodes"), fmt.Sprintf("must be set and contain the node networks of %s", networksPath)))
	}
	names := map[string]bool{}
	prefixes := make([]netip.Prefix, len(cfg.Networks))
	for i, network := range cfg.Networks {
		idxPath := networksPath.Index(i)
		allErrs = append(allErrs, validateDNS1123Label(network.Name, idxPath.Child("name"))...)
		allErrs = append(allErrs, validateUniqueName(names, network.Name, idxPath.Child("name"))...)

		cidrPath := idxPath.Child("cidr")
		if network.CIDR == "" {
			allErrs = append(allErrs, field.Required(cidrPath, "must provide the CIDR of the network"))
		} else {
			prefix, errs := parseCIDR(network.CIDR, cidrPath)
			allErrs = append(allErrs, errs...)
			prefixes[i] = prefix
			if prefix.IsValid() {
				allErrs = append(allErrs, validateNoOverlap(prefix, prefixes[:i], networksPath, cidrPath)...)
				overlapErrs := validateNoOverlapWithShootNetworks(prefix, networking, cidrPath)
				if len(overlapErrs) == 0 {
					// A network in the pod or service network is outside the nodes network too; one error says it.
					overlapErrs = validateWithinNodeNetwork(prefix, networking, cidrPath)
				}
				allErrs = append(allErrs, overlapErrs...)
			}
		}

		if network.IPAMPoolRef != nil {
			allErrs = append(allErrs, validateIPAMPoolRef(network.IPAMPoolRef, idxPath.Child("ipamPoolRef"))...)
		}
	}
	return allErrs
}

// validateNoOverlap reports when prefix overlaps one of the networks before it; invalid earlier entries are
// zero prefixes and skipped.
func validateNoOverlap(prefix netip.Prefix, earlier []netip.Prefix, networksPath, cidrPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	for j, other := range earlier {
		if other.IsValid() && other.Overlaps(prefix) {
			allErrs = append(allErrs, field.Invalid(cidrPath, prefix.String(), fmt.Sprintf("must not overlap with %s", networksPath.Index(j).Child("cidr"))))
		}
	}
	return allErrs
}

// validateNoOverlapWithShootNetworks keeps node networks apart from pod and service networks, which would
// otherwise be routed to the wrong place on the nodes. Unparseable shoot networks are left to Gardener's own
// validation.
func validateNoOverlapWithShootNetworks(prefix netip.Prefix, networking *core.Networking, cidrPath *field.Path) field.ErrorList {
	if networking == nil {
		return nil
	}
	allErrs := field.ErrorList{}
	for _, shootNetwork := range []struct {
		cidr *string
		path *field.Path
	}{
		{networking.Pods, field.NewPath("spec", "networking", "pods")},
		{networking.Services, field.NewPath("spec", "networking", "services")},
	} {
		if shootNetwork.cidr == nil {
			continue
		}
		other, err := netip.ParsePrefix(*shootNetwork.cidr)
		if err == nil && other.Overlaps(prefix) {
			allErrs = append(allErrs, field.Invalid(cidrPath, prefix.String(), fmt.Sprintf("must not overlap with %s (%s)", shootNetwork.path, *shootNetwork.cidr)))
		}
	}
	return allErrs
}

// validateWithinNodeNetwork keeps the node networks inside the shoot's spec.networking.nodes: the machines get
// their addresses from them, and Gardener allows and routes only the nodes network for node traffic (network
// policies, the VPN, the seed's egress rules), so a machine with an address outside it cannot reach the control
// plane. A shoot with node networks must therefore declare spec.networking.nodes.
func validateWithinNodeNetwork(prefix netip.Prefix, networking *core.Networking, cidrPath *field.Path) field.ErrorList {
	if networking == nil {
		return nil
	}
	nodesPath := field.NewPath("spec", "networking", "nodes")
	if networking.Nodes == nil {
		// Reported once for all networks by ValidateInfrastructureConfig.
		return nil
	}
	nodes, err := netip.ParsePrefix(*networking.Nodes)
	if err != nil {
		// Gardener's own validation reports an invalid nodes network.
		return nil
	}
	if nodes.Addr().Is4() != prefix.Addr().Is4() {
		// spec.networking.nodes holds one family; the other family of a dual-stack shoot has no declared range.
		family := prefixRange(prefix).family()
		if families := shootIPFamilies(networking); !slices.Contains(families, family) {
			return field.ErrorList{field.Invalid(cidrPath, prefix.String(), fmt.Sprintf("is an %s network but spec.networking.ipFamilies is %v", family, families))}
		}
		return nil
	}
	if nodes.Bits() > prefix.Bits() || !nodes.Contains(prefix.Addr()) {
		return field.ErrorList{field.Invalid(cidrPath, prefix.String(), fmt.Sprintf("must lie within %s (%s): the machines' addresses are taken from it", nodesPath, *networking.Nodes))}
	}
	return nil
}

// ValidateInfrastructureConfigUpdate validates a change of the infrastructure providerConfig. Networks may be
// added, but an existing network may neither be removed nor change its CIDR or pool: the machines of the
// shoot hold addresses from it, and they would be orphaned.
func ValidateInfrastructureConfigUpdate(oldCfg, newCfg *metal.InfrastructureConfig, fldPath *field.Path) field.ErrorList {
	if oldCfg == nil {
		return nil
	}
	newNetworks := map[string]int{}
	if newCfg != nil {
		for i, network := range newCfg.Networks {
			newNetworks[network.Name] = i
		}
	}

	allErrs := field.ErrorList{}
	networksPath := fldPath.Child("networks")
	for _, oldNetwork := range oldCfg.Networks {
		i, ok := newNetworks[oldNetwork.Name]
		if !ok {
			allErrs = append(allErrs, field.Forbidden(networksPath, fmt.Sprintf("network %q must not be removed: machines hold addresses from it", oldNetwork.Name)))
			continue
		}
		newNetwork := newCfg.Networks[i]
		idxPath := networksPath.Index(i)
		if newNetwork.CIDR != oldNetwork.CIDR {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("cidr"), newNetwork.CIDR, fmt.Sprintf("field is immutable (was %q): machines hold addresses from it", oldNetwork.CIDR)))
		}
		if !apiequality.Semantic.DeepEqual(newNetwork.IPAMPoolRef, oldNetwork.IPAMPoolRef) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("ipamPoolRef"), newNetwork.IPAMPoolRef, "field is immutable: machines hold addresses from the pool"))
		}
	}
	return allErrs
}
