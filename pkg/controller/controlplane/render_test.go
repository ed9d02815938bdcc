package controlplane

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	vpaautoscalingv1 "k8s.io/autoscaler/vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/gardener/gardener/extensions/pkg/util"
	"github.com/gardener/gardener/pkg/utils/chart"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/openkcm/gardener-extension-provider-metal/imagevector"
)

// typedScheme knows every built-in kind the charts render; objects of these kinds are decoded strictly, so an
// unknown or misspelled field fails the test.
var typedScheme = func() *runtime.Scheme {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(vpaautoscalingv1.AddToScheme(scheme))
	utilruntime.Must(monitoringv1.AddToScheme(scheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(scheme))
	return scheme
}()

var strictDecoder = serializer.NewCodecFactory(typedScheme, serializer.EnableStrict).UniversalDeserializer()

// rendered are the objects of a rendered chart: typed for known kinds, unstructured for custom resources.
type rendered struct {
	objects []client.Object
}

// render renders the chart as the generic actuator does (images injected, shoot version) and decodes the result.
func render(c *chart.Chart, namespace string, values map[string]any) *rendered {
	renderer, err := util.NewChartRendererForShoot("1.33.2")
	Expect(err).NotTo(HaveOccurred())
	_, manifest, err := c.Render(renderer, namespace, imagevector.ImageVector(), "1.33.2", "1.33.2", values)
	Expect(err).NotTo(HaveOccurred())
	return decodeManifest(manifest)
}

func decodeManifest(manifest []byte) *rendered {
	result := &rendered{}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		Expect(err).NotTo(HaveOccurred())
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		// Through JSON, so that integers stay int64 as in objects read from an API server.
		data, err := yaml.YAMLToJSON(doc)
		Expect(err).NotTo(HaveOccurred(), string(doc))
		u := &unstructured.Unstructured{}
		Expect(u.UnmarshalJSON(data)).To(Succeed(), string(doc))
		Expect(u.GetAPIVersion()).NotTo(BeEmpty(), string(doc))
		Expect(u.GetKind()).NotTo(BeEmpty(), string(doc))
		Expect(u.GetName()).NotTo(BeEmpty(), string(doc))
		if typedScheme.Recognizes(u.GroupVersionKind()) {
			obj, _, err := strictDecoder.Decode(doc, nil, nil)
			Expect(err).NotTo(HaveOccurred(), "strict decoding of %s %s", u.GetKind(), u.GetName())
			result.objects = append(result.objects, obj.(client.Object))
			continue
		}
		result.objects = append(result.objects, u)
	}
	return result
}

func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// get returns the object of the given kind and name, typed as T.
func get[T client.Object](r *rendered, kind, name string) T {
	var zero T
	for _, obj := range r.objects {
		if kindOf(obj) == kind && obj.GetName() == name {
			typed, ok := obj.(T)
			Expect(ok).To(BeTrue(), "%s %s is a %T", kind, name, obj)
			return typed
		}
	}
	Expect(fmt.Errorf("%s %s not rendered; rendered: %v", kind, name, r.names())).NotTo(HaveOccurred())
	return zero
}

func (r *rendered) has(kind, name string) bool {
	for _, obj := range r.objects {
		if kindOf(obj) == kind && obj.GetName() == name {
			return true
		}
	}
	return false
}

func (r *rendered) ofKind(kind string) []client.Object {
	var result []client.Object
	for _, obj := range r.objects {
		if kindOf(obj) == kind {
			result = append(result, obj)
		}
	}
	return result
}

func (r *rendered) names() []string {
	var names []string
	for _, obj := range r.objects {
		names = append(names, kindOf(obj)+"/"+obj.GetName())
	}
	return names
}

func kindOf(obj client.Object) string {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u.GetKind()
	}
	gvks, _, err := typedScheme.ObjectKinds(obj)
	Expect(err).NotTo(HaveOccurred())
	return gvks[0].Kind
}
