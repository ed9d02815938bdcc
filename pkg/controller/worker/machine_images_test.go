package worker

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

var _ = Describe("Machine images", func() {
	definitions := []gardencorev1beta1.CapabilityDefinition{
		{Name: "architecture", Values: []string{"amd64", "arm64"}},
	}

	Describe("without capabilities", func() {
		profile := &api.CloudProfileConfig{MachineImages: []api.MachineImages{{
			Name: "gl",
			Versions: []api.MachineImageVersion{
				{Version: "1.0", Image: "r.io/gl:1.0-amd64", Architecture: ptr.To("amd64")},
				{Version: "1.0", Image: "r.io/gl:1.0-arm64", Architecture: ptr.To("arm64")},
			},
		}}}

		It("picks the entry of the pool's architecture", func() {
			image, err := resolveImage(profile, nil, imageRequest{name: "gl", version: "1.0", architecture: "arm64"})
			Expect(err).NotTo(HaveOccurred())
			Expect(image).To(Equal(api.MachineImage{Name: "gl", Version: "1.0", Image: "r.io/gl:1.0-arm64", Architecture: ptr.To("arm64")}))
		})

		It("falls back to the image recorded in the status when the version left the CloudProfile", func() {
			status := &api.WorkerStatus{MachineImages: []api.MachineImage{
				{Name: "gl", Version: "0.9", Image: "r.io/gl:0.9-arm64", Architecture: ptr.To("arm64")},
				{Name: "gl", Version: "0.9", Image: "r.io/gl:0.9-amd64", Architecture: ptr.To("amd64")},
			}}
			image, err := resolveImage(profile, status, imageRequest{name: "gl", version: "0.9", architecture: "amd64"})
			Expect(err).NotTo(HaveOccurred())
			Expect(image.Image).To(Equal("r.io/gl:0.9-amd64"))
		})

		It("prefers the CloudProfile over the status", func() {
			status := &api.WorkerStatus{MachineImages: []api.MachineImage{{Name: "gl", Version: "1.0", Image: "r.io/old", Architecture: ptr.To("amd64")}}}
			image, err := resolveImage(profile, status, imageRequest{name: "gl", version: "1.0", architecture: "amd64"})
			Expect(err).NotTo(HaveOccurred())
			Expect(image.Image).To(Equal("r.io/gl:1.0-amd64"))
		})

		It("reports a missing image as a configuration problem", func() {
			_, err := resolveImage(profile, nil, imageRequest{name: "gl", version: "2.0", architecture: "amd64"})
			Expect(err).To(MatchError(ContainSubstring("could not find machine image for gl/2.0/amd64")))
			Expect(v1beta1helper.ExtractErrorCodes(err)).To(ConsistOf(gardencorev1beta1.ErrorConfigurationProblem))
		})
	})

	Describe("with capabilities", func() {
		profile := &api.CloudProfileConfig{MachineImages: []api.MachineImages{{
			Name: "gl",
			Versions: []api.MachineImageVersion{{Version: "1.0", CapabilityFlavors: []api.MachineImageFlavor{
				{Image: "r.io/gl:1.0-amd64", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"amd64"}}},
				{Image: "r.io/gl:1.0-arm64", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"arm64"}}},
			}}},
		}}}

		It("picks the flavor of the machine type's capabilities", func() {
			image, err := resolveImage(profile, nil, imageRequest{name: "gl", version: "1.0", definitions: definitions,
				capabilities: gardencorev1beta1.Capabilities{"architecture": {"arm64"}}})
			Expect(err).NotTo(HaveOccurred())
			Expect(image).To(Equal(api.MachineImage{Name: "gl", Version: "1.0", Image: "r.io/gl:1.0-arm64",
				Capabilities: gardencorev1beta1.Capabilities{"architecture": {"arm64"}}}))
		})

		It("falls back to the status by capabilities", func() {
			status := &api.WorkerStatus{MachineImages: []api.MachineImage{
				{Name: "gl", Version: "0.9", Image: "r.io/gl:0.9-amd64", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"amd64"}}},
				{Name: "gl", Version: "0.9", Image: "r.io/gl:0.9-arm64", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"arm64"}}},
			}}
			image, err := resolveImage(profile, status, imageRequest{name: "gl", version: "0.9", definitions: definitions,
				capabilities: gardencorev1beta1.Capabilities{"architecture": {"arm64"}}})
			Expect(err).NotTo(HaveOccurred())
			Expect(image.Image).To(Equal("r.io/gl:0.9-arm64"))
		})

		It("derives the request from the machine type, adding the pool's architecture when the type has none", func() {
			cloudProfile := &gardencorev1beta1.CloudProfile{Spec: gardencorev1beta1.CloudProfileSpec{
				MachineCapabilities: definitions,
				MachineTypes: []gardencorev1beta1.MachineType{
					{Name: "big", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"arm64"}}},
					{Name: "plain"},
				},
			}}
			pool := extensionsv1alpha1.WorkerPool{MachineType: "big", MachineImage: extensionsv1alpha1.MachineImage{Name: "gl", Version: "1.0"}}
			Expect(poolImageRequest(pool, cloudProfile).capabilities).To(Equal(gardencorev1beta1.Capabilities{"architecture": {"arm64"}}))
			pool.MachineType, pool.Architecture = "plain", ptr.To("arm64")
			Expect(poolImageRequest(pool, cloudProfile).capabilities).To(Equal(gardencorev1beta1.Capabilities{"architecture": {"arm64"}}))
		})
	})

	It("records each image once", func() {
		a := api.MachineImage{Name: "gl", Version: "1.0", Image: "r.io/a", Architecture: ptr.To("amd64")}
		b := api.MachineImage{Name: "gl", Version: "1.0", Image: "r.io/b", Architecture: ptr.To("arm64")}
		Expect(appendImage(appendImage(appendImage(nil, a), b), *a.DeepCopy())).To(Equal([]api.MachineImage{a, b}))
	})
})
