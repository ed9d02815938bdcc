package capacity_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal/capacity"
)

var _ = Describe("PoolZones and Count", func() {
	profile := &api.CloudProfileConfig{MachineTypes: []api.MachineType{{Name: "m1", ServerLabels: map[string]string{"size": "m1"}}}}
	workers := []gardencorev1beta1.Worker{{
		Name:    "pool",
		Machine: gardencorev1beta1.Machine{Type: "m1"},
		Minimum: 3,
		Zones:   []string{"a", "b"},
		ProviderConfig: &runtime.RawExtension{Raw: []byte(`{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"WorkerConfig",` +
			`"serverTolerations":[{"key":"burn-in","operator":"Exists"}]}`)},
	}}

	It("spreads the minimum over the zones and selects by machine type, zone and region", func() {
		pools, err := capacity.PoolZones(workers, profile, "r1")
		Expect(err).NotTo(HaveOccurred())
		Expect(pools).To(HaveLen(2))
		Expect(pools[0].ZonePath.String()).To(Equal("spec.provider.workers[0].zones[0]"))
		Expect(pools[0].Minimum).To(Equal(int32(2)))
		Expect(pools[1].Minimum).To(Equal(int32(1)))
		Expect(pools[1].Selector.String()).To(Equal("size=m1,topology.kubernetes.io/region=r1,topology.kubernetes.io/zone=b"))
	})

	It("fails for a machine type without Server labels", func() {
		_, err := capacity.PoolZones([]gardencorev1beta1.Worker{{Name: "x", Machine: gardencorev1beta1.Machine{Type: "unknown"}}}, profile, "r1")
		Expect(err).To(MatchError(ContainSubstring(`machine type "unknown" has no Server labels`)))
	})

	DescribeTable("counts a Server as available to the pool",
		func(mutate func(*metalv1alpha1.Server), available int32) {
			server := metalv1alpha1.Server{
				ObjectMeta: metav1.ObjectMeta{Name: "s", Labels: map[string]string{
					"size": "m1", metal.ZoneLabel: "a", metal.RegionLabel: "r1", metal.InstanceTypeLabel: "m1",
				}},
				Status: metalv1alpha1.ServerStatus{State: metalv1alpha1.ServerStateAvailable},
			}
			mutate(&server)
			pools, err := capacity.PoolZones(workers, profile, "r1")
			Expect(err).NotTo(HaveOccurred())
			counts := capacity.Count([]metalv1alpha1.Server{server}, pools[:1], "shoot-ns", sets.New("own"))
			Expect(counts).To(HaveLen(1))
			Expect(counts[0].Available).To(Equal(available))
		},
		Entry("Available and unclaimed", func(*metalv1alpha1.Server) {}, int32(1)),
		Entry("of another region", func(s *metalv1alpha1.Server) { s.Labels[metal.RegionLabel] = "r2" }, int32(0)),
		Entry("in maintenance", func(s *metalv1alpha1.Server) { s.Status.State = metalv1alpha1.ServerStateMaintenance }, int32(0)),
		Entry("unclaimable", func(s *metalv1alpha1.Server) { s.Spec.Unclaimable = true }, int32(0)),
		Entry("claimed by another shoot", func(s *metalv1alpha1.Server) {
			s.Spec.ServerClaimRef = &metalv1alpha1.ImmutableObjectReference{Namespace: "shoot-ns", Name: "theirs"}
		}, int32(0)),
		Entry("claimed by the shoot's own claim", func(s *metalv1alpha1.Server) {
			s.Status.State = metalv1alpha1.ServerStateReserved
			s.Spec.ServerClaimRef = &metalv1alpha1.ImmutableObjectReference{Namespace: "shoot-ns", Name: "own"}
		}, int32(1)),
		Entry("with a tolerated NoBind taint", func(s *metalv1alpha1.Server) {
			s.Spec.Taints = []metalv1alpha1.Taint{{Key: "burn-in", Effect: metalv1alpha1.TaintEffectNoBind}}
		}, int32(1)),
		Entry("with another NoBind taint", func(s *metalv1alpha1.Server) {
			s.Spec.Taints = []metalv1alpha1.Taint{{Key: "broken", Effect: metalv1alpha1.TaintEffectNoBind}}
		}, int32(0)),
	)
})
