// +k8s:deepcopy-gen=package
// +k8s:conversion-gen=github.com/openkcm/gardener-extension-provider-metal/pkg/apis/config
// +k8s:openapi-gen=true
// +k8s:defaulter-gen=TypeMeta

// Package v1alpha1 contains the component configuration of gardener-extension-provider-metal.
// +groupName=metal.provider.extensions.config.gardener.cloud
package v1alpha1 // import "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/config/v1alpha1"
