package worker

import (
	"context"
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gardener/gardener/extensions/pkg/controller/worker"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
)

// UpdateMachineImagesStatus records the images the pools use in the Worker's providerStatus, so that a version
// removed from the CloudProfile keeps reconciling. The status is written only when the images changed.
func (w *workerDelegate) UpdateMachineImagesStatus(ctx context.Context) error {
	generated, err := w.machineConfig(ctx)
	if err != nil {
		return err
	}
	if w.status != nil && equality.Semantic.DeepEqual(w.status.MachineImages, generated.images) {
		return nil
	}
	status := &api.WorkerStatus{MachineImages: generated.images}
	raw, err := helper.EncodeToRaw(status)
	if err != nil {
		return err
	}
	patch := client.MergeFrom(w.worker.DeepCopy())
	w.worker.Status.ProviderStatus = raw
	if err := w.client.Status().Patch(ctx, w.worker, patch); err != nil {
		return fmt.Errorf("updating the machine images in the worker status: %w", err)
	}
	w.status = status
	return nil
}

// imageRequest is what a pool asks for: a machine image version for its architecture or machine capabilities.
type imageRequest struct {
	name, version string
	architecture  string
	capabilities  gardencorev1beta1.Capabilities
	definitions   []gardencorev1beta1.CapabilityDefinition
}

// poolImageRequest derives the image request of a pool. With capabilities the machine type's capabilities
// decide; a machine type without an architecture capability gets the pool's architecture, which Gardener
// derives from the machine type.
func poolImageRequest(pool extensionsv1alpha1.WorkerPool, cloudProfile *gardencorev1beta1.CloudProfile) imageRequest {
	req := imageRequest{
		name:         pool.MachineImage.Name,
		version:      pool.MachineImage.Version,
		architecture: ptr.Deref(pool.Architecture, v1beta1constants.ArchitectureAMD64),
		definitions:  cloudProfile.Spec.MachineCapabilities,
	}
	if len(req.definitions) == 0 {
		return req
	}
	for _, machineType := range cloudProfile.Spec.MachineTypes {
		if machineType.Name == pool.MachineType {
			req.capabilities = maps.Clone(machineType.Capabilities)
		}
	}
	if _, ok := req.capabilities[v1beta1constants.ArchitectureName]; !ok && pool.Architecture != nil {
		if req.capabilities == nil {
			req.capabilities = gardencorev1beta1.Capabilities{}
		}
		req.capabilities[v1beta1constants.ArchitectureName] = []string{*pool.Architecture}
	}
	return req
}

// resolveImage finds the image of a request in the CloudProfile and, failing that, among the images the Worker
// recorded in its status.
func resolveImage(profile *api.CloudProfileConfig, status *api.WorkerStatus, req imageRequest) (api.MachineImage, error) {
	if len(req.definitions) == 0 {
		if image, ok := helper.FindImageForArchitecture(profile, req.name, req.version, req.architecture); ok {
			return api.MachineImage{Name: req.name, Version: req.version, Image: image, Architecture: ptr.To(req.architecture)}, nil
		}
		if recorded, ok := helper.FindImageInStatusForArchitecture(status, req.name, req.version, req.architecture); ok {
			return *recorded, nil
		}
		return api.MachineImage{}, configurationProblem(worker.ErrorMachineImageNotFound(req.name, req.version, req.architecture))
	}

	flavor, _, profileErr := helper.FindImageFlavor(profile, req.name, req.version, req.capabilities, req.definitions)
	if flavor != nil {
		return api.MachineImage{Name: req.name, Version: req.version, Image: flavor.Image, Capabilities: flavor.Capabilities}, nil
	}
	if recorded, ok := helper.FindImageInStatusForCapabilities(status, req.name, req.version, req.capabilities, req.definitions); ok {
		return *recorded, nil
	}
	if profileErr != nil {
		return api.MachineImage{}, configurationProblem(profileErr)
	}
	return api.MachineImage{}, configurationProblem(worker.ErrorMachineImageNotFound(req.name, req.version))
}

// appendImage adds an image to the list of images in use unless it is there already.
func appendImage(images []api.MachineImage, image api.MachineImage) []api.MachineImage {
	for _, existing := range images {
		if equality.Semantic.DeepEqual(existing, image) {
			return images
		}
	}
	return append(images, image)
}
