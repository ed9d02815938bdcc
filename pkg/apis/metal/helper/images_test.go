package helper_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
)

var _ = Describe("Image lookups", func() {
	definitions := []gardencorev1beta1.CapabilityDefinition{
		{Name: "architecture", Values: []string{"amd64", "arm64"}},
		{Name: "secureBoot", Values: []string{"true", "false"}},
	}

	Describe("#FindImageForArchitecture", func() {
		cfg := &metal.CloudProfileConfig{MachineImages: []metal.MachineImages{{
			Name: "gardenlinux",
			Versions: []metal.MachineImageVersion{
				{Version: "1.0", Image: "r.io/gl:1.0-amd64", Architecture: ptr.To("amd64")},
				{Version: "1.0", Image: "r.io/gl:1.0-arm64", Architecture: ptr.To("arm64")},
				{Version: "2.0", Image: "r.io/gl:2.0"},
			},
		}}}

		DescribeTable("finds the entry of the architecture",
			func(version, arch, expected string) {
				image, ok := FindImageForArchitecture(cfg, "gardenlinux", version, arch)
				Expect(ok).To(Equal(expected != ""))
				Expect(image).To(Equal(expected))
			},
			Entry("amd64 entry", "1.0", "amd64", "r.io/gl:1.0-amd64"),
			Entry("arm64 entry, listed second", "1.0", "arm64", "r.io/gl:1.0-arm64"),
			Entry("no architecture means amd64", "2.0", "amd64", "r.io/gl:2.0"),
			Entry("no arm64 entry of the version", "2.0", "arm64", ""),
			Entry("unknown version", "3.0", "amd64", ""),
		)

		It("tolerates a nil config", func() {
			_, ok := FindImageForArchitecture(nil, "gardenlinux", "1.0", "amd64")
			Expect(ok).To(BeFalse())
		})
	})

	Describe("#FindImageFlavor", func() {
		cfg := &metal.CloudProfileConfig{MachineImages: []metal.MachineImages{{
			Name: "gardenlinux",
			Versions: []metal.MachineImageVersion{{
				Version: "1.0",
				CapabilityFlavors: []metal.MachineImageFlavor{
					{Image: "r.io/gl:1.0-arm64", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"arm64"}}},
					{Image: "r.io/gl:1.0-amd64-sb", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"amd64"}, "secureBoot": {"true"}}},
					{Image: "r.io/gl:1.0-amd64", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"amd64"}, "secureBoot": {"false"}}},
				},
			}, {
				Version: "2.0", Image: "r.io/gl:2.0",
			}},
		}}}

		DescribeTable("matches the machine's capabilities",
			func(version string, machine gardencorev1beta1.Capabilities, expected string) {
				flavor, found, err := FindImageFlavor(cfg, "gardenlinux", version, machine, definitions)
				Expect(err).NotTo(HaveOccurred())
				Expect(found).To(BeTrue())
				Expect(flavor.Image).To(Equal(expected))
			},
			Entry("architecture decides", "1.0", gardencorev1beta1.Capabilities{"architecture": {"arm64"}}, "r.io/gl:1.0-arm64"),
			Entry("the preferred value wins among compatible flavors", "1.0", gardencorev1beta1.Capabilities{"architecture": {"amd64"}}, "r.io/gl:1.0-amd64-sb"),
			Entry("an explicit capability narrows the flavors", "1.0", gardencorev1beta1.Capabilities{"architecture": {"amd64"}, "secureBoot": {"false"}}, "r.io/gl:1.0-amd64"),
			Entry("a plain image supports every capability", "2.0", gardencorev1beta1.Capabilities{"architecture": {"arm64"}}, "r.io/gl:2.0"),
		)

		It("reports a listed version without a fitting flavor as an error", func() {
			cfg := &metal.CloudProfileConfig{MachineImages: []metal.MachineImages{{Name: "gl", Versions: []metal.MachineImageVersion{{
				Version:           "1.0",
				CapabilityFlavors: []metal.MachineImageFlavor{{Image: "r.io/gl:1.0", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"amd64"}}}},
			}}}}}
			_, found, err := FindImageFlavor(cfg, "gl", "1.0", gardencorev1beta1.Capabilities{"architecture": {"arm64"}}, definitions)
			Expect(found).To(BeTrue())
			Expect(err).To(MatchError(ContainSubstring("no flavor for capabilities")))
		})

		It("reports an unlisted version as not found", func() {
			_, found, err := FindImageFlavor(cfg, "gardenlinux", "9.9", nil, definitions)
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(BeFalse())
		})
	})

	Describe("status lookups", func() {
		status := &metal.WorkerStatus{MachineImages: []metal.MachineImage{
			{Name: "gl", Version: "1.0", Image: "r.io/gl:1.0-arm64", Architecture: ptr.To("arm64")},
			{Name: "gl", Version: "1.0", Image: "r.io/gl:1.0-amd64", Architecture: ptr.To("amd64")},
			{Name: "gl", Version: "2.0", Image: "r.io/gl:2.0-arm64", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"arm64"}}},
			{Name: "gl", Version: "2.0", Image: "r.io/gl:2.0-amd64", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"amd64"}}},
		}}

		It("finds an image by architecture", func() {
			image, ok := FindImageInStatusForArchitecture(status, "gl", "1.0", "amd64")
			Expect(ok).To(BeTrue())
			Expect(image.Image).To(Equal("r.io/gl:1.0-amd64"))
			_, ok = FindImageInStatusForArchitecture(status, "gl", "1.1", "amd64")
			Expect(ok).To(BeFalse())
			_, ok = FindImageInStatusForArchitecture(nil, "gl", "1.0", "amd64")
			Expect(ok).To(BeFalse())
		})

		It("finds an image by capabilities", func() {
			image, ok := FindImageInStatusForCapabilities(status, "gl", "2.0", gardencorev1beta1.Capabilities{"architecture": {"amd64"}}, definitions)
			Expect(ok).To(BeTrue())
			Expect(image.Image).To(Equal("r.io/gl:2.0-amd64"))
			_, ok = FindImageInStatusForCapabilities(status, "gl", "3.0", gardencorev1beta1.Capabilities{"architecture": {"amd64"}}, definitions)
			Expect(ok).To(BeFalse())
		})
	})
})
