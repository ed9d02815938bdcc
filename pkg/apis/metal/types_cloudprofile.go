package metal

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// CloudProfileConfig contains provider-specific configuration that is embedded into Gardener's `CloudProfile`
// resource.
type CloudProfileConfig struct {
	metav1.TypeMeta

	// MachineImages maps the logical machine image names and versions of the CloudProfile to OCI image
	// references that metal-operator boots.
	MachineImages []MachineImages
	// MachineTypes maps the machine type names of the CloudProfile to the labels of the Servers that
	// provide them.
	MachineTypes []MachineType
	// RegionConfigs holds, per region of the CloudProfile, how to reach the metal API serving it.
	RegionConfigs []RegionConfig
	// DNSServers are the DNS servers written into every machine's ignition unless the worker pool overrides
	// them.
	DNSServers []string
	// Ignition is an Ignition v3 snippet (JSON or YAML) merged into every machine's ignition.
	Ignition *string
}

// MachineImages maps a logical machine image name to its versions.
type MachineImages struct {
	// Name is the logical name of the machine image.
	Name string
	// Versions contains the versions of the image and their OCI image references.
	Versions []MachineImageVersion
}

// MachineImageVersion maps a machine image version to an OCI image reference, either directly (Image and
// Architecture) or per set of machine capabilities (CapabilityFlavors).
type MachineImageVersion struct {
	// Version is the version of the image.
	Version string
	// Image is the OCI image reference of this version when the CloudProfile does not use capabilities.
	Image string
	// Architecture is the CPU architecture of Image (amd64 or arm64); defaults to amd64.
	Architecture *string
	// CapabilityFlavors are the OCI image references of this version with the machine capabilities each
	// supports; used when the CloudProfile defines capabilities.
	CapabilityFlavors []MachineImageFlavor
}

// MachineImageFlavor is an OCI image reference with the machine capabilities it supports.
type MachineImageFlavor struct {
	// Image is the OCI image reference.
	Image string
	// Capabilities that are supported by this image.
	Capabilities gardencorev1beta1.Capabilities
}

// MachineType maps a machine type of the CloudProfile to the Servers that provide it.
type MachineType struct {
	// Name is the name of the machine type in the CloudProfile.
	Name string
	// ServerLabels are the labels a Server must carry to serve this machine type.
	ServerLabels map[string]string
}

// RegionConfig describes the metal API serving a region.
type RegionConfig struct {
	// Name is the name of the region in the CloudProfile.
	Name string
	// Server is the https URL of the metal API server for this region.
	Server string
	// CertificateAuthorityData is the PEM-encoded CA bundle that signed the metal API server's certificate.
	CertificateAuthorityData []byte
}

// GetCapabilities returns the capabilities of the flavor, for Gardener's capability matching.
func (f MachineImageFlavor) GetCapabilities() gardencorev1beta1.Capabilities {
	return f.Capabilities
}
