package validator

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	"github.com/gardener/gardener/pkg/apis/core"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var cloudProfileConfigPath = field.NewPath("spec", "providerConfig")

// NewCloudProfileValidator returns a validator for CloudProfiles of the metal provider.
func NewCloudProfileValidator() extensionswebhook.Validator {
	return &cloudProfileValidator{}
}

type cloudProfileValidator struct{}

// Validate validates the providerConfig of a CloudProfile against the CloudProfile's spec.
func (v *cloudProfileValidator) Validate(_ context.Context, newObj, _ client.Object) error {
	cloudProfile, ok := newObj.(*core.CloudProfile)
	if !ok {
		return fmt.Errorf("expected *core.CloudProfile but got %T", newObj)
	}
	if cloudProfile.DeletionTimestamp != nil || cloudProfile.Spec.Type != metal.Type {
		return nil
	}

	if cloudProfile.Spec.ProviderConfig == nil {
		return field.ErrorList{field.Required(cloudProfileConfigPath, "providerConfig must be set for CloudProfiles of type "+metal.Type)}.ToAggregate()
	}
	cloudProfileConfig, err := helper.CloudProfileConfigFromRaw(cloudProfile.Spec.ProviderConfig)
	if err != nil {
		return field.ErrorList{decodeError(cloudProfileConfigPath, err)}.ToAggregate()
	}

	return validation.ValidateCloudProfileConfig(cloudProfileConfig, &cloudProfile.Spec, cloudProfileConfigPath).ToAggregate()
}
