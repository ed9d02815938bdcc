package landscape

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	resourcesv1alpha1 "github.com/gardener/gardener/pkg/apis/resources/v1alpha1"
	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/test/utils/manifests"
)

// The second shoot of the fault rounds (B) competes with the example shoot for the same Servers. It is a shoot of
// its own: an API server (started with the landscape's other clusters, see run), a control plane namespace in the seed with the Cluster, its own gardener-resource-manager
// and machine-controller-manager with our driver (deployed as for the example shoot), a metal API namespace and
// credentials of its own, and the Infrastructure and Worker of example/landscape with one machine per zone. It has
// no ControlPlane (so no CCM: its Nodes keep the uninitialized taint, which machine-controller-manager does not look
// at) and no shoot kube-controller-manager or scheduler, since nothing runs on its Nodes.
const (
	otherLabel          = "B"
	otherShootName      = "other"
	otherShootUID       = "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
	otherSeedNamespace  = "shoot--local--" + otherShootName
	otherMetalNamespace = "shoot-local-" + otherShootName
)

// createOtherShoot creates B as gardenlet creates a shoot: the namespace, Cluster and credentials, the control plane,
// then the Infrastructure and the Worker.
func (l *landscape) createOtherShoot(ctx context.Context) error {
	shootClient, err := newClient(l.otherCluster.config)
	if err != nil {
		return err
	}
	t := &shootEnv{
		seedNamespace:  otherSeedNamespace,
		metalNamespace: otherMetalNamespace,
		cluster:        l.otherCluster,
		client:         shootClient,
		podsDir:        l.path("shoot-" + otherShootName + "-pods"),
		label:          otherLabel,
	}
	vars := maps.Clone(l.vars)
	vars["SEED_NAMESPACE"], vars["METAL_NAMESPACE"] = otherSeedNamespace, otherMetalNamespace
	vars["SHOOT_NAME"], vars["SHOOT_UID"] = otherShootName, otherShootUID
	vars["MACHINES"] = strconv.Itoa(len(zones))
	if err := l.retry(ctx, "B's metal API namespace and credentials", func() error {
		if err := l.createFiles(ctx, l.metal.Client(), filepath.Join(l.opts.Root, "example", "landscape", "metal", "rbac.yaml"), vars); err != nil {
			return err
		}
		token, err := serviceAccountToken(ctx, l.metal.Client(), otherMetalNamespace, "shoot")
		vars["METAL_TOKEN"] = token
		return err
	}); err != nil {
		return err
	}
	dir := filepath.Join(l.opts.Root, "example", "landscape")
	for _, file := range []string{"00-namespace.yaml", "10-cluster.yaml", "20-cloudprovider-secret.yaml"} {
		if err := l.retry(ctx, "B's "+file, func() error { return l.createFiles(ctx, l.seed, filepath.Join(dir, file), vars) }); err != nil {
			return err
		}
	}
	if err := l.retry(ctx, "the metal kubeconfig in B's cloudprovider secret", func() error { return l.ensureMetalKubeconfig(ctx, otherSeedNamespace) }); err != nil {
		return err
	}
	if err := l.deployShootControlPlane(ctx, t); err != nil {
		return err
	}
	l.shootsMu.Lock()
	l.other = t
	l.shootsMu.Unlock()
	for _, file := range []string{"30-infrastructure.yaml", "50-worker.yaml"} {
		if err := l.retry(ctx, "B's "+file, func() error { return l.createFiles(ctx, l.seed, filepath.Join(dir, file), vars) }); err != nil {
			return err
		}
	}
	l.step(fmt.Sprintf("B: shoot %s created with %d machines (seed namespace %s, metal API namespace %s)", otherShootName, len(zones), otherSeedNamespace, otherMetalNamespace))
	return nil
}

// ensureMetalKubeconfig checks that the extension's cloudprovider webhook added the metal kubeconfig to the shoot's
// credentials. When the extension was down as the secret was written (a fault), it touches the secret, as
// gardenlet's next reconciliation would, so that the webhook sees it again.
func (l *landscape) ensureMetalKubeconfig(ctx context.Context, namespace string) error {
	secret := &corev1.Secret{}
	if err := l.seed.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "cloudprovider"}, secret); err != nil {
		return err
	}
	if len(secret.Data[metal.KubeconfigKey]) > 0 {
		return nil
	}
	patch := client.MergeFrom(secret.DeepCopy())
	metav1.SetMetaDataAnnotation(&secret.ObjectMeta, "landscape.local/touched", time.Now().Format(time.RFC3339Nano))
	if err := l.seed.Patch(ctx, secret, patch); err != nil {
		return err
	}
	return fmt.Errorf("secret %s/cloudprovider has no %s yet", namespace, metal.KubeconfigKey)
}

// createFiles creates the objects of a manifest file; objects that exist already are left as they are (a second
// round creates B again next to the metal API namespace the first round left).
func (l *landscape) createFiles(ctx context.Context, c client.Client, file string, vars map[string]string) error {
	objs, err := manifests.Read(file, vars)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if err := c.Create(ctx, obj); client.IgnoreAlreadyExists(err) != nil {
			return fmt.Errorf("creating %s %s from %s: %w", obj.GetKind(), client.ObjectKeyFromObject(obj), filepath.Base(file), err)
		}
	}
	return nil
}

// retry calls f until it succeeds, as gardenlet's flows retry a failed step (a fault may have stopped the seed's
// API server or the extension's webhooks), bounded by the landscape's timeout.
func (l *landscape) retry(ctx context.Context, what string, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	if err := l.retryUntil(ctx, f); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// retryUntil calls f every 2 s until it succeeds or ctx ends; it returns f's last error.
func (l *landscape) retryUntil(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(2 * time.Second):
		}
	}
}

// otherShortage is B's Infrastructure's report of a pool short of Servers, once it reconciled with the shortage.
func (l *landscape) otherShortage(ctx context.Context) (string, error) {
	infra := &extensionsv1alpha1.Infrastructure{}
	if err := l.seed.Get(ctx, client.ObjectKey{Namespace: otherSeedNamespace, Name: "metal"}, infra); err != nil {
		return "", client.IgnoreNotFound(err)
	}
	if infra.Status.ProviderStatus == nil || infra.Status.LastOperation == nil || infra.Status.LastOperation.State != "Succeeded" {
		return "", nil
	}
	return shortPoolIn(infra, func(v1alpha1.ServerCapacity) bool { return true })
}

// waitOtherRolling waits until B's roll started: a machine of a MachineClass that none of the machines had before.
func (l *landscape) waitOtherRolling(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	deployments := &machinev1alpha1.MachineDeploymentList{}
	for {
		machines := &machinev1alpha1.MachineList{}
		// A fault may have stopped the seed's API server: the lists are tried again.
		if err := errors.Join(l.seed.List(ctx, deployments, client.InNamespace(otherSeedNamespace)), l.seed.List(ctx, machines, client.InNamespace(otherSeedNamespace))); err != nil {
			machines.Items = nil
		}
		// In progress: a deployment has a machine of its new class while one of an old class is still there (its
		// status counts the new machine as updated as soon as it exists, so it cannot tell).
		for _, d := range deployments.Items {
			var updated, old *machinev1alpha1.Machine
			for i, m := range machines.Items {
				switch {
				case m.Labels["name"] != d.Name:
				case m.Spec.Class.Name == d.Spec.Template.Spec.Class.Name:
					updated = &machines.Items[i]
				case m.DeletionTimestamp == nil:
					old = &machines.Items[i]
				}
			}
			if updated != nil && old != nil {
				l.step(fmt.Sprintf("B: roll in progress: machine %s of the new class %s is %s; %s of the old class %s is %s",
					updated.Name, updated.Spec.Class.Name, updated.Status.CurrentStatus.Phase, old.Name, old.Spec.Class.Name, old.Status.CurrentStatus.Phase))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the roll of B did not start: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// deleteOtherShoot deletes B as gardenlet does (Worker, then Infrastructure, then the control plane namespace and
// the Cluster) and checks that it left nothing in the metal API or its shoot. Its API server runs on for the next
// round (the landscape starts it with the others).
func (l *landscape) deleteOtherShoot(ctx context.Context) error {
	for _, obj := range []extensionsv1alpha1.Object{
		workerOf(otherSeedNamespace),
		&extensionsv1alpha1.Infrastructure{ObjectMeta: metav1.ObjectMeta{Namespace: otherSeedNamespace, Name: "metal"}},
	} {
		if err := l.retry(ctx, fmt.Sprintf("deleting B's %T", obj), func() error { return l.deleteConfirmed(ctx, obj) }); err != nil {
			return err
		}
		if err := l.waitGone(ctx, l.seed, obj); err != nil {
			return fmt.Errorf("B: %w", err)
		}
	}
	if err := l.retry(ctx, "checking what B left", func() error { return l.checkOtherLeftovers(ctx) }); err != nil {
		return err
	}
	// gardenlet deletes the ManagedResources and waits for them before it deletes gardener-resource-manager and the
	// namespace: a namespace deleted first takes GRM with it, and the ManagedResources' finalizers hold it forever.
	if err := l.deleteOtherManagedResources(ctx); err != nil {
		return err
	}
	l.shootsMu.Lock()
	l.other = nil
	l.shootsMu.Unlock()
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: otherSeedNamespace}}
	cluster := &extensionsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: otherSeedNamespace}}
	for _, obj := range []client.Object{namespace, cluster} {
		if err := l.retry(ctx, "deleting B's "+obj.GetName(), func() error { return client.IgnoreNotFound(l.seed.Delete(ctx, obj)) }); err != nil {
			return err
		}
		if err := l.waitGone(ctx, l.seed, obj); err != nil {
			return fmt.Errorf("B: %w; %s", err, l.finalizersIn(ctx, otherSeedNamespace))
		}
	}
	l.step("B: deleted; its control plane namespace and Cluster are gone")
	return nil
}

// deleteOtherManagedResources deletes B's ManagedResources and waits until GRM removed them.
func (l *landscape) deleteOtherManagedResources(ctx context.Context) error {
	err := l.retry(ctx, "deleting B's ManagedResources", func() error {
		return l.seed.DeleteAllOf(ctx, &resourcesv1alpha1.ManagedResource{}, client.InNamespace(otherSeedNamespace))
	})
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	return l.retryUntil(waitCtx, func() error {
		mrs := &resourcesv1alpha1.ManagedResourceList{}
		if err := l.seed.List(ctx, mrs, client.InNamespace(otherSeedNamespace)); err != nil {
			return err
		}
		if n := len(mrs.Items); n > 0 {
			return fmt.Errorf("B: %d ManagedResources not deleted yet (first: %s)", n, mrs.Items[0].Name)
		}
		return nil
	})
}

// finalizersIn names the objects of a few kinds in namespace that still have finalizers: what holds its deletion.
func (l *landscape) finalizersIn(ctx context.Context, namespace string) string {
	lists := []client.ObjectList{
		&resourcesv1alpha1.ManagedResourceList{}, &corev1.SecretList{}, &machinev1alpha1.MachineClassList{},
		&machinev1alpha1.MachineList{}, &machinev1alpha1.MachineDeploymentList{}, &extensionsv1alpha1.WorkerList{},
		&extensionsv1alpha1.InfrastructureList{}, &corev1.PodList{},
	}
	var held []string
	for _, list := range lists {
		if err := l.seed.List(ctx, list, client.InNamespace(namespace)); err != nil {
			held = append(held, fmt.Sprintf("listing %T: %v", list, err))
			continue
		}
		_ = meta.EachListItem(list, func(o runtime.Object) error {
			if obj, ok := o.(client.Object); ok && len(obj.GetFinalizers()) > 0 {
				held = append(held, fmt.Sprintf("%T %s %v", obj, obj.GetName(), obj.GetFinalizers()))
			}
			return nil
		})
	}
	if len(held) == 0 {
		return "no object with finalizers found"
	}
	return "held by: " + strings.Join(held, ", ")
}

// checkOtherLeftovers checks that B's deletion left no machine, ServerClaim, ignition Secret or Node.
func (l *landscape) checkOtherLeftovers(ctx context.Context) error {
	machines := &machinev1alpha1.MachineList{}
	if err := l.seed.List(ctx, machines, client.InNamespace(otherSeedNamespace)); err != nil {
		return err
	}
	claims := &metalv1alpha1.ServerClaimList{}
	if err := l.metal.Client().List(ctx, claims, client.InNamespace(otherMetalNamespace)); err != nil {
		return err
	}
	secrets := &corev1.SecretList{}
	if err := l.metal.Client().List(ctx, secrets, client.InNamespace(otherMetalNamespace), client.MatchingLabels{metal.ShootLabel: otherSeedNamespace}); err != nil {
		return err
	}
	nodes := &corev1.NodeList{}
	if err := l.other.client.List(ctx, nodes); err != nil {
		return err
	}
	if n := len(machines.Items) + len(claims.Items) + len(secrets.Items) + len(nodes.Items); n > 0 {
		return fmt.Errorf("B left %d machines, %d ServerClaims, %d ignition Secrets and %d Nodes", len(machines.Items), len(claims.Items), len(secrets.Items), len(nodes.Items))
	}
	return nil
}

// waitGone waits until obj does not exist any more.
func (l *landscape) waitGone(ctx context.Context, c client.Client, obj client.Object) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	for {
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%T %s is not gone: %w", obj, obj.GetName(), ctx.Err())
		case <-time.After(time.Second):
		}
	}
}
