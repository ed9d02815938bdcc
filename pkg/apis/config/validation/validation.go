// Package validation validates the component configuration of gardener-extension-provider-metal.
package validation

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	componentbaseconfig "k8s.io/component-base/config"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/config"
)

// ValidateControllerConfiguration validates the component configuration.
func ValidateControllerConfiguration(cfg *config.ControllerConfiguration) field.ErrorList {
	var errs field.ErrorList
	if cfg.ClientConnection != nil {
		errs = append(errs, validateClientConnection(cfg.ClientConnection, field.NewPath("clientConnection"))...)
	}
	return errs
}

func validateClientConnection(cc *componentbaseconfig.ClientConnectionConfiguration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	// The extension writes custom resources (Infrastructure, Worker, ManagedResource, MachineDeployment, ...),
	// which the API server accepts only as JSON; controller-runtime picks protobuf for built-in kinds by itself
	// when the content type is left empty.
	if cc.ContentType != "" && cc.ContentType != runtime.ContentTypeJSON {
		errs = append(errs, field.NotSupported(path.Child("contentType"), cc.ContentType, []string{"", runtime.ContentTypeJSON}))
	}
	if cc.QPS < 0 {
		errs = append(errs, field.Invalid(path.Child("qps"), cc.QPS, "must not be negative"))
	}
	if cc.Burst < 0 {
		errs = append(errs, field.Invalid(path.Child("burst"), cc.Burst, "must not be negative"))
	}
	return errs
}
