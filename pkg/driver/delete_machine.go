package driver

import (
	"context"
	"fmt"
	"slices"
	"strings"

	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/status"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// DeleteMachine deletes a Machine's ServerClaim and ignition Secret and, once the Server no longer runs with
// them, its IPAddressClaims; it never removes finalizers. metal-operator powers a Server off only after its claim
// is gone, so the addresses are released only when the claim is gone and its Server is off or released: an
// address handed out earlier would be in use twice.
//
// It waits for that within the call, up to the driver's deletion wait: MCM v0.62.1 (machine_util.go, deleteVM)
// records every error of DeleteMachine but NotFound as a Failed delete operation, which the MachineSet and
// MachineDeployment report as failed machines and Gardener's Worker deletion (pkg/utils/gardener/machines.go,
// WaitUntilMachineResourcesDeleted) as an error; NotFound skips ahead to deleting the Node. Waiting for a Server to
// power off is the happy path, not a failure. Only when the objects are not gone within the wait does it answer
// Unavailable, which MCM retries after ShortRetry without leaving the deletion step.
//
// It needs only the Machine's name and the scope of the provider spec, so machines of a MachineClass that no
// longer validates are deleted too, and it touches only objects with the scope labels. Without cluster-api IPAM
// in the metal API there are no IPAddressClaims to delete.
func (d *Driver) DeleteMachine(ctx context.Context, req *mcmdriver.DeleteMachineRequest) (*mcmdriver.DeleteMachineResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty DeleteMachine request")
	}
	r, err := d.newScopeRequest(req.Machine, req.MachineClass, true)
	if err != nil {
		return nil, err
	}
	remaining, err := r.deleteObjects(ctx)
	if err != nil {
		return nil, err
	}
	if len(remaining) > 0 && d.deletionWait > 0 {
		pollErr := wait.PollUntilContextTimeout(ctx, deletionPollInterval, d.deletionWait, false, func(ctx context.Context) (bool, error) {
			var stepErr error
			remaining, stepErr = r.deleteObjects(ctx)
			return len(remaining) == 0, stepErr
		})
		if pollErr != nil && !wait.Interrupted(pollErr) {
			return nil, pollErr
		}
	}
	if len(remaining) > 0 {
		return nil, status.Error(codes.Unavailable, "waiting for the deletion of "+strings.Join(remaining, ", "))
	}
	klog.V(2).InfoS("Deleted ServerClaim and its objects", "serverClaim", r.claimKey())
	return &mcmdriver.DeleteMachineResponse{}, nil
}

// deleteObjects takes one step of the deletion: it deletes what may be deleted now and tells what remains.
func (r *request) deleteObjects(ctx context.Context) ([]string, error) {
	claim, err := r.getClaim(ctx)
	if err != nil {
		return nil, err
	}
	if claim != nil && !r.owns(claim) {
		klog.V(2).InfoS("Leaving a ServerClaim without the scope labels alone", "serverClaim", r.claimKey())
		claim = nil
	}
	ipClaims, err := r.machineIPClaims(ctx)
	if err != nil {
		return nil, err
	}
	var remaining []string
	if claim != nil {
		if err := r.detachIPClaims(ctx, claim, ipClaims); err != nil {
			return nil, err
		}
		if remaining, err = r.deleteClaim(ctx, claim); err != nil {
			return nil, err
		}
	}
	if err := r.deleteIgnitionSecret(ctx); err != nil {
		return nil, err
	}
	if len(remaining) > 0 {
		if len(ipClaims) > 0 {
			remaining = append(remaining, fmt.Sprintf("%d IPAddressClaims (released once the ServerClaim is gone and its Server off)", len(ipClaims)))
		}
		return remaining, nil
	}
	return r.releaseIPClaims(ctx, ipClaims)
}

// deleteClaim deletes the ServerClaim and tells what keeps it from being gone.
func (r *request) deleteClaim(ctx context.Context, claim *metalv1alpha1.ServerClaim) ([]string, error) {
	if claim.DeletionTimestamp == nil {
		// The precondition makes a finalizer added since the read fail the delete instead of going unnoticed.
		err := r.client.Delete(ctx, claim, client.Preconditions{UID: &claim.UID, ResourceVersion: &claim.ResourceVersion})
		switch {
		case apierrors.IsNotFound(err):
			return nil, nil
		case apierrors.IsConflict(err):
			return []string{fmt.Sprintf("ServerClaim %s (changed while deleting)", r.claimKey())}, nil
		case err != nil:
			return nil, apiError(err, "cannot delete ServerClaim %s", r.claimKey())
		}
	}
	if len(claim.Finalizers) == 0 {
		return nil, nil
	}
	return []string{fmt.Sprintf("ServerClaim %s (finalizers %s)", r.claimKey(), strings.Join(claim.Finalizers, ","))}, nil
}

// deleteIgnitionSecret deletes the ignition Secret if it is this shoot's; a missing one is fine.
func (r *request) deleteIgnitionSecret(ctx context.Context) error {
	secret := &metav1.PartialObjectMetadata{}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	key := client.ObjectKey{Namespace: r.ns, Name: ignitionSecretName(r.machine.Name)}
	if err := r.client.Get(ctx, key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return apiError(err, "cannot read ignition Secret %s", key)
	}
	if !r.owns(secret) {
		return nil
	}
	if err := r.client.Delete(ctx, secret, client.Preconditions{UID: &secret.UID}); err != nil && !apierrors.IsNotFound(err) {
		return apiError(err, "cannot delete ignition Secret %s", key)
	}
	return nil
}

// machineIPClaims lists the Machine's IPAddressClaims: those with the scope labels that carry the ServerClaim
// labels of the Machine, are named after its IPAM entries or are owned by its ServerClaim (as the driver created
// them before). A metal API without cluster-api IPAM has none.
func (r *request) machineIPClaims(ctx context.Context) ([]*ipamv1beta2.IPAddressClaim, error) {
	list := &ipamv1beta2.IPAddressClaimList{}
	if err := r.client.List(ctx, list, client.InNamespace(r.ns), client.MatchingLabels(r.scope)); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, nil
		}
		return nil, apiError(err, "cannot list IPAddressClaims in namespace %q", r.ns)
	}
	names := sets.New[string]()
	for _, key := range r.ipamKeys {
		names.Insert(ipAddressClaimName(r.machine.Name, key))
	}
	var ipClaims []*ipamv1beta2.IPAddressClaim
	for i := range list.Items {
		ipClaim := &list.Items[i]
		labels := ipClaim.Labels
		if (labels[metal.ServerClaimNameLabel] == r.machine.Name && labels[metal.ServerClaimNamespaceLabel] == r.ns) ||
			names.Has(ipClaim.Name) || ownedByClaim(ipClaim, r.machine.Name) {
			ipClaims = append(ipClaims, ipClaim)
		}
	}
	return ipClaims, nil
}

// detachIPClaims prepares the IPAddressClaims for the deletion of the ServerClaim: it removes an owner reference
// to the claim (garbage collection would release the address with the claim) and records the claim's Server.
func (r *request) detachIPClaims(ctx context.Context, claim *metalv1alpha1.ServerClaim, ipClaims []*ipamv1beta2.IPAddressClaim) error {
	for _, ipClaim := range ipClaims {
		owners := slices.DeleteFunc(slices.Clone(ipClaim.OwnerReferences), func(ref metav1.OwnerReference) bool { return ref.UID == claim.UID })
		server := ipClaim.Annotations[serverAnnotation]
		if isBound(claim) {
			server = claim.Spec.ServerRef.Name
		}
		if len(owners) == len(ipClaim.OwnerReferences) && server == ipClaim.Annotations[serverAnnotation] {
			continue
		}
		base := ipClaim.DeepCopy()
		ipClaim.OwnerReferences = owners
		metav1.SetMetaDataAnnotation(&ipClaim.ObjectMeta, serverAnnotation, server)
		if err := r.client.Patch(ctx, ipClaim, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			return apiError(err, "cannot detach IPAddressClaim %s from ServerClaim %s", client.ObjectKeyFromObject(ipClaim), r.claimKey())
		}
	}
	return nil
}

// releaseIPClaims deletes the IPAddressClaims whose Server is off or released and tells which remain.
func (r *request) releaseIPClaims(ctx context.Context, ipClaims []*ipamv1beta2.IPAddressClaim) ([]string, error) {
	var remaining []string
	for _, ipClaim := range ipClaims {
		key := client.ObjectKeyFromObject(ipClaim)
		if ipClaim.DeletionTimestamp == nil {
			if server := ipClaim.Annotations[serverAnnotation]; server != "" {
				holds, err := r.serverHoldsAddresses(ctx, server)
				if err != nil {
					return nil, err
				}
				if holds {
					remaining = append(remaining, fmt.Sprintf("IPAddressClaim %s (kept until Server %q is powered off)", key, server))
					continue
				}
			}
			if err := r.client.Delete(ctx, ipClaim, client.Preconditions{UID: &ipClaim.UID}); err != nil {
				if apierrors.IsNotFound(err) {
					continue
				}
				return nil, apiError(err, "cannot delete IPAddressClaim %s", key)
			}
		}
		if len(ipClaim.Finalizers) > 0 {
			remaining = append(remaining, fmt.Sprintf("IPAddressClaim %s (finalizers %s)", key, strings.Join(ipClaim.Finalizers, ",")))
		}
	}
	return remaining, nil
}

// ownedByClaim tells whether obj's controller is the ServerClaim named claimName.
func ownedByClaim(obj client.Object, claimName string) bool {
	owner := metav1.GetControllerOf(obj)
	return owner != nil && owner.Kind == "ServerClaim" && owner.Name == claimName &&
		strings.HasPrefix(owner.APIVersion, metalv1alpha1.GroupVersion.Group+"/")
}
