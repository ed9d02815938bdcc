package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ControlPlaneConfig is the provider configuration of a shoot's control plane.
type ControlPlaneConfig struct {
	metav1.TypeMeta `json:",inline"`

	// CloudControllerManager configures the metal cloud-controller-manager.
	// +optional
	CloudControllerManager *CloudControllerManagerConfig `json:"cloudControllerManager,omitempty"`
	// LoadBalancer selects and configures how Services of type LoadBalancer get and announce their IPs.
	// +optional
	LoadBalancer *LoadBalancerConfig `json:"loadBalancer,omitempty"`
	// Storage configures the storage classes deployed into the shoot.
	// +optional
	Storage *StorageConfig `json:"storage,omitempty"`
	// NodeNamePolicy decides which name a machine's Node gets: ServerClaimName (default), ServerName or
	// BMCName.
	// +optional
	NodeNamePolicy NodeNamePolicy `json:"nodeNamePolicy,omitempty"`
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
	// +optional
	FeatureGates map[string]bool `json:"featureGates,omitempty"`
	// Networking configures how the cloud-controller-manager sets node addresses.
	// +optional
	Networking *CCMNetworking `json:"networking,omitempty"`
	// PodPrefixSize is the prefix length of the pod CIDR the cloud-controller-manager assigns to each node.
	// +optional
	PodPrefixSize *int32 `json:"podPrefixSize,omitempty"`
}

// CCMNetworking configures how the cloud-controller-manager sets node addresses.
type CCMNetworking struct {
	// ConfigureNodeAddresses makes the cloud-controller-manager set the Nodes' InternalIPs from the metal API
	// (IPAddresses of the machine's IPAddressClaims with ipamKind, else the Server's loopback-address annotation
	// or its network interfaces). Defaults to true: a kubelet with --cloud-provider=external and no --node-ip
	// publishes only its hostname, and logs, exec and metrics need an InternalIP.
	// +optional
	ConfigureNodeAddresses *bool `json:"configureNodeAddresses,omitempty"`
	// IPAMKind is the kind of the IPAM objects the cloud-controller-manager reads node addresses from; the
	// only kind it supports is ipam.cluster.x-k8s.io IPAddress.
	// +optional
	IPAMKind *IPAMKind `json:"ipamKind,omitempty"`
}

// IPAMKind identifies an IPAM object kind.
type IPAMKind struct {
	// APIGroup is the API group of the kind.
	APIGroup string `json:"apiGroup"`
	// Kind is the kind.
	Kind string `json:"kind"`
}

// LoadBalancerConfig selects how Services of type LoadBalancer are served. MetalLoadBalancer and MetalLB
// exclude each other; CalicoBGP may announce addresses that MetalLB allocates, but not next to MetalLB's own
// BGP speaker.
type LoadBalancerConfig struct {
	// MetalLoadBalancer deploys the metal-load-balancer-controller (IPv6).
	// +optional
	MetalLoadBalancer *MetalLoadBalancerConfig `json:"metalLoadBalancer,omitempty"`
	// MetalLB deploys MetalLB.
	// +optional
	MetalLB *MetalLBConfig `json:"metallb,omitempty"`
	// CalicoBGP configures Calico (only on shoots that use Calico) to announce routes over BGP.
	// +optional
	CalicoBGP *CalicoBGPConfig `json:"calicoBgp,omitempty"`
}

// MetalLoadBalancerConfig configures the metal-load-balancer-controller manager and its metalbond speaker.
type MetalLoadBalancerConfig struct {
	// VNI is the virtual network identifier the speaker announces the Service IPs in.
	VNI int32 `json:"vni"`
	// MetalBondServer is the host:port of the metalbond server the speaker peers with.
	MetalBondServer string `json:"metalBondServer"`
}

// MetalLBConfig configures MetalLB.
type MetalLBConfig struct {
	// IPAddressPools are the address pools MetalLB allocates Service IPs from.
	IPAddressPools []MetalLBIPAddressPool `json:"ipAddressPools"`
	// L2 announces the pools' addresses with ARP/NDP.
	// +optional
	L2 *MetalLBL2Advertisement `json:"l2,omitempty"`
	// BGP announces the pools' addresses to BGP peers.
	// +optional
	BGP *MetalLBBGPAdvertisement `json:"bgp,omitempty"`
}

// MetalLBIPAddressPool is a MetalLB address pool.
type MetalLBIPAddressPool struct {
	// Name is the name of the pool.
	Name string `json:"name"`
	// Addresses are CIDRs or ranges ("192.0.2.10-192.0.2.20") of the pool.
	Addresses []string `json:"addresses"`
	// AutoAssign lets MetalLB assign addresses of this pool to Services that do not ask for a pool.
	// +optional
	AutoAssign *bool `json:"autoAssign,omitempty"`
}

// MetalLBL2Advertisement announces pools in layer 2.
type MetalLBL2Advertisement struct {
	// IPAddressPools names the pools to announce; all pools when empty.
	// +optional
	IPAddressPools []string `json:"ipAddressPools,omitempty"`
	// Interfaces restricts the announcement to these node interfaces.
	// +optional
	Interfaces []string `json:"interfaces,omitempty"`
}

// MetalLBBGPAdvertisement announces pools to BGP peers.
type MetalLBBGPAdvertisement struct {
	// IPAddressPools names the pools to announce; all pools when empty.
	// +optional
	IPAddressPools []string `json:"ipAddressPools,omitempty"`
	// Peers are the BGP peers of MetalLB's speakers.
	Peers []MetalLBBGPPeer `json:"peers"`
}

// MetalLBBGPPeer is a BGP peer of MetalLB.
type MetalLBBGPPeer struct {
	// Name is the name of the peer.
	Name string `json:"name"`
	// PeerAddress is the IP address of the peer.
	PeerAddress string `json:"peerAddress"`
	// PeerASN is the autonomous system number of the peer.
	PeerASN int64 `json:"peerASN"`
	// MyASN is the autonomous system number the speakers use.
	MyASN int64 `json:"myASN"`
	// PeerPort is the TCP port of the peer; defaults to 179.
	// +optional
	PeerPort *int32 `json:"peerPort,omitempty"`
	// NodeSelector restricts which nodes peer with this peer.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
}

// CalicoBGPConfig configures Calico's BGP.
type CalicoBGPConfig struct {
	// ASNumber is the autonomous system number of the nodes.
	ASNumber int64 `json:"asNumber"`
	// NodeToNodeMeshEnabled keeps Calico's full node-to-node BGP mesh; defaults to true.
	// +optional
	NodeToNodeMeshEnabled *bool `json:"nodeToNodeMeshEnabled,omitempty"`
	// ServiceLoadBalancerIPs are CIDRs of Service load balancer IPs the nodes announce.
	// +optional
	ServiceLoadBalancerIPs []string `json:"serviceLoadBalancerIPs,omitempty"`
	// ServiceExternalIPs are CIDRs of Service external IPs the nodes announce.
	// +optional
	ServiceExternalIPs []string `json:"serviceExternalIPs,omitempty"`
	// ServiceClusterIPs are CIDRs of Service cluster IPs the nodes announce.
	// +optional
	ServiceClusterIPs []string `json:"serviceClusterIPs,omitempty"`
	// Peers are the BGP peers of the nodes.
	// +optional
	Peers []CalicoBGPPeer `json:"peers,omitempty"`
	// Filters are BGP filters that peers refer to by name.
	// +optional
	Filters []CalicoBGPFilter `json:"filters,omitempty"`
	// IPPools are additional Calico IP pools.
	// +optional
	IPPools []CalicoIPPool `json:"ipPools,omitempty"`
}

// CalicoBGPPeer is a BGP peer of the nodes.
type CalicoBGPPeer struct {
	// PeerIP is the IP address (optionally with :port) of the peer.
	PeerIP string `json:"peerIP"`
	// ASNumber is the autonomous system number of the peer.
	ASNumber int64 `json:"asNumber"`
	// NodeSelector is a Calico selector of the nodes that peer with it; all nodes when empty.
	// +optional
	NodeSelector string `json:"nodeSelector,omitempty"`
	// Filters names the filters applied to this peer.
	// +optional
	Filters []string `json:"filters,omitempty"`
}

// CalicoBGPFilter is a named set of BGP import/export rules.
type CalicoBGPFilter struct {
	// Name is the name of the filter.
	Name string `json:"name"`
	// ExportV4 are the rules for routes exported to IPv4 peers.
	// +optional
	ExportV4 []CalicoBGPFilterRule `json:"exportV4,omitempty"`
	// ImportV4 are the rules for routes imported from IPv4 peers.
	// +optional
	ImportV4 []CalicoBGPFilterRule `json:"importV4,omitempty"`
	// ExportV6 are the rules for routes exported to IPv6 peers.
	// +optional
	ExportV6 []CalicoBGPFilterRule `json:"exportV6,omitempty"`
	// ImportV6 are the rules for routes imported from IPv6 peers.
	// +optional
	ImportV6 []CalicoBGPFilterRule `json:"importV6,omitempty"`
}

// CalicoBGPFilterRule is one rule of a BGP filter.
type CalicoBGPFilterRule struct {
	// CIDR is the route prefix the rule matches.
	CIDR string `json:"cidr"`
	// MatchOperator is Equal, NotEqual, In or NotIn.
	MatchOperator string `json:"matchOperator"`
	// Action is Accept or Reject.
	Action string `json:"action"`
}

// CalicoIPPool is a Calico IP pool.
type CalicoIPPool struct {
	// Name is the name of the pool.
	Name string `json:"name"`
	// CIDR is the address range of the pool.
	CIDR string `json:"cidr"`
	// BlockSize is the prefix length of the blocks handed to nodes.
	// +optional
	BlockSize *int32 `json:"blockSize,omitempty"`
	// NodeSelector is a Calico selector of the nodes that use the pool.
	// +optional
	NodeSelector string `json:"nodeSelector,omitempty"`
	// DisableBGPExport stops Calico from announcing the pool's routes.
	// +optional
	DisableBGPExport *bool `json:"disableBGPExport,omitempty"`
}

// StorageConfig configures the storage classes deployed into the shoot.
type StorageConfig struct {
	// Local configures the `local` StorageClass for node-local volumes.
	// +optional
	Local *LocalStorageConfig `json:"local,omitempty"`
}

// LocalStorageConfig configures the `local` StorageClass (no provisioner, WaitForFirstConsumer).
type LocalStorageConfig struct {
	// Enabled deploys the StorageClass; defaults to true because bare metal has no CSI driver.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// Default marks the StorageClass as the shoot's default class.
	// +optional
	Default *bool `json:"default,omitempty"`
}
