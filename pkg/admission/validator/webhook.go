// Package validator holds the validating admission webhooks of the metal provider for the garden cluster:
// Shoots, CloudProfiles, NamespacedCloudProfiles, SecretBindings, CredentialsBindings and cloud provider Secrets.
package validator

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	"github.com/gardener/gardener/pkg/apis/core"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	"github.com/gardener/gardener/pkg/apis/security"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const (
	// Name is the name of the validating webhook for Gardener resources.
	Name = "validator"
	// SecretsValidatorName is the name of the validating webhook for cloud provider Secrets.
	SecretsValidatorName = "secrets." + Name
	// DNSSecretsValidatorName is the name of the validating webhook for RFC 2136 DNS provider Secrets.
	DNSSecretsValidatorName = "dnssecrets." + Name
)

var logger = log.Log.WithName("metal-validator-webhook")

// New creates the webhook that validates Shoots, CloudProfiles, NamespacedCloudProfiles, SecretBindings and
// CredentialsBindings of the metal provider.
func New(mgr manager.Manager) (*extensionswebhook.Webhook, error) {
	logger.Info("Setting up webhook", "name", Name)

	return extensionswebhook.New(mgr, extensionswebhook.Args{
		Name: Name,
		Path: "/webhooks/validate",
		Validators: map[extensionswebhook.Validator][]extensionswebhook.Type{
			NewShootValidator(mgr):                  {{Obj: &core.Shoot{}}},
			NewCloudProfileValidator():              {{Obj: &core.CloudProfile{}}},
			NewNamespacedCloudProfileValidator(mgr): {{Obj: &core.NamespacedCloudProfile{}}},
			NewSecretBindingValidator(mgr):          {{Obj: &core.SecretBinding{}}},
			NewCredentialsBindingValidator(mgr):     {{Obj: &security.CredentialsBinding{}}},
		},
		Target: extensionswebhook.TargetSeed,
		// The gardener-apiserver's ExtensionLabels plugin labels these resources with their provider type, so
		// objects of other providers never reach this webhook.
		ObjectSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{v1beta1constants.LabelExtensionProviderTypePrefix + metal.Type: "true"},
		},
	})
}

// NewSecretsWebhook creates the webhook that validates the Secrets holding metal API credentials.
func NewSecretsWebhook(mgr manager.Manager) (*extensionswebhook.Webhook, error) {
	logger.Info("Setting up webhook", "name", SecretsValidatorName)

	return extensionswebhook.New(mgr, extensionswebhook.Args{
		Name: SecretsValidatorName,
		Path: "/webhooks/validate/secrets",
		Validators: map[extensionswebhook.Validator][]extensionswebhook.Type{
			NewSecretValidator(): {{Obj: &corev1.Secret{}}},
		},
		Target: extensionswebhook.TargetSeed,
		// Gardener labels Secrets referenced by a binding of provider type metal with this label.
		ObjectSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{v1beta1constants.LabelShootProviderPrefix + metal.Type: "true"},
		},
	})
}

// NewDNSSecretsWebhook creates the webhook that validates the Secrets of RFC 2136 DNS providers, the Secrets
// that DNSRecords of type rfc2136 reference.
func NewDNSSecretsWebhook(mgr manager.Manager) (*extensionswebhook.Webhook, error) {
	logger.Info("Setting up webhook", "name", DNSSecretsValidatorName)

	return extensionswebhook.New(mgr, extensionswebhook.Args{
		Name: DNSSecretsValidatorName,
		Path: "/webhooks/validate/dnssecrets",
		Validators: map[extensionswebhook.Validator][]extensionswebhook.Type{
			NewDNSSecretValidator(): {{Obj: &corev1.Secret{}}},
		},
		Target: extensionswebhook.TargetSeed,
		// The label Gardener gives Secrets of DNS providers of type rfc2136, as for cloud provider credentials.
		ObjectSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{v1beta1constants.LabelShootProviderPrefix + metal.DNSType: "true"},
		},
	})
}
