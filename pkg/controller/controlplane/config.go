package controlplane

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	"github.com/gardener/gardener/pkg/apis/core"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
)

var providerConfigPath = field.NewPath("spec", "providerConfig")

// controlPlaneConfig decodes and validates the ControlPlane's providerConfig against the shoot's networking. A bad
// config is the user's to fix, so it is reported as a configuration problem with the field path.
func controlPlaneConfig(cp *extensionsv1alpha1.ControlPlane, cluster *extensionscontroller.Cluster) (*api.ControlPlaneConfig, error) {
	cfg, err := helper.ControlPlaneConfigFromRaw(cp.Spec.ProviderConfig)
	if err != nil {
		return nil, configurationProblem(fmt.Errorf("%s: %w", providerConfigPath, err))
	}
	if err := validateControlPlaneConfig(cfg, cluster); err != nil {
		return nil, err
	}
	return cfg, nil
}

// validateControlPlaneConfig validates a decoded ControlPlaneConfig against the shoot's networking.
func validateControlPlaneConfig(cfg *api.ControlPlaneConfig, cluster *extensionscontroller.Cluster) error {
	networking, err := coreNetworking(cluster)
	if err != nil {
		return err
	}
	if errs := validation.ValidateControlPlaneConfig(cfg, networking, providerConfigPath); len(errs) > 0 {
		return configurationProblem(errs.ToAggregate())
	}
	return nil
}

// coreNetworking converts the shoot's networking into the internal API version the validation takes.
func coreNetworking(cluster *extensionscontroller.Cluster) (*core.Networking, error) {
	if cluster == nil || cluster.Shoot == nil || cluster.Shoot.Spec.Networking == nil {
		return nil, nil
	}
	networking := &core.Networking{}
	if err := gardencorev1beta1.Convert_v1beta1_Networking_To_core_Networking(cluster.Shoot.Spec.Networking, networking, nil); err != nil {
		return nil, fmt.Errorf("converting the shoot's networking: %w", err)
	}
	return networking, nil
}

func configurationProblem(err error) error {
	return v1beta1helper.NewErrorWithCodes(err, gardencorev1beta1.ErrorConfigurationProblem)
}
