package standins

import (
	"context"
	"fmt"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// bootOperator stands in for the boot operator: it reports every ServerBootConfiguration Ready, as the real one
// does once it serves the configuration's image and ignition. metal-operator powers a Server on for discovery
// and for its claim only then.
type bootOperator struct {
	client client.Client
}

func addBootOperator(mgr ctrl.Manager) error {
	r := &bootOperator{client: mgr.GetClient()}
	if err := ctrl.NewControllerManagedBy(mgr).
		Named("standin-boot-operator").
		For(&metalv1alpha1.ServerBootConfiguration{}).
		Complete(r); err != nil {
		return fmt.Errorf("adding the stand-in boot operator: %w", err)
	}
	return nil
}

// Reconcile marks a ServerBootConfiguration Ready.
func (r *bootOperator) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	config := &metalv1alpha1.ServerBootConfiguration{}
	if err := r.client.Get(ctx, req.NamespacedName, config); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if config.DeletionTimestamp != nil || config.Status.State == metalv1alpha1.ServerBootConfigurationStateReady {
		return ctrl.Result{}, nil
	}
	patch := client.MergeFrom(config.DeepCopy())
	config.Status.State = metalv1alpha1.ServerBootConfigurationStateReady
	if err := r.client.Status().Patch(ctx, config, patch); err != nil {
		return ctrl.Result{}, fmt.Errorf("reporting ServerBootConfiguration %s Ready: %w", req.NamespacedName, client.IgnoreNotFound(err))
	}
	ctrl.LoggerFrom(ctx).Info("boot configuration served", "serverBootConfiguration", req.NamespacedName, "server", config.Spec.ServerRef.Name)
	return ctrl.Result{}, nil
}
