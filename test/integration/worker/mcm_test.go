package worker_test

import (
	"context"
	"time"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// credentialsFinalizer is the finalizer an out-of-tree machine controller puts on the credentials secret of its
// MachineClasses; the generic actuator waits for it before and after deleting the machines.
const credentialsFinalizer = "machine.sapcloud.io/machine-controller"

// runMachineControllerManager stands in for machine-controller-manager, which the seed of this test does not run
// (gardenlet deploys it, and there are no Servers to create machines on): it creates a MachineSet for the
// current class of every MachineDeployment, reports the deployment available with as many replicas as it wants,
// removes MachineSets of deleted deployments (the seed has no garbage collector either) and holds the credentials
// secret with its finalizer while MachineClasses use it. Machines are not created; the generic actuator counts
// replicas in the deployments' status.
func runMachineControllerManager(ctx context.Context, c client.Client) {
	for {
		if err := machineControllerManagerStep(ctx, c); err != nil && ctx.Err() == nil {
			GinkgoWriter.Printf("machine-controller-manager stand-in: %v\n", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func machineControllerManagerStep(ctx context.Context, c client.Client) error {
	deployments := &machinev1alpha1.MachineDeploymentList{}
	if err := c.List(ctx, deployments); err != nil {
		return err
	}
	existing := sets.New[string]()
	for i := range deployments.Items {
		deployment := &deployments.Items[i]
		existing.Insert(deployment.Namespace + "/" + deployment.Name)
		if err := ensureMachineSet(ctx, c, deployment); err != nil {
			return err
		}
		if err := reportAvailable(ctx, c, deployment); err != nil {
			return err
		}
	}
	if err := deleteOrphanedMachineSets(ctx, c, existing); err != nil {
		return err
	}
	return holdCredentials(ctx, c)
}

func ensureMachineSet(ctx context.Context, c client.Client, deployment *machinev1alpha1.MachineDeployment) error {
	set := &machinev1alpha1.MachineSet{ObjectMeta: metav1.ObjectMeta{
		Namespace: deployment.Namespace,
		Name:      deployment.Spec.Template.Spec.Class.Name,
		// The generic actuator maps MachineSets without owner references to deployments by this label.
		Labels: map[string]string{"name": deployment.Name},
	}}
	set.Spec.Replicas = deployment.Spec.Replicas
	set.Spec.Template = deployment.Spec.Template
	return client.IgnoreAlreadyExists(c.Create(ctx, set))
}

// reportAvailable reports the deployment's current generation available with all wanted replicas.
func reportAvailable(ctx context.Context, c client.Client, deployment *machinev1alpha1.MachineDeployment) error {
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
	deployment.Status = desired
	return client.IgnoreNotFound(c.Status().Update(ctx, deployment))
}

func deleteOrphanedMachineSets(ctx context.Context, c client.Client, deployments sets.Set[string]) error {
	machineSets := &machinev1alpha1.MachineSetList{}
	if err := c.List(ctx, machineSets); err != nil {
		return err
	}
	for i := range machineSets.Items {
		set := &machineSets.Items[i]
		if !deployments.Has(set.Namespace + "/" + set.Labels["name"]) {
			if err := client.IgnoreNotFound(c.Delete(ctx, set)); err != nil {
				return err
			}
		}
	}
	return nil
}

func holdCredentials(ctx context.Context, c client.Client) error {
	classes := &machinev1alpha1.MachineClassList{}
	if err := c.List(ctx, classes); err != nil {
		return err
	}
	inUse := sets.New[client.ObjectKey]()
	for _, class := range classes.Items {
		if ref := class.CredentialsSecretRef; ref != nil {
			inUse.Insert(client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name})
		}
	}
	secrets := &corev1.SecretList{}
	if err := c.List(ctx, secrets); err != nil {
		return err
	}
	for i := range secrets.Items {
		secret := &secrets.Items[i]
		used := inUse.Has(client.ObjectKeyFromObject(secret))
		if used == controllerutil.ContainsFinalizer(secret, credentialsFinalizer) {
			continue
		}
		patch := client.MergeFrom(secret.DeepCopy())
		if used {
			controllerutil.AddFinalizer(secret, credentialsFinalizer)
		} else {
			controllerutil.RemoveFinalizer(secret, credentialsFinalizer)
		}
		if err := client.IgnoreNotFound(c.Patch(ctx, secret, patch)); err != nil {
			return err
		}
	}
	return nil
}
