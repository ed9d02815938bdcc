package dnsrecord

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	miekgdns "github.com/miekg/dns"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/dns/rfc2136"
)

// Delete removes the DNSRecord's record set (its name and type, nothing else) from the zone. A set that is
// already gone counts as deleted and costs one query, no UPDATE.
func (a *actuator) Delete(ctx context.Context, log logr.Logger, dns *extensionsv1alpha1.DNSRecord, _ *extensionscontroller.Cluster) error {
	rrtype, err := rfc2136.ParseType(string(dns.Spec.RecordType))
	if err != nil {
		return withErrorCodes(fmt.Errorf("invalid DNSRecord: %w", err))
	}
	dnsClient, config, err := a.newDNSClient(ctx, dns)
	if err != nil {
		return err
	}
	zone, err := zone(ctx, dnsClient, config, dns)
	if err != nil {
		return withErrorCodes(err)
	}

	name := miekgdns.CanonicalName(dns.Spec.Name)
	sent, err := dnsClient.Delete(ctx, zone, name, rrtype)
	if err != nil {
		return withErrorCodes(fmt.Errorf("could not delete record set %s %s: %w", name, dns.Spec.RecordType, err))
	}
	if sent {
		log.Info("Deleted DNS record set", "recordSet", name+" "+string(dns.Spec.RecordType), "zone", zone, "server", config.Server)
	}
	return nil
}
