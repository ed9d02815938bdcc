package mutator

import (
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
)

// TransformProviderConfigToParentFormat brings the machine image versions of a NamespacedCloudProfile's
// providerConfig into the format of its parent CloudProfile, so that the merged config is uniform while
// CloudProfiles migrate from image and architecture to capability flavors:
//   - the parent defines machine capabilities: a version with image and architecture becomes a single capability
//     flavor whose architecture capability is the version's architecture (amd64 when unset);
//   - the parent defines none: a version with capability flavors gets the image and architecture of its first
//     flavor, because the legacy format has one image per version.
//
// Versions that already have the parent's format are kept. The config is changed in place and returned.
func TransformProviderConfigToParentFormat(config *v1alpha1.CloudProfileConfig, capabilityDefinitions []gardencorev1beta1.CapabilityDefinition) *v1alpha1.CloudProfileConfig {
	parentUsesCapabilities := len(capabilityDefinitions) > 0

	for i := range config.MachineImages {
		for j, version := range config.MachineImages[i].Versions {
			versionUsesCapabilities := len(version.CapabilityFlavors) > 0
			switch {
			case parentUsesCapabilities && !versionUsesCapabilities:
				config.MachineImages[i].Versions[j] = toCapabilityFormat(version)
			case !parentUsesCapabilities && versionUsesCapabilities:
				config.MachineImages[i].Versions[j] = toLegacyFormat(version)
			}
		}
	}
	return config
}

func toCapabilityFormat(version v1alpha1.MachineImageVersion) v1alpha1.MachineImageVersion {
	architecture := v1beta1constants.ArchitectureAMD64
	if version.Architecture != nil && *version.Architecture != "" {
		architecture = *version.Architecture
	}
	return v1alpha1.MachineImageVersion{
		Version: version.Version,
		CapabilityFlavors: []v1alpha1.MachineImageFlavor{{
			Image:        version.Image,
			Capabilities: gardencorev1beta1.Capabilities{v1beta1constants.ArchitectureName: []string{architecture}},
		}},
	}
}

func toLegacyFormat(version v1alpha1.MachineImageVersion) v1alpha1.MachineImageVersion {
	flavor := version.CapabilityFlavors[0]
	legacy := v1alpha1.MachineImageVersion{Version: version.Version, Image: flavor.Image}
	if architectures := flavor.Capabilities[v1beta1constants.ArchitectureName]; len(architectures) > 0 {
		legacy.Architecture = &architectures[0]
	}
	return legacy
}

// MergeProviderConfigs merges the machine images and machine types of a NamespacedCloudProfile's providerConfig
// over those of its parent's providerConfig and returns the parent config with the merged lists. An image
// version or machine type defined in both is taken from the NamespacedCloudProfile. The NamespacedCloudProfile's
// entries come first and keep their order, so that field paths into the merged config match the paths into the
// NamespacedCloudProfile's providerConfig. Neither input is changed.
func MergeProviderConfigs(namespaced, parent *v1alpha1.CloudProfileConfig) *v1alpha1.CloudProfileConfig {
	merged := parent.DeepCopy()
	merged.MachineImages = mergeMachineImages(namespaced.MachineImages, parent.MachineImages)
	merged.MachineTypes = mergeMachineTypes(namespaced.MachineTypes, parent.MachineTypes)
	return merged
}

func mergeMachineImages(namespaced, parent []v1alpha1.MachineImages) []v1alpha1.MachineImages {
	parentByName := make(map[string]v1alpha1.MachineImages, len(parent))
	for _, image := range parent {
		parentByName[image.Name] = image
	}

	merged := make([]v1alpha1.MachineImages, 0, len(namespaced)+len(parent))
	namespacedNames := make(map[string]struct{}, len(namespaced))
	for _, image := range namespaced {
		namespacedNames[image.Name] = struct{}{}
		image = *image.DeepCopy()
		image.Versions = mergeVersions(image.Versions, parentByName[image.Name].Versions)
		merged = append(merged, image)
	}
	for _, image := range parent {
		if _, ok := namespacedNames[image.Name]; !ok {
			merged = append(merged, *image.DeepCopy())
		}
	}
	return merged
}

func mergeVersions(namespaced, parent []v1alpha1.MachineImageVersion) []v1alpha1.MachineImageVersion {
	namespacedVersions := make(map[string]struct{}, len(namespaced))
	for _, version := range namespaced {
		namespacedVersions[version.Version] = struct{}{}
	}
	merged := namespaced
	for _, version := range parent {
		if _, ok := namespacedVersions[version.Version]; !ok {
			merged = append(merged, *version.DeepCopy())
		}
	}
	return merged
}

func mergeMachineTypes(namespaced, parent []v1alpha1.MachineType) []v1alpha1.MachineType {
	merged := make([]v1alpha1.MachineType, 0, len(namespaced)+len(parent))
	namespacedNames := make(map[string]struct{}, len(namespaced))
	for _, machineType := range namespaced {
		namespacedNames[machineType.Name] = struct{}{}
		merged = append(merged, *machineType.DeepCopy())
	}
	for _, machineType := range parent {
		if _, ok := namespacedNames[machineType.Name]; !ok {
			merged = append(merged, *machineType.DeepCopy())
		}
	}
	return merged
}
