package infrastructure

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
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
	selector                serverSelector
	tolerations             []api.ServerToleration
	minimum                 int32
}

// serverSelector selects the Servers of a pool in a zone by the labels the Worker controller puts into the
// pool's MachineClass (helper.ServerSelectorLabels), so that the count and the claims agree.
type serverSelector labels.Set

func (s serverSelector) matches(server *metalv1alpha1.Server) bool {
	return labels.SelectorFromSet(labels.Set(s)).Matches(labels.Set(server.Labels))
}

func (s serverSelector) String() string {
	keys := slices.Sorted(maps.Keys(s))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+s[k])
	}
	return strings.Join(parts, ",")
}

var workersPath = field.NewPath("spec", "provider", "workers")

// poolZones lists every worker pool × zone with the labels its Servers must carry (machine type labels from the
// CloudProfile, the pool's extra labels, zone and region) and the pool's minimum share in that zone.
func poolZones(workers []gardencorev1beta1.Worker, cloudProfileConfig *api.CloudProfileConfig, region string) ([]poolZone, error) {
	var result []poolZone
	for i, pool := range workers {
		machineType, ok := helper.FindMachineType(cloudProfileConfig, pool.Machine.Type)
		if !ok {
			return nil, configurationProblem(fmt.Errorf("worker pool %q: machine type %q has no Server labels in the cloud profile (providerConfig.machineTypes)", pool.Name, pool.Machine.Type))
		}
		workerConfig, err := helper.WorkerConfigFromRaw(pool.ProviderConfig)
		if err != nil {
			return nil, configurationProblem(fmt.Errorf("worker pool %q: %w", pool.Name, err))
		}
		for j, zone := range pool.Zones {
			selector, err := helper.ServerSelectorLabels(machineType, workerConfig.ExtraServerLabels, region, zone, workersPath.Index(i).Child("providerConfig", "extraServerLabels"))
			if err != nil {
				return nil, configurationProblem(err)
			}
			result = append(result, poolZone{
				pool:        pool.Name,
				zone:        zone,
				machineType: pool.Machine.Type,
				selector:    serverSelector(selector),
				tolerations: workerConfig.ServerTolerations,
				minimum:     worker.DistributeOverZones(int32(j), pool.Minimum, int32(len(pool.Zones))), //nolint:gosec // zone counts are tiny
			})
		}
	}
	return result, nil
}

// serverCapacity counts, per pool and zone, the Servers matching its labels and those it can have: Available,
// unclaimed Servers whose taints it tolerates, plus Servers already claimed by this shoot. servers come from the
// shared Server watch; only the shoot's own claims are listed.
func (m *metalAPI) serverCapacity(ctx context.Context, servers []metalv1alpha1.Server, pools []poolZone) ([]api.ServerCapacity, error) {
	if len(pools) == 0 {
		return nil, nil
	}
	claims := &metalv1alpha1.ServerClaimList{}
	if err := m.List(ctx, claims, client.InNamespace(m.namespace), m.scope); err != nil {
		return nil, accessError(fmt.Errorf("listing the shoot's ServerClaims in the metal API: %w", err))
	}
	ownClaims := make(map[string]bool, len(claims.Items))
	for _, claim := range claims.Items {
		ownClaims[claim.Name] = true
	}

	result := make([]api.ServerCapacity, 0, len(pools))
	for _, pz := range pools {
		capacity := api.ServerCapacity{Pool: pz.pool, Zone: pz.zone, MachineType: pz.machineType, Minimum: pz.minimum}
		for i := range servers {
			server := &servers[i]
			if !pz.selector.matches(server) {
				continue
			}
			capacity.Matching++
			if server.Labels[metal.InstanceTypeLabel] != pz.machineType {
				capacity.WithoutInstanceType++
			}
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

// shortages describes the pools and zones whose minimum exceeds the Servers they can have, and those whose
// Servers lack the instance type label.
func shortages(capacities []api.ServerCapacity, pools []poolZone) (short, untyped []string) {
	for i, c := range capacities {
		if c.Available < c.Minimum {
			short = append(short, fmt.Sprintf("pool %q zone %q needs %d, %d can be claimed (%d Servers match %s)",
				c.Pool, c.Zone, c.Minimum, c.Available, c.Matching, pools[i].selector))
		}
		if c.WithoutInstanceType > 0 {
			untyped = append(untyped, fmt.Sprintf("pool %q zone %q: %d of %d matching Servers lack the label %s=%s",
				c.Pool, c.Zone, c.WithoutInstanceType, c.Matching, metal.InstanceTypeLabel, c.MachineType))
		}
	}
	return short, untyped
}
