// Package mutator holds the mutating admission webhook of the metal provider for the garden cluster: it merges
// a NamespacedCloudProfile's providerConfig into the effective providerConfig in its status.
package mutator

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// Name is the name of the mutating webhook.
const Name = "mutator"

var logger = log.Log.WithName("metal-mutator-webhook")

// New creates the webhook that mutates the status of NamespacedCloudProfiles of the metal provider.
func New(mgr manager.Manager) (*extensionswebhook.Webhook, error) {
	logger.Info("Setting up webhook", "name", Name)

	return extensionswebhook.New(mgr, extensionswebhook.Args{
		Name: Name,
		Path: "/webhooks/mutate",
		Mutators: map[extensionswebhook.Mutator][]extensionswebhook.Type{
			// The gardener-controller-manager writes the merged CloudProfile spec into the status; the
			// providerConfig part of that merge is ours.
			NewNamespacedCloudProfileMutator(): {{Obj: &gardencorev1beta1.NamespacedCloudProfile{}, Subresource: new("status")}},
		},
		Target: extensionswebhook.TargetSeed,
		ObjectSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{v1beta1constants.LabelExtensionProviderTypePrefix + metal.Type: "true"},
		},
	})
}
