package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	componentbaseconfigv1alpha1 "k8s.io/component-base/config/v1alpha1"
)

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// SetDefaults_ControllerConfiguration defaults the client connection and the DNS settings.
func SetDefaults_ControllerConfiguration(obj *ControllerConfiguration) {
	if obj.ClientConnection == nil {
		obj.ClientConnection = &componentbaseconfigv1alpha1.ClientConnectionConfiguration{}
	}
	setDefaultsClientConnection(obj.ClientConnection)
	if obj.DNS == nil {
		obj.DNS = &DNSConfig{}
	}
}

// SetDefaults_DNSConfig defaults the DNS exchange timeout.
func SetDefaults_DNSConfig(obj *DNSConfig) {
	if obj.Timeout == nil {
		obj.Timeout = &metav1.Duration{Duration: 10 * time.Second}
	}
}

// setDefaultsClientConnection defaults the rate limits to what Gardener deploys its own seed components with
// (charts/gardener/gardenlet/values.yaml of gardener/gardener: qps 100, burst 130), so that a seed with hundreds
// of shoots is not throttled on the client side. Kubernetes' recommended defaults are not used: they set the
// content type to protobuf, which the API server rejects for custom resources (Infrastructure, Worker, ...).
// Left empty, controller-runtime sends protobuf for built-in kinds and JSON for custom resources.
func setDefaultsClientConnection(obj *componentbaseconfigv1alpha1.ClientConnectionConfiguration) {
	if obj.QPS == 0 {
		obj.QPS = 100
	}
	if obj.Burst == 0 {
		obj.Burst = 130
	}
}
