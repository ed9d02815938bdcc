package validator

import (
	"errors"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
)

// decodeError turns a providerConfig that cannot be decoded into an error on the path of the failing field inside
// the providerConfig at fldPath (for example spec.providerConfig.regionConfigs[0].certificateAuthorityData for bad
// base64), so that the user sees which of the configs of an object and which entry of it is broken.
func decodeError(fldPath *field.Path, err error) *field.Error {
	if decodeErr, ok := errors.AsType[*helper.DecodeError](err); ok {
		return field.Invalid(decodeErr.FieldPath(fldPath), field.OmitValueType{}, "could not decode providerConfig: "+decodeErr.Err.Error())
	}
	return field.Invalid(fldPath, field.OmitValueType{}, "could not decode providerConfig: "+err.Error())
}
