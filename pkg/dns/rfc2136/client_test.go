package rfc2136_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	testingclock "k8s.io/utils/clock/testing"

	. "github.com/openkcm/gardener-extension-provider-metal/pkg/dns/rfc2136"
)

var _ = Describe("Client", func() {
	const zone = "example.com."

	var (
		ctx    context.Context
		server *fakeServer
		config Config
	)

	newClient := func() *Client { return NewClient(config) }
	mustRRset := func(name, recordType string, ttl int64, values ...string) RRset {
		GinkgoHelper()
		set, err := NewRRset(name, recordType, ttl, values)
		Expect(err).NotTo(HaveOccurred())
		return set
	}
	answerWith := func(records ...string) func(*dns.Msg, *dns.Msg) {
		return func(_ *dns.Msg, reply *dns.Msg) {
			for _, record := range records {
				reply.Answer = append(reply.Answer, rr(record))
			}
		}
	}
	expectNoSecret := func(err error) {
		GinkgoHelper()
		Expect(err.Error()).NotTo(ContainSubstring(keySecret))
	}

	BeforeEach(func() {
		ctx = context.Background()
		server = startFakeServer()
		config = Config{Server: server.addr, KeyName: keyName, Secret: keySecret, Algorithm: dns.HmacSHA256, Timeout: 2 * time.Second}
	})

	Describe("Ensure", func() {
		It("replaces the record set in one signed UPDATE: RemoveRRset and the new records", func() {
			sent, err := newClient().Ensure(ctx, zone, mustRRset("api.example.com", "A", 300, "192.0.2.2", "192.0.2.1"))
			Expect(err).NotTo(HaveOccurred())
			Expect(sent).To(BeTrue())

			updates := server.updates()
			Expect(updates).To(HaveLen(1))
			update := updates[0]
			Expect(update.Question).To(ConsistOf(dns.Question{Name: zone, Qtype: dns.TypeSOA, Qclass: dns.ClassINET}))
			Expect(update.Answer).To(BeEmpty(), "no prerequisites")
			Expect(update.Ns).To(HaveLen(3))
			Expect(update.Ns[0].Header()).To(Equal(&dns.RR_Header{Name: "api.example.com.", Rrtype: dns.TypeA, Class: dns.ClassANY, Ttl: 0}),
				"the first operation deletes the whole A RRset of the name")
			Expect([]string{update.Ns[1].String(), update.Ns[2].String()}).To(ConsistOf(
				"api.example.com.\t300\tIN\tA\t192.0.2.1",
				"api.example.com.\t300\tIN\tA\t192.0.2.2",
			))
		})

		It("signs every message with the configured key and algorithm, and the server accepts the signatures", func() {
			config.Algorithm = dns.HmacSHA512
			_, err := newClient().Ensure(ctx, zone, mustRRset("api.example.com", "A", 120, "192.0.2.1"))
			Expect(err).NotTo(HaveOccurred())

			msgs := server.received()
			Expect(msgs).To(HaveLen(2), "a query and an UPDATE")
			for _, r := range msgs {
				tsig := r.msg.IsTsig()
				Expect(tsig).NotTo(BeNil())
				Expect(tsig.Hdr.Name).To(Equal(keyName))
				Expect(tsig.Algorithm).To(Equal(dns.HmacSHA512))
				Expect(r.tsigStatus).NotTo(HaveOccurred())
			}
			Expect(msgs[0].msg.Opcode).To(Equal(dns.OpcodeQuery))
			Expect(msgs[0].msg.RecursionDesired).To(BeFalse())
			Expect(msgs[0].msg.Question).To(ConsistOf(dns.Question{Name: "api.example.com.", Qtype: dns.TypeA, Qclass: dns.ClassINET}))
		})

		It("sends no UPDATE when the server holds the same records, in any order and letter case", func() {
			server.setRespond(answerWith(
				"api.example.com. 300 IN A 192.0.2.2",
				"API.example.com. 300 IN A 192.0.2.1",
			))
			sent, err := newClient().Ensure(ctx, zone, mustRRset("api.example.com", "A", 300, "192.0.2.1", "192.0.2.2", "192.0.2.1"))
			Expect(err).NotTo(HaveOccurred())
			Expect(sent).To(BeFalse())
			Expect(server.updates()).To(BeEmpty())
		})

		DescribeTable("sends an UPDATE when the records differ",
			func(records ...string) {
				server.setRespond(answerWith(records...))
				sent, err := newClient().Ensure(ctx, zone, mustRRset("api.example.com", "A", 300, "192.0.2.1"))
				Expect(err).NotTo(HaveOccurred())
				Expect(sent).To(BeTrue())
				Expect(server.updates()).To(HaveLen(1))
			},
			Entry("no records"),
			Entry("other TTL", "api.example.com. 60 IN A 192.0.2.1"),
			Entry("other value", "api.example.com. 300 IN A 192.0.2.9"),
			Entry("an extra value", "api.example.com. 300 IN A 192.0.2.1", "api.example.com. 300 IN A 192.0.2.9"),
		)

		It("ignores records of a CNAME target in the answer", func() {
			server.setRespond(answerWith(
				"www.example.com. 120 IN CNAME api.example.com.",
				"api.example.com. 120 IN A 192.0.2.1",
			))
			set, err := newClient().Query(ctx, zone, "www.example.com.", dns.TypeA)
			Expect(err).NotTo(HaveOccurred())
			Expect(set.Values).To(BeEmpty())
		})

		It("compares CNAME targets and AAAA addresses in canonical form", func() {
			server.setRespond(func(req *dns.Msg, reply *dns.Msg) {
				switch req.Question[0].Qtype {
				case dns.TypeCNAME:
					reply.Answer = append(reply.Answer, rr("www.example.com. 120 IN CNAME Target.Example.org."))
				case dns.TypeAAAA:
					reply.Answer = append(reply.Answer, rr("v6.example.com. 120 IN AAAA 2001:db8:0:0::1"))
				}
			})
			client := newClient()
			Expect(client.Ensure(ctx, zone, mustRRset("www.example.com", "CNAME", 120, "target.example.org"))).To(BeFalse())
			Expect(client.Ensure(ctx, zone, mustRRset("v6.example.com", "AAAA", 120, "2001:DB8::0001"))).To(BeFalse())
			Expect(server.updates()).To(BeEmpty())
		})

		It("writes TXT values byte for byte, splitting long ones into 255-byte strings, and reads them back equal", func() {
			long := strings.Repeat("x", 300) + `"quoted" back\slash ` + "\u00e9"
			set := mustRRset("_acme-challenge.example.com", "TXT", 120, long, "short")
			Expect(newClient().Ensure(ctx, zone, set)).To(BeTrue())

			update := server.updates()[0]
			packed, err := update.Pack()
			Expect(err).NotTo(HaveOccurred())
			Expect(string(packed)).To(ContainSubstring(`"quoted" back\slash `+"\u00e9"), "raw bytes on the wire")
			var inserted []*dns.TXT
			for _, record := range update.Ns[1:] {
				inserted = append(inserted, record.(*dns.TXT))
			}
			Expect(inserted).To(HaveLen(2))
			for _, txt := range inserted {
				if len(txt.Txt) > 1 {
					Expect(txt.Txt).To(HaveLen(2))
					Expect(txt.Txt[0]).To(Equal(strings.Repeat("x", 255)))
				}
			}

			server.setRespond(func(_ *dns.Msg, reply *dns.Msg) {
				for _, txt := range inserted {
					reply.Answer = append(reply.Answer, txt)
				}
			})
			Expect(newClient().Ensure(ctx, zone, set)).To(BeFalse(), "what the server returns equals what was written")
		})
	})

	Describe("Delete", func() {
		It("queries the set and sends one signed UPDATE that removes only the RRset of the name and type", func() {
			server.setRespond(func(req *dns.Msg, reply *dns.Msg) {
				if req.Opcode == dns.OpcodeQuery {
					reply.Answer = append(reply.Answer, rr("*.ingress.example.com. 120 IN A 192.0.2.1"))
				}
			})
			Expect(newClient().Delete(ctx, zone, "*.ingress.example.com", dns.TypeA)).To(BeTrue())

			updates := server.updates()
			Expect(updates).To(HaveLen(1))
			Expect(updates[0].Ns).To(HaveLen(1))
			Expect(updates[0].Ns[0].Header()).To(Equal(&dns.RR_Header{Name: "*.ingress.example.com.", Rrtype: dns.TypeA, Class: dns.ClassANY}))
			for _, r := range server.received() {
				Expect(r.tsigStatus).NotTo(HaveOccurred())
			}
		})

		It("sends no UPDATE when the name has no such records", func() {
			server.setRespond(func(req *dns.Msg, reply *dns.Msg) { reply.Rcode = dns.RcodeNameError })
			Expect(newClient().Delete(ctx, zone, "gone.example.com", dns.TypeA)).To(BeFalse())
			Expect(newClient().Delete(ctx, zone, "gone.example.com", dns.TypeA)).To(BeFalse())
			Expect(server.updates()).To(BeEmpty())
		})
	})

	Describe("errors", func() {
		It("reports a wrong TSIG secret as unauthenticated, with rcode, server and zone, without the secret", func() {
			config.Secret = "d3Jvbmctc2VjcmV0LXZhbHVlLWZvci10ZXN0cw=="
			err := newClient().Update(ctx, zone, mustRRset("api.example.com", "A", 120, "192.0.2.1"))
			Expect(err).To(MatchError(ErrUnauthenticated))
			Expect(err.Error()).To(SatisfyAll(ContainSubstring("NOTAUTH/BADSIG"), ContainSubstring(server.addr), ContainSubstring(zone), ContainSubstring(keyName)))
			expectNoSecret(err)
			Expect(err.Error()).NotTo(ContainSubstring(config.Secret))
		})

		It("reports a signing time outside the fudge (clock skew) as transient", func() {
			config.Clock = testingclock.NewFakePassiveClock(time.Now().Add(-10 * time.Minute))
			_, err := newClient().Query(ctx, zone, "api.example.com", dns.TypeA)
			Expect(err).To(MatchError(ErrTransient))
			Expect(err).NotTo(MatchError(ErrUnauthenticated))
			Expect(err.Error()).To(SatisfyAll(ContainSubstring("NOTAUTH/BADTIME"), ContainSubstring("clocks")))
		})

		// reply returns a respond function that answers requests of the given opcode with rcode and TSIG error, and
		// without a TSIG record when unsigned; other requests get NOERROR.
		reply := func(opcode, rcode int, tsigError uint16, unsigned bool) func(*dns.Msg, *dns.Msg) {
			return func(req *dns.Msg, reply *dns.Msg) {
				if req.Opcode != opcode {
					return
				}
				reply.Rcode = rcode
				if unsigned {
					reply.Extra = nil
					return
				}
				reply.IsTsig().Error = tsigError
			}
		}

		// The answers are the ones BIND 9.18 and Knot 3.2 give (see RcodeError.kind); the integration suite
		// checks them against both servers.
		DescribeTable("classifies failure answers by what they mean",
			func(respond func(*dns.Msg, *dns.Msg), ensure bool, text string, kind error) {
				server.setRespond(respond)
				set := mustRRset("api.example.com", "A", 120, "192.0.2.1")
				var err error
				if ensure {
					_, err = newClient().Ensure(ctx, zone, set)
				} else {
					err = newClient().Update(ctx, zone, set)
				}
				Expect(err).To(HaveOccurred())
				var rcodeErr *RcodeError
				Expect(errors.As(err, &rcodeErr)).To(BeTrue())
				Expect(err.Error()).To(SatisfyAll(ContainSubstring(text), ContainSubstring(server.addr), ContainSubstring(zone)))
				for _, other := range []error{ErrWrongZone, ErrUnauthenticated, ErrNotAllowed, ErrTransient, ErrConfiguration} {
					if errors.Is(other, kind) {
						Expect(err).To(MatchError(kind))
					} else {
						Expect(err).NotTo(MatchError(other))
					}
				}
				expectNoSecret(err)
			},
			Entry("REFUSED query: the server does not serve the zone", reply(dns.OpcodeQuery, dns.RcodeRefused, 0, false), true, "REFUSED", ErrWrongZone),
			Entry("unsigned REFUSED query (Knot): the server does not serve the zone", reply(dns.OpcodeQuery, dns.RcodeRefused, 0, true), true, "REFUSED (unsigned)", ErrWrongZone),
			Entry("NOTAUTH UPDATE without TSIG error: not authoritative for the zone", reply(dns.OpcodeUpdate, dns.RcodeNotAuth, 0, false), false, "NOTAUTH", ErrWrongZone),
			Entry("unsigned NOTAUTH UPDATE (Knot)", reply(dns.OpcodeUpdate, dns.RcodeNotAuth, 0, true), false, "NOTAUTH (unsigned)", ErrWrongZone),
			Entry("NOTZONE", reply(dns.OpcodeUpdate, dns.RcodeNotZone, 0, false), false, "NOTZONE", ErrWrongZone),
			Entry("REFUSED UPDATE after the query: update policy or a frozen zone", reply(dns.OpcodeUpdate, dns.RcodeRefused, 0, false), true, "frozen", ErrTransient),
			Entry("BADKEY UPDATE after an accepted query (Knot's policy denial)", reply(dns.OpcodeUpdate, dns.RcodeNotAuth, dns.RcodeBadKey, false), true, "update policy", ErrNotAllowed),
			Entry("BADKEY UPDATE without an accepted query: unknown key", reply(dns.OpcodeUpdate, dns.RcodeNotAuth, dns.RcodeBadKey, false), false, "NOTAUTH/BADKEY", ErrUnauthenticated),
			Entry("BADKEY query: unknown key", reply(dns.OpcodeQuery, dns.RcodeNotAuth, dns.RcodeBadKey, false), true, "NOTAUTH/BADKEY", ErrUnauthenticated),
			Entry("BADSIG", reply(dns.OpcodeUpdate, dns.RcodeNotAuth, dns.RcodeBadSig, false), true, "NOTAUTH/BADSIG", ErrUnauthenticated),
			Entry("unsigned NOTAUTH query without TSIG error (PowerDNS): a rejected signature", reply(dns.OpcodeQuery, dns.RcodeNotAuth, 0, true), true, "NOTAUTH (unsigned)", ErrUnauthenticated),
			Entry("BADTIME", reply(dns.OpcodeUpdate, dns.RcodeNotAuth, dns.RcodeBadTime, false), true, "BADTIME", ErrTransient),
			Entry("SERVFAIL", reply(dns.OpcodeUpdate, dns.RcodeServerFailure, 0, false), true, "SERVFAIL", ErrTransient),
		)

		It("turns other failure rcodes into errors of no kind", func() {
			server.setRespond(reply(dns.OpcodeUpdate, dns.RcodeNameError, 0, false))
			err := newClient().Update(ctx, zone, mustRRset("api.example.com", "A", 120, "192.0.2.1"))
			Expect(err.Error()).To(ContainSubstring("NXDOMAIN"))
			for _, kind := range []error{ErrWrongZone, ErrUnauthenticated, ErrNotAllowed, ErrTransient, ErrConfiguration} {
				Expect(err).NotTo(MatchError(kind))
			}
		})

		It("rejects successful answers without a signature", func() {
			server.setRespond(func(_ *dns.Msg, reply *dns.Msg) { reply.Extra = nil })
			_, err := newClient().Query(ctx, zone, "api.example.com", dns.TypeA)
			Expect(err).To(MatchError(ErrUnauthenticated))
			Expect(err.Error()).To(ContainSubstring("not signed"))
		})

		It("gives up after the timeout and says which server did not answer", func() {
			listener, err := net.Listen("tcp", "127.0.0.1:0")
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(listener.Close)
			// Accept connections and never answer.
			go func() {
				for {
					conn, err := listener.Accept()
					if err != nil {
						return
					}
					DeferCleanup(conn.Close)
				}
			}()
			config.Server = listener.Addr().String()
			config.Timeout = 300 * time.Millisecond

			start := time.Now()
			_, err = newClient().Query(ctx, zone, "api.example.com", dns.TypeA)
			Expect(err).To(MatchError(ErrTransient))
			Expect(time.Since(start)).To(BeNumerically("<", 2*time.Second))
			Expect(err.Error()).To(SatisfyAll(ContainSubstring(config.Server), ContainSubstring("timeout")))
		})
	})

	Describe("FindZone", func() {
		It("takes the zone from the SOA in the authority section of the answer for the name", func() {
			server.setRespond(func(_ *dns.Msg, reply *dns.Msg) {
				reply.Rcode = dns.RcodeNameError
				reply.Ns = append(reply.Ns, rr("Example.COM. 3600 IN SOA ns.example.com. admin.example.com. 1 3600 600 86400 60"))
			})
			Expect(newClient().FindZone(ctx, "*.ingress.example.com")).To(Equal("example.com."))
		})

		It("walks up the labels while the server refuses, until a parent has an SOA", func() {
			server.setRespond(func(req *dns.Msg, reply *dns.Msg) {
				if req.Question[0].Name != "example.com." {
					reply.Rcode = dns.RcodeRefused
					return
				}
				reply.Answer = append(reply.Answer, rr("example.com. 3600 IN SOA ns.example.com. admin.example.com. 1 3600 600 86400 60"))
			})
			Expect(newClient().FindZone(ctx, "a.b.example.com")).To(Equal("example.com."))

			var questions []string
			for _, r := range server.received() {
				Expect(r.tsigStatus).NotTo(HaveOccurred())
				Expect(r.msg.Question[0].Qtype).To(Equal(dns.TypeSOA))
				questions = append(questions, r.msg.Question[0].Name)
			}
			Expect(questions).To(Equal([]string{"a.b.example.com.", "b.example.com.", "example.com."}))
		})

		It("walks on over unsigned REFUSED answers, as Knot gives for names outside its zones", func() {
			server.setRespond(func(req *dns.Msg, reply *dns.Msg) {
				if req.Question[0].Name != "example.com." {
					reply.Rcode = dns.RcodeRefused
					reply.Extra = nil
					return
				}
				reply.Answer = append(reply.Answer, rr("example.com. 3600 IN SOA ns.example.com. admin.example.com. 1 3600 600 86400 60"))
			})
			Expect(newClient().FindZone(ctx, "a.b.example.com")).To(Equal("example.com."))
		})

		It("fails with a wrong-zone error when no parent has an SOA", func() {
			server.setRespond(func(_ *dns.Msg, reply *dns.Msg) { reply.Rcode = dns.RcodeRefused })
			_, err := newClient().FindZone(ctx, "a.example.com")
			Expect(err).To(MatchError(ErrWrongZone))
			Expect(err.Error()).To(ContainSubstring("no zone for a.example.com."))
			Expect(server.received()).To(HaveLen(3), "a.example.com., example.com. and com., not the root")
		})

		It("stops at a TSIG failure instead of walking on", func() {
			config.Secret = "d3Jvbmctc2VjcmV0LXZhbHVlLWZvci10ZXN0cw=="
			_, err := newClient().FindZone(ctx, "a.example.com")
			Expect(err).To(MatchError(ErrUnauthenticated))
			Expect(server.received()).To(HaveLen(1))
		})
	})
})
