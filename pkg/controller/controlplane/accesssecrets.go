package controlplane

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/gardener/gardener/pkg/apis/resources/v1alpha1"
	kubernetesutils "github.com/gardener/gardener/pkg/utils/kubernetes"
)

// reconcileShootAccessSecrets creates or updates the shoot access secrets, skipping those that are already as
// desired. Gardener's AccessSecret.Reconcile patches with optimistic locking and does not skip empty patches, so it
// would send `{"metadata":{"resourceVersion":...}}` for every secret on every reconcile; the generic actuator is
// therefore given no access secrets and this actuator manages them.
func reconcileShootAccessSecrets(ctx context.Context, c client.Client, namespace string) error {
	for _, accessSecret := range shootAccessSecrets(namespace) {
		existing := &corev1.Secret{}
		err := c.Get(ctx, client.ObjectKeyFromObject(accessSecret.Secret), existing)
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading shoot access secret %s: %w", client.ObjectKeyFromObject(accessSecret.Secret), err)
		}
		if err == nil && shootAccessSecretUpToDate(existing, accessSecret.Class, accessSecret.ServiceAccountName) {
			continue
		}
		if err := accessSecret.Reconcile(ctx, c); err != nil {
			return fmt.Errorf("reconciling shoot access secret %s: %w", client.ObjectKeyFromObject(accessSecret.Secret), err)
		}
	}
	return nil
}

// shootAccessSecretUpToDate tells whether the secret carries everything AccessSecret.Reconcile sets for a shoot
// access secret without kubeconfig; the token itself is gardener-resource-manager's to write.
func shootAccessSecretUpToDate(secret *corev1.Secret, class, serviceAccountName string) bool {
	_, hasKubeconfig := secret.Data[resourcesv1alpha1.DataKeyKubeconfig]
	return secret.Type == corev1.SecretTypeOpaque &&
		secret.Labels[resourcesv1alpha1.ResourceManagerPurpose] == resourcesv1alpha1.LabelPurposeTokenRequest &&
		secret.Labels[resourcesv1alpha1.ResourceManagerClass] == class &&
		secret.Annotations[resourcesv1alpha1.ServiceAccountName] == serviceAccountName &&
		secret.Annotations[resourcesv1alpha1.ServiceAccountNamespace] == metav1.NamespaceSystem &&
		!hasKubeconfig
}

// deleteShootAccessSecrets deletes the shoot access secrets.
func deleteShootAccessSecrets(ctx context.Context, c client.Client, namespace string) error {
	for _, accessSecret := range shootAccessSecrets(namespace) {
		if err := kubernetesutils.DeleteObject(ctx, c, accessSecret.Secret); err != nil {
			return fmt.Errorf("deleting shoot access secret %s: %w", client.ObjectKeyFromObject(accessSecret.Secret), err)
		}
	}
	return nil
}
