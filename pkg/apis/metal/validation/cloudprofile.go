package validation

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	coreapi "github.com/gardener/gardener/pkg/api"
	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	"github.com/gardener/gardener/pkg/apis/core"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	gardenerutils "github.com/gardener/gardener/pkg/utils/gardener"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	providermetal "github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// supportedArchitectures are the CPU architectures a machine image can be built for.
var supportedArchitectures = []string{v1beta1constants.ArchitectureAMD64, v1beta1constants.ArchitectureARM64}

// ValidateCloudProfileConfig validates the providerConfig of a CloudProfile against the CloudProfile's spec:
// every machine image version, machine type and region of the spec needs a mapping in the providerConfig.
func ValidateCloudProfileConfig(cfg *metal.CloudProfileConfig, spec *core.CloudProfileSpec, fldPath *field.Path) field.ErrorList {
	if cfg == nil {
		return field.ErrorList{field.Required(fldPath, "providerConfig is required")}
	}
	if spec == nil {
		spec = &core.CloudProfileSpec{}
	}

	capabilityDefinitions, err := v1beta1helper.ConvertV1beta1CapabilityDefinitions(spec.MachineCapabilities)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("spec", "machineCapabilities"), fmt.Errorf("could not convert capability definitions: %w", err))}
	}

	allErrs := field.ErrorList{}
	allErrs = append(allErrs, validateProviderMachineImages(cfg.MachineImages, capabilityDefinitions, fldPath.Child("machineImages"))...)
	allErrs = append(allErrs, validateMachineImageMappings(spec.MachineImages, cfg, capabilityDefinitions, fldPath.Child("machineImages"))...)
	allErrs = append(allErrs, validateMachineTypes(cfg.MachineTypes, fldPath.Child("machineTypes"))...)
	for _, machineType := range spec.MachineTypes {
		if _, ok := helper.FindMachineType(cfg, machineType.Name); !ok {
			allErrs = append(allErrs, field.Required(fldPath.Child("machineTypes"), fmt.Sprintf("must provide a mapping for machine type %q", machineType.Name)))
		}
	}
	allErrs = append(allErrs, validateRegionConfigs(cfg.RegionConfigs, fldPath.Child("regionConfigs"))...)
	for _, region := range spec.Regions {
		if _, ok := helper.FindRegionConfig(cfg, region.Name); !ok {
			allErrs = append(allErrs, field.Required(fldPath.Child("regionConfigs"), fmt.Sprintf("must provide a regionConfig for region %q", region.Name)))
		}
	}
	allErrs = append(allErrs, validateIPs(cfg.DNSServers, fldPath.Child("dnsServers"))...)
	if cfg.Ignition != nil {
		allErrs = append(allErrs, validateIgnition(*cfg.Ignition, true, fldPath.Child("ignition"))...)
		if len(*cfg.Ignition) > MaxMachineDataSize {
			allErrs = append(allErrs, field.TooLong(fldPath.Child("ignition"), field.OmitValueType{}, MaxMachineDataSize))
		}
	}
	return allErrs
}

// validateProviderMachineImages checks the machine image entries of the providerConfig on their own.
func validateProviderMachineImages(images []metal.MachineImages, capabilityDefinitions []gardencorev1beta1.CapabilityDefinition, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	names := map[string]bool{}
	for i, image := range images {
		idxPath := fldPath.Index(i)
		if image.Name == "" {
			allErrs = append(allErrs, field.Required(idxPath.Child("name"), "must provide a name"))
		}
		allErrs = append(allErrs, validateUniqueName(names, image.Name, idxPath.Child("name"))...)
		if len(image.Versions) == 0 {
			allErrs = append(allErrs, field.Required(idxPath.Child("versions"), fmt.Sprintf("must provide at least one version for machine image %q", image.Name)))
		}

		// Without capabilities a version may appear once per architecture, with capabilities once in total
		// (the flavors carry the architectures).
		versionKeys := map[string]bool{}
		for j, version := range image.Versions {
			versionPath := idxPath.Child("versions").Index(j)
			if version.Version == "" {
				allErrs = append(allErrs, field.Required(versionPath.Child("version"), "must provide a version"))
			}
			key := version.Version
			if len(capabilityDefinitions) > 0 {
				allErrs = append(allErrs, validateVersionWithCapabilities(version, capabilityDefinitions, versionPath)...)
			} else {
				allErrs = append(allErrs, validateVersionWithoutCapabilities(version, versionPath)...)
				key += "/" + versionArchitecture(version)
			}
			if version.Version != "" && versionKeys[key] {
				allErrs = append(allErrs, field.Duplicate(versionPath.Child("version"), version.Version))
			}
			versionKeys[key] = true
		}
	}
	return allErrs
}

func validateVersionWithoutCapabilities(version metal.MachineImageVersion, fldPath *field.Path) field.ErrorList {
	allErrs := validateOCIReference(version.Image, fldPath.Child("image"))
	if arch := versionArchitecture(version); !slices.Contains(supportedArchitectures, arch) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("architecture"), arch, supportedArchitectures))
	}
	if len(version.CapabilityFlavors) > 0 {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("capabilityFlavors"), "must not be set as the CloudProfile does not define machineCapabilities; use image and architecture"))
	}
	return allErrs
}

func validateVersionWithCapabilities(version metal.MachineImageVersion, capabilityDefinitions []gardencorev1beta1.CapabilityDefinition, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	if version.Image != "" {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("image"), "must not be set as the CloudProfile defines machineCapabilities; use capabilityFlavors[].image"))
	}
	if version.Architecture != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("architecture"), "must not be set as the CloudProfile defines machineCapabilities; use the architecture capability of the flavors"))
	}
	if len(version.CapabilityFlavors) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("capabilityFlavors"), "must provide at least one flavor as the CloudProfile defines machineCapabilities"))
	}
	for k, flavor := range version.CapabilityFlavors {
		flavorPath := fldPath.Child("capabilityFlavors").Index(k)
		allErrs = append(allErrs, validateOCIReference(flavor.Image, flavorPath.Child("image"))...)
		allErrs = append(allErrs, gardenerutils.ValidateCapabilities(flavor.Capabilities, capabilityDefinitions, flavorPath.Child("capabilities"))...)
		for _, other := range version.CapabilityFlavors[:k] {
			if v1beta1helper.AreCapabilitiesEqual(
				gardencorev1beta1.GetCapabilitiesWithAppliedDefaults(flavor.Capabilities, capabilityDefinitions),
				gardencorev1beta1.GetCapabilitiesWithAppliedDefaults(other.Capabilities, capabilityDefinitions)) {
				allErrs = append(allErrs, field.Duplicate(flavorPath.Child("capabilities"), flavor.Capabilities))
				break
			}
		}
	}
	return allErrs
}

// validateMachineImageMappings checks that every version of every machine image of the CloudProfile can be
// resolved to an image: per architecture without capabilities, per flavor with capabilities.
func validateMachineImageMappings(specImages []core.MachineImage, cfg *metal.CloudProfileConfig, capabilityDefinitions []gardencorev1beta1.CapabilityDefinition, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	for _, specImage := range specImages {
		for _, specVersion := range specImage.Versions {
			versions := providerVersions(cfg, specImage.Name, specVersion.Version)
			if len(versions) == 0 {
				allErrs = append(allErrs, field.Required(fldPath, fmt.Sprintf("must provide an image mapping for machine image %q version %q", specImage.Name, specVersion.Version)))
				continue
			}
			if len(capabilityDefinitions) > 0 {
				allErrs = append(allErrs, validateFlavorMapping(specImage.Name, specVersion, versions[0], capabilityDefinitions, fldPath)...)
				continue
			}
			architectures := specVersion.Architectures
			if len(architectures) == 0 {
				// Gardener defaults the architectures of a version to amd64.
				architectures = []string{v1beta1constants.ArchitectureAMD64}
			}
			for _, arch := range architectures {
				if !containsArchitecture(versions, arch) {
					allErrs = append(allErrs, field.Required(fldPath, fmt.Sprintf("must provide an image mapping for machine image %q version %q and architecture %q", specImage.Name, specVersion.Version, arch)))
				}
			}
		}
	}
	return allErrs
}

// validateFlavorMapping checks that every flavor of a CloudProfile version has a providerConfig flavor with the
// same (defaulted) capabilities.
func validateFlavorMapping(imageName string, specVersion core.MachineImageVersion, version indexedVersion, capabilityDefinitions []gardencorev1beta1.CapabilityDefinition, fldPath *field.Path) field.ErrorList {
	versionPath := fldPath.Index(version.imageIndex).Child("versions").Index(version.versionIndex)
	var v1beta1Version gardencorev1beta1.MachineImageVersion
	if err := coreapi.Scheme.Convert(&specVersion, &v1beta1Version, nil); err != nil {
		return field.ErrorList{field.InternalError(versionPath, fmt.Errorf("could not convert machine image version %s@%s: %w", imageName, specVersion.Version, err))}
	}

	allErrs := field.ErrorList{}
	for _, specFlavor := range v1beta1helper.GetImageFlavorsWithAppliedDefaults(v1beta1Version.CapabilityFlavors, capabilityDefinitions) {
		found := false
		for _, flavor := range version.CapabilityFlavors {
			if v1beta1helper.AreCapabilitiesEqual(specFlavor.Capabilities, gardencorev1beta1.GetCapabilitiesWithAppliedDefaults(flavor.Capabilities, capabilityDefinitions)) {
				found = true
				break
			}
		}
		if !found {
			allErrs = append(allErrs, field.Required(versionPath.Child("capabilityFlavors"),
				fmt.Sprintf("must provide an image for machine image %q version %q with capabilities %v", imageName, specVersion.Version, specFlavor.Capabilities)))
		}
	}
	return allErrs
}

// indexedVersion is a providerConfig image version with its position, for error paths.
type indexedVersion struct {
	metal.MachineImageVersion
	imageIndex, versionIndex int
}

func providerVersions(cfg *metal.CloudProfileConfig, name, version string) []indexedVersion {
	var result []indexedVersion
	for i, image := range cfg.MachineImages {
		if image.Name != name {
			continue
		}
		for j, v := range image.Versions {
			if v.Version == version {
				result = append(result, indexedVersion{MachineImageVersion: v, imageIndex: i, versionIndex: j})
			}
		}
	}
	return result
}

func containsArchitecture(versions []indexedVersion, arch string) bool {
	for _, v := range versions {
		if len(v.CapabilityFlavors) == 0 && versionArchitecture(v.MachineImageVersion) == arch {
			return true
		}
	}
	return false
}

// versionArchitecture returns the architecture of an image without flavors, applying the API default.
func versionArchitecture(version metal.MachineImageVersion) string {
	return ptr.Deref(version.Architecture, v1beta1constants.ArchitectureAMD64)
}

// validateMachineTypes checks the machine type mappings: the labels select Servers, so they must be valid
// label selectors and must not select the zone, which comes from the worker pool.
func validateMachineTypes(machineTypes []metal.MachineType, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	names := map[string]bool{}
	for i, machineType := range machineTypes {
		idxPath := fldPath.Index(i)
		if machineType.Name == "" {
			allErrs = append(allErrs, field.Required(idxPath.Child("name"), "must provide a name"))
		}
		allErrs = append(allErrs, validateUniqueName(names, machineType.Name, idxPath.Child("name"))...)
		labelsPath := idxPath.Child("serverLabels")
		if len(machineType.ServerLabels) == 0 {
			// Without labels every Server would serve the machine type, whatever its hardware.
			allErrs = append(allErrs, field.Required(labelsPath, "must provide at least one label that identifies the Servers of this machine type"))
		}
		allErrs = append(allErrs, validateLabels(machineType.ServerLabels, labelsPath)...)
		if _, ok := machineType.ServerLabels[providermetal.ZoneLabel]; ok {
			allErrs = append(allErrs, field.Forbidden(labelsPath.Key(providermetal.ZoneLabel), "the zone is taken from the worker pool's zones"))
		}
	}
	return allErrs
}

// validateRegionConfigs checks how the metal API of each region is reached.
func validateRegionConfigs(regionConfigs []metal.RegionConfig, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	names := map[string]bool{}
	for i, regionConfig := range regionConfigs {
		idxPath := fldPath.Index(i)
		if regionConfig.Name == "" {
			allErrs = append(allErrs, field.Required(idxPath.Child("name"), "must provide a name"))
		}
		allErrs = append(allErrs, validateUniqueName(names, regionConfig.Name, idxPath.Child("name"))...)
		allErrs = append(allErrs, validateServerURL(regionConfig.Server, idxPath.Child("server"))...)
		if len(regionConfig.CertificateAuthorityData) > 0 {
			allErrs = append(allErrs, validateCABundle(regionConfig.CertificateAuthorityData, idxPath.Child("certificateAuthorityData"))...)
		}
	}
	return allErrs
}

// validateServerURL requires https because the shoot's credentials are sent to the metal API as bearer token.
func validateServerURL(server string, fldPath *field.Path) field.ErrorList {
	if server == "" {
		return field.ErrorList{field.Required(fldPath, "must provide the https URL of the metal API server")}
	}
	u, err := url.Parse(server)
	if err != nil {
		return field.ErrorList{field.Invalid(fldPath, server, fmt.Sprintf("must be a URL: %v", err))}
	}
	if u.Scheme != "https" {
		return field.ErrorList{field.Invalid(fldPath, server, "must be an https URL")}
	}
	if u.Host == "" || u.Hostname() == "" {
		return field.ErrorList{field.Invalid(fldPath, server, "must have a host")}
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return field.ErrorList{field.Invalid(fldPath, server, "must not contain user info, query or fragment")}
	}
	return nil
}

// validateCABundle checks that data consists of PEM certificates only.
func validateCABundle(data []byte, fldPath *field.Path) field.ErrorList {
	rest := data
	count := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, fmt.Sprintf("must contain only PEM certificates, found a %q block", block.Type))}
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, fmt.Sprintf("certificate %d cannot be parsed: %v", count+1, err))}
		}
		count++
	}
	if count == 0 {
		return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, "must contain at least one PEM certificate")}
	}
	if strings.TrimSpace(string(rest)) != "" {
		return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, "must contain only PEM certificates, found trailing data")}
	}
	return nil
}
