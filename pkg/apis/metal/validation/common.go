// Package validation validates the provider configurations of the metal extension. Every error carries the
// path of the offending field below the path the caller passes in.
package validation

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

// ipamAPIGroup is the API group of the cluster-api IPAM pools the metal API hands out addresses from.
const ipamAPIGroup = "ipam.cluster.x-k8s.io"

// maxASN is the largest 4-byte autonomous system number (RFC 6793).
const maxASN = 4294967295

// validateIP checks that value is a plain IP address (no zone, no prefix).
func validateIP(value string, fldPath *field.Path) field.ErrorList {
	addr, err := netip.ParseAddr(value)
	if err != nil || addr.Zone() != "" {
		return field.ErrorList{field.Invalid(fldPath, value, "must be an IP address")}
	}
	return nil
}

// validateIPs checks a list of IP addresses for validity and duplicates.
func validateIPs(values []string, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	seen := map[string]bool{}
	for i, value := range values {
		idxPath := fldPath.Index(i)
		allErrs = append(allErrs, validateIP(value, idxPath)...)
		if seen[value] {
			allErrs = append(allErrs, field.Duplicate(idxPath, value))
		}
		seen[value] = true
	}
	return allErrs
}

// parseCIDR parses value as a CIDR whose host bits are zero. Host bits are rejected because
// "10.0.0.5/24" is almost always a typo and the components we configure disagree on how to read it.
func parseCIDR(value string, fldPath *field.Path) (netip.Prefix, field.ErrorList) {
	prefix, err := netip.ParsePrefix(value)
	if err != nil {
		return netip.Prefix{}, field.ErrorList{field.Invalid(fldPath, value, "must be a CIDR, for example 10.0.0.0/24 or 2001:db8::/64")}
	}
	if prefix.Masked() != prefix {
		return netip.Prefix{}, field.ErrorList{field.Invalid(fldPath, value, fmt.Sprintf("must be a network address without host bits set, for example %s", prefix.Masked()))}
	}
	return prefix, nil
}

// validateCIDRs checks a list of CIDRs.
func validateCIDRs(values []string, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	for i, value := range values {
		_, errs := parseCIDR(value, fldPath.Index(i))
		allErrs = append(allErrs, errs...)
	}
	return allErrs
}

// validateLabels checks label keys and values, reporting each problem on the path of its key so that the user
// sees which label is wrong.
func validateLabels(labels map[string]string, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	for _, key := range sortedKeys(labels) {
		keyPath := fldPath.Key(key)
		allErrs = append(allErrs, metav1validation.ValidateLabelName(key, keyPath)...)
		for _, msg := range validation.IsValidLabelValue(labels[key]) {
			allErrs = append(allErrs, field.Invalid(keyPath, labels[key], msg))
		}
	}
	return allErrs
}

// validateASN checks a 4-byte autonomous system number.
func validateASN(asn int64, fldPath *field.Path) field.ErrorList {
	if asn < 1 || asn > maxASN {
		return field.ErrorList{field.Invalid(fldPath, asn, fmt.Sprintf("must be an AS number between 1 and %d", int64(maxASN)))}
	}
	return nil
}

// validatePort checks a TCP/UDP port number.
func validatePort(port int64, fldPath *field.Path) field.ErrorList {
	if port < 1 || port > 65535 {
		return field.ErrorList{field.Invalid(fldPath, port, "must be a port between 1 and 65535")}
	}
	return nil
}

// validateDNS1123Label checks a required name that ends up as (part of) a Kubernetes object name.
func validateDNS1123Label(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "must not be empty")}
	}
	allErrs := field.ErrorList{}
	for _, msg := range validation.IsDNS1123Label(name) {
		allErrs = append(allErrs, field.Invalid(fldPath, name, msg))
	}
	return allErrs
}

// validateDNS1123Subdomain checks a required Kubernetes object name.
func validateDNS1123Subdomain(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "must not be empty")}
	}
	allErrs := field.ErrorList{}
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		allErrs = append(allErrs, field.Invalid(fldPath, name, msg))
	}
	return allErrs
}

// validateUniqueName reports a duplicate when name was seen before and remembers it otherwise. Empty names
// are reported by the name validation itself.
func validateUniqueName(seen map[string]bool, name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return nil
	}
	if seen[name] {
		return field.ErrorList{field.Duplicate(fldPath, name)}
	}
	seen[name] = true
	return nil
}

// validateIPAMPoolRef checks a reference to a cluster-api IPAM pool in the metal API.
func validateIPAMPoolRef(ref *metal.IPAMPoolReference, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	if ref.APIGroup != ipamAPIGroup {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("apiGroup"), ref.APIGroup, []string{ipamAPIGroup}))
	}
	if ref.Kind == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("kind"), "must name the kind of the pool, for example InClusterIPPool"))
	}
	allErrs = append(allErrs, validateDNS1123Subdomain(ref.Name, fldPath.Child("name"))...)
	return allErrs
}

// The oci* expressions follow the grammar of the OCI distribution
// reference (github.com/distribution/reference), written out here to avoid a dependency for one regex.
const (
	ociDomainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	ociDomain          = `(?:(?:localhost|` + ociDomainComponent + `(?:\.` + ociDomainComponent + `)+|\[[a-fA-F0-9:]+\])(?::[0-9]+)?|` + ociDomainComponent + `:[0-9]+)`
	ociPathComponent   = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
	ociTag             = `[\w][\w.-]{0,127}`
	ociDigest          = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
)

// ociReferenceRegexp requires an explicit registry and a tag or digest: the machines of a shoot must boot an
// image that does not depend on registry defaults, and the version mapping of a CloudProfile must not move.
var ociReferenceRegexp = regexp.MustCompile(`^` + ociDomain + `/` + ociPathComponent + `(?:/` + ociPathComponent + `)*` +
	`(?:(?::` + ociTag + `)(?:@` + ociDigest + `)?|@` + ociDigest + `)$`)

// validateOCIReference checks that image is a fully qualified OCI image reference with tag or digest.
func validateOCIReference(image string, fldPath *field.Path) field.ErrorList {
	if image == "" {
		return field.ErrorList{field.Required(fldPath, "must provide an OCI image reference")}
	}
	// 255 is the limit of the repository name in the distribution spec; tag and digest come on top.
	if len(image) > 512 || !ociReferenceRegexp.MatchString(image) {
		return field.ErrorList{field.Invalid(fldPath, image, "must be an OCI image reference with registry and tag or digest, for example ghcr.io/org/image:1.0")}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
