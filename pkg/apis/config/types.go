package config

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	componentbaseconfig "k8s.io/component-base/config"

	healthcheckconfigv1alpha1 "github.com/gardener/gardener/extensions/pkg/apis/config/v1alpha1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ControllerConfiguration is the component configuration of gardener-extension-provider-metal.
type ControllerConfiguration struct {
	metav1.TypeMeta

	// ClientConnection configures the connection to the seed's kube-apiserver.
	ClientConnection *componentbaseconfig.ClientConnectionConfiguration
	// HealthCheckConfig configures the health check controllers.
	HealthCheckConfig *healthcheckconfigv1alpha1.HealthCheckConfig
	// DNS configures the DNSRecord controller.
	DNS *DNSConfig
}

// DNSConfig configures the DNSRecord controller for RFC 2136 servers.
type DNSConfig struct {
	// Timeout bounds each DNS exchange (query or UPDATE).
	Timeout *metav1.Duration
}
