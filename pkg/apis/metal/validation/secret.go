package validation

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	providermetal "github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// allowedSecretKeys are the keys a metal credentials secret may have.
var allowedSecretKeys = []string{providermetal.NamespaceKey, providermetal.TokenKey, providermetal.UsernameKey}

// ValidateCloudProviderSecret validates a metal credentials secret: the metal API namespace and the bearer
// token are required, the username is optional, and nothing else is allowed so that typos in key names do not
// go unnoticed. Secret values never appear in the errors.
func ValidateCloudProviderSecret(secret *corev1.Secret, fldPath *field.Path) field.ErrorList {
	if secret == nil {
		return field.ErrorList{field.Required(fldPath, "must provide a secret")}
	}
	dataPath := fldPath.Child("data")
	allErrs := field.ErrorList{}

	namespacePath := dataPath.Key(providermetal.NamespaceKey)
	if namespace, ok := secret.Data[providermetal.NamespaceKey]; !ok || len(namespace) == 0 {
		allErrs = append(allErrs, field.Required(namespacePath, "must provide the namespace in the metal API"))
	} else if msgs := validation.IsDNS1123Label(string(namespace)); len(msgs) > 0 {
		allErrs = append(allErrs, field.Invalid(namespacePath, field.OmitValueType{}, "must be a namespace name (DNS-1123 label)"))
	}

	tokenPath := dataPath.Key(providermetal.TokenKey)
	if token, ok := secret.Data[providermetal.TokenKey]; !ok || len(token) == 0 {
		allErrs = append(allErrs, field.Required(tokenPath, "must provide the token for the metal API"))
	} else if strings.TrimSpace(string(token)) != string(token) {
		allErrs = append(allErrs, field.Invalid(tokenPath, field.OmitValueType{}, "must not have leading or trailing whitespace"))
	}

	for _, key := range sortedKeys(secret.Data) {
		if !slices.Contains(allowedSecretKeys, key) {
			allErrs = append(allErrs, field.Forbidden(dataPath.Key(key), fmt.Sprintf("unknown key %q; allowed keys are %s", key, strings.Join(allowedSecretKeys, ", "))))
		}
	}
	return allErrs
}
