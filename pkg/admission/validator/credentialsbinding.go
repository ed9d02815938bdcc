package validator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	"github.com/gardener/gardener/pkg/apis/security"
	securityv1alpha1 "github.com/gardener/gardener/pkg/apis/security/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var credentialsRefPath = field.NewPath("credentialsRef")

// NewCredentialsBindingValidator returns a validator for CredentialsBindings of the metal provider. It reads the
// referenced Secret or WorkloadIdentity through the manager's API reader.
func NewCredentialsBindingValidator(mgr manager.Manager) extensionswebhook.Validator {
	return &credentialsBindingValidator{reader: mgr.GetAPIReader()}
}

type credentialsBindingValidator struct {
	reader client.Reader
}

// Validate checks that the credentials a CredentialsBinding references exist and suit the metal provider: a
// Secret must hold valid metal credentials, a WorkloadIdentity must target the metal provider. Updates are only
// checked when the reference or the provider changes.
func (v *credentialsBindingValidator) Validate(ctx context.Context, newObj, oldObj client.Object) error {
	credentialsBinding, ok := newObj.(*security.CredentialsBinding)
	if !ok {
		return fmt.Errorf("expected *security.CredentialsBinding but got %T", newObj)
	}
	if credentialsBinding.DeletionTimestamp != nil || credentialsBinding.Provider.Type != metal.Type {
		return nil
	}

	if oldObj != nil {
		oldCredentialsBinding, ok := oldObj.(*security.CredentialsBinding)
		if !ok {
			return fmt.Errorf("expected *security.CredentialsBinding but got %T for the old object", oldObj)
		}
		if apiequality.Semantic.DeepEqual(oldCredentialsBinding.CredentialsRef, credentialsBinding.CredentialsRef) &&
			oldCredentialsBinding.Provider == credentialsBinding.Provider {
			return nil
		}
	}

	if err := v.validateCredentialsRef(ctx, credentialsBinding.CredentialsRef); err != nil {
		return field.ErrorList{err}.ToAggregate()
	}
	return nil
}

func (v *credentialsBindingValidator) validateCredentialsRef(ctx context.Context, ref corev1.ObjectReference) *field.Error {
	switch {
	case ref.APIVersion == corev1.SchemeGroupVersion.String() && ref.Kind == "Secret":
		return validateReferencedSecret(ctx, v.reader, ref.Namespace, ref.Name, credentialsRefPath)
	case ref.APIVersion == securityv1alpha1.SchemeGroupVersion.String() && ref.Kind == "WorkloadIdentity":
		return v.validateWorkloadIdentity(ctx, ref.Namespace, ref.Name)
	}
	return field.NotSupported(credentialsRefPath, ref.APIVersion+", Kind="+ref.Kind, []string{
		corev1.SchemeGroupVersion.String() + ", Kind=Secret",
		securityv1alpha1.SchemeGroupVersion.String() + ", Kind=WorkloadIdentity",
	})
}

func (v *credentialsBindingValidator) validateWorkloadIdentity(ctx context.Context, namespace, name string) *field.Error {
	key := namespace + "/" + name
	workloadIdentity := &securityv1alpha1.WorkloadIdentity{}
	if err := v.reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, workloadIdentity); err != nil {
		if apierrors.IsNotFound(err) {
			return field.Invalid(credentialsRefPath, key, "referenced WorkloadIdentity does not exist")
		}
		return field.InternalError(credentialsRefPath, fmt.Errorf("could not read referenced WorkloadIdentity %s: %w", key, err))
	}

	if workloadIdentity.Spec.TargetSystem.Type != metal.Type {
		return field.Invalid(credentialsRefPath, key, fmt.Sprintf("referenced WorkloadIdentity has spec.targetSystem.type %q, but it must be %q",
			workloadIdentity.Spec.TargetSystem.Type, metal.Type))
	}
	return nil
}
