// +k8s:deepcopy-gen=package
// +groupName=metal.provider.extensions.config.gardener.cloud

// Package config contains the internal version of the component configuration of
// gardener-extension-provider-metal.
package config // import "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/config"
