package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// WorkerConfig is the provider configuration of a worker pool.
type WorkerConfig struct {
	metav1.TypeMeta `json:",inline"`

	// ExtraIgnition is Ignition v3 content added to the machines of the pool.
	// +optional
	ExtraIgnition *IgnitionConfig `json:"extraIgnition,omitempty"`
	// ExtraServerLabels are labels a Server must carry, in addition to those of the machine type and zone,
	// to serve this pool.
	// +optional
	ExtraServerLabels map[string]string `json:"extraServerLabels,omitempty"`
	// ServerTolerations let the pool's ServerClaims bind to Servers with matching taints.
	// +optional
	ServerTolerations []ServerToleration `json:"serverTolerations,omitempty"`
	// IPAMConfig assigns addresses from node networks to the machines; each entry becomes an
	// IPAddressClaim and a key in the machine's metadata.
	// +optional
	IPAMConfig []IPAMConfig `json:"ipamConfig,omitempty"`
	// Metadata is written into each machine's metadata file.
	// +optional
	Metadata map[string]string `json:"metadata,omitempty"`
	// DNSServers replace the CloudProfile's DNS servers for this pool.
	// +optional
	DNSServers []string `json:"dnsServers,omitempty"`
}

// IgnitionConfig is Ignition v3 content, given inline or in a Secret.
type IgnitionConfig struct {
	// Raw is the Ignition content (JSON or YAML).
	// +optional
	Raw string `json:"raw,omitempty"`
	// SecretRef is the name of a resource in the Shoot's `spec.resources` that references a Secret whose
	// `ignition` key holds the content.
	// +optional
	SecretRef string `json:"secretRef,omitempty"`
	// Override replaces the generated ignition instead of merging into it.
	// +optional
	Override bool `json:"override,omitempty"`
}

// ServerToleration lets a ServerClaim bind to a Server with a matching taint.
type ServerToleration struct {
	// Key is the taint key.
	Key string `json:"key"`
	// Operator is Equal (default) or Exists.
	// +optional
	Operator string `json:"operator,omitempty"`
	// Value is the taint value; empty with Exists.
	// +optional
	Value string `json:"value,omitempty"`
	// Effect is the taint effect to tolerate (NoBind or Evict); all effects when empty.
	// +optional
	Effect string `json:"effect,omitempty"`
}

// IPAMConfig assigns an address from an IPAM pool to each machine.
type IPAMConfig struct {
	// MetadataKey is the key under which the address appears in the machine's metadata.
	MetadataKey string `json:"metadataKey"`
	// IPAMRef references the pool, either directly or by the name of a network of the InfrastructureConfig.
	IPAMRef IPAMReference `json:"ipamRef"`
}

// IPAMReference references an IPAM pool.
type IPAMReference struct {
	// Network is the name of a network of the InfrastructureConfig whose pool is used.
	// +optional
	Network string `json:"network,omitempty"`
	// Pool references the pool directly.
	// +optional
	Pool *IPAMPoolReference `json:"pool,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// WorkerStatus is the status the worker controller reports.
type WorkerStatus struct {
	metav1.TypeMeta `json:",inline"`

	// MachineImages are the machine images in use, so that a version removed from the CloudProfile keeps
	// reconciling.
	// +optional
	MachineImages []MachineImage `json:"machineImages,omitempty"`
}

// MachineImage is a machine image in use.
type MachineImage struct {
	// Name is the logical name of the machine image.
	Name string `json:"name"`
	// Version is the version of the machine image.
	Version string `json:"version"`
	// Image is the OCI image reference.
	Image string `json:"image"`
	// Architecture is the CPU architecture of the image.
	// +optional
	Architecture *string `json:"architecture,omitempty"`
	// Capabilities of the image.
	// +optional
	Capabilities gardencorev1beta1.Capabilities `json:"capabilities,omitempty"`
}
