package validation_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/gardener/gardener/pkg/apis/core"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
)

var _ = Describe("Machine data", func() {
	configPath := field.NewPath("spec", "provider", "workers").Index(0).Child("providerConfig")
	const path = "spec.provider.workers[0].providerConfig"

	// Before, nothing bounded what ends up in the machines' ignition Secret; a Secret over 1 MiB is refused by the
	// API server only when the driver creates the machine.
	DescribeTable("#ValidateMachineDataSize",
		func(data MachineData, expected ...types.GomegaMatcher) {
			expectErrors(ValidateMachineDataSize(data, configPath), expected)
		},
		Entry("nothing", MachineData{}),
		Entry("small Ignition and metadata", MachineData{
			ProfileIgnition: `{"ignition":{"version":"3.4.0"}}`,
			PoolIgnition:    `{"ignition":{"version":"3.4.0"}}`,
			Config:          &metal.WorkerConfig{Metadata: map[string]string{"rack": "7"}, IPAMConfig: []metal.IPAMConfig{{MetadataKey: "node-ip"}}},
		}),
		Entry("exactly the limit", MachineData{PoolIgnition: strings.Repeat("x", MaxMachineDataSize)}),
		Entry("pool Ignition over the limit", MachineData{PoolIgnition: strings.Repeat("x", MaxMachineDataSize+1)},
			fieldErr(field.ErrorTypeTooLong, path)),
		Entry("both Ignitions together over the limit", MachineData{
			ProfileIgnition: strings.Repeat("x", MaxMachineDataSize/2+1),
			PoolIgnition:    strings.Repeat("x", MaxMachineDataSize/2),
		}, fieldErr(field.ErrorTypeTooLong, path)),
		Entry("metadata over the limit once base64-encoded", MachineData{
			Config: &metal.WorkerConfig{Metadata: map[string]string{"blob": strings.Repeat("x", MaxMachineDataSize*3/4)}},
		}, fieldErr(field.ErrorTypeTooLong, path)),
	)

	It("leaves half of a Secret for the operating system's user data", func() {
		Expect(MaxMachineDataSize).To(Equal(512 * 1024))
	})

	It("says what takes the space", func() {
		errs := ValidateMachineDataSize(MachineData{PoolIgnition: strings.Repeat("x", MaxMachineDataSize+1)}, configPath)
		Expect(errs).To(HaveLen(1))
		Expect(errs[0].Detail).To(ContainSubstring("the pool's Ignition (524289 bytes)"))
	})

	DescribeTable("#ValidateWorkerZones",
		func(zones []string, expected ...types.GomegaMatcher) {
			workers := []core.Worker{{Name: "a", Zones: []string{"zone-a"}}, {Name: "b", Zones: zones}}
			expectErrors(ValidateWorkerZones(workers, []string{"zone-a", "zone-b"}, field.NewPath("spec", "provider", "workers")), expected)
		},
		Entry("zones of the region", []string{"zone-b", "zone-a"}),
		Entry("a zone of no region", []string{"zone-a", "zone-x"}, fieldErr(notSupported, "spec.provider.workers[1].zones[1]")),
	)
})
