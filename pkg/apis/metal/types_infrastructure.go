package metal

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// InfrastructureConfig is the provider configuration of a shoot's infrastructure.
type InfrastructureConfig struct {
	metav1.TypeMeta

	// Networks are the node networks the shoot's machines are attached to, with the IPAM pools that hand
	// out their addresses.
	Networks []Network
}

// Network is a node network.
type Network struct {
	// Name identifies the network; worker pools refer to it in their IPAM configuration.
	Name string
	// CIDR is the network's address range.
	CIDR string
	// IPAMPoolRef references the cluster-api IPAM pool in the metal namespace that hands out addresses of
	// this network.
	IPAMPoolRef *IPAMPoolReference
}

// IPAMPoolReference references a cluster-api IPAM pool (for example an InClusterIPPool or
// GlobalInClusterIPPool of ipam.cluster.x-k8s.io) in the metal API.
type IPAMPoolReference struct {
	// APIGroup is the API group of the pool.
	APIGroup string
	// Kind is the kind of the pool.
	Kind string
	// Name is the name of the pool.
	Name string
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// InfrastructureStatus is the status the infrastructure controller reports for a shoot.
type InfrastructureStatus struct {
	metav1.TypeMeta

	// Networks are the node networks of the shoot as they were found in the metal API.
	Networks []NetworkStatus
	// ServerCapacity reports, per worker pool and zone, the Servers that can serve the pool.
	ServerCapacity []ServerCapacity
}

// NetworkStatus is the observed state of a node network.
type NetworkStatus struct {
	// Name is the name of the network.
	Name string
	// CIDR is the network's address range.
	CIDR string
}

// ServerCapacity counts the Servers of one worker pool and zone.
type ServerCapacity struct {
	// Pool is the name of the worker pool.
	Pool string
	// Zone is the zone.
	Zone string
	// MachineType is the machine type of the pool.
	MachineType string
	// Matching is the number of Servers whose labels match the pool's machine type, zone and extra labels.
	Matching int32
	// Available is the number of matching Servers that are Available and can be claimed.
	Available int32
	// Minimum is the number of machines the pool needs in this zone at least.
	Minimum int32
	// WithoutInstanceType is the number of matching Servers whose label metal.ironcore.dev/instance-type is not
	// the machine type: the cloud-controller-manager takes a Node's node.kubernetes.io/instance-type from that
	// label, so Nodes on these Servers would not show the machine type.
	WithoutInstanceType int32
}
