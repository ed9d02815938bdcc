package infrastructure

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal/capacity"
)

// serverCapacity counts the Servers of every pool and zone (capacity.Count, which the admission component's
// warning shares); servers come from the shared Server watch, only the shoot's own claims are listed.
func (m *metalAPI) serverCapacity(ctx context.Context, servers []metalv1alpha1.Server, pools []capacity.PoolZone) ([]api.ServerCapacity, error) {
	if len(pools) == 0 {
		return nil, nil
	}
	claims := &metalv1alpha1.ServerClaimList{}
	if err := m.List(ctx, claims, client.InNamespace(m.namespace), m.scope); err != nil {
		return nil, accessError(fmt.Errorf("listing the shoot's ServerClaims in the metal API: %w", err))
	}
	ownClaims := sets.New[string]()
	for _, claim := range claims.Items {
		ownClaims.Insert(claim.Name)
	}
	return capacity.Count(servers, pools, m.namespace, ownClaims), nil
}

// shortages describes the pools and zones whose minimum exceeds the Servers they can have, and those whose
// Servers lack the instance type label.
func shortages(capacities []api.ServerCapacity, pools []capacity.PoolZone) (short, untyped []string) {
	for i, c := range capacities {
		if c.Available < c.Minimum {
			short = append(short, fmt.Sprintf("pool %q zone %q needs %d, %d can be claimed (%d Servers match %s)",
				c.Pool, c.Zone, c.Minimum, c.Available, c.Matching, pools[i].Selector))
		}
		if c.WithoutInstanceType > 0 {
			untyped = append(untyped, fmt.Sprintf("pool %q zone %q: %d of %d matching Servers lack the label %s=%s",
				c.Pool, c.Zone, c.WithoutInstanceType, c.Matching, metal.InstanceTypeLabel, c.MachineType))
		}
	}
	return short, untyped
}
