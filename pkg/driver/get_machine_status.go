package driver

import (
	"context"
	"fmt"

	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/status"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
)

// GetMachineStatus reports whether a Machine's ServerClaim exists (NotFound if not, or if the claim of that name
// lacks the scope labels: it is not this Machine's) and is initialized: bound and powered On with Ignition
// (Uninitialized until then, so that MCM calls InitializeMachine). The response carries the provider ID, the Node
// name per policy and the Server's addresses; with Uninitialized it is returned too, because MCM reads the node
// name from it. It needs only the scope of the provider spec.
//
// Booting is not waited for here: once the claim is powered on, MCM sets the Machine Pending and waits for the
// Node within the machine creation timeout, which is what Pending means.
//
// With node name policy ServerName or BMCName an unbound claim has no Node name yet; it answers NotFound then,
// which makes MCM call CreateMachine again (idempotent), which waits for the binding.
func (d *Driver) GetMachineStatus(ctx context.Context, req *mcmdriver.GetMachineStatusRequest) (*mcmdriver.GetMachineStatusResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty GetMachineStatus request")
	}
	r, err := d.newScopeRequest(req.Machine, req.MachineClass, true)
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
	if !r.owns(claim) {
		return nil, status.Error(codes.NotFound, r.foreignMessage("ServerClaim", claim))
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
	if !poweredOnWithIgnition(claim) {
		return response, status.Error(codes.Uninitialized, fmt.Sprintf("ServerClaim %s is not powered on with Ignition yet", r.claimKey()))
	}
	return response, nil
}

// poweredOnWithIgnition tells whether InitializeMachine finished: it powers the claim on only after the addresses
// are assigned and the Ignition is written.
func poweredOnWithIgnition(claim *metalv1alpha1.ServerClaim) bool {
	return claim.Spec.Power == metalv1alpha1.PowerOn && claim.Spec.IgnitionSecretRef != nil
}
