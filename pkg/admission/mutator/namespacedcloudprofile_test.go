package mutator_test

import (
	"context"
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/admission/mutator"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
)

var architectureCapabilities = []gardencorev1beta1.CapabilityDefinition{{Name: "architecture", Values: []string{"amd64", "arm64"}}}

func legacyVersion(version, image, architecture string) v1alpha1.MachineImageVersion {
	return v1alpha1.MachineImageVersion{Version: version, Image: image, Architecture: ptr.To(architecture)}
}

func flavorVersion(version, image, architecture string) v1alpha1.MachineImageVersion {
	return v1alpha1.MachineImageVersion{Version: version, CapabilityFlavors: []v1alpha1.MachineImageFlavor{{
		Image:        image,
		Capabilities: gardencorev1beta1.Capabilities{"architecture": []string{architecture}},
	}}}
}

var _ = Describe("TransformProviderConfigToParentFormat", func() {
	It("turns image and architecture into a capability flavor when the parent defines capabilities", func() {
		config := &v1alpha1.CloudProfileConfig{MachineImages: []v1alpha1.MachineImages{{
			Name:     "gardenlinux",
			Versions: []v1alpha1.MachineImageVersion{legacyVersion("1.0", "registry/gl:1.0-arm", "arm64")},
		}}}

		mutator.TransformProviderConfigToParentFormat(config, architectureCapabilities)

		Expect(config.MachineImages[0].Versions).To(Equal([]v1alpha1.MachineImageVersion{flavorVersion("1.0", "registry/gl:1.0-arm", "arm64")}))
	})

	It("assumes amd64 for a legacy version without architecture", func() {
		config := &v1alpha1.CloudProfileConfig{MachineImages: []v1alpha1.MachineImages{{
			Name:     "gardenlinux",
			Versions: []v1alpha1.MachineImageVersion{{Version: "1.0", Image: "registry/gl:1.0"}},
		}}}

		mutator.TransformProviderConfigToParentFormat(config, architectureCapabilities)

		Expect(config.MachineImages[0].Versions).To(Equal([]v1alpha1.MachineImageVersion{flavorVersion("1.0", "registry/gl:1.0", "amd64")}))
	})

	It("keeps capability flavors when the parent defines capabilities", func() {
		versions := []v1alpha1.MachineImageVersion{flavorVersion("1.0", "registry/gl:1.0", "amd64")}
		config := &v1alpha1.CloudProfileConfig{MachineImages: []v1alpha1.MachineImages{{Name: "gardenlinux", Versions: versions}}}

		mutator.TransformProviderConfigToParentFormat(config, architectureCapabilities)

		Expect(config.MachineImages[0].Versions).To(Equal([]v1alpha1.MachineImageVersion{flavorVersion("1.0", "registry/gl:1.0", "amd64")}))
	})

	It("turns capability flavors into image and architecture when the parent defines no capabilities", func() {
		config := &v1alpha1.CloudProfileConfig{MachineImages: []v1alpha1.MachineImages{{
			Name:     "gardenlinux",
			Versions: []v1alpha1.MachineImageVersion{flavorVersion("1.0", "registry/gl:1.0-arm", "arm64")},
		}}}

		mutator.TransformProviderConfigToParentFormat(config, nil)

		Expect(config.MachineImages[0].Versions).To(Equal([]v1alpha1.MachineImageVersion{legacyVersion("1.0", "registry/gl:1.0-arm", "arm64")}))
	})
})

var _ = Describe("MergeProviderConfigs", func() {
	It("puts the namespaced entries first, lets them win and keeps the parent's other entries and fields", func() {
		namespaced := &v1alpha1.CloudProfileConfig{
			MachineImages: []v1alpha1.MachineImages{
				{Name: "custom", Versions: []v1alpha1.MachineImageVersion{legacyVersion("2.0", "registry/custom:2.0", "amd64")}},
				{Name: "gardenlinux", Versions: []v1alpha1.MachineImageVersion{legacyVersion("1.0", "registry/gl:1.0-ns", "amd64")}},
			},
			MachineTypes: []v1alpha1.MachineType{{Name: "big", ServerLabels: map[string]string{"size": "big-ns"}}},
		}
		parent := &v1alpha1.CloudProfileConfig{
			MachineImages: []v1alpha1.MachineImages{{Name: "gardenlinux", Versions: []v1alpha1.MachineImageVersion{
				legacyVersion("1.0", "registry/gl:1.0", "amd64"),
				legacyVersion("1.1", "registry/gl:1.1", "amd64"),
			}}},
			MachineTypes:  []v1alpha1.MachineType{{Name: "big", ServerLabels: map[string]string{"size": "big"}}, {Name: "small", ServerLabels: map[string]string{"size": "small"}}},
			RegionConfigs: []v1alpha1.RegionConfig{{Name: "region-a", Server: "https://metal.example.com"}},
			DNSServers:    []string{"192.0.2.53"},
		}
		parentBefore := parent.DeepCopy()

		merged := mutator.MergeProviderConfigs(namespaced, parent)

		Expect(merged.MachineImages).To(Equal([]v1alpha1.MachineImages{
			{Name: "custom", Versions: []v1alpha1.MachineImageVersion{legacyVersion("2.0", "registry/custom:2.0", "amd64")}},
			{Name: "gardenlinux", Versions: []v1alpha1.MachineImageVersion{
				legacyVersion("1.0", "registry/gl:1.0-ns", "amd64"),
				legacyVersion("1.1", "registry/gl:1.1", "amd64"),
			}},
		}))
		Expect(merged.MachineTypes).To(Equal([]v1alpha1.MachineType{
			{Name: "big", ServerLabels: map[string]string{"size": "big-ns"}},
			{Name: "small", ServerLabels: map[string]string{"size": "small"}},
		}))
		Expect(merged.RegionConfigs).To(Equal(parent.RegionConfigs))
		Expect(merged.DNSServers).To(Equal(parent.DNSServers))
		Expect(parent).To(Equal(parentBefore))
	})
})

var _ = Describe("NamespacedCloudProfile mutator", func() {
	var (
		ctx     = context.Background()
		mut     extensionswebhook.Mutator
		profile *gardencorev1beta1.NamespacedCloudProfile
	)

	rawConfig := func(config string) *runtime.RawExtension {
		return &runtime.RawExtension{Raw: []byte(`{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"CloudProfileConfig",` + config + `}`)}
	}

	decodeStatusConfig := func() *v1alpha1.CloudProfileConfig {
		config := &v1alpha1.CloudProfileConfig{}
		Expect(json.Unmarshal(profile.Status.CloudProfileSpec.ProviderConfig.Raw, config)).To(Succeed())
		return config
	}

	BeforeEach(func() {
		mut = mutator.NewNamespacedCloudProfileMutator()
		profile = &gardencorev1beta1.NamespacedCloudProfile{
			ObjectMeta: metav1.ObjectMeta{Name: "custom", Namespace: "garden-dev", Generation: 2},
			Spec: gardencorev1beta1.NamespacedCloudProfileSpec{
				Parent: gardencorev1beta1.CloudProfileReference{Kind: "CloudProfile", Name: "metal"},
				ProviderConfig: rawConfig(`"machineImages":[{"name":"gardenlinux","versions":[{"version":"2.0","image":"registry/gl:2.0","architecture":"arm64"}]}],` +
					`"machineTypes":[{"name":"custom","serverLabels":{"size":"custom"}}]`),
			},
			Status: gardencorev1beta1.NamespacedCloudProfileStatus{
				ObservedGeneration: 2,
				CloudProfileSpec: gardencorev1beta1.CloudProfileSpec{
					Type:                "metal",
					MachineCapabilities: architectureCapabilities,
					ProviderConfig: rawConfig(`"machineImages":[{"name":"gardenlinux","versions":[{"version":"1.0","capabilityFlavors":[{"image":"registry/gl:1.0","capabilities":{"architecture":["amd64"]}}]}]}],` +
						`"machineTypes":[{"name":"standard","serverLabels":{"size":"standard"}}],` +
						`"regionConfigs":[{"name":"region-a","server":"https://metal.example.com"}]`),
				},
			},
		}
	})

	It("merges the spec's images as capability flavors and its machine types into the status", func() {
		Expect(mut.Mutate(ctx, profile, nil)).To(Succeed())

		config := decodeStatusConfig()
		Expect(config.APIVersion).To(Equal("metal.provider.extensions.gardener.cloud/v1alpha1"))
		Expect(config.Kind).To(Equal("CloudProfileConfig"))
		Expect(config.MachineImages).To(Equal([]v1alpha1.MachineImages{{Name: "gardenlinux", Versions: []v1alpha1.MachineImageVersion{
			flavorVersion("2.0", "registry/gl:2.0", "arm64"),
			flavorVersion("1.0", "registry/gl:1.0", "amd64"),
		}}}))
		Expect(config.MachineTypes).To(Equal([]v1alpha1.MachineType{
			{Name: "custom", ServerLabels: map[string]string{"size": "custom"}},
			{Name: "standard", ServerLabels: map[string]string{"size": "standard"}},
		}))
		Expect(config.RegionConfigs).To(Equal([]v1alpha1.RegionConfig{{Name: "region-a", Server: "https://metal.example.com"}}))
	})

	It("keeps the legacy format when the parent defines no capabilities", func() {
		profile.Status.CloudProfileSpec.MachineCapabilities = nil
		profile.Status.CloudProfileSpec.ProviderConfig = rawConfig(`"machineImages":[],"machineTypes":[],"regionConfigs":[]`)

		Expect(mut.Mutate(ctx, profile, nil)).To(Succeed())

		Expect(decodeStatusConfig().MachineImages).To(Equal([]v1alpha1.MachineImages{{Name: "gardenlinux", Versions: []v1alpha1.MachineImageVersion{
			legacyVersion("2.0", "registry/gl:2.0", "arm64"),
		}}}))
	})

	DescribeTable("leaves the status alone",
		func(change func()) {
			change()
			before := profile.DeepCopy()
			Expect(mut.Mutate(ctx, profile, nil)).To(Succeed())
			Expect(profile).To(Equal(before))
		},
		Entry("while the profile is being deleted", func() { profile.DeletionTimestamp = &metav1.Time{} }),
		Entry("while the status belongs to an older generation", func() { profile.Status.ObservedGeneration = 1 }),
		Entry("without a providerConfig in the spec", func() { profile.Spec.ProviderConfig = nil }),
		Entry("without a providerConfig in the status", func() { profile.Status.CloudProfileSpec.ProviderConfig = nil }),
	)

	It("refuses a spec providerConfig that cannot be decoded", func() {
		profile.Spec.ProviderConfig = rawConfig(`"machineImagez":[]`)

		Expect(mut.Mutate(ctx, profile, nil)).To(MatchError(ContainSubstring("could not decode spec.providerConfig of NamespacedCloudProfile garden-dev/custom")))
	})
})
