package validation

import (
	"errors"
	"fmt"
	"slices"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/gardener/gardener/pkg/apis/core"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	providermetal "github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var (
	supportedTolerationOperators = []string{string(metalv1alpha1.TolerationOperatorEqual), string(metalv1alpha1.TolerationOperatorExists)}
	// An empty effect tolerates all effects.
	supportedTaintEffects = []string{"", string(metalv1alpha1.TaintEffectNoBind), string(metalv1alpha1.TaintEffectEvict)}
)

// ValidateWorkerConfig validates the providerConfig of a worker pool. infra is the shoot's infrastructure
// providerConfig (may be nil), whose networks IPAM entries may refer to; resources are the shoot's
// spec.resources, which an extra ignition secret must be listed in.
func ValidateWorkerConfig(cfg *metal.WorkerConfig, infra *metal.InfrastructureConfig, resources []core.NamedResourceReference, fldPath *field.Path) field.ErrorList {
	if cfg == nil {
		return nil
	}
	allErrs := field.ErrorList{}
	if cfg.ExtraIgnition != nil {
		allErrs = append(allErrs, validateExtraIgnition(cfg.ExtraIgnition, resources, fldPath.Child("extraIgnition"))...)
	}

	labelsPath := fldPath.Child("extraServerLabels")
	allErrs = append(allErrs, validateLabels(cfg.ExtraServerLabels, labelsPath)...)
	if _, ok := cfg.ExtraServerLabels[providermetal.ZoneLabel]; ok {
		allErrs = append(allErrs, field.Forbidden(labelsPath.Key(providermetal.ZoneLabel), "the zone is taken from the worker pool's zones"))
	}
	if _, ok := cfg.ExtraServerLabels[providermetal.RegionLabel]; ok {
		allErrs = append(allErrs, field.Forbidden(labelsPath.Key(providermetal.RegionLabel), "the region is taken from the shoot's region"))
	}

	for i, toleration := range cfg.ServerTolerations {
		allErrs = append(allErrs, validateServerToleration(toleration, fldPath.Child("serverTolerations").Index(i))...)
	}

	metadataKeys := map[string]bool{}
	for i, ipam := range cfg.IPAMConfig {
		allErrs = append(allErrs, validateIPAMConfig(ipam, infra, cfg.Metadata, metadataKeys, fldPath.Child("ipamConfig").Index(i))...)
	}

	for _, key := range sortedKeys(cfg.Metadata) {
		if key == "" {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("metadata").Key(key), key, "metadata keys must not be empty"))
		}
	}
	allErrs = append(allErrs, validateIPs(cfg.DNSServers, fldPath.Child("dnsServers"))...)
	return allErrs
}

func validateExtraIgnition(ignition *metal.IgnitionConfig, resources []core.NamedResourceReference, fldPath *field.Path) field.ErrorList {
	switch {
	case ignition.Raw == "" && ignition.SecretRef == "":
		return field.ErrorList{field.Required(fldPath, "must set exactly one of raw or secretRef")}
	case ignition.Raw != "" && ignition.SecretRef != "":
		return field.ErrorList{field.Forbidden(fldPath.Child("secretRef"), "must not be set together with raw")}
	case ignition.Raw != "":
		return validateIgnition(ignition.Raw, !ignition.Override, fldPath.Child("raw"))
	}

	secretRefPath := fldPath.Child("secretRef")
	for _, resource := range resources {
		if resource.Name != ignition.SecretRef {
			continue
		}
		if resource.ResourceRef.Kind != "Secret" || resource.ResourceRef.APIVersion != "v1" {
			return field.ErrorList{field.Invalid(secretRefPath, ignition.SecretRef,
				fmt.Sprintf("must name a resource in spec.resources that references a Secret (apiVersion v1), got %s %s", resource.ResourceRef.APIVersion, resource.ResourceRef.Kind))}
		}
		return nil
	}
	return field.ErrorList{field.NotFound(secretRefPath, ignition.SecretRef)}
}

// validateServerToleration follows the rules of metal-operator's Toleration, which the pool's ServerClaims get.
func validateServerToleration(toleration metal.ServerToleration, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	if toleration.Key == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("key"), "must provide the taint key"))
	} else {
		allErrs = append(allErrs, metav1validation.ValidateLabelName(toleration.Key, fldPath.Child("key"))...)
	}

	// An empty operator is what the API defaults to Equal.
	operator := toleration.Operator
	if operator == "" {
		operator = string(metalv1alpha1.TolerationOperatorEqual)
	}
	switch operator {
	case string(metalv1alpha1.TolerationOperatorExists):
		if toleration.Value != "" {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("value"), toleration.Value, "must be empty when operator is Exists"))
		}
	case string(metalv1alpha1.TolerationOperatorEqual):
		for _, msg := range validation.IsValidLabelValue(toleration.Value) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("value"), toleration.Value, msg))
		}
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("operator"), toleration.Operator, supportedTolerationOperators))
	}

	if !slices.Contains(supportedTaintEffects, toleration.Effect) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("effect"), toleration.Effect, supportedTaintEffects))
	}
	return allErrs
}

func validateIPAMConfig(ipam metal.IPAMConfig, infra *metal.InfrastructureConfig, metadata map[string]string, seenKeys map[string]bool, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	keyPath := fldPath.Child("metadataKey")
	if ipam.MetadataKey == "" {
		allErrs = append(allErrs, field.Required(keyPath, "must provide the metadata key the address is written to"))
	} else {
		// The key becomes part of the IPAddressClaim's name, as the machine-controller-manager driver checks too.
		for _, msg := range validation.IsDNS1123Label(ipam.MetadataKey) {
			allErrs = append(allErrs, field.Invalid(keyPath, ipam.MetadataKey, msg))
		}
	}
	allErrs = append(allErrs, validateUniqueName(seenKeys, ipam.MetadataKey, keyPath)...)
	if _, ok := metadata[ipam.MetadataKey]; ok && ipam.MetadataKey != "" {
		allErrs = append(allErrs, field.Invalid(keyPath, ipam.MetadataKey, "must not also be set in metadata: the address would overwrite it"))
	}

	refPath := fldPath.Child("ipamRef")
	ref := ipam.IPAMRef
	switch {
	case ref.Network == "" && ref.Pool == nil:
		allErrs = append(allErrs, field.Required(refPath, "must set exactly one of network or pool"))
	case ref.Network != "" && ref.Pool != nil:
		allErrs = append(allErrs, field.Forbidden(refPath.Child("pool"), "must not be set together with network"))
	case ref.Pool != nil:
		allErrs = append(allErrs, validateIPAMPoolRef(ref.Pool, refPath.Child("pool"))...)
	default:
		allErrs = append(allErrs, validateNetworkReference(ref.Network, infra, refPath.Child("network"))...)
	}
	return allErrs
}

// validateNetworkReference checks that a network of the InfrastructureConfig exists and has a pool to claim
// addresses from.
func validateNetworkReference(name string, infra *metal.InfrastructureConfig, fldPath *field.Path) field.ErrorList {
	if infra != nil {
		for _, network := range infra.Networks {
			if network.Name != name {
				continue
			}
			if network.IPAMPoolRef == nil {
				return field.ErrorList{field.Invalid(fldPath, name, "the network has no ipamPoolRef in the InfrastructureConfig to claim addresses from")}
			}
			return nil
		}
	}
	return field.ErrorList{field.NotFound(fldPath, name)}
}

// ValidateWorkers validates the worker pools of a shoot against the CloudProfile's providerConfig. fldPath is
// the path of the workers list (spec.provider.workers). The pools' providerConfigs are decoded and validated
// by the caller with ValidateWorkerConfig.
func ValidateWorkers(workers []core.Worker, cloudProfileConfig *metal.CloudProfileConfig, region string, fldPath *field.Path) field.ErrorList {
	if cloudProfileConfig == nil {
		return field.ErrorList{field.InternalError(fldPath, errors.New("the CloudProfile has no metal providerConfig"))}
	}
	allErrs := field.ErrorList{}
	if _, ok := helper.FindRegionConfig(cloudProfileConfig, region); !ok {
		allErrs = append(allErrs, field.Invalid(field.NewPath("spec", "region"), region, "the CloudProfile has no regionConfig for this region"))
	}
	for i, worker := range workers {
		allErrs = append(allErrs, validateWorker(worker, cloudProfileConfig, fldPath.Index(i))...)
	}
	return allErrs
}

func validateWorker(worker core.Worker, cloudProfileConfig *metal.CloudProfileConfig, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	machinePath := fldPath.Child("machine")
	if _, ok := helper.FindMachineType(cloudProfileConfig, worker.Machine.Type); !ok {
		allErrs = append(allErrs, field.Invalid(machinePath.Child("type"), worker.Machine.Type, "the CloudProfile has no Server labels for this machine type"))
	}
	if image := worker.Machine.Image; image != nil && image.Name != "" {
		allErrs = append(allErrs, validateWorkerImage(image, worker.Machine.Architecture, cloudProfileConfig, machinePath.Child("image"))...)
	}
	if len(worker.Zones) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("zones"), "must provide at least one zone: Servers are selected by their zone label"))
	}
	if worker.Volume != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("volume"), "bare metal machines have no provider volumes; the machine type determines the Server's local disks"))
	}
	if len(worker.DataVolumes) > 0 {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("dataVolumes"), "bare metal machines have no provider volumes; the machine type determines the Server's local disks"))
	}
	return allErrs
}

// validateWorkerImage checks that the pool's image version has a mapping and, for mappings without capability
// flavors, one for the pool's architecture. Flavors are matched by capabilities in the worker controller.
func validateWorkerImage(image *core.ShootMachineImage, architecture *string, cloudProfileConfig *metal.CloudProfileConfig, fldPath *field.Path) field.ErrorList {
	if image.Version == "" {
		// Gardener defaults the version before extension admission runs; without it there is nothing to map.
		return nil
	}
	if _, ok := helper.FindMachineImageVersion(cloudProfileConfig, image.Name, image.Version); !ok {
		return field.ErrorList{field.Invalid(fldPath, fmt.Sprintf("%s@%s", image.Name, image.Version), "the CloudProfile has no image mapping for this machine image version")}
	}
	if architecture == nil {
		return nil
	}
	for _, version := range providerVersions(cloudProfileConfig, image.Name, image.Version) {
		if len(version.CapabilityFlavors) > 0 || versionArchitecture(version.MachineImageVersion) == *architecture {
			return nil
		}
	}
	return field.ErrorList{field.Invalid(fldPath, fmt.Sprintf("%s@%s", image.Name, image.Version), fmt.Sprintf("the CloudProfile has no image of this version for architecture %q", *architecture))}
}

// ValidateWorkersUpdate validates changes of the worker pools. Gardener itself guards zone removal and the
// rest of the pool; what is specific to bare metal is the cost of a replaced MachineDeployment: the worker
// controller names a pool's MachineDeployments after the zone's index in the pool (<pool>-z<index+1>, as in
// Gardener's generic worker actuator), so moving an existing zone to another index replaces its deployment and
// re-provisions all its Servers, which takes long and needs free Servers in the zone during the roll. New zones
// may be appended and zones at the end removed; existing zones must keep their position.
func ValidateWorkersUpdate(oldWorkers, newWorkers []core.Worker, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	for i, newWorker := range newWorkers {
		idx := slices.IndexFunc(oldWorkers, func(w core.Worker) bool { return w.Name == newWorker.Name })
		if idx < 0 {
			continue
		}
		oldZones := oldWorkers[idx].Zones
		for j, zone := range newWorker.Zones {
			oldIndex := slices.Index(oldZones, zone)
			if oldIndex >= 0 && oldIndex != j {
				allErrs = append(allErrs, field.Forbidden(fldPath.Index(i).Child("zones").Index(j),
					fmt.Sprintf("zone %q must stay at index %d: its MachineDeployment is named after the index, and moving it would re-provision all its machines", zone, oldIndex)))
			}
		}
	}
	return allErrs
}
