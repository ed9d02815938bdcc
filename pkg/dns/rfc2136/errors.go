package rfc2136

import (
	"errors"
	"fmt"

	"github.com/miekg/dns"
)

// The kinds of failure, by what they mean for the operator: errors.Is tells them apart. Servers say the same thing
// in different ways (see RcodeError.kind), so the kinds are derived from the answer and from what the client
// already knows about the server, not from the rcode alone.
var (
	// ErrConfiguration marks errors caused by invalid input: an invalid DNS secret, an unsupported TSIG algorithm,
	// or record values that do not fit the record type.
	ErrConfiguration = errors.New("invalid DNS configuration")
	// ErrWrongZone marks errors where the zone is wrong for the name or the server: the name is not in the zone,
	// the server does not serve the zone (NOTZONE, NOTAUTH without a TSIG error, a REFUSED query), or no zone
	// of the server holds the name.
	ErrWrongZone = errors.New("wrong zone")
	// ErrUnauthenticated marks errors where the server does not accept the TSIG key or secret (BADSIG, BADKEY, or
	// NOTAUTH to a query) or where an answer does not carry a valid signature.
	ErrUnauthenticated = errors.New("TSIG authentication failed")
	// ErrNotAllowed marks errors where the server has accepted the key (it answered a signed query in the zone)
	// and then rejects an UPDATE with BADKEY: its update policy does not let the key make the change.
	ErrNotAllowed = errors.New("update not allowed for the key")
	// ErrTransient marks errors that may go away without anyone changing the configuration: the server or the
	// network fails (timeouts, SERVFAIL), the clocks differ by more than the TSIG fudge (BADTIME), or the server
	// refuses an UPDATE in a zone it serves, which BIND and Knot also answer while updates to the zone are
	// suspended (a frozen zone, while an operator edits and reloads it).
	ErrTransient = errors.New("temporary DNS failure")
)

// RcodeError is a DNS response whose rcode (or TSIG error) says the request failed.
type RcodeError struct {
	// Operation is what was asked, for example "UPDATE" or "SOA query".
	Operation string
	// Update is true when the request was an UPDATE.
	Update bool
	// Name is the owner name the request was about.
	Name string
	// Zone is the zone the request was sent for; empty while the zone is being discovered.
	Zone string
	// Server is the host:port the request was sent to.
	Server string
	// KeyName is the TSIG key the request was signed with.
	KeyName string
	// Rcode is the response code of the answer.
	Rcode int
	// TSIGError is the error field of the answer's TSIG record (0 without one).
	TSIGError uint16
	// Signed is true when the answer carries a TSIG record.
	Signed bool
	// KeyAccepted is true when the server has answered a signed query in the same zone with a valid signature
	// just before, which proves that it knows the key and serves the zone.
	KeyAccepted bool
}

// Error names the operation, the rcode (and TSIG error), server, zone and name, and what the answer means;
// never key material.
func (e *RcodeError) Error() string {
	rcode := rcodeName(e.Rcode)
	if e.TSIGError != dns.RcodeSuccess {
		rcode += "/" + rcodeName(int(e.TSIGError))
	}
	if !e.Signed {
		rcode += " (unsigned)"
	}
	return fmt.Sprintf("DNS %s for %s in zone %s at %s failed: %s: %s", e.Operation, e.Name, zoneOrUnknown(e.Zone), e.Server, rcode, e.meaning())
}

// Is classifies the error as one of ErrWrongZone, ErrUnauthenticated, ErrNotAllowed or ErrTransient.
func (e *RcodeError) Is(target error) bool {
	return target != nil && target == e.kind()
}

// kind returns what the answer means. The servers tested (BIND 9.18, Knot 3.2) answer:
//   - a wrong TSIG secret with NOTAUTH/BADSIG, an unknown key with NOTAUTH/BADKEY;
//   - a signing time outside the fudge with NOTAUTH/BADTIME;
//   - a query for a name outside every zone with REFUSED, BIND signed, Knot unsigned (and Knot without checking
//     the key at all);
//   - an UPDATE for a zone it does not serve with NOTAUTH, BIND signed, Knot unsigned (RFC 2136 2.2: "not
//     authoritative for the zone");
//   - an UPDATE the key may not make with REFUSED (BIND) or NOTAUTH/BADKEY (Knot, also for a key it knows);
//   - an UPDATE while the zone is frozen with REFUSED (both; Knot adds the extended error "Not Ready").
//
// PowerDNS 4.7 answers a signed query with a wrong secret, an unknown key or a signing time outside the fudge with
// an unsigned NOTAUTH without any TSIG error, and an UPDATE its TSIG-ALLOW-DNSUPDATE does not grant the key with
// REFUSED, like BIND.
//
// So BADKEY after the server has accepted the key for a query in the zone means the policy forbids the update,
// REFUSED for an UPDATE cannot be told from a frozen zone and is retried, and NOTAUTH means "not authoritative
// for the zone" (RFC 2136 2.2) only for an UPDATE: for a query it is a rejected signature.
func (e *RcodeError) kind() error {
	switch {
	case e.TSIGError == dns.RcodeBadTime:
		return ErrTransient
	case e.TSIGError == dns.RcodeBadKey && e.KeyAccepted:
		return ErrNotAllowed
	case e.TSIGError != dns.RcodeSuccess, e.Rcode == dns.RcodeNotAuth && !e.Update:
		return ErrUnauthenticated
	case e.Rcode == dns.RcodeNotZone, e.Rcode == dns.RcodeNotAuth:
		return ErrWrongZone
	case e.Rcode == dns.RcodeRefused && e.Update:
		return ErrTransient
	case e.Rcode == dns.RcodeRefused:
		return ErrWrongZone
	case e.Rcode == dns.RcodeServerFailure:
		return ErrTransient
	}
	return nil
}

// meaning explains the answer to the operator, so that the error says where to look.
func (e *RcodeError) meaning() string {
	kind := e.kind()
	switch {
	case errors.Is(kind, ErrTransient):
		switch {
		case e.TSIGError == dns.RcodeBadTime:
			return fmt.Sprintf("the clocks of this host and the server differ by more than the TSIG fudge of %ds; retrying", tsigFudge)
		case e.Rcode == dns.RcodeRefused:
			return fmt.Sprintf("the server refuses updates of the zone: its update policy does not allow them for key %s, or updates are suspended for now (a frozen zone); retrying", e.KeyName)
		}
		return "the server failed to answer the request; retrying"
	case errors.Is(kind, ErrNotAllowed):
		return fmt.Sprintf("the server accepts key %s but its update policy does not allow it to change this name and type", e.KeyName)
	case errors.Is(kind, ErrUnauthenticated):
		if e.TSIGError == dns.RcodeBadKey {
			return fmt.Sprintf("the server does not accept key %s for the zone: the key name or algorithm is unknown to it, or the key is not allowed in the zone", e.KeyName)
		}
		if e.TSIGError == dns.RcodeSuccess {
			return fmt.Sprintf("the server does not accept the signature of key %s and does not say why: the key name, TSIG secret or algorithm differs from the server's, or the clocks differ by more than %ds", e.KeyName, tsigFudge)
		}
		return fmt.Sprintf("the server does not accept the signature of key %s: the TSIG secret or algorithm differs from the server's", e.KeyName)
	case errors.Is(kind, ErrWrongZone):
		if e.Rcode == dns.RcodeNotZone {
			return "the name is not in the zone"
		}
		return "the server does not serve the zone (or does not serve it to this key)"
	}
	return "unexpected answer"
}

// rcodeName returns the mnemonic of an rcode, for example NOTAUTH or BADSIG.
func rcodeName(rcode int) string {
	if name, ok := dns.RcodeToString[rcode]; ok {
		return name
	}
	return fmt.Sprintf("RCODE%d", rcode)
}
