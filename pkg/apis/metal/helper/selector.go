package helper

import (
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	providermetal "github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// ServerSelectorLabels returns the labels a Server must carry to serve a worker pool's machines in one zone of a
// region: the machine type's labels from the CloudProfile, the pool's extra labels, the zone and the region. The
// Worker controller puts them into the MachineClass' Server selector (metal-operator matches them with
// metav1.LabelSelectorAsSelector, so every label is required), and the Infrastructure controller counts the
// Servers that match them; both use this function so that the count and the claims agree.
//
// The region is required, not only the zone: zone names repeat across regions (e.g. "a", "b"), and where one
// metal API serves several regions a claim must not bind a Server of another region. Servers therefore carry
// both topology labels. An empty region (Gardener always sets one) adds no requirement.
//
// An extra label may add to the other labels but not contradict one: that would select Servers of another
// machine type, zone or region than the pool (and the autoscaler's node template) claims. The error carries the
// path of the offending extra label below extraPath.
func ServerSelectorLabels(machineType *metal.MachineType, extraServerLabels map[string]string, region, zone string, extraPath *field.Path) (map[string]string, error) {
	fixed := make(map[string]string, len(machineType.ServerLabels)+2)
	maps.Copy(fixed, machineType.ServerLabels)
	fixed[providermetal.ZoneLabel] = zone
	if region != "" {
		fixed[providermetal.RegionLabel] = region
	}
	selector := maps.Clone(fixed)
	for _, key := range slices.Sorted(maps.Keys(extraServerLabels)) {
		value := extraServerLabels[key]
		if fixedValue, ok := fixed[key]; ok && fixedValue != value {
			return nil, field.Invalid(extraPath.Key(key), value, fmt.Sprintf("contradicts the Server label %s=%s that machine type %q in zone %q of region %q requires", key, fixedValue, machineType.Name, zone, region))
		}
		selector[key] = value
	}
	return selector, nil
}
