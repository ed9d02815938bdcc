package validator

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

	profile, err := s.cloudProfile(ctx, shoot)
	if err != nil {
		return err
	}

	allErrs = append(allErrs, validateShoot(shoot, configs, profile)...)
	allErrs = append(allErrs, s.validatePoolData(ctx, shoot, configs, profile.config)...)

	if oldObj != nil {
		oldShoot, ok := oldObj.(*core.Shoot)
		if !ok {
			return fmt.Errorf("expected *core.Shoot but got %T for the old object", oldObj)
		}
		allErrs = append(allErrs, validateShootUpdate(oldShoot, shoot, configs)...)
	}

	return allErrs.ToAggregate()
}

// shootCloudProfile is what the validation needs of the Shoot's CloudProfile: its metal providerConfig and the
// zones of the Shoot's region.
type shootCloudProfile struct {
	config      *metalapi.CloudProfileConfig
	regionZones []string
}

// cloudProfile reads the Shoot's CloudProfile. A missing CloudProfile or one whose providerConfig cannot be
// decoded is an error on the Shoot's reference to it.
func (s *shootValidator) cloudProfile(ctx context.Context, shoot *core.Shoot) (*shootCloudProfile, error) {
	spec, name, err := getShootCloudProfileSpec(ctx, s.reader, shoot)
	if err != nil {
		return nil, err
	}
	cloudProfileConfig, err := helper.CloudProfileConfigFromRaw(spec.ProviderConfig)
	if err != nil {
		return nil, field.ErrorList{field.Invalid(cloudProfileRefPath(shoot), field.OmitValueType{}, fmt.Sprintf("the providerConfig of %s cannot be decoded: %v", name, err))}.ToAggregate()
	}
	profile := &shootCloudProfile{config: cloudProfileConfig}
	for _, region := range spec.Regions {
		if region.Name != shoot.Spec.Region {
			continue
		}
		for _, zone := range region.Zones {
			profile.regionZones = append(profile.regionZones, zone.Name)
		}
	}
	return profile, nil
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

func validateShoot(shoot *core.Shoot, configs *shootConfigs, profile *shootCloudProfile) field.ErrorList {
	allErrs := validation.ValidateInfrastructureConfig(configs.infrastructure, shoot.Spec.Networking, infrastructureConfigPath)
	allErrs = append(allErrs, validation.ValidateControlPlaneConfig(configs.controlPlane, shoot.Spec.Networking, controlPlaneConfigPath)...)
	allErrs = append(allErrs, validation.ValidateWorkers(shoot.Spec.Provider.Workers, profile.config, shoot.Spec.Region, workersPath)...)
	allErrs = append(allErrs, validation.ValidateWorkerZones(shoot.Spec.Provider.Workers, profile.regionZones, workersPath)...)
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

// validatePoolData checks what each pool puts into its machines' ignition Secret: the Ignition of the Secret
// that extraIgnition.secretRef references (it must exist and parse as the Worker controller parses it), and the
// size of both Ignitions and the metadata together. Inline Ignition is validated with the providerConfig.
func (s *shootValidator) validatePoolData(ctx context.Context, shoot *core.Shoot, configs *shootConfigs, cloudProfileConfig *metalapi.CloudProfileConfig) field.ErrorList {
	allErrs := field.ErrorList{}
	data := validation.MachineData{}
	if cloudProfileConfig.Ignition != nil {
		data.ProfileIgnition = *cloudProfileConfig.Ignition
	}
	for i, workerConfig := range configs.workers {
		if workerConfig == nil {
			continue
		}
		configPath := workersPath.Index(i).Child("providerConfig")
		data.Config, data.PoolIgnition = workerConfig, ""
		if extra := workerConfig.ExtraIgnition; extra != nil {
			data.PoolIgnition = extra.Raw
			if extra.SecretRef != "" && extra.Raw == "" {
				content, errs := s.ignitionFromSecret(ctx, shoot, extra, configPath.Child("extraIgnition", "secretRef"))
				if len(errs) > 0 {
					allErrs = append(allErrs, errs...)
					continue
				}
				data.PoolIgnition = content
			}
		}
		allErrs = append(allErrs, validation.ValidateMachineDataSize(data, configPath)...)
	}
	return allErrs
}

// ignitionFromSecret reads and validates the Ignition of the Secret that the Shoot's resource extra.SecretRef
// references. A resource that is no Secret reference is reported by ValidateWorkerConfig already.
func (s *shootValidator) ignitionFromSecret(ctx context.Context, shoot *core.Shoot, extra *metalapi.IgnitionConfig, fldPath *field.Path) (string, field.ErrorList) {
	idx := slices.IndexFunc(shoot.Spec.Resources, func(r core.NamedResourceReference) bool { return r.Name == extra.SecretRef })
	if idx < 0 || shoot.Spec.Resources[idx].ResourceRef.Kind != "Secret" || shoot.Spec.Resources[idx].ResourceRef.APIVersion != "v1" {
		return "", nil
	}
	secretName := shoot.Spec.Resources[idx].ResourceRef.Name
	resourcePath := field.NewPath("spec", "resources").Index(idx).Child("resourceRef", "name")

	secret := &corev1.Secret{}
	if err := s.reader.Get(ctx, client.ObjectKey{Namespace: shoot.Namespace, Name: secretName}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return "", field.ErrorList{field.NotFound(resourcePath, secretName)}
		}
		return "", field.ErrorList{field.InternalError(resourcePath, fmt.Errorf("could not read Secret %s/%s: %w", shoot.Namespace, secretName, err))}
	}
	content, ok := secret.Data[validation.IgnitionSecretDataKey]
	if !ok || len(content) == 0 {
		return "", field.ErrorList{field.Invalid(fldPath, extra.SecretRef, fmt.Sprintf("Secret %q has no key %q", secretName, validation.IgnitionSecretDataKey))}
	}
	if errs := validation.ValidateIgnitionContent(string(content), !extra.Override, fldPath); len(errs) > 0 {
		return "", errs
	}
	return string(content), nil
}
