// Package controlplane contains the control plane webhook of the metal extension. It makes the shoot's
// kube-apiserver, kube-controller-manager and kubelets use the external metal cloud-controller-manager, and it adds
// the metal driver to the machine-controller-manager.
package controlplane

import (
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	vpaautoscalingv1 "k8s.io/autoscaler/vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	"github.com/gardener/gardener/extensions/pkg/webhook/controlplane"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var logger = log.Log.WithName("metal-controlplane-webhook")

// AddToManager creates the control plane webhook (name "controlplane") for shoots of type metal. It mutates the
// objects gardenlet labels for provider control plane webhooks: the kube-apiserver, kube-controller-manager and
// machine-controller-manager Deployments, the machine-controller-manager's VPA and the OperatingSystemConfigs.
func AddToManager(mgr manager.Manager) (*extensionswebhook.Webhook, error) {
	logger.Info("Adding webhook to manager")
	return controlplane.New(mgr, controlplane.Args{
		Kind:     controlplane.KindShoot,
		Provider: metal.Type,
		Types: []extensionswebhook.Type{
			{Obj: &appsv1.Deployment{}},
			{Obj: &vpaautoscalingv1.VerticalPodAutoscaler{}},
			{Obj: &extensionsv1alpha1.OperatingSystemConfig{}},
		},
		ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{v1beta1constants.LabelExtensionProviderMutatedByControlplaneWebhook: "true"}},
		Mutator:        NewMutator(mgr.GetClient(), logger),
	})
}
