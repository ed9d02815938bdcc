package landscape

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	resourcesv1alpha1 "github.com/gardener/gardener/pkg/apis/resources/v1alpha1"
	"github.com/gardener/gardener/pkg/component/extensions/operatingsystemconfig"
	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
)

// The fault rounds change a shoot as gardenlet does when its Shoot changes: the shoot in the Cluster resource and
// the Worker's pool, then the reconcile annotation on the Worker and on the Infrastructure (which counts the
// Servers the pools need).

// imageVersions are the machine image versions of the example CloudProfile; the rolls alternate between them.
var imageVersions = []string{"1877.0.0", "1877.1.0"}

// workerPool is the pool of example/landscape.
const workerPool = "worker"

func workerOf(namespace string) *extensionsv1alpha1.Worker {
	return &extensionsv1alpha1.Worker{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "metal"}}
}

// changeShoot applies shootChange to the Shoot in the Cluster and poolChange to the Worker's pools, and has the
// Worker and the Infrastructure reconciled.
func (l *landscape) changeShoot(ctx context.Context, namespace string, shootChange func(*gardencorev1beta1.Shoot), poolsChange func([]extensionsv1alpha1.WorkerPool) []extensionsv1alpha1.WorkerPool) error {
	// The changes are idempotent; a fault may have stopped the seed's API server meanwhile.
	return l.retry(ctx, "changing shoot "+namespace, func() error { return l.changeShootOnce(ctx, namespace, shootChange, poolsChange) })
}

func (l *landscape) changeShootOnce(ctx context.Context, namespace string, shootChange func(*gardencorev1beta1.Shoot), poolsChange func([]extensionsv1alpha1.WorkerPool) []extensionsv1alpha1.WorkerPool) error {
	cluster := &extensionsv1alpha1.Cluster{}
	if err := l.seed.Get(ctx, client.ObjectKey{Name: namespace}, cluster); err != nil {
		return err
	}
	shoot := &gardencorev1beta1.Shoot{}
	if err := json.Unmarshal(cluster.Spec.Shoot.Raw, shoot); err != nil {
		return fmt.Errorf("decoding the Shoot of Cluster %s: %w", namespace, err)
	}
	shootChange(shoot)
	raw, err := json.Marshal(shoot)
	if err != nil {
		return err
	}
	patch := client.MergeFrom(cluster.DeepCopy())
	cluster.Spec.Shoot = runtime.RawExtension{Raw: raw}
	if err := l.seed.Patch(ctx, cluster, patch); err != nil {
		return err
	}

	worker := workerOf(namespace)
	if err := l.seed.Get(ctx, client.ObjectKeyFromObject(worker), worker); err != nil {
		return err
	}
	workerPatch := client.MergeFrom(worker.DeepCopy())
	worker.Spec.Pools = poolsChange(worker.Spec.Pools)
	metav1.SetMetaDataAnnotation(&worker.ObjectMeta, v1beta1constants.GardenerOperation, v1beta1constants.GardenerOperationReconcile)
	if err := l.seed.Patch(ctx, worker, workerPatch); err != nil {
		return err
	}
	infra := &extensionsv1alpha1.Infrastructure{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "metal"}}
	infraPatch := client.MergeFrom(infra.DeepCopy())
	metav1.SetMetaDataAnnotation(&infra.ObjectMeta, v1beta1constants.GardenerOperation, v1beta1constants.GardenerOperationReconcile)
	return l.seed.Patch(ctx, infra, infraPatch)
}

// changePool changes the example pool in the Shoot's workers and the Worker's pools.
func (l *landscape) changePool(ctx context.Context, namespace string, shootWorker func(*gardencorev1beta1.Worker), pool func(*extensionsv1alpha1.WorkerPool), shootChange func(*gardencorev1beta1.Shoot)) error {
	return l.changeShoot(ctx, namespace, func(shoot *gardencorev1beta1.Shoot) {
		for i := range shoot.Spec.Provider.Workers {
			if shoot.Spec.Provider.Workers[i].Name == workerPool {
				shootWorker(&shoot.Spec.Provider.Workers[i])
			}
		}
		if shootChange != nil {
			shootChange(shoot)
		}
	}, func(pools []extensionsv1alpha1.WorkerPool) []extensionsv1alpha1.WorkerPool {
		for i := range pools {
			if pools[i].Name == workerPool {
				pool(&pools[i])
			}
		}
		return pools
	})
}

// removeShortPool removes the short pool (shortpool.go) from the example shoot, if it is there.
func (l *landscape) removeShortPool(ctx context.Context) error {
	return l.changeShoot(ctx, seedNamespace, func(shoot *gardencorev1beta1.Shoot) {
		shoot.Spec.Provider.Workers = slices.DeleteFunc(shoot.Spec.Provider.Workers, func(w gardencorev1beta1.Worker) bool { return w.Name == shortPool })
	}, func(pools []extensionsv1alpha1.WorkerPool) []extensionsv1alpha1.WorkerPool {
		return slices.DeleteFunc(pools, func(p extensionsv1alpha1.WorkerPool) bool { return p.Name == shortPool })
	})
}

// setPoolSize sets the example pool's minimum and maximum.
func (l *landscape) setPoolSize(ctx context.Context, namespace string, n int) error {
	err := l.changePool(ctx, namespace, func(w *gardencorev1beta1.Worker) {
		w.Minimum, w.Maximum = int32(n), int32(n)
	}, func(p *extensionsv1alpha1.WorkerPool) {
		p.Minimum, p.Maximum = int32(n), int32(n)
	}, nil)
	if err == nil {
		l.step(fmt.Sprintf("%s: pool %s scaled to %d machines", namespace, workerPool, n))
	}
	return err
}

// setImage changes the example pool's machine image version. gardenlet names the node agent secret after the
// pool's OperatingSystemConfig key, which covers the image version (operatingsystemconfig.Key), and Gardener's
// worker pool hash is computed from that name: a constant name would not roll the machines.
func (l *landscape) setImage(ctx context.Context, namespace, version string) error {
	kubernetesVersion := ""
	err := l.changePool(ctx, namespace, func(w *gardencorev1beta1.Worker) {
		w.Machine.Image.Version = ptr.To(version)
	}, func(p *extensionsv1alpha1.WorkerPool) {
		p.MachineImage.Version = version
		core := &gardencorev1beta1.Worker{
			Name:    p.Name,
			Machine: gardencorev1beta1.Machine{Type: p.MachineType, Image: &gardencorev1beta1.ShootMachineImage{Name: p.MachineImage.Name, Version: ptr.To(version)}},
		}
		p.NodeAgentSecretName = ptr.To(operatingsystemconfig.Key(semver.MustParse(ptr.Deref(p.KubernetesVersion, kubernetesVersion)), nil, core, false, nil, nil))
		// The creation timeout of the wake-up (setHibernation) goes with the roll: the pool's machines are replaced anyway.
		p.MachineControllerManagerSettings = nil
	}, func(shoot *gardencorev1beta1.Shoot) { kubernetesVersion = shoot.Spec.Kubernetes.Version })
	if err == nil {
		l.step(fmt.Sprintf("%s: pool %s rolls to image gardenlinux %s", namespace, workerPool, version))
	}
	return err
}

// setHibernation hibernates the example shoot or wakes it up with n machines. gardenlet sets the Shoot's
// hibernation and the extension's generic Worker actuator scales the MachineDeployments to zero and, once the
// machines are gone, machine-controller-manager too; on wake-up gardenlet deploys machine-controller-manager with one
// replica again (botanist's DeployMachineControllerManager), which the landscape does by scaling the Deployment
// the component rendered. The control plane stays (the landscape's gardenlet does not scale it down). From the
// hibernation on the pool has a short machine creation timeout, so that a Server that never becomes a Node is
// replaced within the round.
func (l *landscape) setHibernation(ctx context.Context, hibernated bool, n int) error {
	if !hibernated {
		if err := l.retry(ctx, "scaling machine-controller-manager", func() error { return l.scaleMachineControllerManager(ctx, 1) }); err != nil {
			return err
		}
	}
	err := l.changePool(ctx, seedNamespace, func(w *gardencorev1beta1.Worker) {
		w.Minimum, w.Maximum = int32(n), int32(n)
	}, func(p *extensionsv1alpha1.WorkerPool) {
		p.Minimum, p.Maximum = int32(n), int32(n)
		p.MachineControllerManagerSettings = &gardencorev1beta1.MachineControllerManagerSettings{
			MachineCreationTimeout: &metav1.Duration{Duration: creationTimeout},
		}
	}, func(shoot *gardencorev1beta1.Shoot) {
		shoot.Spec.Hibernation = &gardencorev1beta1.Hibernation{Enabled: ptr.To(hibernated)}
		shoot.Status.IsHibernated = hibernated
	})
	if err == nil {
		l.step(fmt.Sprintf("%s: hibernation %t", seedNamespace, hibernated))
	}
	return err
}

func (l *landscape) scaleMachineControllerManager(ctx context.Context, replicas int32) error {
	deployment := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: seedNamespace, Name: v1beta1constants.DeploymentNameMachineControllerManager}}
	patch := client.MergeFrom(deployment.DeepCopy())
	deployment.Spec.Replicas = ptr.To(replicas)
	return l.seed.Patch(ctx, deployment, patch)
}

// badConfigs writes an invalid provider config into the example shoot's Worker, ControlPlane and Infrastructure,
// one after the other, as a client that bypasses admission could. Each must be reported in the resource's last
// error with its field path while nothing is created or changed (no MachineClass, MachineDeployment, ServerClaim or
// ManagedResource); then the valid config is written back and the resource reconciles again.
func (l *landscape) badConfigs(ctx context.Context) error {
	cases := []struct {
		kind      string
		obj       extensionsv1alpha1.Object
		bad       string
		fieldPath string
		set       func(obj extensionsv1alpha1.Object, raw *runtime.RawExtension) *runtime.RawExtension
	}{{
		kind:      "Worker",
		obj:       workerOf(seedNamespace),
		bad:       `{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"WorkerConfig","extraServerLabels":{"topology.kubernetes.io/zone":"zone-a"}}`,
		fieldPath: "extraServerLabels[topology.kubernetes.io/zone]",
		set: func(obj extensionsv1alpha1.Object, raw *runtime.RawExtension) *runtime.RawExtension {
			w := obj.(*extensionsv1alpha1.Worker)
			old := w.Spec.Pools[0].ProviderConfig
			w.Spec.Pools[0].ProviderConfig = raw
			return old
		},
	}, {
		kind:      "ControlPlane",
		obj:       &extensionsv1alpha1.ControlPlane{ObjectMeta: metav1.ObjectMeta{Namespace: seedNamespace, Name: "metal"}},
		bad:       `{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"ControlPlaneConfig","nodeNamePolicy":"Bogus"}`,
		fieldPath: "nodeNamePolicy",
		set: func(obj extensionsv1alpha1.Object, raw *runtime.RawExtension) *runtime.RawExtension {
			cp := obj.(*extensionsv1alpha1.ControlPlane)
			old := cp.Spec.ProviderConfig
			cp.Spec.ProviderConfig = raw
			return old
		},
	}, {
		kind:      "Infrastructure",
		obj:       &extensionsv1alpha1.Infrastructure{ObjectMeta: metav1.ObjectMeta{Namespace: seedNamespace, Name: "metal"}},
		bad:       `{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"InfrastructureConfig","networks":[{"name":"nodes","cidr":"not-a-cidr"}]}`,
		fieldPath: "networks[0].cidr",
		set: func(obj extensionsv1alpha1.Object, raw *runtime.RawExtension) *runtime.RawExtension {
			infra := obj.(*extensionsv1alpha1.Infrastructure)
			old := infra.Spec.ProviderConfig
			infra.Spec.ProviderConfig = raw
			return old
		},
	}}
	for _, c := range cases {
		before, err := l.createdObjects(ctx)
		if err != nil {
			return err
		}
		var good *runtime.RawExtension
		if err := l.reconcileWith(ctx, c.obj, func() { good = c.set(c.obj, &runtime.RawExtension{Raw: []byte(c.bad)}) }); err != nil {
			return err
		}
		var reported string
		if err := l.waitLastOperation(ctx, c.obj, func(op *gardencorev1beta1.LastOperation, lastErr *gardencorev1beta1.LastError) bool {
			if op == nil || op.State == gardencorev1beta1.LastOperationStateSucceeded || op.State == gardencorev1beta1.LastOperationStateProcessing {
				return false
			}
			reported = op.Description
			if lastErr != nil {
				reported = lastErr.Description
			}
			return strings.Contains(reported, c.fieldPath)
		}); err != nil {
			return fmt.Errorf("the %s with a bad provider config did not report %s: %w", c.kind, c.fieldPath, err)
		}
		after, err := l.createdObjects(ctx)
		if err != nil {
			return err
		}
		if changed := changedObjects(before, after); len(changed) > 0 {
			return fmt.Errorf("the %s with a bad provider config created or changed %v", c.kind, changed)
		}
		l.step(fmt.Sprintf("bad config: the %s reports the field path %s; nothing created or changed (%d objects compared): %s", c.kind, c.fieldPath, len(after), truncate(reported, 300)))
		if err := l.reconcileWith(ctx, c.obj, func() { c.set(c.obj, good) }); err != nil {
			return err
		}
		if err := l.waitLastOperation(ctx, c.obj, func(op *gardencorev1beta1.LastOperation, _ *gardencorev1beta1.LastError) bool {
			return op != nil && op.State == gardencorev1beta1.LastOperationStateSucceeded
		}); err != nil {
			return fmt.Errorf("the %s with its provider config restored did not succeed: %w", c.kind, err)
		}
		l.step(fmt.Sprintf("bad config: the %s with its provider config restored succeeded", c.kind))
	}
	return nil
}

// reconcileWith gets obj, changes it and has it reconciled.
func (l *landscape) reconcileWith(ctx context.Context, obj extensionsv1alpha1.Object, change func()) error {
	if err := l.seed.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return err
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	change()
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[v1beta1constants.GardenerOperation] = v1beta1constants.GardenerOperationReconcile
	obj.SetAnnotations(annotations)
	l.reconcileRequested = time.Now().Truncate(time.Second)
	return l.seed.Patch(ctx, obj, patch)
}

// waitLastOperation waits until the extension took up the reconcile request (the annotation is gone) and done holds
// for a last operation updated since.
func (l *landscape) waitLastOperation(ctx context.Context, obj extensionsv1alpha1.Object, done func(*gardencorev1beta1.LastOperation, *gardencorev1beta1.LastError) bool) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	for {
		if err := l.seed.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		status := obj.GetExtensionStatus()
		op := status.GetLastOperation()
		if obj.GetAnnotations()[v1beta1constants.GardenerOperation] == "" && op != nil && !op.LastUpdateTime.Time.Before(l.reconcileRequested) &&
			done(op, status.GetLastError()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("last operation %+v: %w", op, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

func changedObjects(before, after map[string]string) []string {
	var changed []string
	for key, version := range after {
		if before[key] != version {
			changed = append(changed, key)
		}
	}
	for key := range before {
		if _, ok := after[key]; !ok {
			changed = append(changed, key+" (deleted)")
		}
	}
	slices.Sort(changed)
	return changed
}

// createdObjects lists what a reconcile of the example shoot's extension resources creates or changes, by kind and
// name with its resource version.
func (l *landscape) createdObjects(ctx context.Context) (map[string]string, error) {
	objects := map[string]string{}
	classes := &machinev1alpha1.MachineClassList{}
	if err := l.seed.List(ctx, classes, client.InNamespace(seedNamespace)); err != nil {
		return nil, err
	}
	for _, c := range classes.Items {
		objects["MachineClass "+c.Name] = c.ResourceVersion
	}
	deployments := &machinev1alpha1.MachineDeploymentList{}
	if err := l.seed.List(ctx, deployments, client.InNamespace(seedNamespace)); err != nil {
		return nil, err
	}
	for _, d := range deployments.Items {
		// The status changes with machine-controller-manager's work; the spec is the Worker's.
		objects["MachineDeployment "+d.Name] = fmt.Sprint(d.Generation)
	}
	resources := &resourcesv1alpha1.ManagedResourceList{}
	if err := l.seed.List(ctx, resources, client.InNamespace(seedNamespace)); err != nil {
		return nil, err
	}
	for _, r := range resources.Items {
		objects["ManagedResource "+r.Name] = fmt.Sprint(r.Generation)
	}
	claims := &metalv1alpha1.ServerClaimList{}
	if err := l.metal.Client().List(ctx, claims, client.InNamespace(metalNamespace)); err != nil {
		return nil, err
	}
	for _, c := range claims.Items {
		objects["ServerClaim "+c.Name] = fmt.Sprint(c.Generation)
	}
	return objects, nil
}
