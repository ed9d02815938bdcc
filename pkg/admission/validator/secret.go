package validator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
)

// NewSecretValidator returns a validator for Secrets that hold metal API credentials.
func NewSecretValidator() extensionswebhook.Validator {
	return &secretValidator{validate: validation.ValidateCloudProviderSecret}
}

// NewDNSSecretValidator returns a validator for Secrets of RFC 2136 DNS providers.
func NewDNSSecretValidator() extensionswebhook.Validator {
	return &secretValidator{validate: validation.ValidateDNSSecret}
}

type secretValidator struct {
	validate func(*corev1.Secret, *field.Path) field.ErrorList
}

// Validate validates the keys of a Secret on create and whenever its data changes; updates of metadata
// alone must not be blocked by credentials that were accepted before.
func (s *secretValidator) Validate(_ context.Context, newObj, oldObj client.Object) error {
	secret, ok := newObj.(*corev1.Secret)
	if !ok {
		return fmt.Errorf("expected *corev1.Secret but got %T", newObj)
	}

	if oldObj != nil {
		oldSecret, ok := oldObj.(*corev1.Secret)
		if !ok {
			return fmt.Errorf("expected *corev1.Secret but got %T for the old object", oldObj)
		}
		if apiequality.Semantic.DeepEqual(secret.Data, oldSecret.Data) {
			return nil
		}
	}

	return s.validate(secret, nil).ToAggregate()
}

// validateReferencedSecret reads the Secret a binding references and validates the credentials it holds. The
// errors name the Secret and the binding's reference field, never the Secret's values.
func validateReferencedSecret(ctx context.Context, reader client.Reader, namespace, name string, fldPath *field.Path) *field.Error {
	key := namespace + "/" + name
	secret := &corev1.Secret{}
	if err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return field.Invalid(fldPath, key, "referenced Secret does not exist")
		}
		return field.InternalError(fldPath, fmt.Errorf("could not read referenced Secret %s: %w", key, err))
	}

	if errs := validation.ValidateCloudProviderSecret(secret, nil); len(errs) > 0 {
		return field.Invalid(fldPath, key, "referenced Secret is not a valid metal credentials Secret: "+errs.ToAggregate().Error())
	}
	return nil
}
