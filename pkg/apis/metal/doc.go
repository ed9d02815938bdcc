// +k8s:deepcopy-gen=package
// +groupName=metal.provider.extensions.gardener.cloud

// Package metal contains the internal version of the metal provider API: the provider configurations of
// CloudProfiles and Shoots and the status the extension reports.
package metal // import "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
