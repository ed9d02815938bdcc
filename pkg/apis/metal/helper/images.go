package helper

import (
	"fmt"

	"k8s.io/utils/ptr"

	"github.com/gardener/gardener/extensions/pkg/controller/worker"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

// FindImageForArchitecture returns the OCI image of a machine image version listed without capability flavors
// for the given architecture. Such a version may be listed once per architecture; an entry without an
// architecture is amd64, as the versioned API defaults it.
func FindImageForArchitecture(cfg *metal.CloudProfileConfig, name, version, architecture string) (string, bool) {
	if cfg == nil {
		return "", false
	}
	for _, image := range cfg.MachineImages {
		if image.Name != name {
			continue
		}
		for _, v := range image.Versions {
			if v.Version == version && v.Image != "" && imageArchitecture(v.Architecture) == architecture {
				return v.Image, true
			}
		}
	}
	return "", false
}

// FindImageFlavor returns the flavor of a machine image version that fits the machine capabilities best, using
// Gardener's capability matching (compatible flavors first, then the order of preference of the capability
// definitions). A version given with a plain image instead of flavors counts as one flavor without
// capabilities, which Gardener treats as supporting every capability value. The second result is false when
// the CloudProfile does not list the version.
func FindImageFlavor(
	cfg *metal.CloudProfileConfig,
	name, version string,
	machineCapabilities gardencorev1beta1.Capabilities,
	capabilityDefinitions []gardencorev1beta1.CapabilityDefinition,
) (*metal.MachineImageFlavor, bool, error) {
	if cfg == nil {
		return nil, false, nil
	}
	var flavors []metal.MachineImageFlavor
	found := false
	for _, image := range cfg.MachineImages {
		if image.Name != name {
			continue
		}
		for _, v := range image.Versions {
			if v.Version != version {
				continue
			}
			found = true
			flavors = append(flavors, v.CapabilityFlavors...)
			if len(v.CapabilityFlavors) == 0 && v.Image != "" {
				flavors = append(flavors, metal.MachineImageFlavor{Image: v.Image})
			}
		}
	}
	if !found {
		return nil, false, nil
	}
	best, err := worker.FindBestImageFlavor(flavors, machineCapabilities, capabilityDefinitions)
	if err != nil {
		return nil, true, fmt.Errorf("machine image %s version %s has no flavor for capabilities %v: %w", name, version, machineCapabilities, err)
	}
	return &best, true, nil
}

// FindImageInStatusForArchitecture returns the image a Worker recorded in its status for the machine image
// version and architecture, so that a version removed from the CloudProfile keeps working for the machines
// that use it.
func FindImageInStatusForArchitecture(status *metal.WorkerStatus, name, version, architecture string) (*metal.MachineImage, bool) {
	if status == nil {
		return nil, false
	}
	for i, image := range status.MachineImages {
		if image.Name == name && image.Version == version && imageArchitecture(image.Architecture) == architecture {
			return &status.MachineImages[i], true
		}
	}
	return nil, false
}

// FindImageInStatusForCapabilities returns the image a Worker recorded in its status for the machine image
// version that fits the machine capabilities best.
func FindImageInStatusForCapabilities(
	status *metal.WorkerStatus,
	name, version string,
	machineCapabilities gardencorev1beta1.Capabilities,
	capabilityDefinitions []gardencorev1beta1.CapabilityDefinition,
) (*metal.MachineImage, bool) {
	if status == nil {
		return nil, false
	}
	var candidates []statusImage
	for _, image := range status.MachineImages {
		if image.Name == name && image.Version == version {
			candidates = append(candidates, statusImage(image))
		}
	}
	if len(candidates) == 0 {
		return nil, false
	}
	best, err := worker.FindBestImageFlavor(candidates, machineCapabilities, capabilityDefinitions)
	if err != nil {
		return nil, false
	}
	image := metal.MachineImage(best)
	return &image, true
}

// statusImage gives a recorded image the accessor Gardener's capability matching needs.
type statusImage metal.MachineImage

// GetCapabilities returns the capabilities of the recorded image.
func (i statusImage) GetCapabilities() gardencorev1beta1.Capabilities {
	return i.Capabilities
}

func imageArchitecture(architecture *string) string {
	return ptr.Deref(architecture, v1beta1constants.ArchitectureAMD64)
}
