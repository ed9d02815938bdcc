package controlplane

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	extensionscontextwebhook "github.com/gardener/gardener/extensions/pkg/webhook/context"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
)

const (
	// cloudProviderExternal makes Kubernetes components leave cloud-specific work to the cloud-controller-manager.
	cloudProviderExternal = "external"

	// Kubernetes' default node CIDR mask sizes, used when neither gardenlet nor the shoot sets one.
	defaultNodeCIDRMaskSizeIPv4 = 24
	defaultNodeCIDRMaskSizeIPv6 = 64

	flagCloudProvider             = "--cloud-provider="
	flagCloudConfig               = "--cloud-config="
	flagExternalCloudVolumePlugin = "--external-cloud-volume-plugin="
	flagAllocateNodeCIDRs         = "--allocate-node-cidrs="
	flagNodeCIDRMaskSize          = "--node-cidr-mask-size="
	flagNodeCIDRMaskSizeIPv4      = "--node-cidr-mask-size-ipv4="
	flagNodeCIDRMaskSizeIPv6      = "--node-cidr-mask-size-ipv6="
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

// EnsureKubeControllerManagerDeployment makes the kube-controller-manager use the external cloud provider and
// allocate node CIDRs for each IP family of the shoot.
func (e *ensurer) EnsureKubeControllerManagerDeployment(ctx context.Context, gctx extensionscontextwebhook.GardenContext, newObj *appsv1.Deployment) error {
	c := extensionswebhook.ContainerWithName(newObj.Spec.Template.Spec.Containers, v1beta1constants.DeploymentNameKubeControllerManager)
	if c == nil {
		return nil
	}
	cluster, err := gctx.GetCluster(ctx)
	if err != nil {
		return fmt.Errorf("reading the Cluster: %w", err)
	}

	c.Command = extensionswebhook.EnsureStringWithPrefix(c.Command, flagCloudProvider, cloudProviderExternal)
	c.Command = extensionswebhook.EnsureNoStringWithPrefix(c.Command, flagCloudConfig)
	c.Command = extensionswebhook.EnsureNoStringWithPrefix(c.Command, flagExternalCloudVolumePlugin)
	c.Command = extensionswebhook.EnsureStringWithPrefix(c.Command, flagAllocateNodeCIDRs, "true")
	command, err := ensureNodeCIDRMaskSizes(c.Command, cluster.Shoot)
	if err != nil {
		return fmt.Errorf("setting the node CIDR mask sizes of %s: %w", v1beta1constants.DeploymentNameKubeControllerManager, err)
	}
	c.Command = command
	return nil
}

// ensureNodeCIDRMaskSizes sets one mask size flag per IP family of the shoot. The generic --node-cidr-mask-size
// cannot be combined with the per-family flags, so its value moves to the flag of the single family it applied to.
// Sizes already set per family are kept; otherwise the shoot's kube-controller-manager config or Kubernetes'
// defaults apply.
func ensureNodeCIDRMaskSizes(command []string, shoot *gardencorev1beta1.Shoot) ([]string, error) {
	ipv4, ipv6 := ipFamilies(shoot)
	generic, err := flagInt(command, flagNodeCIDRMaskSize)
	if err != nil {
		return nil, err
	}
	dualStack := ipv4 && ipv6
	command = extensionswebhook.EnsureNoStringWithPrefix(command, flagNodeCIDRMaskSize)

	var configIPv4, configIPv6 *int32
	if shoot.Spec.Kubernetes.KubeControllerManager != nil {
		configIPv4 = shoot.Spec.Kubernetes.KubeControllerManager.NodeCIDRMaskSize
		configIPv6 = shoot.Spec.Kubernetes.KubeControllerManager.NodeCIDRMaskSizeIPv6
	}

	for _, family := range []struct {
		enabled       bool
		flag          string
		fromShoot     *int32
		defaultedSize int
	}{
		{ipv4, flagNodeCIDRMaskSizeIPv4, configIPv4, defaultNodeCIDRMaskSizeIPv4},
		{ipv6, flagNodeCIDRMaskSizeIPv6, configIPv6, defaultNodeCIDRMaskSizeIPv6},
	} {
		if !family.enabled {
			command = extensionswebhook.EnsureNoStringWithPrefix(command, family.flag)
			continue
		}
		existing, err := flagInt(command, family.flag)
		if err != nil {
			return nil, err
		}
		size := family.defaultedSize
		switch {
		case existing != nil:
			size = *existing
		case generic != nil && !dualStack:
			size = *generic
		case family.fromShoot != nil:
			size = int(*family.fromShoot)
		}
		command = extensionswebhook.EnsureStringWithPrefix(command, family.flag, strconv.Itoa(size))
	}
	return command, nil
}

// ipFamilies tells which IP families the shoot's networks use; IPv4 when it does not say.
func ipFamilies(shoot *gardencorev1beta1.Shoot) (ipv4, ipv6 bool) {
	if shoot.Spec.Networking == nil || len(shoot.Spec.Networking.IPFamilies) == 0 {
		return true, false
	}
	for _, family := range shoot.Spec.Networking.IPFamilies {
		switch family {
		case gardencorev1beta1.IPFamilyIPv4:
			ipv4 = true
		case gardencorev1beta1.IPFamilyIPv6:
			ipv6 = true
		}
	}
	return ipv4, ipv6
}

// flagInt returns the integer value of the flag with the given prefix ("--name="), or nil if it is not set.
func flagInt(command []string, prefix string) (*int, error) {
	i := extensionswebhook.StringWithPrefixIndex(command, prefix)
	if i < 0 {
		return nil, nil
	}
	value, err := strconv.Atoi(strings.TrimPrefix(command[i], prefix))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", command[i], err)
	}
	return ptr.To(value), nil
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
