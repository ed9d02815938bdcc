package driver

import (
	"context"
	"fmt"

	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/status"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// GetMachineStatus reports whether a Machine's ServerClaim exists (NotFound if not) and is initialized: bound,
// powered On with Ignition, its Server powered on and all its IP addresses assigned (Uninitialized until then, so
// that MCM calls InitializeMachine). The response carries the provider ID, the Node name per policy and the
// Server's addresses; with Uninitialized it is returned too, because MCM reads the node name from it.
//
// With node name policy ServerName or BMCName an unbound claim has no Node name yet; it answers NotFound then,
// which makes MCM call CreateMachine again (idempotent) and that reports why the claim is not bound.
func (d *Driver) GetMachineStatus(ctx context.Context, req *mcmdriver.GetMachineStatusRequest) (*mcmdriver.GetMachineStatusResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty GetMachineStatus request")
	}
	r, err := d.newRequest(req.Machine, req.MachineClass, true)
	if err != nil {
		return nil, err
	}
	claim, err := r.getClaim(ctx)
	if err != nil {
		return nil, err
	}
	if claim == nil {
		return nil, status.Error(codes.NotFound, fmt.Sprintf("ServerClaim %s not found", r.claimKey()))
	}
	if !isBound(claim) {
		if d.policy.needsServer() {
			return nil, status.Error(codes.NotFound, fmt.Sprintf("no Node name yet with policy %s: %s", d.policy, unboundMessage(r.claimKey(), claim)))
		}
		response := &mcmdriver.GetMachineStatusResponse{ProviderID: r.providerID(), NodeName: claim.Name}
		return response, status.Error(codes.Uninitialized, unboundMessage(r.claimKey(), claim))
	}
	server, err := r.getServer(ctx, claim)
	if err != nil {
		return nil, err
	}
	nodeName, err := d.nodeName(ctx, r, claim, server)
	if err != nil {
		return nil, err
	}
	response := &mcmdriver.GetMachineStatusResponse{ProviderID: r.providerID(), NodeName: nodeName, Addresses: serverAddresses(server)}
	reason, err := r.uninitializedReason(ctx, claim, server)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		return response, status.Error(codes.Uninitialized, reason)
	}
	return response, nil
}

// uninitializedReason says what InitializeMachine has yet to do or wait for; empty when it is done.
func (r *request) uninitializedReason(ctx context.Context, claim *metalv1alpha1.ServerClaim, server *metalv1alpha1.Server) (string, error) {
	if claim.Spec.Power != metalv1alpha1.PowerOn || claim.Spec.IgnitionSecretRef == nil {
		return fmt.Sprintf("ServerClaim %s is not powered on with Ignition yet", r.claimKey()), nil
	}
	for _, entry := range r.spec.IPAMConfig {
		ipClaim := &ipamv1beta2.IPAddressClaim{}
		key := client.ObjectKey{Namespace: r.ns, Name: ipAddressClaimName(r.machine.Name, entry.MetadataKey)}
		if err := r.client.Get(ctx, key, ipClaim); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Sprintf("IPAddressClaim %s does not exist yet", key), nil
			}
			return "", apiError(err, "cannot read IPAddressClaim %s", key)
		}
		if ipClaim.Status.AddressRef.Name == "" {
			return fmt.Sprintf("IPAddressClaim %s has no address yet", key), nil
		}
	}
	if server.Status.PowerState != metalv1alpha1.ServerOnPowerState {
		return fmt.Sprintf("Server %q of ServerClaim %s is in power state %q, not On yet", server.Name, r.claimKey(), server.Status.PowerState), nil
	}
	return "", nil
}
