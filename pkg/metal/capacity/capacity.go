// Package capacity counts the Servers a shoot's worker pools can claim in each zone. The Infrastructure
// controller reports the counts in its status and the admission component warns with them, so both count alike.
package capacity

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/gardener/gardener/extensions/pkg/controller/worker"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// WorkersPath is the path of the Shoot's worker pools.
var WorkersPath = field.NewPath("spec", "provider", "workers")

// PoolZone is one worker pool in one zone with the Servers that can serve it.
type PoolZone struct {
	// Pool is the name of the worker pool, Zone the zone and MachineType the pool's machine type.
	Pool, Zone, MachineType string
	// ZonePath is the path of the zone in the Shoot: spec.provider.workers[i].zones[j].
	ZonePath *field.Path
	// Selector selects the Servers of the pool in the zone.
	Selector Selector
	// Tolerations are the pool's Server tolerations.
	Tolerations []api.ServerToleration
	// Minimum is the pool's minimum share in the zone, as Gardener distributes it over the zones.
	Minimum int32
}

// Selector selects the Servers of a pool in a zone by the labels the Worker controller puts into the pool's
// MachineClass (helper.ServerSelectorLabels), so that the count and the claims agree.
type Selector labels.Set

// String returns the selector's labels as key=value, sorted by key and joined by commas.
func (s Selector) String() string {
	keys := slices.Sorted(maps.Keys(s))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+s[k])
	}
	return strings.Join(parts, ",")
}

// PoolZones lists every worker pool × zone with the labels its Servers must carry (machine type labels from the
// CloudProfile, the pool's extra labels, zone and region) and the pool's minimum share in that zone. Its errors
// are configuration problems of the Shoot or the CloudProfile.
func PoolZones(workers []gardencorev1beta1.Worker, cloudProfileConfig *api.CloudProfileConfig, region string) ([]PoolZone, error) {
	var result []PoolZone
	for i, pool := range workers {
		machineType, ok := helper.FindMachineType(cloudProfileConfig, pool.Machine.Type)
		if !ok {
			return nil, fmt.Errorf("worker pool %q: machine type %q has no Server labels in the cloud profile (providerConfig.machineTypes)", pool.Name, pool.Machine.Type)
		}
		workerConfig, err := helper.WorkerConfigFromRaw(pool.ProviderConfig)
		if err != nil {
			return nil, fmt.Errorf("worker pool %q: %w", pool.Name, err)
		}
		for j, zone := range pool.Zones {
			selector, err := helper.ServerSelectorLabels(machineType, workerConfig.ExtraServerLabels, region, zone, WorkersPath.Index(i).Child("providerConfig", "extraServerLabels"))
			if err != nil {
				return nil, err
			}
			result = append(result, PoolZone{
				Pool:        pool.Name,
				Zone:        zone,
				MachineType: pool.Machine.Type,
				ZonePath:    WorkersPath.Index(i).Child("zones").Index(j),
				Selector:    Selector(selector),
				Tolerations: workerConfig.ServerTolerations,
				Minimum:     worker.DistributeOverZones(int32(j), pool.Minimum, int32(len(pool.Zones))), //nolint:gosec // zone counts are tiny
			})
		}
	}
	return result, nil
}

// Count counts, per pool and zone, the Servers matching its labels and those it can have: Available, unclaimed
// Servers whose taints it tolerates, plus Servers already claimed by the shoot's own claims (ownClaims, the names
// of its ServerClaims in namespace, its metal namespace).
func Count(servers []metalv1alpha1.Server, pools []PoolZone, namespace string, ownClaims sets.Set[string]) []api.ServerCapacity {
	result := make([]api.ServerCapacity, 0, len(pools))
	for _, pz := range pools {
		capacity := api.ServerCapacity{Pool: pz.Pool, Zone: pz.Zone, MachineType: pz.MachineType, Minimum: pz.Minimum}
		selector := labels.SelectorFromSet(labels.Set(pz.Selector))
		for i := range servers {
			server := &servers[i]
			if !selector.Matches(labels.Set(server.Labels)) {
				continue
			}
			capacity.Matching++
			if server.Labels[metal.InstanceTypeLabel] != pz.MachineType {
				capacity.WithoutInstanceType++
			}
			if claimable(server, pz.Tolerations, namespace, ownClaims) {
				capacity.Available++
			}
		}
		result = append(result, capacity)
	}
	return result
}

func claimable(server *metalv1alpha1.Server, tolerations []api.ServerToleration, namespace string, ownClaims sets.Set[string]) bool {
	if ref := server.Spec.ServerClaimRef; ref != nil {
		return ref.Namespace == namespace && ownClaims.Has(ref.Name)
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
