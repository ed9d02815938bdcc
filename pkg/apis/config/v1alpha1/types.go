package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	componentbaseconfigv1alpha1 "k8s.io/component-base/config/v1alpha1"

	healthcheckconfigv1alpha1 "github.com/gardener/gardener/extensions/pkg/apis/config/v1alpha1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ControllerConfiguration is the component configuration of gardener-extension-provider-metal.
type ControllerConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	// ClientConnection configures the connection to the seed's kube-apiserver.
	// +optional
	ClientConnection *componentbaseconfigv1alpha1.ClientConnectionConfiguration `json:"clientConnection,omitempty"`
	// HealthCheckConfig configures the health check controllers.
	// +optional
	HealthCheckConfig *healthcheckconfigv1alpha1.HealthCheckConfig `json:"healthCheckConfig,omitempty"`
	// DNS configures the DNSRecord controller.
	// +optional
	DNS *DNSConfig `json:"dns,omitempty"`
}

// DNSConfig configures the DNSRecord controller for RFC 2136 servers.
type DNSConfig struct {
	// Timeout bounds each DNS exchange (query or UPDATE); defaults to 10s.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}
