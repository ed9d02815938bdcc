package dnsrecord

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	miekgdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	"github.com/gardener/gardener/extensions/pkg/controller/dnsrecord"
	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/dns/rfc2136"
)

// defaultTTL is the TTL of records whose DNSRecord sets none, as Gardener documents for spec.ttl.
const defaultTTL = 120

// actuator reconciles DNSRecords of type rfc2136.
type actuator struct {
	client  client.Client
	timeout time.Duration
	clock   clock.PassiveClock
}

// NewActuator returns the DNSRecord actuator for RFC 2136 servers. It reads the DNSRecords' secrets with c,
// bounds each DNS exchange by timeout and signs the messages with the time of clk.
func NewActuator(c client.Client, timeout time.Duration, clk clock.PassiveClock) dnsrecord.Actuator {
	return &actuator{client: c, timeout: timeout, clock: clk}
}

// Migrate does nothing: the records stay in DNS while the shoot moves to another seed, whose controller takes
// them over on Restore.
func (a *actuator) Migrate(context.Context, logr.Logger, *extensionsv1alpha1.DNSRecord, *extensionscontroller.Cluster) error {
	return nil
}

// Restore is Reconcile: the desired records are all in the DNSRecord's spec.
func (a *actuator) Restore(ctx context.Context, log logr.Logger, dns *extensionsv1alpha1.DNSRecord, cluster *extensionscontroller.Cluster) error {
	return a.Reconcile(ctx, log, dns, cluster)
}

// ForceDelete is Delete: removing one record set is a query and a single UPDATE and cannot be made any faster.
func (a *actuator) ForceDelete(ctx context.Context, log logr.Logger, dns *extensionsv1alpha1.DNSRecord, cluster *extensionscontroller.Cluster) error {
	return a.Delete(ctx, log, dns, cluster)
}

// newDNSClient reads the DNSRecord's secret and returns a client for the server it names, with its config.
func (a *actuator) newDNSClient(ctx context.Context, dns *extensionsv1alpha1.DNSRecord) (*rfc2136.Client, rfc2136.Config, error) {
	ref := dns.Spec.SecretRef
	if ref.Namespace == "" {
		ref.Namespace = dns.Namespace
	}
	secret := &corev1.Secret{}
	if err := a.client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, secret); err != nil {
		return nil, rfc2136.Config{}, fmt.Errorf("could not read DNS secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	config, err := rfc2136.ConfigFromSecret(secret, a.timeout)
	if err != nil {
		return nil, rfc2136.Config{}, withErrorCodes(fmt.Errorf("DNS secret %s/%s: %w", ref.Namespace, ref.Name, err))
	}
	config.Clock = a.clock
	return rfc2136.NewClient(config), config, nil
}

// zone returns the zone of the DNSRecord: spec.zone, else the secret's Zone, else the zone found earlier
// (status.zone), else the zone the server answers an SOA query for the name or a parent domain with. The
// secret comes before status.zone so that correcting the secret's Zone moves the records (see Reconcile).
func zone(ctx context.Context, dnsClient *rfc2136.Client, config rfc2136.Config, dns *extensionsv1alpha1.DNSRecord) (string, error) {
	name := miekgdns.CanonicalName(dns.Spec.Name)
	var zone string
	switch {
	case ptr.Deref(dns.Spec.Zone, "") != "":
		zone = *dns.Spec.Zone
	case config.Zone != "":
		zone = config.Zone
	case ptr.Deref(dns.Status.Zone, "") != "":
		zone = *dns.Status.Zone
	default:
		found, err := dnsClient.FindZone(ctx, name)
		if err != nil {
			return "", fmt.Errorf("could not find the zone of %s: %w", name, err)
		}
		return found, nil
	}
	if _, ok := miekgdns.IsDomainName(zone); !ok {
		return "", fmt.Errorf("%w: zone %q is not a domain name", rfc2136.ErrConfiguration, zone)
	}
	zone = miekgdns.CanonicalName(zone)
	// The server would answer NOTZONE; saying so here names both sides.
	if !miekgdns.IsSubDomain(zone, name) {
		return "", fmt.Errorf("%w: %s is not in zone %s", rfc2136.ErrWrongZone, name, zone)
	}
	return zone, nil
}

// withErrorCodes adds the Gardener error codes that fit err, so that the DNSRecord's status.lastError tells the
// operator where to look, and gardenlet whether to retry (Gardener treats these codes as non-retryable, see
// HasNonRetryableErrorCode in gardener's pkg/api/core/v1beta1/helper/errors.go). Transient failures carry no
// code: the controller retries them with back-off and the shoot operation goes on waiting.
func withErrorCodes(err error) error {
	var code gardencorev1beta1.ErrorCode
	switch {
	case errors.Is(err, rfc2136.ErrConfiguration), errors.Is(err, rfc2136.ErrWrongZone):
		code = gardencorev1beta1.ErrorConfigurationProblem
	case errors.Is(err, rfc2136.ErrUnauthenticated):
		code = gardencorev1beta1.ErrorInfraUnauthenticated
	case errors.Is(err, rfc2136.ErrNotAllowed):
		code = gardencorev1beta1.ErrorInfraUnauthorized
	default:
		return err
	}
	return v1beta1helper.NewErrorWithCodes(err, code)
}
