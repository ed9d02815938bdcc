package infrastructure

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gardener/gardener/extensions/pkg/controller/worker"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// poolZone is one worker pool in one zone with the Servers that can serve it.
type poolZone struct {
	pool, zone, machineType string
	selector                labels.Set
	tolerations             []api.ServerToleration
	minimum                 int32
}

// poolZones lists every worker pool × zone with the labels its Servers must carry (machine type labels from the
// CloudProfile, the zone, the pool's extra labels) and the pool's minimum share in that zone.
func poolZones(workers []gardencorev1beta1.Worker, cloudProfileConfig *api.CloudProfileConfig) ([]poolZone, error) {
	var result []poolZone
	for _, pool := range workers {
		machineType, ok := helper.FindMachineType(cloudProfileConfig, pool.Machine.Type)
		if !ok {
			return nil, configurationProblem(fmt.Errorf("worker pool %q: machine type %q has no Server labels in the cloud profile (providerConfig.machineTypes)", pool.Name, pool.Machine.Type))
		}
		workerConfig, err := helper.WorkerConfigFromRaw(pool.ProviderConfig)
		if err != nil {
			return nil, configurationProblem(fmt.Errorf("worker pool %q: %w", pool.Name, err))
		}
		for i, zone := range pool.Zones {
			selector := labels.Set{}
			maps.Copy(selector, machineType.ServerLabels)
			maps.Copy(selector, workerConfig.ExtraServerLabels)
			selector[metal.ZoneLabel] = zone
			result = append(result, poolZone{
				pool:        pool.Name,
				zone:        zone,
				machineType: pool.Machine.Type,
				selector:    selector,
				tolerations: workerConfig.ServerTolerations,
				minimum:     worker.DistributeOverZones(int32(i), pool.Minimum, int32(len(pool.Zones))), //nolint:gosec // zone counts are tiny
			})
		}
	}
	return result, nil
}

// serverCapacity counts, per pool and zone, the Servers matching its labels and those it can have: Available,
// unclaimed Servers whose taints it tolerates, plus Servers already claimed by this shoot.
func (m *metalAPI) serverCapacity(ctx context.Context, pools []poolZone) ([]api.ServerCapacity, error) {
	if len(pools) == 0 {
		return nil, nil
	}
	servers := &metalv1alpha1.ServerList{}
	if err := m.client.List(ctx, servers); err != nil {
		return nil, accessError(fmt.Errorf("listing Servers in the metal API: %w", err))
	}
	claims := &metalv1alpha1.ServerClaimList{}
	if err := m.client.List(ctx, claims, client.InNamespace(m.namespace), client.MatchingLabels{metal.ShootLabel: m.shootID}); err != nil {
		return nil, accessError(fmt.Errorf("listing the shoot's ServerClaims in the metal API: %w", err))
	}
	ownClaims := make(map[string]bool, len(claims.Items))
	for _, claim := range claims.Items {
		ownClaims[claim.Name] = true
	}

	result := make([]api.ServerCapacity, 0, len(pools))
	for _, pz := range pools {
		capacity := api.ServerCapacity{Pool: pz.pool, Zone: pz.zone, MachineType: pz.machineType, Minimum: pz.minimum}
		selector := labels.SelectorFromSet(pz.selector)
		for i := range servers.Items {
			server := &servers.Items[i]
			if !selector.Matches(labels.Set(server.Labels)) {
				continue
			}
			capacity.Matching++
			if m.claimable(server, pz.tolerations, ownClaims) {
				capacity.Available++
			}
		}
		result = append(result, capacity)
	}
	return result, nil
}

func (m *metalAPI) claimable(server *metalv1alpha1.Server, tolerations []api.ServerToleration, ownClaims map[string]bool) bool {
	if ref := server.Spec.ServerClaimRef; ref != nil {
		return ref.Namespace == m.namespace && ownClaims[ref.Name]
	}
	if server.Spec.Unclaimable || server.Status.State != metalv1alpha1.ServerStateAvailable {
		return false
	}
	return !slices.ContainsFunc(server.Spec.Taints, func(taint metalv1alpha1.Taint) bool {
		// Only NoBind keeps a claim away; Evict is reserved by metal-operator and has no effect yet.
		return taint.Effect != metalv1alpha1.TaintEffectEvict && !tolerated(taint, tolerations)
	})
}

func tolerated(taint metalv1alpha1.Taint, tolerations []api.ServerToleration) bool {
	return slices.ContainsFunc(tolerations, func(t api.ServerToleration) bool {
		if t.Key != taint.Key {
			return false
		}
		if t.Effect != "" && t.Effect != string(taint.Effect) {
			return false
		}
		return t.Operator == string(metalv1alpha1.TolerationOperatorExists) || t.Value == taint.Value
	})
}

// insufficient describes the pools and zones whose minimum exceeds the Servers they can have.
func insufficient(capacities []api.ServerCapacity, pools []poolZone) []string {
	var problems []string
	for i, c := range capacities {
		if c.Available >= c.Minimum {
			continue
		}
		problems = append(problems, fmt.Sprintf("pool %q zone %q needs %d, %d can be claimed (%d Servers match %s)",
			c.Pool, c.Zone, c.Minimum, c.Available, c.Matching, formatSelector(pools[i].selector)))
	}
	return problems
}

func formatSelector(set labels.Set) string {
	keys := slices.Collect(maps.Keys(set))
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+set[k])
	}
	return strings.Join(parts, ",")
}
