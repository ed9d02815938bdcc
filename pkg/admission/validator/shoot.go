package validator

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	gardencorehelper "github.com/gardener/gardener/pkg/api/core/helper"
	"github.com/gardener/gardener/pkg/apis/core"

	metalapi "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var (
	providerPath             = field.NewPath("spec", "provider")
	infrastructureConfigPath = providerPath.Child("infrastructureConfig")
	controlPlaneConfigPath   = providerPath.Child("controlPlaneConfig")
	workersPath              = providerPath.Child("workers")
)

// NewShootValidator returns a validator for Shoots of the metal provider. It reads the referenced CloudProfile
// through the manager's API reader: a CloudProfile created right before the Shoot must already be visible, and
// the webhook has no reason to cache all CloudProfiles.
func NewShootValidator(mgr manager.Manager) extensionswebhook.Validator {
	return &shootValidator{reader: mgr.GetAPIReader()}
}

type shootValidator struct {
	reader client.Reader
}

// shootConfigs are the decoded provider configs of a Shoot.
type shootConfigs struct {
	infrastructure *metalapi.InfrastructureConfig
	controlPlane   *metalapi.ControlPlaneConfig
	workers        []*metalapi.WorkerConfig
}

// Validate validates the provider configs of a Shoot against each other, the Shoot and its CloudProfile, and on
// update against the old Shoot.
func (s *shootValidator) Validate(ctx context.Context, newObj, oldObj client.Object) error {
	shoot, ok := newObj.(*core.Shoot)
	if !ok {
		return fmt.Errorf("expected *core.Shoot but got %T", newObj)
	}
	if shoot.DeletionTimestamp != nil || shoot.Spec.Provider.Type != metal.Type || gardencorehelper.IsWorkerless(shoot) {
		return nil
	}

	configs, allErrs := decodeShootConfigs(shoot)
	if len(allErrs) > 0 {
		return allErrs.ToAggregate()
	}

	cloudProfileConfig, err := s.cloudProfileConfig(ctx, shoot)
	if err != nil {
		return err
	}

	allErrs = append(allErrs, validateShoot(shoot, configs, cloudProfileConfig)...)

	if oldObj != nil {
		oldShoot, ok := oldObj.(*core.Shoot)
		if !ok {
			return fmt.Errorf("expected *core.Shoot but got %T for the old object", oldObj)
		}
		allErrs = append(allErrs, validateShootUpdate(oldShoot, shoot, configs)...)
	}

	return allErrs.ToAggregate()
}

func (s *shootValidator) cloudProfileConfig(ctx context.Context, shoot *core.Shoot) (*metalapi.CloudProfileConfig, error) {
	spec, name, err := getShootCloudProfileSpec(ctx, s.reader, shoot)
	if err != nil {
		return nil, err
	}
	cloudProfileConfig, err := helper.CloudProfileConfigFromRaw(spec.ProviderConfig)
	if err != nil {
		return nil, fmt.Errorf("could not decode providerConfig of %s: %w", name, err)
	}
	return cloudProfileConfig, nil
}

func decodeShootConfigs(shoot *core.Shoot) (*shootConfigs, field.ErrorList) {
	var (
		allErrs field.ErrorList
		configs = &shootConfigs{}
		err     error
	)

	if configs.infrastructure, err = helper.InfrastructureConfigFromRaw(shoot.Spec.Provider.InfrastructureConfig); err != nil {
		allErrs = append(allErrs, decodeError(infrastructureConfigPath, err))
	}
	if configs.controlPlane, err = helper.ControlPlaneConfigFromRaw(shoot.Spec.Provider.ControlPlaneConfig); err != nil {
		allErrs = append(allErrs, decodeError(controlPlaneConfigPath, err))
	}
	for i, worker := range shoot.Spec.Provider.Workers {
		workerConfig, err := helper.WorkerConfigFromRaw(worker.ProviderConfig)
		if err != nil {
			allErrs = append(allErrs, decodeError(workersPath.Index(i).Child("providerConfig"), err))
		}
		configs.workers = append(configs.workers, workerConfig)
	}

	return configs, allErrs
}

func validateShoot(shoot *core.Shoot, configs *shootConfigs, cloudProfileConfig *metalapi.CloudProfileConfig) field.ErrorList {
	allErrs := validation.ValidateInfrastructureConfig(configs.infrastructure, shoot.Spec.Networking, infrastructureConfigPath)
	allErrs = append(allErrs, validation.ValidateControlPlaneConfig(configs.controlPlane, shoot.Spec.Networking, controlPlaneConfigPath)...)
	allErrs = append(allErrs, validation.ValidateWorkers(shoot.Spec.Provider.Workers, cloudProfileConfig, shoot.Spec.Region, workersPath)...)
	for i, workerConfig := range configs.workers {
		allErrs = append(allErrs, validation.ValidateWorkerConfig(workerConfig, configs.infrastructure, shoot.Spec.Resources, workersPath.Index(i).Child("providerConfig"))...)
	}
	return allErrs
}

// validateShootUpdate checks the transitions from the old Shoot's configs. An old config that cannot be decoded
// (it was stored before this webhook or with a bug) has no transition to check; the new config was fully
// validated already, and refusing the update would leave the Shoot stuck with the broken config.
func validateShootUpdate(oldShoot, shoot *core.Shoot, configs *shootConfigs) field.ErrorList {
	allErrs := validation.ValidateWorkersUpdate(oldShoot.Spec.Provider.Workers, shoot.Spec.Provider.Workers, workersPath)

	if oldInfrastructure, err := helper.InfrastructureConfigFromRaw(oldShoot.Spec.Provider.InfrastructureConfig); err == nil {
		allErrs = append(allErrs, validation.ValidateInfrastructureConfigUpdate(oldInfrastructure, configs.infrastructure, infrastructureConfigPath)...)
	}
	if oldControlPlane, err := helper.ControlPlaneConfigFromRaw(oldShoot.Spec.Provider.ControlPlaneConfig); err == nil {
		allErrs = append(allErrs, validation.ValidateControlPlaneConfigUpdate(oldControlPlane, configs.controlPlane, controlPlaneConfigPath)...)
	}

	return allErrs
}
