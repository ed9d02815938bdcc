// Package imagevector holds the images of the components the metal extension deploys. The list is embedded from
// images.yaml and can be overridden at runtime with the file named by the IMAGEVECTOR_OVERWRITE environment
// variable, as in every Gardener extension.
package imagevector

import (
	_ "embed"
	"fmt"

	"github.com/gardener/gardener/pkg/utils/imagevector"
)

// Names of the images in images.yaml.
const (
	// ImageNameCloudControllerManager is the metal cloud-controller-manager.
	ImageNameCloudControllerManager = "cloud-controller-manager"
	// ImageNameMetalLoadBalancerControllerManager is the manager of metal-load-balancer-controller.
	ImageNameMetalLoadBalancerControllerManager = "metal-load-balancer-controller-manager"
	// ImageNameMetalLoadBalancerControllerSpeaker is the metalbond speaker of metal-load-balancer-controller.
	ImageNameMetalLoadBalancerControllerSpeaker = "metal-load-balancer-controller-speaker"
	// ImageNameMetalLBController is MetalLB's controller.
	ImageNameMetalLBController = "metallb-controller"
	// ImageNameMetalLBSpeaker is MetalLB's speaker.
	ImageNameMetalLBSpeaker = "metallb-speaker"
	// ImageNameMachineControllerManagerProviderMetal is the machine-controller-manager driver for metal.
	ImageNameMachineControllerManagerProviderMetal = "machine-controller-manager-provider-metal"
	// ImageNameGardenerExtensionProviderMetal is this extension.
	ImageNameGardenerExtensionProviderMetal = "gardener-extension-provider-metal"
	// ImageNameGardenerExtensionAdmissionMetal is the admission component of this extension.
	ImageNameGardenerExtensionAdmissionMetal = "gardener-extension-admission-metal"
)

//go:embed images.yaml
var imagesYAML []byte

// imageVector is read once; a broken embedded file or override is a programming or deployment error that must
// stop the process at start rather than at the first reconcile.
var imageVector = mustRead()

func mustRead() imagevector.ImageVector {
	vector, err := read(imagesYAML, imagevector.OverrideEnv)
	if err != nil {
		panic(err)
	}
	return vector
}

// read parses the image list and applies the override file named by the environment variable env, if set.
func read(data []byte, env string) (imagevector.ImageVector, error) {
	vector, _, err := imagevector.Read(data)
	if err != nil {
		return nil, fmt.Errorf("reading the embedded image vector: %w", err)
	}
	vector, _, err = imagevector.WithEnvOverride(vector, nil, env)
	if err != nil {
		return nil, fmt.Errorf("applying the image vector override from $%s: %w", env, err)
	}
	return vector, nil
}

// ImageVector returns the images of the components the extension deploys.
func ImageVector() imagevector.ImageVector {
	return imageVector
}
