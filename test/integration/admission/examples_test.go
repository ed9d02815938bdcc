package admission_test

import (
	"path/filepath"
	"slices"

	"github.com/openkcm/gardener-extension-provider-metal/test/utils/manifests"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
		Expect(testClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:   examplesNamespace,
			Labels: map[string]string{"gardener.cloud/role": "project", "project.gardener.cloud/name": "examples"},
		}})).To(Succeed())
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
				manifests.LabelAsGardener(obj)
				Expect(testClient.Create(ctx, obj)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
			}
		})
	}

	It("are validated: a broken copy of the shoot example is rejected", func() {
		objs := mustRead(filepath.Join("..", "..", "..", "example", examplesSourceFolder, "40-shoot.yaml"))
		shoot := objs[0]
		relocate(shoot)
		manifests.LabelAsGardener(shoot)
		shoot.SetName("metal-broken")
		workers, _, err := unstructured.NestedSlice(shoot.Object, "spec", "provider", "workers")
		Expect(err).NotTo(HaveOccurred())
		Expect(unstructured.SetNestedField(workers[0].(map[string]any), "m9.huge", "machine", "type")).To(Succeed())
		Expect(unstructured.SetNestedSlice(shoot.Object, workers, "spec", "provider", "workers")).To(Succeed())

		Expect(testClient.Create(ctx, shoot)).To(MatchError(ContainSubstring("spec.provider.workers[0].machine.type")))
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

func mustRead(file string) []*unstructured.Unstructured {
	objs, err := manifests.Read(file, nil)
	Expect(err).NotTo(HaveOccurred())
	return objs
}
