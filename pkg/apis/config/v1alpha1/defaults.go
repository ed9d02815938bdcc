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
	componentbaseconfigv1alpha1.RecommendedDefaultClientConnectionConfiguration(obj.ClientConnection)
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
