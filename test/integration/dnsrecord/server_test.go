package dnsrecord_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const (
	// tsigKeyName is the TSIG key the servers grant updates to.
	tsigKeyName = "tsig-key."
	// zone is the zone most records go to; the other zones are hosted on the same server.
	zone = "example.com."
	// subZone lets zone discovery prove it finds the deepest zone, not just a parent.
	subZone = "sub.example.com."
	// readOnlyZone allows the key to query but not to update: BIND has no allow-update for it, Knot grants the
	// key transfers only, PowerDNS updates by another key only.
	readOnlyZone = "readonly.test."
	// frozenZone allows updates; the tests freeze it to suspend them for a while.
	frozenZone = "frozen.test."
)

// testZones are the zones every server serves.
var testZones = []string{zone, subZone, readOnlyZone, frozenZone}

// dnsServer is an RFC 2136 server process serving the test zones on 127.0.0.1 with the TSIG key tsigKeyName. The
// fields up to dir are common; the functions are what differs between implementations.
type dnsServer struct {
	// kind names the implementation, for example "BIND".
	kind string
	// addr is host:port of the server (TCP and UDP).
	addr string
	// secret is the base64 TSIG secret of tsigKeyName.
	secret string
	// dir holds the server's configuration, zone files and log.
	dir string

	// updateRequests counts the UPDATE messages the server has received, whether it applied them or not.
	updateRequests func() int
	// signedQueries counts the queries of rrtype the server has answered: the TSIG-signed ones for name where the
	// server can tell (BIND's query log), else all of any name (Knot's counters).
	signedQueries func(name, rrtype string) int
	// freeze suspends updates of z until thaw; the server refuses them meanwhile. Nil where the server cannot.
	freeze, thaw func(z string)
}

// newDNSServer creates the server's directory with zone files for testZones and a random TSIG secret.
func newDNSServer(g Gomega, cleanup func(func()), kind string) *dnsServer {
	dir, err := os.MkdirTemp("", "dnsrecord-"+strings.ToLower(kind)+"-")
	g.Expect(err).NotTo(HaveOccurred())
	cleanup(func() { _ = os.RemoveAll(dir) })

	for _, z := range testZones {
		zoneFile := fmt.Sprintf("$TTL 60\n@ IN SOA ns.%[1]s admin.%[1]s 1 3600 600 86400 60\n@ IN NS ns.%[1]s\nns IN A 127.0.0.1\n", z)
		g.Expect(os.WriteFile(filepath.Join(dir, strings.TrimSuffix(z, ".")+".db"), []byte(zoneFile), 0o600)).To(Succeed())
	}
	return &dnsServer{
		kind:   kind,
		addr:   net.JoinHostPort("127.0.0.1", fmt.Sprint(freePort(g))),
		secret: randomSecret(g),
		dir:    dir,
	}
}

// randomSecret returns a random HMAC-SHA256 secret, base64-encoded.
func randomSecret(g Gomega) string {
	secret := make([]byte, 32)
	_, err := rand.Read(secret)
	g.Expect(err).NotTo(HaveOccurred())
	return base64.StdEncoding.EncodeToString(secret)
}

// run starts the server's command with its output in the log file, stops it on cleanup and waits until the
// server answers for zone.
func (s *dnsServer) run(g Gomega, cleanup func(func()), cmd *exec.Cmd) {
	logFile, err := os.Create(s.logPath())
	g.Expect(err).NotTo(HaveOccurred())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	g.Expect(cmd.Start()).To(Succeed())
	cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		_ = logFile.Close()
	})

	g.Eventually(func() error {
		_, err := s.serial(zone)
		return err
	}).WithTimeout(30*time.Second).Should(Succeed(), func() string { return s.kind + " did not start:\n" + s.log() })
}

// secretName returns the name of the DNS secret of the given purpose for this server.
func (s *dnsServer) secretName(purpose string) string {
	return strings.ToLower(s.kind) + "-" + purpose
}

// logPath is the file the server logs to.
func (s *dnsServer) logPath() string {
	return filepath.Join(s.dir, "server.log")
}

// log returns what the server has logged so far.
func (s *dnsServer) log() string {
	data, err := os.ReadFile(s.logPath())
	if err != nil {
		return err.Error()
	}
	return string(data)
}

// lookPath finds a server binary in PATH or in /usr/sbin (where Debian installs them, outside a user's PATH). It
// fails, not skips, when the binary is missing, so that a CI without it cannot pass by testing nothing.
func lookPath(g Gomega, binary, pkg string) string {
	path, err := exec.LookPath(binary)
	if err != nil {
		path = filepath.Join("/usr/sbin", binary)
	}
	_, err = os.Stat(path)
	g.Expect(err).NotTo(HaveOccurred(), "%s is not installed: apt-get install %s (or run hack/install-test-deps.sh)", binary, pkg)
	return path
}

// freePort returns a port that is free for both TCP and UDP on 127.0.0.1.
func freePort(g Gomega) int {
	for {
		tcp, err := net.Listen("tcp", "127.0.0.1:0")
		g.Expect(err).NotTo(HaveOccurred())
		port := tcp.Addr().(*net.TCPAddr).Port
		udp, err := net.ListenPacket("udp", tcp.Addr().String())
		_ = tcp.Close()
		if err == nil {
			_ = udp.Close()
			return port
		}
	}
}

// query asks the server for name and rrtype over UDP, unsigned, as a resolver would.
func (s *dnsServer) query(name string, rrtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), rrtype)
	client := &dns.Client{Timeout: 2 * time.Second}
	answer, _, err := client.Exchange(m, s.addr)
	return answer, err
}

// records returns the data of the records of name and rrtype, as zone-file text after the type.
func (s *dnsServer) records(name string, rrtype uint16) []string {
	GinkgoHelper()
	answer, err := s.query(name, rrtype)
	Expect(err).NotTo(HaveOccurred())
	return recordData(answer.Answer, name, rrtype)
}

// zoneRecords returns the data of the records of name and rrtype that zone z itself holds, from a signed zone
// transfer: unlike a query, which the server answers from the deepest zone it serves for the name, this sees
// records written into a parent zone.
func (s *dnsServer) zoneRecords(z, name string, rrtype uint16) []string {
	GinkgoHelper()
	m := new(dns.Msg)
	m.SetAxfr(z)
	m.SetTsig(tsigKeyName, dns.HmacSHA256, 300, time.Now().Unix())
	transfer := &dns.Transfer{TsigSecret: map[string]string{tsigKeyName: s.secret}}
	envelopes, err := transfer.In(m, s.addr)
	Expect(err).NotTo(HaveOccurred())
	var rrs []dns.RR
	for envelope := range envelopes {
		Expect(envelope.Error).NotTo(HaveOccurred())
		rrs = append(rrs, envelope.RR...)
	}
	return recordData(rrs, name, rrtype)
}

// recordData returns the data of the records of name and rrtype among rrs, as zone-file text after the type.
func recordData(rrs []dns.RR, name string, rrtype uint16) []string {
	values := []string{}
	for _, rr := range rrs {
		if rr.Header().Rrtype == rrtype && strings.EqualFold(rr.Header().Name, dns.Fqdn(name)) {
			values = append(values, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	}
	return values
}

// ttl returns the TTL of the records of name and rrtype.
func (s *dnsServer) ttl(name string, rrtype uint16) uint32 {
	GinkgoHelper()
	answer, err := s.query(name, rrtype)
	Expect(err).NotTo(HaveOccurred())
	Expect(answer.Answer).NotTo(BeEmpty())
	return answer.Answer[0].Header().Ttl
}

// serial returns the SOA serial of z; the servers increment it with every UPDATE that changes the zone.
func (s *dnsServer) serial(z string) (uint32, error) {
	answer, err := s.query(z, dns.TypeSOA)
	if err != nil {
		return 0, err
	}
	for _, rr := range answer.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial, nil
		}
	}
	return 0, fmt.Errorf("no SOA for %s in the answer (rcode %s)", z, dns.RcodeToString[answer.Rcode])
}

// mustSerial is serial for use in assertions.
func (s *dnsServer) mustSerial(z string) uint32 {
	GinkgoHelper()
	serial, err := s.serial(z)
	Expect(err).NotTo(HaveOccurred())
	return serial
}
