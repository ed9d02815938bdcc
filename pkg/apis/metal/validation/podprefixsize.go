package validation

import (
	"fmt"
	"net/netip"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/gardener/gardener/pkg/apis/core"
)

// ValidatePodPrefixSize checks the cloud-controller-manager's --pod-prefix-size against what it does with it: for
// a Node without spec.podCIDR it masks the Node's first InternalIP to this length and sets the result as the
// Node's only pod CIDR (cloud-provider-metal v0.5.0 pkg/cloudprovider/metal/node_controller.go, reconcilePodCIDR
// and zeroHostBits). Hence:
//   - the size must fit the family of the node addresses, the shoot's first IP family (net.CIDRMask yields no
//     mask for a longer one, and the CCM then patches an invalid CIDR);
//   - a dual-stack shoot would get a pod CIDR of one family only;
//   - the size must be longer than the prefix of the node network, or all Nodes of that network get the same
//     pod CIDR.
//
// The pod CIDR is not carved out of spec.networking.pods, so it is not checked against it.
func ValidatePodPrefixSize(size int32, networking *core.Networking, fldPath *field.Path) field.ErrorList {
	family := core.IPFamilyIPv4
	if networking != nil && len(networking.IPFamilies) > 0 {
		if len(networking.IPFamilies) > 1 {
			return field.ErrorList{field.Forbidden(fldPath, "is not supported on dual-stack shoots: the cloud-controller-manager assigns each Node one pod CIDR, of the family of its first InternalIP")}
		}
		family = networking.IPFamilies[0]
	}
	bits := int32(32)
	if family == core.IPFamilyIPv6 {
		bits = 128
	}
	if size < 1 || size > bits {
		return field.ErrorList{field.Invalid(fldPath, size, fmt.Sprintf("must be between 1 and %d: the cloud-controller-manager masks the Nodes' %s InternalIP to this length", bits, family))}
	}
	if networking == nil || networking.Nodes == nil {
		return nil
	}
	nodes, err := netip.ParsePrefix(*networking.Nodes)
	if err != nil || nodes.Addr().Is6() != (family == core.IPFamilyIPv6) {
		// Gardener's own validation reports an invalid node network or one of the wrong family.
		return nil
	}
	if int(size) <= nodes.Bits() {
		return field.ErrorList{field.Invalid(fldPath, size, fmt.Sprintf("must be longer than the prefix of the node network %s, or every Node in it gets the same pod CIDR", nodes))}
	}
	return nil
}
