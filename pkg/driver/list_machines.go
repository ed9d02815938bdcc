package driver

import (
	"context"

	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/status"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ListMachines lists the ServerClaims carrying the MachineClass' scope labels (provider ID → Machine name). The
// labels are required, so the list never spans claims of other shoots sharing the namespace; MCM's safety
// controller deletes the listed claims that have no Machine. It needs only the scope of the provider spec.
func (d *Driver) ListMachines(ctx context.Context, req *mcmdriver.ListMachinesRequest) (*mcmdriver.ListMachinesResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty ListMachines request")
	}
	r, err := d.newScopeRequest(nil, req.MachineClass, false)
	if err != nil {
		return nil, err
	}
	claims := &metalv1alpha1.ServerClaimList{}
	if err := r.client.List(ctx, claims, client.InNamespace(r.ns), client.MatchingLabels(r.scope)); err != nil {
		return nil, apiError(err, "cannot list ServerClaims in namespace %q", r.ns)
	}
	machines := make(map[string]string, len(claims.Items))
	for _, claim := range claims.Items {
		machines[ProviderID(r.ns, claim.Name)] = claim.Name
	}
	return &mcmdriver.ListMachinesResponse{MachineList: machines}, nil
}
