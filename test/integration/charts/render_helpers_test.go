package charts_test

import (
	"bytes"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/gomega"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/version"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gardener/gardener/pkg/chartrenderer"

	"github.com/openkcm/gardener-extension-provider-metal/hack/generate-registration/registration"
)

// strictDecoder fails on unknown and duplicate fields, so a misspelt or misplaced field in a template fails the test
// instead of being dropped by the API server.
var strictDecoder = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

// renderer renders a chart directory with the given release namespace and values into typed objects.
type renderer func(chartDir, namespace string, values map[string]any) ([]client.Object, error)

// mustRender renders and fails the spec on a rendering error.
func mustRender(render renderer, chartDir, namespace string, values map[string]any) []client.Object {
	objects, err := render(chartDir, namespace, values)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return objects
}

// renderHelmV3 renders with the Helm v3 engine, as `helm template` and `helm install` do.
func renderHelmV3(chartDir, namespace string, values map[string]any) ([]client.Object, error) {
	chart, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	renderValues, err := chartutil.ToRenderValues(chart, values, chartutil.ReleaseOptions{Name: "provider-metal", Namespace: namespace, IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(chart, renderValues)
	if err != nil {
		return nil, err
	}

	var manifests []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if strings.HasSuffix(name, ".yaml") {
			manifests = append(manifests, files[name])
		}
	}
	return decode(strings.Join(manifests, "\n---\n")), nil
}

// renderGardener renders the packed chart archive with Gardener's chart renderer, as gardenlet and gardener-operator
// do with the ControllerDeployment's chart.
func renderGardener(chartDir, namespace string, values map[string]any) ([]client.Object, error) {
	archive, err := registration.ChartArchive(chartDir)
	if err != nil {
		return nil, err
	}
	rendered, err := chartrenderer.NewWithServerVersion(&version.Info{GitVersion: "v1.36.4", Major: "1", Minor: "36"}).
		RenderArchive(archive, "provider-metal", namespace, values)
	if err != nil {
		return nil, err
	}
	return decode(string(rendered.Manifest())), nil
}

// splitDocuments splits a YAML stream into its non-empty documents.
func splitDocuments(manifest string) []string {
	var docs []string
	for doc := range strings.SplitSeq("\n"+manifest, "\n---") {
		if strings.TrimSpace(stripComments(doc)) != "" {
			docs = append(docs, doc)
		}
	}
	return docs
}

func decode(manifest string) []client.Object {
	var objects []client.Object
	for _, doc := range splitDocuments(manifest) {
		obj, _, err := strictDecoder.Decode([]byte(doc), nil, nil)
		Expect(err).NotTo(HaveOccurred(), doc)
		objects = append(objects, obj.(client.Object))
	}
	return objects
}

func stripComments(doc string) string {
	var out bytes.Buffer
	for line := range strings.SplitSeq(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			out.WriteString(line + "\n")
		}
	}
	return out.String()
}

// objectsOf returns the rendered objects of type T.
func objectsOf[T client.Object](objects []client.Object) []T {
	var out []T
	for _, obj := range objects {
		if typed, ok := obj.(T); ok {
			out = append(out, typed)
		}
	}
	return out
}

// only returns the single rendered object of type T.
func only[T client.Object](objects []client.Object) T {
	typed := objectsOf[T](objects)
	ExpectWithOffset(1, typed).To(HaveLen(1))
	return typed[0]
}

var (
	providerChart        = filepath.Join(repoRoot, registration.ProviderChartPath)
	admissionRuntime     = filepath.Join(repoRoot, registration.AdmissionRuntimeChartPath)
	admissionApplication = filepath.Join(repoRoot, registration.AdmissionApplicationChartPath)
)
