package controlplane

import (
	"context"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	"github.com/gardener/gardener/extensions/pkg/controller/controlplane"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
)

// actuator wraps Gardener's generic control plane actuator. It checks the ControlPlaneConfig before anything is
// written, so that a bad config fails the reconcile with its field path instead of leaving half-deployed secrets
// behind, and it manages the shoot access secrets itself so that an unchanged ControlPlane costs no write. It
// generates the secrets before the generic actuator, a few ControlPlanes at a time (secretsGenerator).
type actuator struct {
	controlplane.Actuator
	client  client.Client
	secrets *secretsGenerator
}

// Reconcile validates the providerConfig, reconciles the shoot access secrets and then the control plane.
func (a *actuator) Reconcile(ctx context.Context, log logr.Logger, cp *extensionsv1alpha1.ControlPlane, cluster *extensionscontroller.Cluster) (bool, error) {
	if err := a.prepare(ctx, log, cp, cluster); err != nil {
		return false, err
	}
	return a.Actuator.Reconcile(ctx, log, cp, cluster)
}

// Restore validates the providerConfig, reconciles the shoot access secrets and then restores the control plane.
func (a *actuator) Restore(ctx context.Context, log logr.Logger, cp *extensionsv1alpha1.ControlPlane, cluster *extensionscontroller.Cluster) (bool, error) {
	if err := a.prepare(ctx, log, cp, cluster); err != nil {
		return false, err
	}
	return a.Actuator.Restore(ctx, log, cp, cluster)
}

// Delete deletes the control plane and then the shoot access secrets its components used.
func (a *actuator) Delete(ctx context.Context, log logr.Logger, cp *extensionsv1alpha1.ControlPlane, cluster *extensionscontroller.Cluster) error {
	if err := a.Actuator.Delete(ctx, log, cp, cluster); err != nil {
		return err
	}
	return deleteShootAccessSecrets(ctx, a.client, cp.Namespace)
}

// ForceDelete deletes the control plane forcefully and then the shoot access secrets.
func (a *actuator) ForceDelete(ctx context.Context, log logr.Logger, cp *extensionsv1alpha1.ControlPlane, cluster *extensionscontroller.Cluster) error {
	if err := a.Actuator.ForceDelete(ctx, log, cp, cluster); err != nil {
		return err
	}
	return deleteShootAccessSecrets(ctx, a.client, cp.Namespace)
}

// Migrate removes the control plane from this seed, keeping the shoot's objects, and then the shoot access
// secrets, which the destination seed recreates.
func (a *actuator) Migrate(ctx context.Context, log logr.Logger, cp *extensionsv1alpha1.ControlPlane, cluster *extensionscontroller.Cluster) error {
	if err := a.Actuator.Migrate(ctx, log, cp, cluster); err != nil {
		return err
	}
	return deleteShootAccessSecrets(ctx, a.client, cp.Namespace)
}

func (a *actuator) prepare(ctx context.Context, log logr.Logger, cp *extensionsv1alpha1.ControlPlane, cluster *extensionscontroller.Cluster) error {
	if _, err := controlPlaneConfig(cp, cluster); err != nil {
		return err
	}
	if err := reconcileShootAccessSecrets(ctx, a.client, cp.Namespace); err != nil {
		return err
	}
	return a.secrets.generate(ctx, log, cp, cluster)
}
