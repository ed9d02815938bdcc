package driver

import (
	"context"
	"fmt"

	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/status"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// checkServerAvailable tells whether an unbound claim can expect a Server. While a Server that metal-operator
// would bind to the claim is free, the claim only waits for metal-operator (nil). When none is, the zone is out of
// Servers for this selector: ResourceExhausted, MCM's code for exhausted resources (the cluster-autoscaler backs
// off on it), with a message naming selector and zone.
func (r *request) checkServerAvailable(ctx context.Context, claim *metalv1alpha1.ServerClaim) error {
	selector, err := metav1.LabelSelectorAsSelector(claim.Spec.ServerSelector)
	if err != nil {
		return status.Error(codes.InvalidArgument, fmt.Sprintf("ServerClaim %s has an invalid server selector: %v", r.claimKey(), err))
	}
	servers := &metalv1alpha1.ServerList{}
	if err := r.client.List(ctx, servers, client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return apiError(err, "cannot list the Servers matching selector %s", selector)
	}
	for i := range servers.Items {
		if claimable(&servers.Items[i], claim) {
			return nil
		}
	}
	return status.Error(codes.ResourceExhausted, fmt.Sprintf("ServerClaim %s is not bound: no free Server%s matches selector %s: %d Servers match, none is free",
		r.claimKey(), zoneOf(claim), selectorOf(claim), len(servers.Items)))
}

// claimable tells whether metal-operator would bind server to claim, following isServerClaimable and tolerates
// of metal-operator v0.7.0 (internal/controller/serverclaim_controller.go, taints.go): not claimed by another
// claim, Available, claimable, powered off, not in maintenance, every NoBind taint tolerated. metal-operator also
// skips Servers with pending ServerMaintenances, which the driver may not read; such a Server counts as free
// here, so the claim waits instead of reporting a shortage.
//
// A Server that already references the claim is being bound to it, whatever its state: metal-operator sets the
// Server's claim reference (ensureObjectRefForServer, after which the Server turns Reserved) before the claim's
// server reference (patchServerRef), and a claim seen in between only waits.
func claimable(server *metalv1alpha1.Server, claim *metalv1alpha1.ServerClaim) bool {
	if ref := server.Spec.ServerClaimRef; ref != nil {
		return ref.Name == claim.Name && ref.Namespace == claim.Namespace
	}
	if server.Status.State != metalv1alpha1.ServerStateAvailable || server.Spec.Unclaimable ||
		server.Status.PowerState != metalv1alpha1.ServerOffPowerState || server.Spec.ServerMaintenanceRef != nil {
		return false
	}
	for _, taint := range server.Spec.Taints {
		if taint.Effect == metalv1alpha1.TaintEffectNoBind && !tolerated(taint, claim.Spec.Tolerations) {
			return false
		}
	}
	return true
}

// tolerated tells whether one of tolerations matches taint (metal-operator's tolerationMatchesTaint).
func tolerated(taint metalv1alpha1.Taint, tolerations []metalv1alpha1.Toleration) bool {
	for _, t := range tolerations {
		if t.Key != taint.Key || (t.Effect != "" && t.Effect != taint.Effect) {
			continue
		}
		switch t.Operator {
		case metalv1alpha1.TolerationOperatorExists:
			return true
		case metalv1alpha1.TolerationOperatorEqual, "":
			if t.Value == taint.Value {
				return true
			}
		}
	}
	return false
}

// unboundMessage says what an unbound claim waits for: metal-operator to bind a Server of the selector (and zone).
func unboundMessage(key client.ObjectKey, claim *metalv1alpha1.ServerClaim) string {
	return fmt.Sprintf("ServerClaim %s is not bound yet to a Server%s matching selector %s", key, zoneOf(claim), selectorOf(claim))
}

func selectorOf(claim *metalv1alpha1.ServerClaim) string {
	if claim.Spec.ServerSelector == nil {
		return "<none>"
	}
	return metav1.FormatLabelSelector(claim.Spec.ServerSelector)
}

// zoneOf names the zone of a claim's selector for messages, e.g. " in zone zone-a"; empty without a zone label.
func zoneOf(claim *metalv1alpha1.ServerClaim) string {
	if claim.Spec.ServerSelector == nil || claim.Spec.ServerSelector.MatchLabels[metal.ZoneLabel] == "" {
		return ""
	}
	return " in zone " + claim.Spec.ServerSelector.MatchLabels[metal.ZoneLabel]
}

// serverHoldsAddresses tells whether the Server a Machine's claim was bound to may still run with the Machine's
// IP addresses: it exists, still references the claim and is not powered off. metal-operator powers a Server off
// only after its claim is gone and then releases it (server_controller.go, handleReservedState); until then an
// address handed out again would be in use twice.
func (r *request) serverHoldsAddresses(ctx context.Context, serverName string) (bool, error) {
	server := &metalv1alpha1.Server{}
	if err := r.client.Get(ctx, client.ObjectKey{Name: serverName}, server); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return false, nil
		}
		return false, apiError(err, "cannot read Server %q", serverName)
	}
	ref := server.Spec.ServerClaimRef
	if ref == nil || ref.Name != r.machine.Name || ref.Namespace != r.ns {
		return false, nil
	}
	return server.Status.PowerState != metalv1alpha1.ServerOffPowerState, nil
}
