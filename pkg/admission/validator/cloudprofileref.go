package validator

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gardener/gardener/pkg/apis/core"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	gardenerutils "github.com/gardener/gardener/pkg/utils/gardener"
)

// cloudProfileRefPath is the path of the Shoot's reference to its CloudProfile or NamespacedCloudProfile; the
// deprecated spec.cloudProfileName when only that is set.
func cloudProfileRefPath(shoot *core.Shoot) *field.Path {
	if shoot.Spec.CloudProfile == nil && shoot.Spec.CloudProfileName != nil { //nolint:staticcheck // older shoots may still only name it there
		return field.NewPath("spec", "cloudProfileName")
	}
	return field.NewPath("spec", "cloudProfile", "name")
}

// getShootCloudProfileSpec reads the CloudProfile or NamespacedCloudProfile the Shoot references and returns its
// effective spec together with a description of the object for error messages. A NamespacedCloudProfile is
// effective through its status, which the gardener-controller-manager merges from the parent CloudProfile. A
// reference to an object that does not exist is an error on the reference's field path.
func getShootCloudProfileSpec(ctx context.Context, reader client.Reader, shoot *core.Shoot) (*gardencorev1beta1.CloudProfileSpec, string, error) {
	refPath := cloudProfileRefPath(shoot)
	ref := gardenerutils.BuildCoreCloudProfileReference(shoot)
	if ref == nil {
		return nil, "", field.ErrorList{field.Required(field.NewPath("spec", "cloudProfile"), "must reference a CloudProfile or NamespacedCloudProfile")}.ToAggregate()
	}

	switch ref.Kind {
	case v1beta1constants.CloudProfileReferenceKindCloudProfile:
		cloudProfile, err := getCloudProfile(ctx, reader, ref.Name, refPath)
		if err != nil {
			return nil, "", field.ErrorList{err}.ToAggregate()
		}
		return &cloudProfile.Spec, fmt.Sprintf("CloudProfile %q", ref.Name), nil

	case v1beta1constants.CloudProfileReferenceKindNamespacedCloudProfile:
		namespacedCloudProfile := &gardencorev1beta1.NamespacedCloudProfile{}
		if err := reader.Get(ctx, client.ObjectKey{Namespace: shoot.Namespace, Name: ref.Name}, namespacedCloudProfile); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, "", field.ErrorList{field.NotFound(refPath, ref.Name)}.ToAggregate()
			}
			return nil, "", field.ErrorList{field.InternalError(refPath, fmt.Errorf("could not read NamespacedCloudProfile %s/%s: %w", shoot.Namespace, ref.Name, err))}.ToAggregate()
		}
		// An empty type means the gardener-controller-manager has not merged the parent into the status yet.
		if namespacedCloudProfile.Status.CloudProfileSpec.Type == "" {
			return nil, "", field.ErrorList{field.Invalid(refPath, ref.Name, "the NamespacedCloudProfile has not been reconciled yet: its status.cloudProfileSpec is empty")}.ToAggregate()
		}
		return &namespacedCloudProfile.Status.CloudProfileSpec, fmt.Sprintf("NamespacedCloudProfile %s/%s", shoot.Namespace, ref.Name), nil
	}

	return nil, "", field.ErrorList{field.NotSupported(field.NewPath("spec", "cloudProfile", "kind"), ref.Kind,
		[]string{v1beta1constants.CloudProfileReferenceKindCloudProfile, v1beta1constants.CloudProfileReferenceKindNamespacedCloudProfile})}.ToAggregate()
}

// getCloudProfile reads the named CloudProfile; one that does not exist is reported on refPath, the field that
// references it.
func getCloudProfile(ctx context.Context, reader client.Reader, name string, refPath *field.Path) (*gardencorev1beta1.CloudProfile, *field.Error) {
	cloudProfile := &gardencorev1beta1.CloudProfile{}
	if err := reader.Get(ctx, client.ObjectKey{Name: name}, cloudProfile); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, field.NotFound(refPath, name)
		}
		return nil, field.InternalError(refPath, fmt.Errorf("could not read CloudProfile %q: %w", name, err))
	}
	return cloudProfile, nil
}
