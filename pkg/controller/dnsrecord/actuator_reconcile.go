package dnsrecord

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-logr/logr"
	miekgdns "github.com/miekg/dns"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/dns/rfc2136"
)

// Reconcile makes the server hold exactly the DNSRecord's records. It sends an UPDATE only when the server's
// record set differs, replacing the whole set atomically, and records the zone in status.zone. When the zone
// has changed since (status.zone differs, after the secret's Zone was corrected), it removes the record set from
// the old zone too when that is a parent of the new one, so that nothing is left behind there.
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
	if err := a.leaveOldZone(ctx, log, dnsClient, dns, zone, set); err != nil {
		return err
	}
	return a.setStatusZone(ctx, dns, zone)
}

// leaveOldZone removes the record set from the zone in status.zone when that is a parent of zone: records written
// into a parent zone while the server serves the name from a zone below are never answered, so they are
// leftovers of a wrong Zone. An old zone below the new one is left alone: the server answers from it, and a query
// cannot tell its records from the new zone's. A server that no longer serves the old zone holds nothing there.
func (a *actuator) leaveOldZone(ctx context.Context, log logr.Logger, dnsClient *rfc2136.Client, dns *extensionsv1alpha1.DNSRecord, zone string, set rfc2136.RRset) error {
	old := miekgdns.CanonicalName(ptr.Deref(dns.Status.Zone, ""))
	if old == "." || old == zone || !miekgdns.IsSubDomain(old, zone) {
		return nil
	}
	sent, err := dnsClient.Delete(ctx, old, set.Name, set.Type)
	if err != nil && !errors.Is(err, rfc2136.ErrWrongZone) {
		return withErrorCodes(fmt.Errorf("could not remove record set %s from the previous zone %s: %w", set, old, err))
	}
	if sent {
		log.Info("Removed DNS record set from the previous zone", "recordSet", set.String(), "zone", old, "newZone", zone)
	}
	return nil
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
