package helper

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
)

var codecs = serializer.NewCodecFactory(Scheme)

// EncodeToRaw encodes an object of the metal provider API (internal or versioned) as v1alpha1 JSON, the form
// controllers write into providerStatus fields.
func EncodeToRaw(obj runtime.Object) (*runtime.RawExtension, error) {
	info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	if !ok {
		return nil, fmt.Errorf("no JSON serializer for the metal provider API")
	}
	data, err := runtime.Encode(codecs.EncoderForVersion(info.Serializer, v1alpha1.SchemeGroupVersion), obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	return &runtime.RawExtension{Raw: data}, nil
}
