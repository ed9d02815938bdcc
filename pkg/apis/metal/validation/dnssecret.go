package validation

import (
	"encoding/base64"
	"net"
	"strconv"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	providermetal "github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// DefaultTSIGAlgorithm is the TSIG algorithm used when a DNS secret does not name one, as in
// external-dns-management's rfc2136 provider.
const DefaultTSIGAlgorithm = dns.HmacSHA256

// supportedTSIGAlgorithms are the TSIG algorithms, in the form a DNS secret names them.
var supportedTSIGAlgorithms = []string{"hmac-sha256", "hmac-sha512", "hmac-sha1"}

// TSIGAlgorithm returns the TSIG algorithm name as it goes on the wire (for example "hmac-sha256.") for the
// value of a DNS secret's TSIGSecretAlgorithm key. The value is matched case-insensitively, with or without a
// trailing dot; empty means DefaultTSIGAlgorithm. It reports false for unsupported algorithms.
func TSIGAlgorithm(value string) (string, bool) {
	if value == "" {
		return DefaultTSIGAlgorithm, true
	}
	name := strings.TrimSuffix(strings.ToLower(value), ".")
	for _, supported := range supportedTSIGAlgorithms {
		if name == supported {
			return dns.Fqdn(name), true
		}
	}
	return "", false
}

// ValidateDNSSecret validates a secret for RFC 2136 dynamic DNS updates. It uses the keys of
// external-dns-management's rfc2136 provider, so one secret serves both: Server (host[:port]), TSIGKeyName and
// TSIGSecret (base64) are required; Zone (a domain name) and TSIGSecretAlgorithm (hmac-sha256, hmac-sha512 or
// hmac-sha1; default hmac-sha256) are optional. Other keys are allowed because the secret may be shared. The
// TSIG secret never appears in the errors.
func ValidateDNSSecret(secret *corev1.Secret, fldPath *field.Path) field.ErrorList {
	if secret == nil {
		return field.ErrorList{field.Required(fldPath, "must provide a secret")}
	}
	dataPath := fldPath.Child("data")
	allErrs := field.ErrorList{}

	serverPath := dataPath.Key(providermetal.DNSServerKey)
	if server, ok := secret.Data[providermetal.DNSServerKey]; !ok || len(server) == 0 {
		allErrs = append(allErrs, field.Required(serverPath, "must provide the DNS server as host[:port]"))
	} else {
		allErrs = append(allErrs, validateDNSServer(string(server), serverPath)...)
	}

	if zone, ok := secret.Data[providermetal.DNSZoneKey]; ok {
		allErrs = append(allErrs, validateZone(string(zone), dataPath.Key(providermetal.DNSZoneKey))...)
	}

	keyNamePath := dataPath.Key(providermetal.DNSTSIGKeyNameKey)
	if keyName, ok := secret.Data[providermetal.DNSTSIGKeyNameKey]; !ok || len(keyName) == 0 {
		allErrs = append(allErrs, field.Required(keyNamePath, "must provide the name of the TSIG key"))
	} else if _, isDomainName := dns.IsDomainName(string(keyName)); !isDomainName || strings.TrimSpace(string(keyName)) != string(keyName) {
		allErrs = append(allErrs, field.Invalid(keyNamePath, string(keyName), "must be a domain name, for example tsig-key."))
	}

	tsigSecretPath := dataPath.Key(providermetal.DNSTSIGSecretKey)
	if tsigSecret, ok := secret.Data[providermetal.DNSTSIGSecretKey]; !ok || len(tsigSecret) == 0 {
		allErrs = append(allErrs, field.Required(tsigSecretPath, "must provide the base64-encoded TSIG secret"))
	} else if decoded, err := base64.StdEncoding.DecodeString(string(tsigSecret)); err != nil || len(decoded) == 0 {
		// The value is secret, so the error names only what is wrong with it.
		allErrs = append(allErrs, field.Invalid(tsigSecretPath, field.OmitValueType{}, "must be base64-encoded (standard encoding, with padding)"))
	}

	if algorithm, ok := secret.Data[providermetal.DNSTSIGSecretAlgorithmKey]; ok {
		if _, supported := TSIGAlgorithm(string(algorithm)); !supported {
			allErrs = append(allErrs, field.NotSupported(dataPath.Key(providermetal.DNSTSIGSecretAlgorithmKey), string(algorithm), supportedTSIGAlgorithms))
		}
	}
	return allErrs
}

// validateDNSServer checks value is host[:port] with the host an IP address or a DNS name; IPv6 addresses with a
// port are written in brackets ([2001:db8::1]:53).
func validateDNSServer(value string, fldPath *field.Path) field.ErrorList {
	host := value
	if h, port, err := net.SplitHostPort(value); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return field.ErrorList{field.Invalid(fldPath, value, "port must be a number between 1 and 65535")}
		}
		host = h
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if msgs := validation.IsDNS1123Subdomain(strings.TrimSuffix(host, ".")); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(fldPath, value, "must be host[:port] with the host an IP address or a DNS name: "+strings.Join(msgs, "; "))}
	}
	return nil
}

// validateZone checks value is a fully qualified domain name; the trailing dot is optional.
func validateZone(value string, fldPath *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Invalid(fldPath, value, "must not be empty when given")}
	}
	if msgs := validation.IsDNS1123Subdomain(strings.TrimSuffix(value, ".")); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(fldPath, value, "must be a fully qualified domain name: "+strings.Join(msgs, "; "))}
	}
	return nil
}
