package dnsrecord

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/dns/rfc2136"
)

// Reconcile makes the server hold exactly the DNSRecord's records. It sends an UPDATE only when the server's
// record set differs, replacing the whole set atomically, and records the zone in status.zone.
func (a *actuator) Reconcile(ctx context.Context, log logr.Logger, dns *extensionsv1alpha1.DNSRecord, _ *extensionscontroller.Cluster) error {
	set, err := rfc2136.NewRRset(dns.Spec.Name, string(dns.Spec.RecordType), ptr.Deref(dns.Spec.TTL, defaultTTL), dns.Spec.Values)
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

	sent, err := dnsClient.Ensure(ctx, zone, set)
	if err != nil {
		return withErrorCodes(fmt.Errorf("could not write record set %s: %w", set, err))
	}
	if sent {
		log.Info("Updated DNS record set", "recordSet", set.String(), "values", set.Values, "ttl", set.TTL, "zone", zone, "server", config.Server)
	} else {
		log.V(1).Info("DNS record set is up to date", "recordSet", set.String(), "zone", zone, "server", config.Server)
	}
	return a.setStatusZone(ctx, dns, zone)
}

// setStatusZone records the zone in status.zone, so that later reconciliations and the deletion use the same
// zone without looking it up again.
func (a *actuator) setStatusZone(ctx context.Context, dns *extensionsv1alpha1.DNSRecord, zone string) error {
	if ptr.Deref(dns.Status.Zone, "") == zone {
		return nil
	}
	patch := client.MergeFrom(dns.DeepCopy())
	dns.Status.Zone = &zone
	if err := a.client.Status().Patch(ctx, dns, patch); err != nil {
		return fmt.Errorf("could not record zone %s in the status: %w", zone, err)
	}
	return nil
}
