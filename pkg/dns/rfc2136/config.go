package rfc2136

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/clock"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
	providermetal "github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// defaultPort is the DNS port used when the secret's Server has none.
const defaultPort = "53"

// Config is what a Client needs to talk to one RFC 2136 server.
type Config struct {
	// Server is the server's address as host:port.
	Server string
	// Zone is the zone from the secret as a canonical FQDN; empty when the secret names none.
	Zone string
	// KeyName is the TSIG key name as a canonical FQDN.
	KeyName string
	// Secret is the base64-encoded TSIG secret.
	Secret string
	// Algorithm is the TSIG algorithm as it goes on the wire, for example "hmac-sha256.".
	Algorithm string
	// Timeout bounds each exchange with the server.
	Timeout time.Duration
	// Clock gives the signing time of the messages; nil means the system clock.
	Clock clock.PassiveClock
}

// String describes the configuration without the TSIG secret, so that a Config that ends up in a log line or
// an error message does not leak it.
func (c Config) String() string {
	return fmt.Sprintf("server=%s zone=%s key=%s algorithm=%s", c.Server, c.Zone, c.KeyName, c.Algorithm)
}

// GoString is String, so that %#v does not print the TSIG secret either.
func (c Config) GoString() string {
	return c.String()
}

// ConfigFromSecret reads the configuration from a DNS secret with the keys of external-dns-management's rfc2136
// provider (see validation.ValidateDNSSecret). An invalid secret yields an error that wraps ErrConfiguration and
// names the offending fields, never the TSIG secret.
func ConfigFromSecret(secret *corev1.Secret, timeout time.Duration) (Config, error) {
	if errs := validation.ValidateDNSSecret(secret, field.NewPath("secret")); len(errs) > 0 {
		return Config{}, fmt.Errorf("%w: %w", ErrConfiguration, errs.ToAggregate())
	}
	// Validation has accepted the algorithm, so the lookup cannot fail here.
	algorithm, _ := validation.TSIGAlgorithm(string(secret.Data[providermetal.DNSTSIGSecretAlgorithmKey]))
	config := Config{
		Server:    serverAddress(string(secret.Data[providermetal.DNSServerKey])),
		KeyName:   dns.CanonicalName(string(secret.Data[providermetal.DNSTSIGKeyNameKey])),
		Secret:    string(secret.Data[providermetal.DNSTSIGSecretKey]),
		Algorithm: algorithm,
		Timeout:   timeout,
	}
	if zone := string(secret.Data[providermetal.DNSZoneKey]); zone != "" {
		config.Zone = dns.CanonicalName(zone)
	}
	return config, nil
}

// serverAddress returns server as host:port, adding the DNS port when server has none.
func serverAddress(server string) string {
	if _, _, err := net.SplitHostPort(server); err == nil {
		return server
	}
	return net.JoinHostPort(strings.TrimSuffix(server, "."), defaultPort)
}
