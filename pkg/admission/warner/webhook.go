// Package warner holds the admission webhook of the metal provider that warns, without ever rejecting, when a
// Shoot's worker pool cannot get its machines now: it counts the Servers each pool can claim per zone in the
// metal API, as the Infrastructure controller does. Gardener's extension validators cannot return warnings, so
// this is a handler of its own.
package warner

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const (
	// Name is the name of the webhook that warns about Server shortages of Shoots.
	Name = "capacity.warner"
	// Path is the path the webhook is served at.
	Path = "/webhooks/warn/capacity"
)

// New creates the webhook that warns when a Shoot's worker pool finds fewer claimable Servers in a zone than its
// minimum. It fails open (failurePolicy Ignore): a warning is a courtesy, and no Shoot must wait for it.
func New(mgr manager.Manager) (*extensionswebhook.Webhook, error) {
	// The manager's logger, so that the reasons for a missing warning are logged with the component's other logs.
	logger := mgr.GetLogger().WithName("metal-capacity-warner")
	logger.Info("Setting up webhook", "name", Name)

	return &extensionswebhook.Webhook{
		Action: extensionswebhook.ActionValidating,
		Name:   Name,
		Path:   Path,
		Target: extensionswebhook.TargetSeed,
		Types:  []extensionswebhook.Type{{Obj: &gardencorev1beta1.Shoot{}}},
		Webhook: &admission.Webhook{
			Handler:      NewHandler(mgr.GetAPIReader(), admission.NewDecoder(mgr.GetScheme()), logger),
			RecoverPanic: new(true),
		},
		// The gardener-apiserver's ExtensionLabels plugin labels Shoots with their provider type.
		ObjectSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{v1beta1constants.LabelExtensionProviderTypePrefix + metal.Type: "true"},
		},
		FailurePolicy: new(admissionregistrationv1.Ignore),
	}, nil
}
