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
	"k8s.io/utils/clock"
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
	clock  clock.PassiveClock
	dns    *dns.Client
}

// NewClient returns a Client for config. It talks TCP: UPDATE messages and TXT answers easily exceed the
// 512 bytes of plain UDP, and a TCP answer is never truncated, so no retry path is needed.
func NewClient(config Config) *Client {
	if config.Timeout <= 0 {
		config.Timeout = defaultTimeout
	}
	now := config.Clock
	if now == nil {
		now = clock.RealClock{}
	}
	return &Client{
		config: config,
		clock:  now,
		dns: &dns.Client{
			Net:        "tcp",
			Timeout:    config.Timeout,
			TsigSecret: map[string]string{config.KeyName: config.Secret},
		},
	}
}

// request describes an exchange for errors and for judging the answer.
type request struct {
	// operation is what is asked, for example "UPDATE" or "SOA query".
	operation string
	// name is the owner name the request is about.
	name string
	// zone is the zone the request is sent for; empty while the zone is being discovered.
	zone string
	// keyAccepted is true when the server has just answered a signed query in zone with a valid signature.
	keyAccepted bool
	// acceptable are the failure rcodes that are answers too, for example NXDOMAIN for a query.
	acceptable []int
}

// Query returns the record set of name and rrtype as the server holds it. A name without such records (NXDOMAIN
// or no data) yields an RRset without values. Only records owned by exactly name count: records of a CNAME
// target the server adds to the answer are ignored.
func (c *Client) Query(ctx context.Context, zone, name string, rrtype uint16) (RRset, error) {
	name = dns.CanonicalName(name)
	answer, err := c.exchange(ctx, request{operation: "query", name: name, zone: zone, acceptable: []int{dns.RcodeNameError}}, newQuery(name, rrtype))
	if err != nil {
		return RRset{}, err
	}
	return rrsetFromAnswer(name, rrtype, answer.Answer), nil
}

// Update replaces the record set of set.Name and set.Type in zone by set, in one atomic UPDATE.
func (c *Client) Update(ctx context.Context, zone string, set RRset) error {
	return c.update(ctx, zone, set, false)
}

// update is Update; keyAccepted says whether the server has just answered a signed query in the zone.
func (c *Client) update(ctx context.Context, zone string, set RRset, keyAccepted bool) error {
	_, err := c.exchange(ctx, request{operation: "UPDATE", name: set.String(), zone: zone, keyAccepted: keyAccepted}, newUpdate(zone, set))
	return err
}

// Ensure makes the server hold exactly set. It queries the current record set first and sends an UPDATE only
// when it differs (in TTL or values), so an unchanged record costs one query and changes nothing on the server
// (no serial increment, no NOTIFY, no zone transfer). It reports whether it sent an UPDATE. The query also shows
// that the server serves the zone and accepts the key, which tells a refused UPDATE's cause (see ErrNotAllowed).
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
	return true, c.update(ctx, zone, set, true)
}

// Delete removes the record set of name and rrtype from zone, and nothing else. It queries the set first and
// sends the UPDATE only when the server holds records, so deleting a set that does not exist succeeds without
// changing the zone, and repeated deletes are fine. It reports whether it sent an UPDATE.
func (c *Client) Delete(ctx context.Context, zone, name string, rrtype uint16) (bool, error) {
	current, err := c.Query(ctx, zone, name, rrtype)
	if err != nil {
		return false, err
	}
	if len(current.Values) == 0 {
		return false, nil
	}
	r := request{operation: "UPDATE (delete)", name: current.String(), zone: zone, keyAccepted: true, acceptable: []int{dns.RcodeNameError, dns.RcodeNXRrset}}
	_, err = c.exchange(ctx, r, newDelete(zone, current.Name, rrtype))
	return true, err
}

// FindZone returns the zone the server holds name in. It asks for the SOA of name and then of each parent
// domain until the server answers with one, either as the answer (at the zone apex) or in the authority
// section (below it). REFUSED answers mean the server does not serve that domain, so the walk goes on upwards;
// some servers (Knot) send them unsigned, without looking at the key.
func (c *Client) FindZone(ctx context.Context, name string) (string, error) {
	name = dns.CanonicalName(name)
	for candidate := name; candidate != "."; candidate = parent(candidate) {
		answer, err := c.exchange(ctx, request{operation: "SOA query", name: candidate, acceptable: []int{dns.RcodeNameError}}, newQuery(candidate, dns.TypeSOA))
		var rcodeErr *RcodeError
		if errors.As(err, &rcodeErr) && rcodeErr.Rcode == dns.RcodeRefused && rcodeErr.TSIGError == dns.RcodeSuccess {
			continue
		}
		if err != nil {
			return "", err
		}
		if zone := soaOwner(candidate, answer); zone != "" {
			return zone, nil
		}
	}
	return "", fmt.Errorf("%w: no zone for %s at %s: the server answered no SOA query for the name or a parent domain", ErrWrongZone, name, c.config.Server)
}

// exchange signs m, sends it and checks the answer: its rcode must be NOERROR or acceptable, and it must carry a
// valid signature. Errors name the operation, record, zone and server.
func (c *Client) exchange(ctx context.Context, r request, m *dns.Msg) (*dns.Msg, error) {
	m.SetTsig(c.config.KeyName, c.config.Algorithm, tsigFudge, c.clock.Now().Unix())
	ctx, cancel := context.WithTimeout(ctx, c.config.Timeout)
	defer cancel()

	answer, _, err := c.dns.ExchangeContext(ctx, m, c.config.Server)
	// A failure rcode explains more than the failed signature check of the (often unsigned) error answer that
	// comes with it, so it is looked at first.
	if answer != nil {
		if rcodeErr := c.checkRcode(r, m, answer); rcodeErr != nil {
			return nil, rcodeErr
		}
	}
	where := fmt.Sprintf("DNS %s for %s in zone %s at %s", r.operation, r.name, zoneOrUnknown(r.zone), c.config.Server)
	switch {
	case errors.Is(err, dns.ErrTime):
		return nil, fmt.Errorf("%w: %s: the answer was signed more than %ds away from this host's time: %w", ErrTransient, where, tsigFudge, err)
	case err != nil && isTSIGError(err):
		return nil, fmt.Errorf("%w: %s: the answer's signature is invalid: %w", ErrUnauthenticated, where, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %s failed: %w", ErrTransient, where, err)
	case answer.IsTsig() == nil:
		return nil, fmt.Errorf("%w: %s: the answer is not signed", ErrUnauthenticated, where)
	}
	return answer, nil
}

// checkRcode returns an RcodeError unless the answer to m has the rcode NOERROR or one r accepts and its TSIG
// record reports no error.
func (c *Client) checkRcode(r request, m, answer *dns.Msg) error {
	tsig := answer.IsTsig()
	var tsigError uint16
	if tsig != nil {
		tsigError = tsig.Error
	}
	if tsigError == dns.RcodeSuccess && (answer.Rcode == dns.RcodeSuccess || slices.Contains(r.acceptable, answer.Rcode)) {
		return nil
	}
	return &RcodeError{
		Operation:   r.operation,
		Update:      m.Opcode == dns.OpcodeUpdate,
		Name:        r.name,
		Zone:        r.zone,
		Server:      c.config.Server,
		KeyName:     c.config.KeyName,
		Rcode:       answer.Rcode,
		TSIGError:   tsigError,
		Signed:      tsig != nil,
		KeyAccepted: r.keyAccepted,
	}
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
