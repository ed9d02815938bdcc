package controlplane

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	vpaautoscalingv1 "k8s.io/autoscaler/vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	extensionscontextwebhook "github.com/gardener/gardener/extensions/pkg/webhook/context"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	"github.com/gardener/gardener/pkg/component/nodemanagement/machinecontrollermanager"

	"github.com/openkcm/gardener-extension-provider-metal/imagevector"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const (
	// metalKubeconfigMountPath is where the driver sidecar finds the metal API kubeconfig of the `cloudprovider`
	// secret (key metal.KubeconfigKey).
	metalKubeconfigMountPath = "/etc/metal"
	cloudProviderVolumeName  = "cloudprovider"
)

// EnsureMachineControllerManagerDeployment adds the metal driver as the provider sidecar of the
// machine-controller-manager Deployment gardenlet runs in the shoot's control plane namespace. The sidecar reads
// the metal API kubeconfig from the `cloudprovider` secret (which the driver reloads when the secret changes) and
// names nodes by the shoot's node name policy.
func (e *ensurer) EnsureMachineControllerManagerDeployment(ctx context.Context, gctx extensionscontextwebhook.GardenContext, deployment *appsv1.Deployment) error {
	image, err := imagevector.ImageVector().FindImage(imagevector.ImageNameMachineControllerManagerProviderMetal)
	if err != nil {
		return fmt.Errorf("finding the image of the machine-controller-manager driver: %w", err)
	}
	cluster, err := gctx.GetCluster(ctx)
	if err != nil {
		return fmt.Errorf("reading the cluster of %s: %w", deployment.Namespace, err)
	}
	config, err := helper.ControlPlaneConfigFromRaw(cluster.Shoot.Spec.Provider.ControlPlaneConfig)
	if err != nil {
		return fmt.Errorf("decoding the shoot's controlPlaneConfig: %w", err)
	}

	sidecar := machinecontrollermanager.ProviderSidecarContainer(cluster.Shoot, deployment.Namespace, metal.Name, image.String())
	sidecar.Args = append(sidecar.Args,
		"--metal-kubeconfig="+metalKubeconfigMountPath+"/"+metal.KubeconfigKey,
		"--node-name-policy="+string(config.NodeNamePolicy),
	)
	sidecar.VolumeMounts = extensionswebhook.EnsureVolumeMountWithName(sidecar.VolumeMounts, corev1.VolumeMount{
		Name: cloudProviderVolumeName, MountPath: metalKubeconfigMountPath, ReadOnly: true,
	})
	// The same secret holds the workload identity token that the kubeconfig of such shoots refers to by path.
	sidecar.VolumeMounts = append(sidecar.VolumeMounts, corev1.VolumeMount{
		Name: cloudProviderVolumeName, MountPath: metal.WorkloadIdentityMountPath, ReadOnly: true,
	})

	spec := &deployment.Spec.Template.Spec
	spec.Containers = extensionswebhook.EnsureContainerWithName(spec.Containers, sidecar)
	spec.Volumes = extensionswebhook.EnsureVolumeWithName(spec.Volumes, corev1.Volume{
		Name: cloudProviderVolumeName,
		VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: v1beta1constants.SecretNameCloudProvider,
		}},
	})
	return nil
}

// EnsureMachineControllerManagerVPA lets the VPA of the machine-controller-manager scale the driver sidecar's
// requests.
func (e *ensurer) EnsureMachineControllerManagerVPA(vpa *vpaautoscalingv1.VerticalPodAutoscaler) {
	if vpa.Spec.ResourcePolicy == nil {
		vpa.Spec.ResourcePolicy = &vpaautoscalingv1.PodResourcePolicy{}
	}
	vpa.Spec.ResourcePolicy.ContainerPolicies = extensionswebhook.EnsureVPAContainerResourcePolicyWithName(
		vpa.Spec.ResourcePolicy.ContainerPolicies,
		machinecontrollermanager.ProviderSidecarVPAContainerPolicy(metal.Name),
	)
}
