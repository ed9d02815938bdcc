package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// InfrastructureConfig is the provider configuration of a shoot's infrastructure.
type InfrastructureConfig struct {
	metav1.TypeMeta `json:",inline"`

	// Networks are the node networks the shoot's machines are attached to, with the IPAM pools that hand
	// out their addresses.
	// +optional
	Networks []Network `json:"networks,omitempty"`
}

// Network is a node network.
type Network struct {
	// Name identifies the network; worker pools refer to it in their IPAM configuration.
	Name string `json:"name"`
	// CIDR is the network's address range.
	CIDR string `json:"cidr"`
	// IPAMPoolRef references the cluster-api IPAM pool in the metal namespace that hands out addresses of
	// this network.
	// +optional
	IPAMPoolRef *IPAMPoolReference `json:"ipamPoolRef,omitempty"`
}

// IPAMPoolReference references a cluster-api IPAM pool (for example an InClusterIPPool or
// GlobalInClusterIPPool of ipam.cluster.x-k8s.io) in the metal API.
type IPAMPoolReference struct {
	// APIGroup is the API group of the pool.
	APIGroup string `json:"apiGroup"`
	// Kind is the kind of the pool.
	Kind string `json:"kind"`
	// Name is the name of the pool.
	Name string `json:"name"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// InfrastructureStatus is the status the infrastructure controller reports for a shoot.
type InfrastructureStatus struct {
	metav1.TypeMeta `json:",inline"`

	// Networks are the node networks of the shoot as they were found in the metal API.
	// +optional
	Networks []NetworkStatus `json:"networks,omitempty"`
	// ServerCapacity reports, per worker pool and zone, the Servers that can serve the pool.
	// +optional
	ServerCapacity []ServerCapacity `json:"serverCapacity,omitempty"`
}

// NetworkStatus is the observed state of a node network.
type NetworkStatus struct {
	// Name is the name of the network.
	Name string `json:"name"`
	// CIDR is the network's address range.
	CIDR string `json:"cidr"`
}

// ServerCapacity counts the Servers of one worker pool and zone.
type ServerCapacity struct {
	// Pool is the name of the worker pool.
	Pool string `json:"pool"`
	// Zone is the zone.
	Zone string `json:"zone"`
	// MachineType is the machine type of the pool.
	MachineType string `json:"machineType"`
	// Matching is the number of Servers whose labels match the pool's machine type, zone and extra labels.
	Matching int32 `json:"matching"`
	// Available is the number of matching Servers that are Available and can be claimed.
	Available int32 `json:"available"`
	// Minimum is the number of machines the pool needs in this zone at least.
	Minimum int32 `json:"minimum"`
	// WithoutInstanceType is the number of matching Servers whose label metal.ironcore.dev/instance-type is not
	// the machine type: the cloud-controller-manager takes a Node's node.kubernetes.io/instance-type from that
	// label, so Nodes on these Servers would not show the machine type.
	WithoutInstanceType int32 `json:"withoutInstanceType,omitempty"`
}
