// Package manifests reads the YAML manifests of example/ for tests and the local landscape.
package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// Read decodes the YAML documents of file. With vars, each ${NAME} is replaced by vars[NAME] first; an unknown
// variable is an error, so that a typo in an example cannot produce an object with an empty field.
func Read(file string, vars map[string]string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if vars != nil {
		var missing []string
		data = []byte(os.Expand(string(data), func(name string) string {
			value, ok := vars[name]
			if !ok {
				missing = append(missing, name)
			}
			return value
		}))
		if len(missing) > 0 {
			return nil, fmt.Errorf("%s uses unknown variables %s", file, strings.Join(missing, ", "))
		}
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("decoding %s: %w", file, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

// LabelAsGardener sets the labels the gardener-apiserver's ExtensionLabels plugin and Gardener's controllers put
// on the example garden objects; the admission webhooks select objects by them. The example DNS provider secret is
// named dns-rfc2136.
func LabelAsGardener(obj *unstructured.Unstructured) {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	switch {
	case obj.GetKind() == "Secret" && obj.GetName() == "dns-rfc2136":
		labels[v1beta1constants.LabelShootProviderPrefix+metal.DNSType] = "true"
	case obj.GetKind() == "Secret":
		labels[v1beta1constants.LabelShootProviderPrefix+metal.Type] = "true"
	default:
		labels[v1beta1constants.LabelExtensionProviderTypePrefix+metal.Type] = "true"
	}
	obj.SetLabels(labels)
}
