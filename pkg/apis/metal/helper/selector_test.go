package helper_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
)

var _ = Describe("#ServerSelectorLabels", func() {
	machineType := &metal.MachineType{Name: "m1", ServerLabels: map[string]string{"metal.ironcore.dev/instance-type": "m1"}}
	extraPath := field.NewPath("providerConfig", "extraServerLabels")

	DescribeTable("the labels a Server must carry",
		func(extra map[string]string, region string, expected map[string]string) {
			Expect(ServerSelectorLabels(machineType, extra, region, "a", extraPath)).To(Equal(expected))
		},
		Entry("machine type, zone and region", nil, "r1", map[string]string{
			"metal.ironcore.dev/instance-type": "m1",
			"topology.kubernetes.io/zone":      "a",
			"topology.kubernetes.io/region":    "r1",
		}),
		Entry("extra labels add to them", map[string]string{"rack": "1"}, "r1", map[string]string{
			"metal.ironcore.dev/instance-type": "m1",
			"topology.kubernetes.io/zone":      "a",
			"topology.kubernetes.io/region":    "r1",
			"rack":                             "1",
		}),
		Entry("an extra label repeating a required one", map[string]string{"topology.kubernetes.io/region": "r1"}, "r1", map[string]string{
			"metal.ironcore.dev/instance-type": "m1",
			"topology.kubernetes.io/zone":      "a",
			"topology.kubernetes.io/region":    "r1",
		}),
		Entry("no region, no region requirement", nil, "", map[string]string{
			"metal.ironcore.dev/instance-type": "m1",
			"topology.kubernetes.io/zone":      "a",
		}),
	)

	DescribeTable("an extra label contradicting a required one",
		func(key string) {
			_, err := ServerSelectorLabels(machineType, map[string]string{key: "other"}, "r1", "a", extraPath)
			Expect(err).To(MatchError(ContainSubstring("providerConfig.extraServerLabels[" + key + "]")))
		},
		Entry("machine type label", "metal.ironcore.dev/instance-type"),
		Entry("zone", "topology.kubernetes.io/zone"),
		Entry("region", "topology.kubernetes.io/region"),
	)

	It("does not modify the machine type", func() {
		_, err := ServerSelectorLabels(machineType, map[string]string{"rack": "1"}, "r1", "a", extraPath)
		Expect(err).NotTo(HaveOccurred())
		Expect(machineType.ServerLabels).To(HaveLen(1))
	})
})
