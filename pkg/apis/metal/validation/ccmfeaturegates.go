package validation

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	// SupportedIPAMAPIGroup is the API group of the only IPAM kind the cloud-controller-manager reads node
	// addresses from (cluster-api's IPAddress).
	SupportedIPAMAPIGroup = "ipam.cluster.x-k8s.io"
	// SupportedIPAMKind is the only IPAM kind the cloud-controller-manager reads node addresses from.
	SupportedIPAMKind = "IPAddress"
)

// ccmFeatureGate is a feature gate of the cloud-controller-manager.
type ccmFeatureGate struct {
	defaultValue    bool
	lockedToDefault bool
}

// validateCCMFeatureGates accepts the feature gates the deployed cloud-controller-manager knows, at values it
// accepts: it exits at start on an unknown gate or on a gate locked to its default set to the other value
// (k8s.io/component-base featuregate SetFromMap). The list is generated from the Kubernetes libraries of the
// CCM's release (hack/tools/ccm-feature-gates).
func validateCCMFeatureGates(gates map[string]bool, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	for _, name := range sortedKeys(gates) {
		gate, known := ccmFeatureGates[name]
		switch {
		case !known:
			allErrs = append(allErrs, field.Invalid(fldPath.Key(name), name, "is not a feature gate of the metal cloud-controller-manager (cloud-provider-metal v0.5.0, Kubernetes v1.35 libraries)"))
		case gate.lockedToDefault && gates[name] != gate.defaultValue:
			allErrs = append(allErrs, field.Forbidden(fldPath.Key(name), fmt.Sprintf("is locked to %t", gate.defaultValue)))
		}
	}
	return allErrs
}
