// +k8s:deepcopy-gen=package
// +k8s:conversion-gen=github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal
// +k8s:openapi-gen=true
// +k8s:defaulter-gen=TypeMeta

// Package v1alpha1 contains the metal provider API resources: the provider configurations that shoot owners
// and Gardener operators embed into CloudProfiles and Shoots, and the status the extension reports back.
// +groupName=metal.provider.extensions.gardener.cloud
package v1alpha1 // import "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
