package imagevector

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("ImageVector", func() {
	DescribeTable("finds every image the extension deploys",
		func(name, repository string) {
			image, err := ImageVector().FindImage(name)
			Expect(err).NotTo(HaveOccurred())
			Expect(image.String()).To(HavePrefix(repository + ":"))
		},
		// The CCM binary's image; ghcr.io/ironcore-dev/cloud-provider-metal is only its Helm chart.
		Entry(nil, ImageNameCloudControllerManager, "ghcr.io/ironcore-dev/metal-cloud-controller-manager"),
		Entry(nil, ImageNameMetalLoadBalancerControllerManager, "ghcr.io/ironcore-dev/metal-load-balancer-controller"),
		Entry(nil, ImageNameMetalLoadBalancerControllerSpeaker, "ghcr.io/ironcore-dev/metalbond-speaker"),
		Entry(nil, ImageNameMetalLBController, "quay.io/metallb/controller"),
		Entry(nil, ImageNameMetalLBSpeaker, "quay.io/metallb/speaker"),
		Entry(nil, ImageNameMachineControllerManagerProviderMetal, "ghcr.io/openkcm/machine-controller-manager-provider-metal"),
		Entry(nil, ImageNameGardenerExtensionProviderMetal, "ghcr.io/openkcm/gardener-extension-provider-metal"),
		Entry(nil, ImageNameGardenerExtensionAdmissionMetal, "ghcr.io/openkcm/gardener-extension-admission-metal"),
	)

	// The versions are chosen, not taken as they come: the CCM release that uses metal-operator's current
	// maintenance approval label, and the MetalLB release whose CRDs and RBAC the charts ship (hack/generate-metallb).
	DescribeTable("pins the upstream releases the charts are built for",
		func(name, reference string) {
			image, err := ImageVector().FindImage(name)
			Expect(err).NotTo(HaveOccurred())
			Expect(image.String()).To(Equal(reference))
		},
		Entry(nil, ImageNameCloudControllerManager, "ghcr.io/ironcore-dev/metal-cloud-controller-manager:v0.5.0"),
		Entry(nil, ImageNameMetalLBController, "quay.io/metallb/controller:v0.15.2"),
		Entry(nil, ImageNameMetalLBSpeaker, "quay.io/metallb/speaker:v0.15.2"),
	)

	It("applies the override file named by the environment variable", func() {
		override := filepath.Join(GinkgoT().TempDir(), "override.yaml")
		Expect(os.WriteFile(override, []byte(`images:
- name: cloud-controller-manager
  repository: registry.example.com/ccm
  tag: v9.9.9
`), 0o600)).To(Succeed())
		GinkgoT().Setenv("TEST_IMAGEVECTOR_OVERWRITE", override)

		vector, err := read(imagesYAML, "TEST_IMAGEVECTOR_OVERWRITE")
		Expect(err).NotTo(HaveOccurred())
		image, err := vector.FindImage(ImageNameCloudControllerManager)
		Expect(err).NotTo(HaveOccurred())
		Expect(image.String()).To(Equal("registry.example.com/ccm:v9.9.9"))
		// Images the override does not name keep their embedded reference.
		image, err = vector.FindImage(ImageNameMetalLBSpeaker)
		Expect(err).NotTo(HaveOccurred())
		Expect(image.String()).To(Equal("quay.io/metallb/speaker:v0.15.2"))
	})

	It("fails on an override file that does not exist", func() {
		GinkgoT().Setenv("TEST_IMAGEVECTOR_OVERWRITE", filepath.Join(GinkgoT().TempDir(), "missing.yaml"))
		_, err := read(imagesYAML, "TEST_IMAGEVECTOR_OVERWRITE")
		Expect(err).To(MatchError(ContainSubstring("TEST_IMAGEVECTOR_OVERWRITE")))
	})
})
