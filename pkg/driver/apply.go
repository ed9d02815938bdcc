package driver

import (
	"context"
	"encoding/json"
	"fmt"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// apply server-side applies desired, which the driver builds with exactly the fields it owns, and decodes the
// answer of the API server (including status) into result. Apply makes every write idempotent: repeating it,
// from this or a restarted driver, changes nothing.
func (r *request) apply(ctx context.Context, desired client.Object, result client.Object) error {
	data, err := json.Marshal(desired)
	if err != nil {
		return fmt.Errorf("cannot marshal %T: %w", desired, err)
	}
	content := map[string]any{}
	if err := json.Unmarshal(data, &content); err != nil {
		return fmt.Errorf("cannot unmarshal %T: %w", desired, err)
	}
	// Typed objects marshal an empty status and a null creationTimestamp; applying them would claim these fields.
	delete(content, "status")
	if metadata, ok := content["metadata"].(map[string]any); ok {
		delete(metadata, "creationTimestamp")
	}
	u := &unstructured.Unstructured{Object: content}
	if err := r.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), fieldOwner, client.ForceOwnership); err != nil {
		return err
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, result); err != nil {
		return fmt.Errorf("cannot decode applied %s %s: %w", u.GetKind(), client.ObjectKeyFromObject(u), err)
	}
	return nil
}

// ownerReference makes the ServerClaim the controller of its ignition Secret, so that metal API garbage
// collection removes it even if a deletion by the driver is missed. IPAddressClaims get none: their addresses must
// outlive the claim until its Server is off (see DeleteMachine). blockOwnerDeletion stays unset:
// it needs permission to set finalizers on claims, which a shoot's metal credentials need not have.
func ownerReference(claim *metalv1alpha1.ServerClaim) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: metalv1alpha1.GroupVersion.String(),
		Kind:       "ServerClaim",
		Name:       claim.Name,
		UID:        claim.UID,
		Controller: new(true),
	}
}

// hasLabels tells whether obj carries all labels.
func hasLabels(obj client.Object, labels map[string]string) bool {
	for key, value := range labels {
		if obj.GetLabels()[key] != value {
			return false
		}
	}
	return true
}
