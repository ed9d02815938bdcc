package rfc2136

import (
	"errors"
	"fmt"

	"github.com/miekg/dns"
)

var (
	// ErrConfiguration marks errors caused by the configuration: an invalid DNS secret, an unsupported TSIG
	// algorithm, record values that do not fit the record type, or a zone the server does not serve.
	ErrConfiguration = errors.New("invalid DNS configuration")
	// ErrUnauthenticated marks errors where the server did not accept the TSIG signature (NOTAUTH, BADSIG,
	// BADKEY, BADTIME) or where the server's answer did not carry a valid signature.
	ErrUnauthenticated = errors.New("TSIG authentication failed")
	// ErrRefused marks errors where the server refused the request, usually because its policy
	// (allow-update, allow-query) does not grant it to the key.
	ErrRefused = errors.New("request refused")
)

// RcodeError is a DNS response whose rcode (or TSIG error) says the request failed.
type RcodeError struct {
	// Operation is what was asked, for example "UPDATE" or "SOA query".
	Operation string
	// Name is the owner name the request was about.
	Name string
	// Zone is the zone the request was sent for; empty while the zone is being discovered.
	Zone string
	// Server is the host:port the request was sent to.
	Server string
	// Rcode is the response code of the answer.
	Rcode int
	// TSIGError is the error field of the answer's TSIG record (0 without one).
	TSIGError uint16
}

// Error names the operation, the rcode (and TSIG error), server, zone and name; never key material.
func (e *RcodeError) Error() string {
	rcode := rcodeName(e.Rcode)
	if e.TSIGError != dns.RcodeSuccess {
		rcode += "/" + rcodeName(int(e.TSIGError))
	}
	return fmt.Sprintf("DNS %s for %s in zone %s at %s failed: %s", e.Operation, e.Name, zoneOrUnknown(e.Zone), e.Server, rcode)
}

// Is classifies the error: TSIG failures are ErrUnauthenticated, REFUSED is ErrRefused and NOTZONE (the server
// does not serve the zone the name was sent for) is ErrConfiguration.
func (e *RcodeError) Is(target error) bool {
	switch target {
	case ErrUnauthenticated:
		return e.Rcode == dns.RcodeNotAuth || e.TSIGError != dns.RcodeSuccess
	case ErrRefused:
		return e.Rcode == dns.RcodeRefused && e.TSIGError == dns.RcodeSuccess
	case ErrConfiguration:
		return e.Rcode == dns.RcodeNotZone
	}
	return false
}

// rcodeName returns the mnemonic of an rcode, for example NOTAUTH or BADSIG.
func rcodeName(rcode int) string {
	if name, ok := dns.RcodeToString[rcode]; ok {
		return name
	}
	return fmt.Sprintf("RCODE%d", rcode)
}
