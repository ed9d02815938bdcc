package controlplane

import (
	"context"

	"github.com/go-logr/logr"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	"github.com/gardener/gardener/extensions/pkg/controller/controlplane"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
)

// actuator checks the ControlPlaneConfig before Gardener's generic actuator writes anything, so that a bad config
// fails the reconcile with its field path instead of leaving half-deployed secrets behind.
type actuator struct {
	controlplane.Actuator
}

// Reconcile validates the providerConfig and then reconciles the control plane with the generic actuator.
func (a *actuator) Reconcile(ctx context.Context, log logr.Logger, cp *extensionsv1alpha1.ControlPlane, cluster *extensionscontroller.Cluster) (bool, error) {
	if _, err := controlPlaneConfig(cp, cluster); err != nil {
		return false, err
	}
	return a.Actuator.Reconcile(ctx, log, cp, cluster)
}

// Restore validates the providerConfig and then restores the control plane with the generic actuator.
func (a *actuator) Restore(ctx context.Context, log logr.Logger, cp *extensionsv1alpha1.ControlPlane, cluster *extensionscontroller.Cluster) (bool, error) {
	if _, err := controlPlaneConfig(cp, cluster); err != nil {
		return false, err
	}
	return a.Actuator.Restore(ctx, log, cp, cluster)
}
