package validator

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gardener/gardener/pkg/apis/core"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	gardenerutils "github.com/gardener/gardener/pkg/utils/gardener"
)

// getShootCloudProfileSpec reads the CloudProfile or NamespacedCloudProfile the Shoot references and returns its
// effective spec together with a description of the object for error messages. A NamespacedCloudProfile is
// effective through its status, which the gardener-controller-manager merges from the parent CloudProfile.
func getShootCloudProfileSpec(ctx context.Context, reader client.Reader, shoot *core.Shoot) (*gardencorev1beta1.CloudProfileSpec, string, error) {
	ref := gardenerutils.BuildCoreCloudProfileReference(shoot)
	if ref == nil {
		return nil, "", fmt.Errorf("shoot %s/%s references no CloudProfile (spec.cloudProfile is not set)", shoot.Namespace, shoot.Name)
	}

	switch ref.Kind {
	case v1beta1constants.CloudProfileReferenceKindCloudProfile:
		cloudProfile, err := getCloudProfile(ctx, reader, ref.Name)
		if err != nil {
			return nil, "", err
		}
		return &cloudProfile.Spec, fmt.Sprintf("CloudProfile %q", ref.Name), nil

	case v1beta1constants.CloudProfileReferenceKindNamespacedCloudProfile:
		namespacedCloudProfile := &gardencorev1beta1.NamespacedCloudProfile{}
		if err := reader.Get(ctx, client.ObjectKey{Namespace: shoot.Namespace, Name: ref.Name}, namespacedCloudProfile); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, "", fmt.Errorf("NamespacedCloudProfile %s/%s referenced by the shoot does not exist", shoot.Namespace, ref.Name)
			}
			return nil, "", fmt.Errorf("could not read NamespacedCloudProfile %s/%s: %w", shoot.Namespace, ref.Name, err)
		}
		// An empty type means the gardener-controller-manager has not merged the parent into the status yet.
		if namespacedCloudProfile.Status.CloudProfileSpec.Type == "" {
			return nil, "", fmt.Errorf("NamespacedCloudProfile %s/%s has not been reconciled yet: its status.cloudProfileSpec is empty", shoot.Namespace, ref.Name)
		}
		return &namespacedCloudProfile.Status.CloudProfileSpec, fmt.Sprintf("NamespacedCloudProfile %s/%s", shoot.Namespace, ref.Name), nil
	}

	return nil, "", fmt.Errorf("spec.cloudProfile.kind %q is not supported, use %s or %s", ref.Kind,
		v1beta1constants.CloudProfileReferenceKindCloudProfile, v1beta1constants.CloudProfileReferenceKindNamespacedCloudProfile)
}

// getCloudProfile reads the named CloudProfile and says so clearly when it does not exist.
func getCloudProfile(ctx context.Context, reader client.Reader, name string) (*gardencorev1beta1.CloudProfile, error) {
	cloudProfile := &gardencorev1beta1.CloudProfile{}
	if err := reader.Get(ctx, client.ObjectKey{Name: name}, cloudProfile); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("CloudProfile %q does not exist", name)
		}
		return nil, fmt.Errorf("could not read CloudProfile %q: %w", name, err)
	}
	return cloudProfile, nil
}
