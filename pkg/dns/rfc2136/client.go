// Package rfc2136 manages record sets on an authoritative DNS server with RFC 2136 dynamic updates. Every
// message, queries included, is TSIG-signed (RFC 8945) and every answer must carry a valid signature. A change
// is one atomic UPDATE that removes the record set and inserts its new records, so resolvers never see the name
// without records in between.
package rfc2136

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/miekg/dns"
)

const (
	// tsigFudge is the clock skew, in seconds, the server may accept for the signing time (RFC 8945 5.2.3
	// recommends 300).
	tsigFudge = 300
	// defaultTimeout bounds an exchange when the Config sets no timeout.
	defaultTimeout = 10 * time.Second
)

// Client sends TSIG-signed queries and updates to one server.
type Client struct {
	config Config
	dns    *dns.Client
}

// NewClient returns a Client for config. It talks TCP: UPDATE messages and TXT answers easily exceed the
// 512 bytes of plain UDP, and a TCP answer is never truncated, so no retry path is needed.
func NewClient(config Config) *Client {
	if config.Timeout <= 0 {
		config.Timeout = defaultTimeout
	}
	return &Client{
		config: config,
		dns: &dns.Client{
			Net:        "tcp",
			Timeout:    config.Timeout,
			TsigSecret: map[string]string{config.KeyName: config.Secret},
		},
	}
}

// Query returns the record set of name and rrtype as the server holds it. A name without such records (NXDOMAIN
// or no data) yields an RRset without values. Only records owned by exactly name count: records of a CNAME
// target the server adds to the answer are ignored.
func (c *Client) Query(ctx context.Context, zone, name string, rrtype uint16) (RRset, error) {
	name = dns.CanonicalName(name)
	answer, err := c.exchange(ctx, "query", name, zone, newQuery(name, rrtype), dns.RcodeNameError)
	if err != nil {
		return RRset{}, err
	}
	return rrsetFromAnswer(name, rrtype, answer.Answer), nil
}

// Update replaces the record set of set.Name and set.Type in zone by set, in one atomic UPDATE.
func (c *Client) Update(ctx context.Context, zone string, set RRset) error {
	_, err := c.exchange(ctx, "UPDATE", set.String(), zone, newUpdate(zone, set))
	return err
}

// Ensure makes the server hold exactly set. It queries the current record set first and sends an UPDATE only
// when it differs (in TTL or values), so an unchanged record costs one query and changes nothing on the server
// (no serial increment, no NOTIFY, no zone transfer). It reports whether it sent an UPDATE.
//
// A query cannot tell records stored at the name from records a wildcard synthesises for it, so when a
// wildcard of the zone already answers for set.Name with exactly the desired records and TTL, Ensure sends
// nothing; resolvers get the desired answer either way.
func (c *Client) Ensure(ctx context.Context, zone string, set RRset) (bool, error) {
	current, err := c.Query(ctx, zone, set.Name, set.Type)
	if err != nil {
		return false, err
	}
	if current.Equal(set) {
		return false, nil
	}
	return true, c.Update(ctx, zone, set)
}

// Delete removes the record set of name and rrtype from zone, and nothing else. Deleting a set that does not
// exist succeeds, so repeated deletes are fine.
func (c *Client) Delete(ctx context.Context, zone, name string, rrtype uint16) error {
	name = dns.CanonicalName(name)
	description := name + " " + dns.TypeToString[rrtype]
	_, err := c.exchange(ctx, "UPDATE (delete)", description, zone, newDelete(zone, name, rrtype), dns.RcodeNameError, dns.RcodeNXRrset)
	return err
}

// FindZone returns the zone the server holds name in. It asks for the SOA of name and then of each parent
// domain until the server answers with one, either as the answer (at the zone apex) or in the authority
// section (below it). REFUSED answers mean the server does not serve that domain, so the walk goes on upwards.
func (c *Client) FindZone(ctx context.Context, name string) (string, error) {
	name = dns.CanonicalName(name)
	for candidate := name; candidate != "."; candidate = parent(candidate) {
		answer, err := c.exchange(ctx, "SOA query", candidate, "", newQuery(candidate, dns.TypeSOA), dns.RcodeNameError, dns.RcodeRefused)
		if err != nil {
			return "", err
		}
		if zone := soaOwner(candidate, answer); zone != "" {
			return zone, nil
		}
	}
	return "", fmt.Errorf("%w: no zone for %s at %s: the server answered no SOA query for the name or a parent domain", ErrConfiguration, name, c.config.Server)
}

// exchange signs m, sends it and checks the answer: it must be signed and its rcode NOERROR or one of
// acceptable. Errors name the operation, record, zone and server.
func (c *Client) exchange(ctx context.Context, operation, name, zone string, m *dns.Msg, acceptable ...int) (*dns.Msg, error) {
	m.SetTsig(c.config.KeyName, c.config.Algorithm, tsigFudge, time.Now().Unix())
	ctx, cancel := context.WithTimeout(ctx, c.config.Timeout)
	defer cancel()

	answer, _, err := c.dns.ExchangeContext(ctx, m, c.config.Server)
	// A failure rcode explains more than the failed signature check of the (unsigned) error answer that comes
	// with it, so it is looked at first.
	if answer != nil {
		if rcodeErr := c.checkRcode(operation, name, zone, answer, acceptable); rcodeErr != nil {
			return nil, rcodeErr
		}
	}
	where := fmt.Sprintf("DNS %s for %s in zone %s at %s", operation, name, zoneOrUnknown(zone), c.config.Server)
	if err != nil {
		if isTSIGError(err) {
			return nil, fmt.Errorf("%w: %s: the answer's signature is invalid: %w", ErrUnauthenticated, where, err)
		}
		return nil, fmt.Errorf("%s failed: %w", where, err)
	}
	if answer.IsTsig() == nil {
		return nil, fmt.Errorf("%w: %s: the answer is not signed", ErrUnauthenticated, where)
	}
	return answer, nil
}

// checkRcode returns an RcodeError unless the answer's rcode is NOERROR or acceptable and its TSIG record
// reports no error.
func (c *Client) checkRcode(operation, name, zone string, answer *dns.Msg, acceptable []int) error {
	var tsigError uint16
	if tsig := answer.IsTsig(); tsig != nil {
		tsigError = tsig.Error
	}
	if tsigError == dns.RcodeSuccess && (answer.Rcode == dns.RcodeSuccess || slices.Contains(acceptable, answer.Rcode)) {
		return nil
	}
	return &RcodeError{Operation: operation, Name: name, Zone: zone, Server: c.config.Server, Rcode: answer.Rcode, TSIGError: tsigError}
}

// newQuery builds a non-recursive question for name and rrtype.
func newQuery(name string, rrtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, rrtype)
	// The server is asked as the authority for the zone; recursion would only hide whether it is one.
	m.RecursionDesired = false
	return m
}

// newUpdate builds the UPDATE that replaces the record set of set.Name and set.Type in zone by set: removing the
// set and inserting the new records in the same message makes the server apply both at once (RFC 2136 3.7).
func newUpdate(zone string, set RRset) *dns.Msg {
	m := newDelete(zone, set.Name, set.Type)
	m.Insert(set.records())
	return m
}

// newDelete builds the UPDATE that removes the record set of name and rrtype from zone.
func newDelete(zone, name string, rrtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetUpdate(zone)
	m.RemoveRRset([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET}}})
	return m
}

// soaOwner returns the owner of the SOA record that shows which zone holds candidate: an SOA owned by candidate
// in the answer section, or an SOA of a parent domain in the authority section; "" when there is none.
func soaOwner(candidate string, answer *dns.Msg) string {
	for _, rr := range answer.Answer {
		if soa, ok := rr.(*dns.SOA); ok && dns.CanonicalName(soa.Hdr.Name) == candidate {
			return candidate
		}
	}
	for _, rr := range answer.Ns {
		if soa, ok := rr.(*dns.SOA); ok && dns.IsSubDomain(soa.Hdr.Name, candidate) {
			return dns.CanonicalName(soa.Hdr.Name)
		}
	}
	return ""
}

// parent returns the parent domain of the FQDN name ("." for a top-level domain).
func parent(name string) string {
	next, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[next:]
}

// isTSIGError reports whether err comes from checking the signature of an answer.
func isTSIGError(err error) bool {
	for _, tsigErr := range []error{dns.ErrSig, dns.ErrTime, dns.ErrSecret, dns.ErrKeyAlg, dns.ErrNoSig, dns.ErrAuth} {
		if errors.Is(err, tsigErr) {
			return true
		}
	}
	return false
}

// zoneOrUnknown names the zone in messages, also while it is still being discovered.
func zoneOrUnknown(zone string) string {
	if zone == "" {
		return "(unknown)"
	}
	return zone
}
