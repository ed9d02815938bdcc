package metal

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ControlPlaneConfig is the provider configuration of a shoot's control plane.
type ControlPlaneConfig struct {
	metav1.TypeMeta

	// CloudControllerManager configures the metal cloud-controller-manager.
	CloudControllerManager *CloudControllerManagerConfig
	// LoadBalancer selects and configures how Services of type LoadBalancer get and announce their IPs.
	LoadBalancer *LoadBalancerConfig
	// Storage configures the storage classes deployed into the shoot.
	Storage *StorageConfig
	// NodeNamePolicy decides which name a machine's Node gets: ServerClaimName (default), ServerName or
	// BMCName.
	NodeNamePolicy NodeNamePolicy
}

// NodeNamePolicy decides which name a machine's Node gets.
type NodeNamePolicy string

const (
	// NodeNamePolicyServerClaimName names the Node after the ServerClaim (and so after the Machine).
	NodeNamePolicyServerClaimName NodeNamePolicy = "ServerClaimName"
	// NodeNamePolicyServerName names the Node after the claimed Server.
	NodeNamePolicyServerName NodeNamePolicy = "ServerName"
	// NodeNamePolicyBMCName names the Node after the BMC of the claimed Server.
	NodeNamePolicyBMCName NodeNamePolicy = "BMCName"
)

// CloudControllerManagerConfig configures the metal cloud-controller-manager.
type CloudControllerManagerConfig struct {
	// FeatureGates enables or disables Kubernetes feature gates of the cloud-controller-manager.
	FeatureGates map[string]bool
	// Networking configures how the cloud-controller-manager sets node addresses.
	Networking *CCMNetworking
	// PodPrefixSize is the prefix length of the pod CIDR the cloud-controller-manager assigns to each node.
	PodPrefixSize *int32
}

// CCMNetworking configures how the cloud-controller-manager sets node addresses.
type CCMNetworking struct {
	// ConfigureNodeAddresses makes the cloud-controller-manager set the Nodes' InternalIPs from the metal API
	// (IPAddresses of the machine's IPAddressClaims with ipamKind, else the Server's loopback-address annotation
	// or its network interfaces). Defaults to true: a kubelet with --cloud-provider=external and no --node-ip
	// publishes only its hostname, and logs, exec and metrics need an InternalIP.
	ConfigureNodeAddresses *bool
	// IPAMKind is the kind of the IPAM objects the cloud-controller-manager reads node addresses from; the
	// only kind it supports is ipam.cluster.x-k8s.io IPAddress.
	IPAMKind *IPAMKind
}

// IPAMKind identifies an IPAM object kind.
type IPAMKind struct {
	// APIGroup is the API group of the kind.
	APIGroup string
	// Kind is the kind.
	Kind string
}

// LoadBalancerConfig selects how Services of type LoadBalancer are served. MetalLoadBalancer and MetalLB
// exclude each other; CalicoBGP may announce addresses that MetalLB allocates, but not next to MetalLB's own
// BGP speaker.
type LoadBalancerConfig struct {
	// MetalLoadBalancer deploys the metal-load-balancer-controller (IPv6).
	MetalLoadBalancer *MetalLoadBalancerConfig
	// MetalLB deploys MetalLB.
	MetalLB *MetalLBConfig
	// CalicoBGP configures Calico (only on shoots that use Calico) to announce routes over BGP.
	CalicoBGP *CalicoBGPConfig
}

// MetalLoadBalancerConfig configures the metal-load-balancer-controller manager and its metalbond speaker.
type MetalLoadBalancerConfig struct {
	// VNI is the virtual network identifier the speaker announces the Service IPs in.
	VNI int32
	// MetalBondServer is the host:port of the metalbond server the speaker peers with.
	MetalBondServer string
}

// MetalLBConfig configures MetalLB.
type MetalLBConfig struct {
	// IPAddressPools are the address pools MetalLB allocates Service IPs from.
	IPAddressPools []MetalLBIPAddressPool
	// L2 announces the pools' addresses with ARP/NDP.
	L2 *MetalLBL2Advertisement
	// BGP announces the pools' addresses to BGP peers.
	BGP *MetalLBBGPAdvertisement
}

// MetalLBIPAddressPool is a MetalLB address pool.
type MetalLBIPAddressPool struct {
	// Name is the name of the pool.
	Name string
	// Addresses are CIDRs or ranges ("192.0.2.10-192.0.2.20") of the pool.
	Addresses []string
	// AutoAssign lets MetalLB assign addresses of this pool to Services that do not ask for a pool.
	AutoAssign *bool
}

// MetalLBL2Advertisement announces pools in layer 2.
type MetalLBL2Advertisement struct {
	// IPAddressPools names the pools to announce; all pools when empty.
	IPAddressPools []string
	// Interfaces restricts the announcement to these node interfaces.
	Interfaces []string
}

// MetalLBBGPAdvertisement announces pools to BGP peers.
type MetalLBBGPAdvertisement struct {
	// IPAddressPools names the pools to announce; all pools when empty.
	IPAddressPools []string
	// Peers are the BGP peers of MetalLB's speakers.
	Peers []MetalLBBGPPeer
}

// MetalLBBGPPeer is a BGP peer of MetalLB.
type MetalLBBGPPeer struct {
	// Name is the name of the peer.
	Name string
	// PeerAddress is the IP address of the peer.
	PeerAddress string
	// PeerASN is the autonomous system number of the peer.
	PeerASN int64
	// MyASN is the autonomous system number the speakers use.
	MyASN int64
	// PeerPort is the TCP port of the peer; defaults to 179.
	PeerPort *int32
	// NodeSelector restricts which nodes peer with this peer.
	NodeSelector map[string]string
}

// CalicoBGPConfig configures Calico's BGP.
type CalicoBGPConfig struct {
	// ASNumber is the autonomous system number of the nodes.
	ASNumber int64
	// NodeToNodeMeshEnabled keeps Calico's full node-to-node BGP mesh; defaults to true.
	NodeToNodeMeshEnabled *bool
	// ServiceLoadBalancerIPs are CIDRs of Service load balancer IPs the nodes announce.
	ServiceLoadBalancerIPs []string
	// ServiceExternalIPs are CIDRs of Service external IPs the nodes announce.
	ServiceExternalIPs []string
	// ServiceClusterIPs are CIDRs of Service cluster IPs the nodes announce.
	ServiceClusterIPs []string
	// Peers are the BGP peers of the nodes.
	Peers []CalicoBGPPeer
	// Filters are BGP filters that peers refer to by name.
	Filters []CalicoBGPFilter
	// IPPools are additional Calico IP pools.
	IPPools []CalicoIPPool
}

// CalicoBGPPeer is a BGP peer of the nodes.
type CalicoBGPPeer struct {
	// PeerIP is the IP address (optionally with :port) of the peer.
	PeerIP string
	// ASNumber is the autonomous system number of the peer.
	ASNumber int64
	// NodeSelector is a Calico selector of the nodes that peer with it; all nodes when empty.
	NodeSelector string
	// Filters names the filters applied to this peer.
	Filters []string
}

// CalicoBGPFilter is a named set of BGP import/export rules.
type CalicoBGPFilter struct {
	// Name is the name of the filter.
	Name string
	// ExportV4 are the rules for routes exported to IPv4 peers.
	ExportV4 []CalicoBGPFilterRule
	// ImportV4 are the rules for routes imported from IPv4 peers.
	ImportV4 []CalicoBGPFilterRule
	// ExportV6 are the rules for routes exported to IPv6 peers.
	ExportV6 []CalicoBGPFilterRule
	// ImportV6 are the rules for routes imported from IPv6 peers.
	ImportV6 []CalicoBGPFilterRule
}

// CalicoBGPFilterRule is one rule of a BGP filter.
type CalicoBGPFilterRule struct {
	// CIDR is the route prefix the rule matches.
	CIDR string
	// MatchOperator is Equal, NotEqual, In or NotIn.
	MatchOperator string
	// Action is Accept or Reject.
	Action string
}

// CalicoIPPool is a Calico IP pool.
type CalicoIPPool struct {
	// Name is the name of the pool.
	Name string
	// CIDR is the address range of the pool.
	CIDR string
	// BlockSize is the prefix length of the blocks handed to nodes.
	BlockSize *int32
	// NodeSelector is a Calico selector of the nodes that use the pool.
	NodeSelector string
	// DisableBGPExport stops Calico from announcing the pool's routes.
	DisableBGPExport *bool
}

// StorageConfig configures the storage classes deployed into the shoot.
type StorageConfig struct {
	// Local configures the `local` StorageClass for node-local volumes.
	Local *LocalStorageConfig
}

// LocalStorageConfig configures the `local` StorageClass (no provisioner, WaitForFirstConsumer).
type LocalStorageConfig struct {
	// Enabled deploys the StorageClass; defaults to true because bare metal has no CSI driver.
	Enabled *bool
	// Default marks the StorageClass as the shoot's default class.
	Default *bool
}
