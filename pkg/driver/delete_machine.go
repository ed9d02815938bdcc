package driver

import (
	"context"
	"fmt"
	"strings"

	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/status"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DeleteMachine deletes a Machine's ServerClaim, ignition Secret and IPAddressClaims and returns at once; it
// never waits for finalizers. As long as one of them still exists (metal-operator releases the Server, the IPAM
// provider the address) it answers Unavailable, which MCM (machine_util.go, deleteVM) retries after ShortRetry
// without leaving the deletion step. Repeated calls are safe; when nothing is left it succeeds.
func (d *Driver) DeleteMachine(ctx context.Context, req *mcmdriver.DeleteMachineRequest) (*mcmdriver.DeleteMachineResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty DeleteMachine request")
	}
	r, err := d.newRequest(req.Machine, req.MachineClass, true)
	if err != nil {
		return nil, err
	}
	var remaining []string
	claimLeft, err := r.deleteClaim(ctx)
	if err != nil {
		return nil, err
	}
	remaining = append(remaining, claimLeft...)
	if err := r.deleteIgnitionSecret(ctx); err != nil {
		return nil, err
	}
	ipClaimsLeft, err := r.deleteIPAddressClaims(ctx)
	if err != nil {
		return nil, err
	}
	remaining = append(remaining, ipClaimsLeft...)
	if len(remaining) > 0 {
		return nil, status.Error(codes.Unavailable, "waiting for the deletion of "+strings.Join(remaining, ", "))
	}
	klog.V(2).InfoS("Deleted ServerClaim and its objects", "serverClaim", r.claimKey())
	return &mcmdriver.DeleteMachineResponse{}, nil
}

// deleteClaim deletes the ServerClaim and tells what keeps it from being gone.
func (r *request) deleteClaim(ctx context.Context) ([]string, error) {
	claim, err := r.getClaim(ctx)
	if err != nil || claim == nil {
		return nil, err
	}
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

// deleteIgnitionSecret deletes the ignition Secret; a missing one is fine.
func (r *request) deleteIgnitionSecret(ctx context.Context) error {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: ignitionSecretName(r.machine.Name)}}
	if err := r.client.Delete(ctx, secret); err != nil && !apierrors.IsNotFound(err) {
		return apiError(err, "cannot delete ignition Secret %s", client.ObjectKeyFromObject(secret))
	}
	return nil
}

// deleteIPAddressClaims deletes the IPAddressClaims of the Machine: those named after the current IPAM entries
// and those owned by its ServerClaim (entries removed from the MachineClass since) and tells which remain.
func (r *request) deleteIPAddressClaims(ctx context.Context) ([]string, error) {
	names := sets.New[string]()
	for _, entry := range r.spec.IPAMConfig {
		names.Insert(ipAddressClaimName(r.machine.Name, entry.MetadataKey))
	}
	ipClaims := &ipamv1beta2.IPAddressClaimList{}
	if err := r.client.List(ctx, ipClaims, client.InNamespace(r.ns), client.MatchingLabels(r.spec.Labels)); err != nil {
		return nil, apiError(err, "cannot list IPAddressClaims in namespace %q", r.ns)
	}
	var remaining []string
	for i := range ipClaims.Items {
		ipClaim := &ipClaims.Items[i]
		if !names.Has(ipClaim.Name) && !ownedByClaim(ipClaim, r.machine.Name) {
			continue
		}
		if ipClaim.DeletionTimestamp == nil {
			if err := r.client.Delete(ctx, ipClaim); err != nil && !apierrors.IsNotFound(err) {
				return nil, apiError(err, "cannot delete IPAddressClaim %s", client.ObjectKeyFromObject(ipClaim))
			}
		}
		if len(ipClaim.Finalizers) > 0 {
			remaining = append(remaining, fmt.Sprintf("IPAddressClaim %s (finalizers %s)", client.ObjectKeyFromObject(ipClaim), strings.Join(ipClaim.Finalizers, ",")))
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
