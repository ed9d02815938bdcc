package metal

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// WorkerConfig is the provider configuration of a worker pool.
type WorkerConfig struct {
	metav1.TypeMeta

	// ExtraIgnition is Ignition v3 content added to the machines of the pool.
	ExtraIgnition *IgnitionConfig
	// ExtraServerLabels are labels a Server must carry, in addition to those of the machine type and zone,
	// to serve this pool.
	ExtraServerLabels map[string]string
	// ServerTolerations let the pool's ServerClaims bind to Servers with matching taints.
	ServerTolerations []ServerToleration
	// IPAMConfig assigns addresses from node networks to the machines; each entry becomes an
	// IPAddressClaim and a key in the machine's metadata.
	IPAMConfig []IPAMConfig
	// Metadata is written into each machine's metadata file.
	Metadata map[string]string
	// DNSServers replace the CloudProfile's DNS servers for this pool.
	DNSServers []string
}

// IgnitionConfig is Ignition v3 content, given inline or in a Secret.
type IgnitionConfig struct {
	// Raw is the Ignition content (JSON or YAML).
	Raw string
	// SecretRef is the name of a resource in the Shoot's `spec.resources` that references a Secret whose
	// `ignition` key holds the content.
	SecretRef string
	// Override replaces the generated ignition instead of merging into it.
	Override bool
}

// ServerToleration lets a ServerClaim bind to a Server with a matching taint.
type ServerToleration struct {
	// Key is the taint key.
	Key string
	// Operator is Equal (default) or Exists.
	Operator string
	// Value is the taint value; empty with Exists.
	Value string
	// Effect is the taint effect to tolerate (NoBind or Evict); all effects when empty.
	Effect string
}

// IPAMConfig assigns an address from an IPAM pool to each machine.
type IPAMConfig struct {
	// MetadataKey is the key under which the address appears in the machine's metadata.
	MetadataKey string
	// IPAMRef references the pool, either directly or by the name of a network of the InfrastructureConfig.
	IPAMRef IPAMReference
}

// IPAMReference references an IPAM pool.
type IPAMReference struct {
	// Network is the name of a network of the InfrastructureConfig whose pool is used.
	Network string
	// Pool references the pool directly.
	Pool *IPAMPoolReference
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// WorkerStatus is the status the worker controller reports.
type WorkerStatus struct {
	metav1.TypeMeta

	// MachineImages are the machine images in use, so that a version removed from the CloudProfile keeps
	// reconciling.
	MachineImages []MachineImage
}

// MachineImage is a machine image in use.
type MachineImage struct {
	// Name is the logical name of the machine image.
	Name string
	// Version is the version of the machine image.
	Version string
	// Image is the OCI image reference.
	Image string
	// Architecture is the CPU architecture of the image.
	Architecture *string
	// Capabilities of the image.
	Capabilities gardencorev1beta1.Capabilities
}
