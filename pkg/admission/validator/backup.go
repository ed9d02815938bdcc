package validator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	"github.com/gardener/gardener/pkg/apis/core"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// BackupValidatorName is the name of the validating webhook for the backup configuration of Seeds and
// BackupBuckets of provider type metal.
const BackupValidatorName = "backup." + Name

// NewBackupWebhook creates the webhook that validates the backup secrets that Seeds (spec.backup) and
// BackupBuckets of provider type metal reference.
func NewBackupWebhook(mgr manager.Manager) (*extensionswebhook.Webhook, error) {
	logger.Info("Setting up webhook", "name", BackupValidatorName)

	return extensionswebhook.New(mgr, extensionswebhook.Args{
		Name: BackupValidatorName,
		Path: "/webhooks/validate/backup",
		Validators: map[extensionswebhook.Validator][]extensionswebhook.Type{
			NewBackupValidator(mgr.GetAPIReader()): {{Obj: &core.Seed{}}, {Obj: &core.BackupBucket{}}},
		},
		Target: extensionswebhook.TargetSeed,
		// The gardener-apiserver's ExtensionLabels plugin labels Seeds with their backup provider's type and
		// BackupBuckets with their provider's type.
		ObjectSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{v1beta1constants.LabelExtensionProviderTypePrefix + metal.Type: "true"},
		},
	})
}

// NewBackupValidator returns a validator for Seeds and BackupBuckets that reads the referenced backup secret
// with reader (the API reader, so that the webhook does not cache all Secrets).
func NewBackupValidator(reader client.Reader) extensionswebhook.Validator {
	return &backupValidator{reader: reader}
}

type backupValidator struct {
	reader client.Reader
}

// Validate validates the backup secret a Seed with a metal backup or a BackupBucket of type metal references.
func (b *backupValidator) Validate(ctx context.Context, newObj, _ client.Object) error {
	switch obj := newObj.(type) {
	case *core.Seed:
		backup := obj.Spec.Backup
		if backup == nil || backup.Provider != metal.Type {
			return nil
		}
		return b.validateCredentialsRef(ctx, backup.CredentialsRef, field.NewPath("spec", "backup", "credentialsRef")).ToAggregate()
	case *core.BackupBucket:
		if obj.Spec.Provider.Type != metal.Type {
			return nil
		}
		return b.validateCredentialsRef(ctx, obj.Spec.CredentialsRef, field.NewPath("spec", "credentialsRef")).ToAggregate()
	default:
		return fmt.Errorf("expected *core.Seed or *core.BackupBucket but got %T", newObj)
	}
}

// validateCredentialsRef checks that the reference names a Secret that exists and is a valid backup secret.
// The errors name the Secret and the reference field, never the Secret's values.
func (b *backupValidator) validateCredentialsRef(ctx context.Context, ref *corev1.ObjectReference, fldPath *field.Path) field.ErrorList {
	if ref == nil {
		return field.ErrorList{field.Required(fldPath, "must reference the backup secret")}
	}
	if ref.APIVersion != "v1" || ref.Kind != "Secret" {
		return field.ErrorList{field.NotSupported(fldPath.Child("kind"), ref.APIVersion+"/"+ref.Kind, []string{"v1/Secret"})}
	}

	key := ref.Namespace + "/" + ref.Name
	secret := &corev1.Secret{}
	if err := b.reader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return field.ErrorList{field.Invalid(fldPath, key, "referenced Secret does not exist")}
		}
		return field.ErrorList{field.InternalError(fldPath, fmt.Errorf("could not read referenced Secret %s: %w", key, err))}
	}
	if errs := validation.ValidateBackupSecret(secret, nil); len(errs) > 0 {
		return field.ErrorList{field.Invalid(fldPath, key, "referenced Secret is not a valid backup secret: "+errs.ToAggregate().Error())}
	}
	return nil
}
