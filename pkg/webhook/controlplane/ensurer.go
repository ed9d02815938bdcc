package controlplane

import (
	"context"
	"fmt"

	"github.com/coreos/go-systemd/v22/unit"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	extensionscontextwebhook "github.com/gardener/gardener/extensions/pkg/webhook/context"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
)

const (
	// cloudProviderExternal makes Kubernetes components leave cloud-specific work to the cloud-controller-manager.
	cloudProviderExternal = "external"

	flagCloudProvider             = "--cloud-provider="
	flagCloudConfig               = "--cloud-config="
	flagExternalCloudVolumePlugin = "--external-cloud-volume-plugin="
	flagAllocateNodeCIDRs         = "--allocate-node-cidrs="
)

// ensurer makes control plane objects use the external metal cloud provider. Every Ensure method is idempotent:
// applying it to its own result changes nothing.
type ensurer struct{}

// EnsureKubeAPIServerDeployment removes in-tree cloud provider flags from the kube-apiserver: the metal cloud
// provider runs externally and has no cloud config for the API server.
func (e *ensurer) EnsureKubeAPIServerDeployment(newObj *appsv1.Deployment) error {
	if c := extensionswebhook.ContainerWithName(newObj.Spec.Template.Spec.Containers, v1beta1constants.DeploymentNameKubeAPIServer); c != nil {
		c.Command = extensionswebhook.EnsureNoStringWithPrefix(c.Command, flagCloudProvider)
		c.Command = extensionswebhook.EnsureNoStringWithPrefix(c.Command, flagCloudConfig)
		c.Args = extensionswebhook.EnsureNoStringWithPrefix(c.Args, flagCloudProvider)
		c.Args = extensionswebhook.EnsureNoStringWithPrefix(c.Args, flagCloudConfig)
	}
	return nil
}

// EnsureKubeControllerManagerDeployment makes the kube-controller-manager use the external cloud provider. Node
// CIDRs stay as Gardener configures them (--allocate-node-cidrs=true, --cluster-cidr and the mask sizes from the
// pod networks kube-controller-manager gets), unless the cloud-controller-manager assigns the pod CIDRs
// (podPrefixSize): then kube-controller-manager must not, or it sets spec.podCIDR first and the CCM, which only
// fills an empty one, never does.
func (e *ensurer) EnsureKubeControllerManagerDeployment(ctx context.Context, gctx extensionscontextwebhook.GardenContext, newObj *appsv1.Deployment) error {
	c := extensionswebhook.ContainerWithName(newObj.Spec.Template.Spec.Containers, v1beta1constants.DeploymentNameKubeControllerManager)
	if c == nil {
		return nil
	}
	cluster, err := gctx.GetCluster(ctx)
	if err != nil {
		return fmt.Errorf("reading the Cluster: %w", err)
	}
	ccmAllocates, err := ccmAllocatesPodCIDRs(cluster.Shoot)
	if err != nil {
		return err
	}

	c.Command = extensionswebhook.EnsureStringWithPrefix(c.Command, flagCloudProvider, cloudProviderExternal)
	c.Command = extensionswebhook.EnsureNoStringWithPrefix(c.Command, flagCloudConfig)
	c.Command = extensionswebhook.EnsureNoStringWithPrefix(c.Command, flagExternalCloudVolumePlugin)
	if ccmAllocates {
		c.Command = extensionswebhook.EnsureStringWithPrefix(c.Command, flagAllocateNodeCIDRs, "false")
	}
	return nil
}

// ccmAllocatesPodCIDRs tells whether the shoot's ControlPlaneConfig makes the cloud-controller-manager assign the
// Nodes' pod CIDRs (--pod-prefix-size; zero or less disables it upstream).
func ccmAllocatesPodCIDRs(shoot *gardencorev1beta1.Shoot) (bool, error) {
	cfg, err := helper.ControlPlaneConfigFromRaw(shoot.Spec.Provider.ControlPlaneConfig)
	if err != nil {
		return false, fmt.Errorf("decoding the shoot's spec.provider.controlPlaneConfig: %w", err)
	}
	ccm := cfg.CloudControllerManager
	return ccm != nil && ptr.Deref(ccm.PodPrefixSize, 0) > 0, nil
}

// EnsureKubeletServiceUnitOptions makes the kubelet start with --cloud-provider=external, so that it registers its
// Node tainted as uninitialized until the metal cloud-controller-manager has set its provider ID and addresses.
// KubeletConfiguration has no field for the cloud provider, so the flag in the unit is the only place for it.
func (e *ensurer) EnsureKubeletServiceUnitOptions(opts []*unit.UnitOption) []*unit.UnitOption {
	if opt := extensionswebhook.UnitOptionWithSectionAndName(opts, "Service", "ExecStart"); opt != nil {
		command := extensionswebhook.DeserializeCommandLine(opt.Value)
		command = extensionswebhook.EnsureStringWithPrefix(command, flagCloudProvider, cloudProviderExternal)
		opt.Value = extensionswebhook.SerializeCommandLine(command, 1, " \\\n    ")
	}
	return opts
}
