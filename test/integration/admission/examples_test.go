package admission_test

import (
	"path/filepath"
	"slices"

	"github.com/openkcm/gardener-extension-provider-metal/test/utils/manifests"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const (
	// The suite's own objects live in the project namespace garden-dev and use the CloudProfile "metal"; the
	// examples move into a project namespace and CloudProfile name of their own so that both coexist.
	examplesNamespace    = "garden-examples"
	exampleCloudProfile  = "metal-example"
	examplesSourceFolder = "garden"
)

var _ = Describe("The examples in example/garden", Ordered, func() {
	BeforeAll(func() {
		createProject("examples", examplesNamespace)
	})

	files, err := filepath.Glob(filepath.Join("..", "..", "..", "example", examplesSourceFolder, "*.yaml"))
	if err != nil || len(files) == 0 {
		Fail("no examples found in example/" + examplesSourceFolder)
	}
	slices.Sort(files)
	for _, file := range files {
		It("are admitted: "+filepath.Base(file), func() {
			for _, obj := range mustRead(file) {
				relocate(obj)
				labelSecret(obj)
				// Through the gardener-apiserver with all its admission plugins and then our webhooks.
				Expect(testClient.Create(ctx, obj)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
			}
		})
	}

	It("are validated: a copy of the shoot example whose MetalLB pool reaches into the nodes network is rejected", func() {
		objs := mustRead(filepath.Join("..", "..", "..", "example", examplesSourceFolder, "40-shoot.yaml"))
		shoot := objs[0]
		relocate(shoot)
		shoot.SetName("metal-broken")
		pools := []any{map[string]any{"name": "public", "addresses": []any{"10.250.200.0/24"}}}
		Expect(unstructured.SetNestedSlice(shoot.Object, pools, "spec", "provider", "controlPlaneConfig", "loadBalancer", "metallb", "ipAddressPools")).To(Succeed())

		Expect(testClient.Create(ctx, shoot)).To(MatchError(ContainSubstring(
			`spec.provider.controlPlaneConfig.loadBalancer.metallb.ipAddressPools[0].addresses[0]: Invalid value: "10.250.200.0/24": must not overlap with spec.networking.nodes`)))
	})
})

// relocate moves an example into the examples' project namespace and CloudProfile name.
func relocate(obj *unstructured.Unstructured) {
	if obj.GetNamespace() != "" {
		obj.SetNamespace(examplesNamespace)
	}
	switch obj.GetKind() {
	case "CloudProfile":
		obj.SetName(exampleCloudProfile)
	case "Shoot":
		Expect(unstructured.SetNestedField(obj.Object, exampleCloudProfile, "spec", "cloudProfile", "name")).To(Succeed())
	case "CredentialsBinding":
		Expect(unstructured.SetNestedField(obj.Object, examplesNamespace, "credentialsRef", "namespace")).To(Succeed())
	}
}

// labelSecret sets the label Gardener's controllers put on the Secrets a binding or DNS provider references; the
// gardener-controller-manager does not run here. The gardener-apiserver labels its own kinds itself.
func labelSecret(obj *unstructured.Unstructured) {
	if obj.GetKind() == "Secret" {
		manifests.LabelAsGardener(obj)
	}
}

func mustRead(file string) []*unstructured.Unstructured {
	objs, err := manifests.Read(file, nil)
	Expect(err).NotTo(HaveOccurred())
	return objs
}
