package charts_test

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/version"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	gardencoreinstall "github.com/gardener/gardener/pkg/apis/core/install"
	gardencorev1 "github.com/gardener/gardener/pkg/apis/core/v1"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	operatorv1alpha1 "github.com/gardener/gardener/pkg/apis/operator/v1alpha1"
	securityinstall "github.com/gardener/gardener/pkg/apis/security/install"
	"github.com/gardener/gardener/pkg/chartrenderer"

	admissionapp "github.com/openkcm/gardener-extension-provider-metal/cmd/gardener-extension-admission-metal/app"
	"github.com/openkcm/gardener-extension-provider-metal/hack/generate-registration/registration"
	"github.com/openkcm/gardener-extension-provider-metal/imagevector"
	metalinstall "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/install"
)

var _ = Describe("Registration manifests", func() {
	It("are what `make generate` writes, so `make check-generate` fails on stale ones", func() {
		files, err := registration.Generate(repoRoot)
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(HaveKey(registration.ControllerRegistrationPath))
		Expect(files).To(HaveKey(registration.ExtensionPath))
		for path, generated := range files {
			committed, err := os.ReadFile(filepath.Join(repoRoot, path))
			Expect(err).NotTo(HaveOccurred())
			Expect(string(committed)).To(Equal(string(generated)), path+" is stale: run `make generate`")
		}
	})

	It("register the resources with a ControllerDeployment whose packed chart renders the extension", func() {
		gardenScheme := runtime.NewScheme()
		utilruntime.Must(gardencorev1.AddToScheme(gardenScheme))
		utilruntime.Must(gardencorev1beta1.AddToScheme(gardenScheme))
		decoder := serializer.NewCodecFactory(gardenScheme, serializer.EnableStrict).UniversalDeserializer()

		data, err := os.ReadFile(filepath.Join(repoRoot, registration.ControllerRegistrationPath))
		Expect(err).NotTo(HaveOccurred())
		docs := decodeAll(decoder, data)
		Expect(docs).To(HaveLen(2))
		deployment := docs[0].(*gardencorev1.ControllerDeployment)
		controllerRegistration := docs[1].(*gardencorev1beta1.ControllerRegistration)

		Expect(controllerRegistration.Spec.Resources).To(Equal(registration.Resources))
		Expect(controllerRegistration.Spec.Deployment.DeploymentRefs).To(ConsistOf(gardencorev1beta1.DeploymentRef{Name: deployment.Name}))

		var values map[string]any
		Expect(json.Unmarshal(deployment.Helm.Values.Raw, &values)).To(Succeed())
		Expect(values["image"]).To(HaveSuffix(":" + repoVersion()))

		rendered, err := chartrenderer.NewWithServerVersion(&version.Info{GitVersion: "v1.36.4"}).RenderArchive(deployment.Helm.RawChart, "provider-metal", "extension-provider-metal", values)
		Expect(err).NotTo(HaveOccurred())
		extension := only[*appsv1.Deployment](decode(string(rendered.Manifest())))
		Expect(extension.Spec.Template.Spec.Containers[0].Image).To(Equal(values["image"]))
	})

	It("declare the same resources and the published charts in the operator Extension", func() {
		operatorScheme := runtime.NewScheme()
		utilruntime.Must(operatorv1alpha1.AddToScheme(operatorScheme))
		decoder := serializer.NewCodecFactory(operatorScheme, serializer.EnableStrict).UniversalDeserializer()

		data, err := os.ReadFile(filepath.Join(repoRoot, registration.ExtensionPath))
		Expect(err).NotTo(HaveOccurred())
		docs := decodeAll(decoder, data)
		Expect(docs).To(HaveLen(1))
		extension := docs[0].(*operatorv1alpha1.Extension)
		Expect(extension.Spec.Resources).To(Equal(registration.Resources))
		for _, spec := range []*operatorv1alpha1.DeploymentSpec{
			&extension.Spec.Deployment.ExtensionDeployment.DeploymentSpec,
			extension.Spec.Deployment.AdmissionDeployment.RuntimeCluster,
			extension.Spec.Deployment.AdmissionDeployment.VirtualCluster,
		} {
			Expect(spec.Helm.OCIRepository.Tag).To(HaveValue(Equal(repoVersion())))
			Expect(spec.Helm.OCIRepository.Repository).To(HaveValue(HavePrefix(registration.ChartRepository + "/gardener-extension-")))
		}
	})
})

var _ = Describe("Images of the deployment charts", func() {
	DescribeTable("are the extension's own images in imagevector/images.yaml, tagged with VERSION",
		func(chartDir, imageName string) {
			deployment := only[*appsv1.Deployment](mustRender(renderHelmV3, chartDir, "garden", nil))
			image, err := imagevector.ImageVector().FindImage(imageName)
			Expect(err).NotTo(HaveOccurred())
			Expect(deployment.Spec.Template.Spec.Containers[0].Image).To(Equal(image.String()))
			Expect(image.Tag).To(HaveValue(Equal(repoVersion())))
		},
		Entry("the extension", providerChart, "gardener-extension-provider-metal"),
		Entry("the admission component", admissionRuntime, "gardener-extension-admission-metal"),
	)
})

var _ = Describe("Webhook configurations of the admission application chart", func() {
	var webhooks []*extensionswebhook.Webhook
	var mgr manager.Manager

	BeforeEach(func() {
		webhookScheme := runtime.NewScheme()
		utilruntime.Must(clientgoscheme.AddToScheme(webhookScheme))
		gardencoreinstall.Install(webhookScheme)
		securityinstall.Install(webhookScheme)
		utilruntime.Must(metalinstall.AddToScheme(webhookScheme))
		var err error
		mgr, err = manager.New(restConfig, manager.Options{Scheme: webhookScheme, Metrics: metricsserver.Options{BindAddress: "0"}})
		Expect(err).NotTo(HaveOccurred())

		switches := admissionapp.WebhookSwitchOptions()
		Expect(switches.Complete()).To(Succeed())
		webhooks, err = switches.Completed().WebhooksFactory(mgr)
		Expect(err).NotTo(HaveOccurred())
	})

	DescribeTable("equal those the admission component registers",
		func(mode, url string, values map[string]any) {
			built, _, err := extensionswebhook.BuildWebhookConfigs(webhooks, mgr.GetClient(), "garden", admissionapp.AdmissionName, false, 443, mode, url, nil, false)
			Expect(err).NotTo(HaveOccurred())

			for rendererName, render := range renderers {
				objects := mustRender(render, admissionApplication, "extension-provider-metal", values)
				validating := only[*admissionregistrationv1.ValidatingWebhookConfiguration](objects)
				mutating := only[*admissionregistrationv1.MutatingWebhookConfiguration](objects)

				Expect(validating.Name).To(Equal(built.ValidatingWebhookConfig.Name), rendererName)
				Expect(mutating.Name).To(Equal(built.MutatingWebhookConfig.Name), rendererName)
				Expect(validating.Labels).To(Satisfy(containsAll(built.ValidatingWebhookConfig.Labels)), rendererName)
				Expect(mutating.Labels).To(Satisfy(containsAll(built.MutatingWebhookConfig.Labels)), rendererName)
				Expect(normalizedValidating(validating.Webhooks)).To(Equal(normalizedValidating(built.ValidatingWebhookConfig.Webhooks)), rendererName)
				Expect(normalizedMutating(mutating.Webhooks)).To(Equal(normalizedMutating(built.MutatingWebhookConfig.Webhooks)), rendererName)
			}
		},
		Entry("service mode", extensionswebhook.ModeService, "", nil),
		Entry("URL mode (virtual garden)", extensionswebhook.ModeURL, "gardener-extension-admission-metal.garden",
			map[string]any{"webhookConfig": map[string]any{"mode": "url"}}),
		Entry("URL mode with an explicit URL", extensionswebhook.ModeURL, "admission.example.com:8443",
			map[string]any{"webhookConfig": map[string]any{"mode": "url", "url": "admission.example.com:8443"}}),
	)
})

func containsAll(want map[string]string) func(map[string]string) bool {
	return func(got map[string]string) bool {
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	}
}

// normalizedValidating sorts the webhooks by name and their rules by group and resource: the component builds
// them from Go maps, in no particular order.
func normalizedValidating(webhooks []admissionregistrationv1.ValidatingWebhook) []admissionregistrationv1.ValidatingWebhook {
	out := slices.Clone(webhooks)
	slices.SortFunc(out, func(a, b admissionregistrationv1.ValidatingWebhook) int { return cmp.Compare(a.Name, b.Name) })
	for i := range out {
		out[i].Rules = sortedRules(out[i].Rules)
	}
	return out
}

func normalizedMutating(webhooks []admissionregistrationv1.MutatingWebhook) []admissionregistrationv1.MutatingWebhook {
	out := slices.Clone(webhooks)
	slices.SortFunc(out, func(a, b admissionregistrationv1.MutatingWebhook) int { return cmp.Compare(a.Name, b.Name) })
	for i := range out {
		out[i].Rules = sortedRules(out[i].Rules)
	}
	return out
}

func sortedRules(rules []admissionregistrationv1.RuleWithOperations) []admissionregistrationv1.RuleWithOperations {
	out := slices.Clone(rules)
	slices.SortFunc(out, func(a, b admissionregistrationv1.RuleWithOperations) int {
		return cmp.Or(cmp.Compare(a.APIGroups[0], b.APIGroups[0]), cmp.Compare(a.Resources[0], b.Resources[0]))
	})
	return out
}

func decodeAll(decoder runtime.Decoder, data []byte) []runtime.Object {
	var objects []runtime.Object
	for _, doc := range splitDocuments(string(data)) {
		obj, _, err := decoder.Decode([]byte(doc), nil, nil)
		Expect(err).NotTo(HaveOccurred())
		objects = append(objects, obj)
	}
	return objects
}

// repoVersion is the version in the repository's VERSION file.
func repoVersion() string {
	data, err := os.ReadFile(filepath.Join(repoRoot, "VERSION"))
	Expect(err).NotTo(HaveOccurred())
	return strings.TrimSpace(string(data))
}
