// Package loader reads the component configuration of gardener-extension-provider-metal from a file.
package loader

import (
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/config"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/config/v1alpha1"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/config/validation"
)

var codec runtime.Decoder

func init() {
	scheme := runtime.NewScheme()
	utilruntime.Must(config.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	codec = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDecoder()
}

// LoadFromFile reads, strictly decodes, defaults and validates the configuration in the given file.
func LoadFromFile(path string) (*config.ControllerConfiguration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading component configuration %s: %w", path, err)
	}
	return Load(data)
}

// Load strictly decodes, defaults and validates the given configuration; unknown fields are errors.
func Load(data []byte) (*config.ControllerConfiguration, error) {
	cfg := &config.ControllerConfiguration{}
	if _, _, err := codec.Decode(data, nil, cfg); err != nil {
		return nil, fmt.Errorf("decoding component configuration: %w", err)
	}
	if errs := validation.ValidateControllerConfiguration(cfg); len(errs) > 0 {
		return nil, fmt.Errorf("invalid component configuration: %w", errs.ToAggregate())
	}
	return cfg, nil
}
