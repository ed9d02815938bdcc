package validator

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	gardencoreapi "github.com/gardener/gardener/pkg/api"
	"github.com/gardener/gardener/pkg/apis/core"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	"github.com/gardener/gardener/pkg/controllermanager/controller/namespacedcloudprofile"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/admission/mutator"
	metalapi "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// NewNamespacedCloudProfileValidator returns a validator for NamespacedCloudProfiles whose parent CloudProfile is
// of the metal provider. It reads the parent through the manager's API reader.
func NewNamespacedCloudProfileValidator(mgr manager.Manager) extensionswebhook.Validator {
	return &namespacedCloudProfileValidator{reader: mgr.GetAPIReader()}
}

type namespacedCloudProfileValidator struct {
	reader client.Reader
}

// Validate validates a NamespacedCloudProfile the way Shoots will see it: its providerConfig merged over the
// parent CloudProfile's (as the mutator merges it into the status) against its spec merged over the parent's
// spec (as the gardener-controller-manager merges it).
func (v *namespacedCloudProfileValidator) Validate(ctx context.Context, newObj, _ client.Object) error {
	profile, ok := newObj.(*core.NamespacedCloudProfile)
	if !ok {
		return fmt.Errorf("expected *core.NamespacedCloudProfile but got %T", newObj)
	}
	if profile.DeletionTimestamp != nil {
		return nil
	}

	if profile.Spec.Parent.Kind != v1beta1constants.CloudProfileReferenceKindCloudProfile {
		return field.ErrorList{field.NotSupported(field.NewPath("spec", "parent", "kind"), profile.Spec.Parent.Kind,
			[]string{v1beta1constants.CloudProfileReferenceKindCloudProfile})}.ToAggregate()
	}
	parentPath := field.NewPath("spec", "parent", "name")
	parent, fieldErr := getCloudProfile(ctx, v.reader, profile.Spec.Parent.Name, parentPath)
	if fieldErr != nil {
		return field.ErrorList{fieldErr}.ToAggregate()
	}
	if parent.Spec.Type != metal.Type {
		return nil
	}
	parentConfig, err := helper.CloudProfileConfigFromRaw(parent.Spec.ProviderConfig)
	if err != nil {
		return field.ErrorList{field.Invalid(parentPath, parent.Name, fmt.Sprintf("the parent CloudProfile's providerConfig cannot be decoded: %v", err))}.ToAggregate()
	}

	ownConfig := &metalapi.CloudProfileConfig{}
	if profile.Spec.ProviderConfig != nil {
		if ownConfig, err = helper.CloudProfileConfigFromRaw(profile.Spec.ProviderConfig); err != nil {
			return field.ErrorList{decodeError(cloudProfileConfigPath, err)}.ToAggregate()
		}
	}

	allErrs := validateNamespacedProviderConfigFields(ownConfig)

	combinedConfig, err := combineProviderConfigs(ownConfig, parentConfig, parent.Spec.MachineCapabilities)
	if err != nil {
		return field.ErrorList{field.InternalError(cloudProfileConfigPath, err)}.ToAggregate()
	}
	combinedSpec, err := combineSpecs(profile, parent)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("spec"), err)}.ToAggregate()
	}

	allErrs = append(allErrs, validation.ValidateCloudProfileConfig(combinedConfig, combinedSpec, cloudProfileConfigPath)...)
	return allErrs.ToAggregate()
}

// validateNamespacedProviderConfigFields forbids the fields that only the parent CloudProfile may set: how a
// region's metal API is reached and what every machine boots with are decisions of the landscape operator.
func validateNamespacedProviderConfigFields(config *metalapi.CloudProfileConfig) field.ErrorList {
	const detail = "a NamespacedCloudProfile may only add machineImages and machineTypes; this field comes from the parent CloudProfile"

	var allErrs field.ErrorList
	if len(config.RegionConfigs) > 0 {
		allErrs = append(allErrs, field.Forbidden(cloudProfileConfigPath.Child("regionConfigs"), detail))
	}
	if len(config.DNSServers) > 0 {
		allErrs = append(allErrs, field.Forbidden(cloudProfileConfigPath.Child("dnsServers"), detail))
	}
	if config.Ignition != nil {
		allErrs = append(allErrs, field.Forbidden(cloudProfileConfigPath.Child("ignition"), detail))
	}
	return allErrs
}

// combineProviderConfigs merges the NamespacedCloudProfile's config over the parent's exactly as the mutator
// does, on the versioned API as the mutator does. The NamespacedCloudProfile's entries come first in the result, so field paths point into its own
// providerConfig.
func combineProviderConfigs(own, parent *metalapi.CloudProfileConfig, capabilityDefinitions []gardencorev1beta1.CapabilityDefinition) (*metalapi.CloudProfileConfig, error) {
	ownVersioned, parentVersioned := &v1alpha1.CloudProfileConfig{}, &v1alpha1.CloudProfileConfig{}
	if err := helper.Scheme.Convert(own, ownVersioned, nil); err != nil {
		return nil, fmt.Errorf("could not convert the providerConfig: %w", err)
	}
	if err := helper.Scheme.Convert(parent, parentVersioned, nil); err != nil {
		return nil, fmt.Errorf("could not convert the parent's providerConfig: %w", err)
	}

	merged := mutator.MergeProviderConfigs(mutator.TransformProviderConfigToParentFormat(ownVersioned, capabilityDefinitions), parentVersioned)

	combined := &metalapi.CloudProfileConfig{}
	if err := helper.Scheme.Convert(merged, combined, nil); err != nil {
		return nil, fmt.Errorf("could not convert the merged providerConfig: %w", err)
	}
	return combined, nil
}

// combineSpecs merges the NamespacedCloudProfile's spec over its parent's with the gardener-controller-manager's
// own merge function, so the validation sees the spec that Shoots will see.
func combineSpecs(profile *core.NamespacedCloudProfile, parent *gardencorev1beta1.CloudProfile) (*core.CloudProfileSpec, error) {
	versioned := &gardencorev1beta1.NamespacedCloudProfile{}
	if err := gardencoreapi.Scheme.Convert(profile, versioned, nil); err != nil {
		return nil, fmt.Errorf("could not convert the NamespacedCloudProfile: %w", err)
	}
	namespacedcloudprofile.MergeCloudProfiles(versioned, parent)

	combined := &core.CloudProfileSpec{}
	if err := gardencoreapi.Scheme.Convert(&versioned.Status.CloudProfileSpec, combined, nil); err != nil {
		return nil, fmt.Errorf("could not convert the merged CloudProfile spec: %w", err)
	}
	return combined, nil
}
