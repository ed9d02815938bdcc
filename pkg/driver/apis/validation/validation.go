// Package validation validates the provider spec of the metal machine driver.
package validation

import (
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis"
)

var (
	tolerationOperators = sets.New("", "Equal", "Exists")
	taintEffects        = sets.New("", "NoBind", "Evict")
)

// ValidateProviderSpec validates a decoded provider spec; fldPath is the path of the spec itself.
func ValidateProviderSpec(spec *apis.ProviderSpec, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	if spec.Image == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("image"), "an image is required"))
	}
	allErrs = append(allErrs, ValidateScopeLabels(spec.Labels, fldPath.Child("labels"))...)
	allErrs = append(allErrs, validateSelector(spec.ServerSelector, fldPath.Child("serverSelector"))...)
	allErrs = append(allErrs, validateTolerations(spec.ServerTolerations, fldPath.Child("serverTolerations"))...)
	allErrs = append(allErrs, validateIPAMConfig(spec.IPAMConfig, spec.Metadata, fldPath.Child("ipamConfig"))...)
	for i, server := range spec.DNSServers {
		if _, err := netip.ParseAddr(server); err != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("dnsServers").Index(i), server, "must be an IP address"))
		}
	}
	return allErrs
}

// ValidateScopeLabels validates the scope labels of a provider spec: required and valid labels. It is all the
// validation deleting and listing machines needs.
func ValidateScopeLabels(labels map[string]string, fldPath *field.Path) field.ErrorList {
	if len(labels) == 0 {
		// Without scope labels ListMachines would report every claim of a shared namespace as this shoot's.
		return field.ErrorList{field.Required(fldPath, "labels scoping the claims to one shoot are required")}
	}
	return metav1validation.ValidateLabels(labels, fldPath)
}

func validateSelector(selector *metav1.LabelSelector, fldPath *field.Path) field.ErrorList {
	if selector == nil || (len(selector.MatchLabels) == 0 && len(selector.MatchExpressions) == 0) {
		// An empty selector would let a claim bind any Server of the region.
		return field.ErrorList{field.Required(fldPath, "a server selector with at least one label or expression is required")}
	}
	return metav1validation.ValidateLabelSelector(selector, metav1validation.LabelSelectorValidationOptions{}, fldPath)
}

func validateTolerations(tolerations []apis.Toleration, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	for i, toleration := range tolerations {
		idxPath := fldPath.Index(i)
		if toleration.Key == "" {
			allErrs = append(allErrs, field.Required(idxPath.Child("key"), "a taint key is required"))
		} else {
			for _, msg := range validation.IsQualifiedName(toleration.Key) {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("key"), toleration.Key, msg))
			}
		}
		if !tolerationOperators.Has(toleration.Operator) {
			allErrs = append(allErrs, field.NotSupported(idxPath.Child("operator"), toleration.Operator, []string{"Equal", "Exists"}))
		}
		if toleration.Operator == "Exists" && toleration.Value != "" {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("value"), toleration.Value, "must be empty for operator Exists"))
		}
		if !taintEffects.Has(toleration.Effect) {
			allErrs = append(allErrs, field.NotSupported(idxPath.Child("effect"), toleration.Effect, []string{"NoBind", "Evict"}))
		}
	}
	return allErrs
}

func validateIPAMConfig(configs []apis.IPAMConfig, metadata map[string]string, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	keys := sets.New[string]()
	for i, config := range configs {
		idxPath := fldPath.Index(i)
		keyPath := idxPath.Child("metadataKey")
		switch {
		case config.MetadataKey == "":
			allErrs = append(allErrs, field.Required(keyPath, "a metadata key is required"))
		case keys.Has(config.MetadataKey):
			allErrs = append(allErrs, field.Duplicate(keyPath, config.MetadataKey))
		case hasKey(metadata, config.MetadataKey):
			allErrs = append(allErrs, field.Invalid(keyPath, config.MetadataKey, "collides with a key of metadata"))
		default:
			// The key becomes part of the IPAddressClaim's name.
			for _, msg := range validation.IsDNS1123Label(config.MetadataKey) {
				allErrs = append(allErrs, field.Invalid(keyPath, config.MetadataKey, msg))
			}
		}
		keys.Insert(config.MetadataKey)
		refPath := idxPath.Child("ipamRef")
		if config.IPAMRef.APIGroup == "" {
			allErrs = append(allErrs, field.Required(refPath.Child("apiGroup"), "the pool's API group is required"))
		}
		if config.IPAMRef.Kind == "" {
			allErrs = append(allErrs, field.Required(refPath.Child("kind"), "the pool's kind is required"))
		}
		if config.IPAMRef.Name == "" {
			allErrs = append(allErrs, field.Required(refPath.Child("name"), "the pool's name is required"))
		}
	}
	return allErrs
}

func hasKey(m map[string]string, key string) bool {
	_, ok := m[key]
	return ok
}
