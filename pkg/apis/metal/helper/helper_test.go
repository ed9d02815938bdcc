package helper_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
)

var _ = Describe("Lookups", func() {
	cfg := &metal.CloudProfileConfig{
		MachineImages: []metal.MachineImages{{
			Name: "gardenlinux",
			Versions: []metal.MachineImageVersion{
				{Version: "1.0", Image: "ghcr.io/a/gl:1.0-amd64", Architecture: ptr.To("amd64")},
				{Version: "1.0", Image: "ghcr.io/a/gl:1.0-arm64", Architecture: ptr.To("arm64")},
				{Version: "2.0", Image: "ghcr.io/a/gl:2.0"},
			},
		}},
		MachineTypes:  []metal.MachineType{{Name: "m1", ServerLabels: map[string]string{"t": "m1"}}, {Name: "m2"}},
		RegionConfigs: []metal.RegionConfig{{Name: "r1", Server: "https://r1"}, {Name: "r2", Server: "https://r2"}},
	}

	DescribeTable("#FindMachineType",
		func(c *metal.CloudProfileConfig, name string, expected *metal.MachineType) {
			mt, ok := FindMachineType(c, name)
			Expect(ok).To(Equal(expected != nil))
			Expect(mt).To(Equal(expected))
		},
		Entry("found", cfg, "m1", &metal.MachineType{Name: "m1", ServerLabels: map[string]string{"t": "m1"}}),
		Entry("second", cfg, "m2", &metal.MachineType{Name: "m2"}),
		Entry("missing", cfg, "m3", nil),
		Entry("nil config", nil, "m1", nil),
	)

	DescribeTable("#FindRegionConfig",
		func(c *metal.CloudProfileConfig, name string, expected *metal.RegionConfig) {
			rc, ok := FindRegionConfig(c, name)
			Expect(ok).To(Equal(expected != nil))
			Expect(rc).To(Equal(expected))
		},
		Entry("found", cfg, "r2", &metal.RegionConfig{Name: "r2", Server: "https://r2"}),
		Entry("missing", cfg, "r3", nil),
		Entry("nil config", nil, "r1", nil),
	)

	DescribeTable("#FindMachineImageVersion",
		func(c *metal.CloudProfileConfig, name, version, expectedImage string) {
			v, ok := FindMachineImageVersion(c, name, version)
			Expect(ok).To(Equal(expectedImage != ""))
			if expectedImage != "" {
				Expect(v.Image).To(Equal(expectedImage))
			}
		},
		Entry("first entry of a version", cfg, "gardenlinux", "1.0", "ghcr.io/a/gl:1.0-amd64"),
		Entry("other version", cfg, "gardenlinux", "2.0", "ghcr.io/a/gl:2.0"),
		Entry("missing version", cfg, "gardenlinux", "3.0", ""),
		Entry("missing image", cfg, "flatcar", "1.0", ""),
		Entry("nil config", nil, "gardenlinux", "1.0", ""),
	)

	It("should return pointers into the config", func() {
		mt, _ := FindMachineType(cfg, "m1")
		Expect(mt).To(BeIdenticalTo(&cfg.MachineTypes[0]))
	})

	DescribeTable("#LocalStorageEnabled",
		func(c *metal.ControlPlaneConfig, expected bool) {
			Expect(LocalStorageEnabled(c)).To(Equal(expected))
		},
		Entry("nil config", nil, true),
		Entry("nil storage", &metal.ControlPlaneConfig{}, true),
		Entry("nil local", &metal.ControlPlaneConfig{Storage: &metal.StorageConfig{}}, true),
		Entry("nil enabled", &metal.ControlPlaneConfig{Storage: &metal.StorageConfig{Local: &metal.LocalStorageConfig{}}}, true),
		Entry("enabled", &metal.ControlPlaneConfig{Storage: &metal.StorageConfig{Local: &metal.LocalStorageConfig{Enabled: ptr.To(true)}}}, true),
		Entry("disabled", &metal.ControlPlaneConfig{Storage: &metal.StorageConfig{Local: &metal.LocalStorageConfig{Enabled: ptr.To(false)}}}, false),
	)
})
