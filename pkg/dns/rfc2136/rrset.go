package rfc2136

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// maxTXTStringLength is the longest character-string a TXT record can hold (RFC 1035 3.3); longer values are
// split into several strings of one record, which readers join again.
const maxTXTStringLength = 255

// RRset is the set of records of one owner name and type. Values are normalised (canonical IP addresses,
// canonical FQDN targets, TXT values in the escaped form miekg/dns uses), de-duplicated and sorted, so two sets
// with the same records compare equal whatever the order they were given in.
type RRset struct {
	// Name is the owner name as a canonical FQDN (lower case, trailing dot), possibly a wildcard (*.example.com.).
	Name string
	// Type is the record type: dns.TypeA, dns.TypeAAAA, dns.TypeCNAME or dns.TypeTXT.
	Type uint16
	// TTL is the time to live of every record of the set, in seconds.
	TTL uint32
	// Values are the normalised record data.
	Values []string
}

// NewRRset builds the RRset for a record of the given name, type ("A", "AAAA", "CNAME" or "TXT"), TTL and values.
// Values that do not fit the type yield an error that wraps ErrConfiguration.
func NewRRset(name, recordType string, ttl int64, values []string) (RRset, error) {
	if _, ok := dns.IsDomainName(name); !ok || name == "" {
		return RRset{}, fmt.Errorf("%w: %q is not a domain name", ErrConfiguration, name)
	}
	// RFC 2181 8: TTLs are unsigned 31-bit numbers.
	if ttl < 0 || ttl > math.MaxInt32 {
		return RRset{}, fmt.Errorf("%w: TTL %d is not between 0 and %d", ErrConfiguration, ttl, math.MaxInt32)
	}
	rrtype, err := ParseType(recordType)
	if err != nil {
		return RRset{}, err
	}
	if len(values) == 0 {
		return RRset{}, fmt.Errorf("%w: a %s record needs at least one value", ErrConfiguration, recordType)
	}
	if rrtype == dns.TypeCNAME && len(values) > 1 {
		return RRset{}, fmt.Errorf("%w: a CNAME record has exactly one value, got %d", ErrConfiguration, len(values))
	}
	normalised := make([]string, 0, len(values))
	for _, value := range values {
		n, err := normaliseValue(rrtype, value)
		if err != nil {
			return RRset{}, fmt.Errorf("%w: %s record value %q: %w", ErrConfiguration, recordType, value, err)
		}
		normalised = append(normalised, n)
	}
	return RRset{Name: dns.CanonicalName(name), Type: rrtype, TTL: uint32(ttl), Values: sortedUnique(normalised)}, nil
}

// Equal reports whether both sets hold the same records: same name, type, TTL and values.
func (s RRset) Equal(other RRset) bool {
	return s.Name == other.Name && s.Type == other.Type && s.TTL == other.TTL && slices.Equal(s.Values, other.Values)
}

// String describes the set for logs and errors, for example "api.example.com. A".
func (s RRset) String() string {
	return s.Name + " " + dns.TypeToString[s.Type]
}

// records returns the set as resource records, ready to be inserted.
func (s RRset) records() []dns.RR {
	rrs := make([]dns.RR, 0, len(s.Values))
	for _, value := range s.Values {
		header := dns.RR_Header{Name: s.Name, Rrtype: s.Type, Class: dns.ClassINET, Ttl: s.TTL}
		switch s.Type {
		case dns.TypeA:
			rrs = append(rrs, &dns.A{Hdr: header, A: netip.MustParseAddr(value).AsSlice()})
		case dns.TypeAAAA:
			rrs = append(rrs, &dns.AAAA{Hdr: header, AAAA: netip.MustParseAddr(value).AsSlice()})
		case dns.TypeCNAME:
			rrs = append(rrs, &dns.CNAME{Hdr: header, Target: value})
		case dns.TypeTXT:
			rrs = append(rrs, &dns.TXT{Hdr: header, Txt: splitTXT(value)})
		}
	}
	return rrs
}

// rrsetFromAnswer collects the records of name and rrtype from an answer section. Other records (for example
// the target of a CNAME the server followed) are ignored, so the set is exactly the one stored at name.
func rrsetFromAnswer(name string, rrtype uint16, answer []dns.RR) RRset {
	set := RRset{Name: name, Type: rrtype}
	var values []string
	for _, rr := range answer {
		header := rr.Header()
		if header.Rrtype != rrtype || header.Class != dns.ClassINET || !strings.EqualFold(header.Name, name) {
			continue
		}
		set.TTL = header.Ttl
		switch rr := rr.(type) {
		case *dns.A:
			values = append(values, addrString(rr.A, true))
		case *dns.AAAA:
			values = append(values, addrString(rr.AAAA, false))
		case *dns.CNAME:
			values = append(values, dns.CanonicalName(rr.Target))
		case *dns.TXT:
			values = append(values, strings.Join(rr.Txt, ""))
		}
	}
	set.Values = sortedUnique(values)
	return set
}

// ParseType maps a DNSRecord record type ("A", "AAAA", "CNAME" or "TXT") to its DNS type; other types yield an
// error that wraps ErrConfiguration.
func ParseType(recordType string) (uint16, error) {
	switch recordType {
	case "A":
		return dns.TypeA, nil
	case "AAAA":
		return dns.TypeAAAA, nil
	case "CNAME":
		return dns.TypeCNAME, nil
	case "TXT":
		return dns.TypeTXT, nil
	}
	return 0, fmt.Errorf("%w: record type %q is not supported (A, AAAA, CNAME, TXT)", ErrConfiguration, recordType)
}

// normaliseValue returns value in the form it has when read back from the server.
func normaliseValue(rrtype uint16, value string) (string, error) {
	switch rrtype {
	case dns.TypeA:
		addr, err := netip.ParseAddr(value)
		if err != nil || !addr.Is4() {
			return "", fmt.Errorf("not an IPv4 address")
		}
		return addr.String(), nil
	case dns.TypeAAAA:
		addr, err := netip.ParseAddr(value)
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", fmt.Errorf("not an IPv6 address")
		}
		return addr.String(), nil
	case dns.TypeCNAME:
		if _, ok := dns.IsDomainName(value); !ok || value == "" {
			return "", fmt.Errorf("not a domain name")
		}
		return dns.CanonicalName(value), nil
	default:
		return escapeTXT(value), nil
	}
}

// addrString formats an address from a record; ipv4 unmaps the 16-byte form an A record's address may be held
// in. Unparsable data yields an empty value, which never equals a desired value and so leads to an update that
// repairs the set.
func addrString(ip []byte, ipv4 bool) string {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return ""
	}
	if ipv4 {
		addr = addr.Unmap()
	}
	return addr.String()
}

// escapeTXT writes a raw TXT value in the escaped form miekg/dns uses for character-strings (backslash before
// quote and backslash, \DDD for unprintable bytes); miekg/dns reads that form when packing and produces it when
// unpacking, so raw values survive the round trip and compare with what the server returns.
func escapeTXT(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// splitTXT splits an escaped TXT value into character-strings of at most maxTXTStringLength raw bytes without
// cutting an escape sequence apart.
func splitTXT(escaped string) []string {
	var (
		chunks []string
		start  int
		length int
	)
	for i := 0; i < len(escaped); {
		width := 1
		if escaped[i] == '\\' {
			width = 2
			if i+3 < len(escaped) && isDigit(escaped[i+1]) {
				width = 4
			}
		}
		if length == maxTXTStringLength {
			chunks = append(chunks, escaped[start:i])
			start, length = i, 0
		}
		i += width
		length++
	}
	return append(chunks, escaped[start:])
}

// isDigit reports whether c is an ASCII digit.
func isDigit(c byte) bool {
	return c >= '0' && c <= '9'
}

// sortedUnique returns values sorted and without duplicates; a server stores a set, so duplicates collapse.
func sortedUnique(values []string) []string {
	values = slices.Clone(values)
	slices.Sort(values)
	return slices.Compact(values)
}
