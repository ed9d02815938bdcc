package validator

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// decodeError turns a providerConfig that cannot be decoded into an error on the providerConfig's path, so that
// the user sees which of the configs of an object is broken.
func decodeError(fldPath *field.Path, err error) *field.Error {
	return field.Invalid(fldPath, field.OmitValueType{}, "could not decode providerConfig: "+err.Error())
}
