package main

import (
	"context"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	resourcesv1alpha1 "github.com/gardener/gardener/pkg/apis/resources/v1alpha1"
)

// The seed of the benchmark runs neither gardener-resource-manager nor machine-controller-manager. The two
// stand-ins below write only the status those components would write once they are done, so that the
// extension's controllers see what they see in a seed; they run in the benchmark's process with its own user, so
// that neither their requests nor their CPU are counted as the extension's.

// addResourceManager adds the gardener-resource-manager stand-in: for every ManagedResource whose status does
// not yet describe its current generation it writes the conditions gardener-resource-manager reports once it has
// applied the objects and found them healthy (ResourcesApplied=True, ResourcesHealthy=True,
// ResourcesProgressing=False, status.observedGeneration; gardener/gardener
// pkg/resourcemanager/controller/managedresource/reconciler.go, .../health/health/reconciler.go and
// .../health/progressing/reconciler.go). It does not
// apply the objects to any cluster and does not fill in the tokens of shoot access secrets.
func addResourceManager(mgr manager.Manager) error {
	return builder.ControllerManagedBy(mgr).
		Named("resource-manager-stand-in").
		For(&resourcesv1alpha1.ManagedResource{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: 10}).
		Complete(reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			c := mgr.GetClient()
			mr := &resourcesv1alpha1.ManagedResource{}
			if err := c.Get(ctx, req.NamespacedName, mr); err != nil {
				return reconcile.Result{}, client.IgnoreNotFound(err)
			}
			if mr.DeletionTimestamp != nil || mr.Status.ObservedGeneration == mr.Generation {
				return reconcile.Result{}, nil
			}
			patch := client.MergeFrom(mr.DeepCopy())
			conditions := mr.Status.Conditions
			for _, condition := range []struct {
				conditionType gardencorev1beta1.ConditionType
				status        gardencorev1beta1.ConditionStatus
				reason        string
			}{
				{resourcesv1alpha1.ResourcesApplied, gardencorev1beta1.ConditionTrue, resourcesv1alpha1.ConditionApplySucceeded},
				{resourcesv1alpha1.ResourcesHealthy, gardencorev1beta1.ConditionTrue, "ResourcesHealthy"},
				{resourcesv1alpha1.ResourcesProgressing, gardencorev1beta1.ConditionFalse, "ResourcesRolledOut"},
			} {
				current := v1beta1helper.GetOrInitConditionWithClock(clock.RealClock{}, conditions, condition.conditionType)
				conditions = v1beta1helper.MergeConditions(conditions, v1beta1helper.UpdatedConditionWithClock(clock.RealClock{}, current, condition.status, condition.reason, "stand-in"))
			}
			mr.Status.Conditions = conditions
			mr.Status.ObservedGeneration = mr.Generation
			return reconcile.Result{}, client.IgnoreNotFound(c.Status().Patch(ctx, mr, patch))
		}))
}

// addMachineControllerManager adds the machine-controller-manager stand-in: for every MachineDeployment it
// creates the MachineSet of the deployment's current MachineClass, owned by the deployment and labelled with its
// name (as MCM's deployment controller does, gardener/machine-controller-manager
// pkg/controller/deployment_sync.go), and reports the deployment's current generation rolled out with all wanted
// replicas available (pkg/controller/deployment_sync.go syncRolloutStatus). It creates no Machines, so no
// ServerClaims are made; the generic Worker actuator counts replicas from the deployments' status.
func addMachineControllerManager(mgr manager.Manager) error {
	return builder.ControllerManagedBy(mgr).
		Named("machine-controller-manager-stand-in").
		For(&machinev1alpha1.MachineDeployment{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: 10}).
		Complete(reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			c := mgr.GetClient()
			deployment := &machinev1alpha1.MachineDeployment{}
			if err := c.Get(ctx, req.NamespacedName, deployment); err != nil {
				return reconcile.Result{}, client.IgnoreNotFound(err)
			}
			if deployment.DeletionTimestamp != nil {
				return reconcile.Result{}, nil
			}
			if err := ensureMachineSet(ctx, c, deployment); err != nil {
				return reconcile.Result{}, err
			}
			return reconcile.Result{}, reportRolledOut(ctx, c, deployment)
		}))
}

func ensureMachineSet(ctx context.Context, c client.Client, deployment *machinev1alpha1.MachineDeployment) error {
	set := &machinev1alpha1.MachineSet{ObjectMeta: metav1.ObjectMeta{
		Namespace: deployment.Namespace,
		Name:      deployment.Spec.Template.Spec.Class.Name,
		Labels:    map[string]string{"name": deployment.Name},
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion: machinev1alpha1.SchemeGroupVersion.String(), Kind: "MachineDeployment",
			Name: deployment.Name, UID: deployment.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
		}},
	}}
	set.Spec.Replicas = deployment.Spec.Replicas
	set.Spec.Template = deployment.Spec.Template
	// The cache of the stand-in knows the MachineSets it created; a conflict only means it was faster than its watch.
	existing := &machinev1alpha1.MachineSet{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(set), existing); err == nil {
		return nil
	}
	return client.IgnoreAlreadyExists(c.Create(ctx, set))
}

func reportRolledOut(ctx context.Context, c client.Client, deployment *machinev1alpha1.MachineDeployment) error {
	replicas := deployment.Spec.Replicas
	desired := machinev1alpha1.MachineDeploymentStatus{
		ObservedGeneration: deployment.Generation,
		Replicas:           replicas,
		UpdatedReplicas:    replicas,
		ReadyReplicas:      replicas,
		AvailableReplicas:  replicas,
		Conditions: []machinev1alpha1.MachineDeploymentCondition{{
			Type: machinev1alpha1.MachineDeploymentAvailable, Status: machinev1alpha1.ConditionTrue, Reason: "MinimumReplicasAvailable",
		}},
	}
	if equality.Semantic.DeepEqual(deployment.Status, desired) {
		return nil
	}
	patch := client.MergeFrom(deployment.DeepCopy())
	deployment.Status = desired
	return client.IgnoreNotFound(c.Status().Patch(ctx, deployment, patch))
}
