package mutator

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
)

// NewNamespacedCloudProfileMutator returns a mutator for the status of NamespacedCloudProfiles: it merges the
// machine images and machine types of the NamespacedCloudProfile's providerConfig into the providerConfig of
// status.cloudProfileSpec, which the gardener-controller-manager copies from the parent CloudProfile.
func NewNamespacedCloudProfileMutator() extensionswebhook.Mutator {
	return &namespacedCloudProfileMutator{}
}

type namespacedCloudProfileMutator struct{}

// Mutate merges the NamespacedCloudProfile's providerConfig into the providerConfig of its status.
func (m *namespacedCloudProfileMutator) Mutate(_ context.Context, newObj, _ client.Object) error {
	profile, ok := newObj.(*gardencorev1beta1.NamespacedCloudProfile)
	if !ok {
		return fmt.Errorf("expected *v1beta1.NamespacedCloudProfile but got %T", newObj)
	}

	// Only a status that the gardener-controller-manager has just merged for the current generation is merged
	// into; anything else would mix an old status with a new spec.
	if profile.DeletionTimestamp != nil || profile.Generation != profile.Status.ObservedGeneration ||
		profile.Spec.ProviderConfig == nil || profile.Status.CloudProfileSpec.ProviderConfig == nil {
		return nil
	}

	specConfig, err := versionedCloudProfileConfig(profile.Spec.ProviderConfig)
	if err != nil {
		return fmt.Errorf("could not decode spec.providerConfig of NamespacedCloudProfile %s/%s: %w", profile.Namespace, profile.Name, err)
	}
	statusConfig, err := versionedCloudProfileConfig(profile.Status.CloudProfileSpec.ProviderConfig)
	if err != nil {
		return fmt.Errorf("could not decode status.cloudProfileSpec.providerConfig of NamespacedCloudProfile %s/%s: %w", profile.Namespace, profile.Name, err)
	}

	uniformSpecConfig := TransformProviderConfigToParentFormat(specConfig, profile.Status.CloudProfileSpec.MachineCapabilities)
	merged := MergeProviderConfigs(uniformSpecConfig, statusConfig)
	// Conversion leaves the type meta empty; the stored config must say what it is.
	merged.SetGroupVersionKind(v1alpha1.SchemeGroupVersion.WithKind("CloudProfileConfig"))

	raw, err := json.Marshal(merged)
	if err != nil {
		return fmt.Errorf("could not encode the merged providerConfig of NamespacedCloudProfile %s/%s: %w", profile.Namespace, profile.Name, err)
	}
	profile.Status.CloudProfileSpec.ProviderConfig = &runtime.RawExtension{Raw: raw}
	return nil
}

// versionedCloudProfileConfig decodes a CloudProfileConfig strictly and with defaults, and returns it in the
// versioned API that is written back into the status.
func versionedCloudProfileConfig(raw *runtime.RawExtension) (*v1alpha1.CloudProfileConfig, error) {
	internal, err := helper.CloudProfileConfigFromRaw(raw)
	if err != nil {
		return nil, err
	}
	versioned := &v1alpha1.CloudProfileConfig{}
	if err := helper.Scheme.Convert(internal, versioned, nil); err != nil {
		return nil, fmt.Errorf("could not convert CloudProfileConfig to %s: %w", v1alpha1.SchemeGroupVersion, err)
	}
	return versioned, nil
}
