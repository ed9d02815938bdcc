package infrastructure

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	reconcilerutils "github.com/gardener/gardener/pkg/controllerutils/reconciler"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
)

// deletionPollInterval is how often a deletion that waits for the metal API looks again.
const deletionPollInterval = 5 * time.Second

// Delete removes what the shoot left in the metal API. The worker deletion normally removes the machines before,
// but machine-controller-manager is gone by now, so whatever remains (a claim of a machine that failed to delete,
// an orphan) would otherwise hold its Server for ever. It deletes the shoot's ServerClaims with their ignition
// Secrets, waits until metal-operator released them, then deletes the shoot's IPAddressClaims, and reports the
// waiting as a retryable error.
func (a *actuator) Delete(ctx context.Context, log logr.Logger, infra *extensionsv1alpha1.Infrastructure, cluster *extensionscontroller.Cluster) error {
	m, err := a.connect(ctx, infra, cluster)
	if err != nil {
		return err
	}
	if err := m.cleanUp(ctx, log, a.serversOf(m), false); err != nil {
		return err
	}
	a.clients.Forget(infra.Namespace)
	return nil
}

// ForceDelete deletes the same objects without waiting; it powers the shoot's claims off first, so that a
// Server whose release is held up (metal-operator down, a finalizer of someone else) no longer runs the deleted
// shoot's kubelet.
func (a *actuator) ForceDelete(ctx context.Context, log logr.Logger, infra *extensionsv1alpha1.Infrastructure, cluster *extensionscontroller.Cluster) error {
	m, err := a.connect(ctx, infra, cluster)
	if err != nil {
		return err
	}
	if err := m.cleanUp(ctx, log, nil, true); err != nil {
		return err
	}
	a.clients.Forget(infra.Namespace)
	return nil
}

// serversOf returns a function listing the Servers, from the shared watch when it is running.
func (a *actuator) serversOf(m *metalAPI) func(context.Context) (*metalv1alpha1.ServerList, error) {
	return func(ctx context.Context) (*metalv1alpha1.ServerList, error) {
		reader, err := a.clients.Servers(ctx, m.Client)
		if err != nil {
			return nil, err
		}
		servers := &metalv1alpha1.ServerList{}
		if err := reader.List(ctx, servers); err != nil {
			return nil, fmt.Errorf("listing Servers: %w", err)
		}
		return servers, nil
	}
}

// cleanUp deletes the shoot's ServerClaims and their Secrets and then its IPAddressClaims. Unless force is set,
// it returns a retryable error while any of them remains, and deletes IPAddressClaims only once no Server still
// runs for a deleted claim (servers lists them): an address must not be handed out again while the old Server
// might still use it.
func (m *metalAPI) cleanUp(ctx context.Context, log logr.Logger, servers func(context.Context) (*metalv1alpha1.ServerList, error), force bool) error {
	claims, err := m.deleteServerClaims(ctx, log, force)
	if err != nil {
		return err
	}
	if len(claims) > 0 && !force {
		return waiting(fmt.Errorf("waiting for %d ServerClaims of the shoot in namespace %s to be released: %s", len(claims), m.namespace, strings.Join(claims, ", ")))
	}
	if !force {
		held, err := m.serversStillRunning(ctx, servers)
		if err != nil {
			return err
		}
		if len(held) > 0 {
			return waiting(fmt.Errorf("waiting for Servers %s to power off before releasing the shoot's IP addresses", strings.Join(held, ", ")))
		}
	}
	ipClaims, err := m.deleteIPAddressClaims(ctx, log)
	if err != nil {
		return err
	}
	if len(ipClaims) > 0 && !force {
		return waiting(fmt.Errorf("waiting for %d IPAddressClaims of the shoot in namespace %s to be deleted: %s", len(ipClaims), m.namespace, strings.Join(ipClaims, ", ")))
	}
	return nil
}

// deleteServerClaims deletes the shoot's ServerClaims and the ignition Secrets they reference, and returns the
// names of the claims that still exist.
func (m *metalAPI) deleteServerClaims(ctx context.Context, log logr.Logger, powerOff bool) ([]string, error) {
	claims := &metalv1alpha1.ServerClaimList{}
	if err := m.List(ctx, claims, client.InNamespace(m.namespace), m.scope); err != nil {
		return nil, accessError(fmt.Errorf("listing the shoot's ServerClaims in the metal API: %w", err))
	}
	var remaining []string
	for i := range claims.Items {
		claim := &claims.Items[i]
		remaining = append(remaining, claim.Name)
		if powerOff && claim.Spec.Power != metalv1alpha1.PowerOff {
			patch := client.MergeFromWithOptions(claim.DeepCopy(), client.MergeFromWithOptimisticLock{})
			claim.Spec.Power = metalv1alpha1.PowerOff
			if err := m.Patch(ctx, claim, patch); client.IgnoreNotFound(err) != nil {
				return nil, accessError(fmt.Errorf("powering off ServerClaim %s/%s: %w", claim.Namespace, claim.Name, err))
			}
		}
		if claim.DeletionTimestamp == nil {
			log.Info("Deleting a leftover ServerClaim of the shoot", "serverClaim", client.ObjectKeyFromObject(claim))
			if err := m.Delete(ctx, claim, client.Preconditions{UID: &claim.UID}); client.IgnoreNotFound(err) != nil {
				return nil, accessError(fmt.Errorf("deleting ServerClaim %s/%s: %w", claim.Namespace, claim.Name, err))
			}
		}
		if ref := claim.Spec.IgnitionSecretRef; ref != nil {
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: claim.Namespace, Name: ref.Name}}
			if err := m.Delete(ctx, secret); client.IgnoreNotFound(err) != nil {
				return nil, accessError(fmt.Errorf("deleting the ignition Secret %s/%s of ServerClaim %s: %w", secret.Namespace, secret.Name, claim.Name, err))
			}
		}
	}
	return remaining, nil
}

// serversStillRunning names the Servers that still reference a ServerClaim of the namespace that no longer
// exists and are not powered off yet: metal-operator releases and powers off a Server only after its claim is
// gone (metal-operator internal/controller/server_controller.go, cleanup state).
func (m *metalAPI) serversStillRunning(ctx context.Context, servers func(context.Context) (*metalv1alpha1.ServerList, error)) ([]string, error) {
	all, err := servers(ctx)
	if err != nil {
		return nil, err
	}
	claims := &metalv1alpha1.ServerClaimList{}
	if err := m.List(ctx, claims, client.InNamespace(m.namespace)); err != nil {
		return nil, accessError(fmt.Errorf("listing the ServerClaims in the metal API: %w", err))
	}
	existing := sets.New[string]()
	for _, claim := range claims.Items {
		existing.Insert(claim.Name)
	}
	var held []string
	for _, server := range all.Items {
		ref := server.Spec.ServerClaimRef
		if ref == nil || ref.Namespace != m.namespace || existing.Has(ref.Name) || server.Status.PowerState == metalv1alpha1.ServerOffPowerState {
			continue
		}
		held = append(held, server.Name)
	}
	slices.Sort(held)
	return held, nil
}

// deleteIPAddressClaims deletes the shoot's IPAddressClaims and returns the names of those that still exist. A
// metal API that serves no cluster-api IPAM kinds has none.
func (m *metalAPI) deleteIPAddressClaims(ctx context.Context, log logr.Logger) ([]string, error) {
	ipClaims := &ipamv1beta2.IPAddressClaimList{}
	if err := m.List(ctx, ipClaims, client.InNamespace(m.namespace), m.scope); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, nil
		}
		return nil, accessError(fmt.Errorf("listing the shoot's IPAddressClaims in the metal API: %w", err))
	}
	var remaining []string
	for i := range ipClaims.Items {
		ipClaim := &ipClaims.Items[i]
		remaining = append(remaining, ipClaim.Name)
		if ipClaim.DeletionTimestamp != nil {
			continue
		}
		log.Info("Deleting a leftover IPAddressClaim of the shoot", "ipAddressClaim", client.ObjectKeyFromObject(ipClaim))
		if err := m.Delete(ctx, ipClaim, client.Preconditions{UID: &ipClaim.UID}); client.IgnoreNotFound(err) != nil {
			return nil, accessError(fmt.Errorf("deleting IPAddressClaim %s/%s: %w", ipClaim.Namespace, ipClaim.Name, err))
		}
	}
	return remaining, nil
}

// waiting wraps a condition the deletion waits for, so that Gardener's reconciler reports it and requeues
// without treating it as a failure.
func waiting(err error) error {
	return &reconcilerutils.RequeueAfterError{Cause: err, RequeueAfter: deletionPollInterval}
}
