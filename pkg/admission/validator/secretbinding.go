package validator

import (
	"context"
	"fmt"
	"slices"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	gardencorehelper "github.com/gardener/gardener/pkg/api/core/helper"
	"github.com/gardener/gardener/pkg/apis/core"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// NewSecretBindingValidator returns a validator for SecretBindings of the metal provider. It reads the
// referenced Secret through the manager's API reader so that the webhook does not cache all Secrets.
func NewSecretBindingValidator(mgr manager.Manager) extensionswebhook.Validator {
	return &secretBindingValidator{reader: mgr.GetAPIReader()}
}

type secretBindingValidator struct {
	reader client.Reader
}

// Validate checks that the Secret a SecretBinding references exists and holds valid metal credentials. Updates
// are only checked when the reference or the provider changes, because the Secret's own webhook guards changes
// of its data.
func (v *secretBindingValidator) Validate(ctx context.Context, newObj, oldObj client.Object) error {
	secretBinding, ok := newObj.(*core.SecretBinding)
	if !ok {
		return fmt.Errorf("expected *core.SecretBinding but got %T", newObj)
	}
	if secretBinding.DeletionTimestamp != nil || !slices.Contains(gardencorehelper.GetSecretBindingTypes(secretBinding), metal.Type) {
		return nil
	}

	if oldObj != nil {
		oldSecretBinding, ok := oldObj.(*core.SecretBinding)
		if !ok {
			return fmt.Errorf("expected *core.SecretBinding but got %T for the old object", oldObj)
		}
		if apiequality.Semantic.DeepEqual(oldSecretBinding.SecretRef, secretBinding.SecretRef) &&
			apiequality.Semantic.DeepEqual(oldSecretBinding.Provider, secretBinding.Provider) {
			return nil
		}
	}

	if err := validateReferencedSecret(ctx, v.reader, secretBinding.SecretRef.Namespace, secretBinding.SecretRef.Name, field.NewPath("secretRef")); err != nil {
		return field.ErrorList{err}.ToAggregate()
	}
	return nil
}
