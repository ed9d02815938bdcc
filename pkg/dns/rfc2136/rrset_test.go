package rfc2136_test

import (
	"github.com/miekg/dns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/openkcm/gardener-extension-provider-metal/pkg/dns/rfc2136"
)

var _ = Describe("RRset", func() {
	DescribeTable("NewRRset normalises names and values",
		func(name, recordType string, values []string, expected RRset) {
			set, err := NewRRset(name, recordType, 120, values)
			Expect(err).NotTo(HaveOccurred())
			expected.TTL = 120
			Expect(set).To(Equal(expected))
		},
		Entry("A, sorted and de-duplicated", "API.Example.com", "A", []string{"192.0.2.2", "192.0.2.1", "192.0.2.2"},
			RRset{Name: "api.example.com.", Type: dns.TypeA, Values: []string{"192.0.2.1", "192.0.2.2"}}),
		Entry("AAAA in canonical form", "v6.example.com.", "AAAA", []string{"2001:DB8:0::1"},
			RRset{Name: "v6.example.com.", Type: dns.TypeAAAA, Values: []string{"2001:db8::1"}}),
		Entry("CNAME as canonical FQDN", "www.example.com", "CNAME", []string{"Target.Example.org"},
			RRset{Name: "www.example.com.", Type: dns.TypeCNAME, Values: []string{"target.example.org."}}),
		Entry("TXT escaped as miekg/dns does", "txt.example.com", "TXT", []string{`say "hi"`},
			RRset{Name: "txt.example.com.", Type: dns.TypeTXT, Values: []string{`say \"hi\"`}}),
		Entry("wildcard name", "*.ingress.example.com", "A", []string{"192.0.2.1"},
			RRset{Name: "*.ingress.example.com.", Type: dns.TypeA, Values: []string{"192.0.2.1"}}),
	)

	DescribeTable("NewRRset rejects what does not fit the type as a configuration error",
		func(name, recordType string, ttl int64, values ...string) {
			_, err := NewRRset(name, recordType, ttl, values)
			Expect(err).To(MatchError(ErrConfiguration))
		},
		Entry("IPv6 address in an A record", "a.example.com", "A", int64(120), "2001:db8::1"),
		Entry("IPv4 address in an AAAA record", "a.example.com", "AAAA", int64(120), "192.0.2.1"),
		Entry("no IP address", "a.example.com", "A", int64(120), "example.com"),
		Entry("two CNAME targets", "a.example.com", "CNAME", int64(120), "b.example.com", "c.example.com"),
		Entry("no values", "a.example.com", "A", int64(120)),
		Entry("unsupported type", "a.example.com", "MX", int64(120), "10 mx.example.com"),
		Entry("negative TTL", "a.example.com", "A", int64(-1), "192.0.2.1"),
		Entry("TTL beyond 31 bits", "a.example.com", "A", int64(1)<<31, "192.0.2.1"),
		Entry("empty name", "", "A", int64(120), "192.0.2.1"),
	)

	It("compares sets regardless of value order", func() {
		a, err := NewRRset("a.example.com", "A", 60, []string{"192.0.2.1", "192.0.2.2"})
		Expect(err).NotTo(HaveOccurred())
		b, err := NewRRset("a.example.com.", "A", 60, []string{"192.0.2.2", "192.0.2.1"})
		Expect(err).NotTo(HaveOccurred())
		Expect(a.Equal(b)).To(BeTrue())
		b.TTL = 61
		Expect(a.Equal(b)).To(BeFalse())
		Expect(a.String()).To(Equal("a.example.com. A"))
	})
})
