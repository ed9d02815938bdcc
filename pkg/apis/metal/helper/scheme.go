// Package helper decodes the provider configurations of the metal extension and looks up the entries the
// controllers need in them.
package helper

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/install"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
)

var (
	// Scheme is a Kubernetes scheme holding all versions of the metal provider API.
	Scheme = newScheme()

	// decoder rejects unknown and duplicate fields so that typos in a providerConfig surface as errors instead
	// of being ignored silently.
	decoder = serializer.NewCodecFactory(Scheme, serializer.EnableStrict).UniversalDecoder()
)

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	return scheme
}

// CloudProfileConfigFromRaw decodes the providerConfig of a CloudProfile. A CloudProfile of type metal cannot
// work without one, so nil or empty raw data is an error.
func CloudProfileConfigFromRaw(raw *runtime.RawExtension) (*metal.CloudProfileConfig, error) {
	if isEmpty(raw) {
		return nil, fmt.Errorf("could not decode CloudProfileConfig: providerConfig is required")
	}
	cfg := &metal.CloudProfileConfig{}
	if err := decode(raw.Raw, "CloudProfileConfig", cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// InfrastructureConfigFromRaw decodes the providerConfig of an Infrastructure. Nil or empty raw data yields an
// empty, defaulted configuration because a shoot without node networks is valid.
func InfrastructureConfigFromRaw(raw *runtime.RawExtension) (*metal.InfrastructureConfig, error) {
	cfg := &metal.InfrastructureConfig{}
	if err := decode(rawOrEmpty(raw, "InfrastructureConfig"), "InfrastructureConfig", cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// ControlPlaneConfigFromRaw decodes the providerConfig of a ControlPlane. Nil or empty raw data yields a
// defaulted configuration, so that for example the node name policy is always set.
func ControlPlaneConfigFromRaw(raw *runtime.RawExtension) (*metal.ControlPlaneConfig, error) {
	cfg := &metal.ControlPlaneConfig{}
	if err := decode(rawOrEmpty(raw, "ControlPlaneConfig"), "ControlPlaneConfig", cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// WorkerConfigFromRaw decodes the providerConfig of a worker pool. Nil or empty raw data yields an empty,
// defaulted configuration because every field of it is optional.
func WorkerConfigFromRaw(raw *runtime.RawExtension) (*metal.WorkerConfig, error) {
	cfg := &metal.WorkerConfig{}
	if err := decode(rawOrEmpty(raw, "WorkerConfig"), "WorkerConfig", cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// InfrastructureStatusFromRaw decodes the providerStatus of an Infrastructure. It returns nil without an error
// when there is no status yet.
func InfrastructureStatusFromRaw(raw *runtime.RawExtension) (*metal.InfrastructureStatus, error) {
	if isEmpty(raw) {
		return nil, nil
	}
	status := &metal.InfrastructureStatus{}
	if err := decode(raw.Raw, "InfrastructureStatus", status); err != nil {
		return nil, err
	}
	return status, nil
}

// BackupBucketStatusFromRaw decodes the providerStatus of a BackupBucket. It returns nil without an error when
// there is no status yet.
func BackupBucketStatusFromRaw(raw *runtime.RawExtension) (*metal.BackupBucketStatus, error) {
	if isEmpty(raw) {
		return nil, nil
	}
	status := &metal.BackupBucketStatus{}
	if err := decode(raw.Raw, "BackupBucketStatus", status); err != nil {
		return nil, err
	}
	return status, nil
}

// WorkerStatusFromRaw decodes the providerStatus of a Worker. It returns nil without an error when there is no
// status yet.
func WorkerStatusFromRaw(raw *runtime.RawExtension) (*metal.WorkerStatus, error) {
	if isEmpty(raw) {
		return nil, nil
	}
	status := &metal.WorkerStatus{}
	if err := decode(raw.Raw, "WorkerStatus", status); err != nil {
		return nil, err
	}
	return status, nil
}

func isEmpty(raw *runtime.RawExtension) bool {
	return raw == nil || len(raw.Raw) == 0
}

// rawOrEmpty returns the raw data or, when there is none, a document that carries only the type, so that the
// decoder applies the defaults of the versioned API to it.
func rawOrEmpty(raw *runtime.RawExtension, kind string) []byte {
	if isEmpty(raw) {
		return fmt.Appendf(nil, `{"apiVersion":%q,"kind":%q}`, v1alpha1.SchemeGroupVersion.String(), kind)
	}
	return raw.Raw
}

// decode checks apiVersion and kind itself before decoding, because the decoder's own errors for a
// mismatching type ("unknown conversion", "no kind registered") do not tell the user what was expected. Its
// errors are *DecodeError, which name the failing field.
func decode(data []byte, kind string, into runtime.Object) error {
	var typeMeta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &typeMeta); err != nil {
		return &DecodeError{Kind: kind, Err: err}
	}
	if want := v1alpha1.SchemeGroupVersion.String(); typeMeta.APIVersion != want {
		return &DecodeError{Kind: kind, Err: fmt.Errorf("apiVersion must be %q, got %q", want, typeMeta.APIVersion), path: []pathElement{{name: "apiVersion"}}}
	}
	if typeMeta.Kind != kind {
		return &DecodeError{Kind: kind, Err: fmt.Errorf("kind must be %q, got %q", kind, typeMeta.Kind), path: []pathElement{{name: "kind"}}}
	}
	if _, _, err := decoder.Decode(data, nil, into); err != nil {
		return newDecodeError(data, kind, err)
	}
	return nil
}
