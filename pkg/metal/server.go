package metal

// InstanceTypeLabel is the Server label the metal cloud-controller-manager copies into a Node's
// node.kubernetes.io/instance-type (cloud-provider-metal v0.3.0 pkg/cloudprovider/metal/instances_v2.go,
// metal-operator v0.4.0's AnnotationInstanceType); Servers carry the Gardener machine type there.
const InstanceTypeLabel = "metal.ironcore.dev/instance-type"
