package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
)

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// SetDefaults_MachineImageVersion defaults the architecture of an image without capability flavors.
func SetDefaults_MachineImageVersion(obj *MachineImageVersion) {
	if len(obj.CapabilityFlavors) == 0 && obj.Architecture == nil {
		obj.Architecture = ptr.To(v1beta1constants.ArchitectureAMD64)
	}
}

// SetDefaults_ControlPlaneConfig defaults the node name policy.
func SetDefaults_ControlPlaneConfig(obj *ControlPlaneConfig) {
	if obj.NodeNamePolicy == "" {
		obj.NodeNamePolicy = NodeNamePolicyServerClaimName
	}
}

// SetDefaults_CCMNetworking makes the cloud-controller-manager set node addresses unless switched off: without them
// a kubelet started with --cloud-provider=external and no --node-ip has no InternalIP.
func SetDefaults_CCMNetworking(obj *CCMNetworking) {
	if obj.ConfigureNodeAddresses == nil {
		obj.ConfigureNodeAddresses = ptr.To(true)
	}
}

// SetDefaults_LocalStorageConfig enables the local StorageClass unless it is switched off.
func SetDefaults_LocalStorageConfig(obj *LocalStorageConfig) {
	if obj.Enabled == nil {
		obj.Enabled = ptr.To(true)
	}
}

// SetDefaults_CalicoBGPConfig keeps Calico's node-to-node mesh unless it is switched off.
func SetDefaults_CalicoBGPConfig(obj *CalicoBGPConfig) {
	if obj.NodeToNodeMeshEnabled == nil {
		obj.NodeToNodeMeshEnabled = ptr.To(true)
	}
}

// SetDefaults_MetalLBBGPPeer defaults the BGP port.
func SetDefaults_MetalLBBGPPeer(obj *MetalLBBGPPeer) {
	if obj.PeerPort == nil {
		obj.PeerPort = ptr.To[int32](179)
	}
}

// SetDefaults_ServerToleration defaults the operator.
func SetDefaults_ServerToleration(obj *ServerToleration) {
	if obj.Operator == "" {
		obj.Operator = "Equal"
	}
}
