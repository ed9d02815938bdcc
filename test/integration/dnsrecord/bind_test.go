package dnsrecord_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/miekg/dns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const (
	// tsigKeyName is the TSIG key BIND grants updates to.
	tsigKeyName = "tsig-key."
	// zone is the zone most records go to; subZone and readOnlyZone are hosted on the same server.
	zone = "example.com."
	// subZone lets zone discovery prove it finds the deepest zone, not just a parent.
	subZone = "sub.example.com."
	// readOnlyZone allows no updates, so BIND answers REFUSED.
	readOnlyZone = "readonly.test."
)

// bindServer is a BIND 9 named process serving the test zones on 127.0.0.1.
type bindServer struct {
	addr    string
	secret  string
	dir     string
	logPath string
}

var namedConf = template.Must(template.New("named.conf").Parse(`
key "{{ .KeyName }}" { algorithm hmac-sha256; secret "{{ .Secret }}"; };
options {
	directory "{{ .Dir }}";
	listen-on port {{ .Port }} { 127.0.0.1; };
	listen-on-v6 { none; };
	pid-file "{{ .Dir }}/named.pid";
	session-keyfile "{{ .Dir }}/session.key";
	recursion no;
	notify no;
	dnssec-validation no;
	querylog yes;
};
controls { };
zone "example.com" { type primary; file "{{ .Dir }}/example.com.db"; allow-update { key "{{ .KeyName }}"; }; };
zone "sub.example.com" { type primary; file "{{ .Dir }}/sub.example.com.db"; allow-update { key "{{ .KeyName }}"; }; };
zone "readonly.test" { type primary; file "{{ .Dir }}/readonly.test.db"; };
`))

// startBIND starts named in a temporary directory on a free port and waits until it answers; cleanup registers
// its shutdown. It fails, not skips, when named is missing, so that a CI without BIND cannot pass by testing
// nothing. g and cleanup let both the ginkgo suite and the benchmarks use it.
func startBIND(g Gomega, cleanup func(func())) *bindServer {
	named, err := exec.LookPath("named")
	if err != nil {
		named = "/usr/sbin/named"
	}
	_, err = os.Stat(named)
	g.Expect(err).NotTo(HaveOccurred(), "BIND 9 (named) is not installed: apt-get install bind9 bind9-dnsutils (or run hack/install-test-deps.sh)")

	secret := make([]byte, 32)
	_, err = rand.Read(secret)
	g.Expect(err).NotTo(HaveOccurred())
	dir, err := os.MkdirTemp("", "dnsrecord-bind-")
	g.Expect(err).NotTo(HaveOccurred())
	cleanup(func() { _ = os.RemoveAll(dir) })

	server := &bindServer{secret: base64.StdEncoding.EncodeToString(secret), dir: dir, logPath: filepath.Join(dir, "named.log")}
	port := freePort(g)
	server.addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(port))

	conf, err := os.Create(filepath.Join(dir, "named.conf"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(namedConf.Execute(conf, map[string]any{"KeyName": tsigKeyName, "Secret": server.secret, "Dir": dir, "Port": port})).To(Succeed())
	g.Expect(conf.Close()).To(Succeed())
	for _, z := range []string{zone, subZone, readOnlyZone} {
		zoneFile := fmt.Sprintf("$TTL 60\n@ IN SOA ns.%[1]s admin.%[1]s 1 3600 600 86400 60\n@ IN NS ns.%[1]s\nns IN A 127.0.0.1\n", z)
		g.Expect(os.WriteFile(filepath.Join(dir, strings.TrimSuffix(z, ".")+".db"), []byte(zoneFile), 0o600)).To(Succeed())
	}

	logFile, err := os.Create(server.logPath)
	g.Expect(err).NotTo(HaveOccurred())
	// -g: foreground, all logging (query log, update log) to stderr, which the tests read from the log file.
	cmd := exec.Command(named, "-g", "-c", filepath.Join(dir, "named.conf"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	g.Expect(cmd.Start()).To(Succeed())
	cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		_ = logFile.Close()
	})

	g.Eventually(func() error {
		_, err := server.serial(zone)
		return err
	}).WithTimeout(30*time.Second).Should(Succeed(), func() string { return "named did not start:\n" + server.log() })
	return server
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

// query asks BIND for name and rrtype over UDP, unsigned, as a resolver would.
func (b *bindServer) query(name string, rrtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), rrtype)
	client := &dns.Client{Timeout: 2 * time.Second}
	answer, _, err := client.Exchange(m, b.addr)
	return answer, err
}

// records returns the data of the records of name and rrtype, as zone-file text after the type.
func (b *bindServer) records(name string, rrtype uint16) []string {
	GinkgoHelper()
	answer, err := b.query(name, rrtype)
	Expect(err).NotTo(HaveOccurred())
	values := []string{}
	for _, rr := range answer.Answer {
		if rr.Header().Rrtype == rrtype && strings.EqualFold(rr.Header().Name, dns.Fqdn(name)) {
			values = append(values, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	}
	return values
}

// ttl returns the TTL of the records of name and rrtype.
func (b *bindServer) ttl(name string, rrtype uint16) uint32 {
	GinkgoHelper()
	answer, err := b.query(name, rrtype)
	Expect(err).NotTo(HaveOccurred())
	Expect(answer.Answer).NotTo(BeEmpty())
	return answer.Answer[0].Header().Ttl
}

// serial returns the SOA serial of z; BIND increments it with every UPDATE that changes the zone.
func (b *bindServer) serial(z string) (uint32, error) {
	answer, err := b.query(z, dns.TypeSOA)
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
func (b *bindServer) mustSerial(z string) uint32 {
	GinkgoHelper()
	serial, err := b.serial(z)
	Expect(err).NotTo(HaveOccurred())
	return serial
}

// log returns what named has logged so far.
func (b *bindServer) log() string {
	data, err := os.ReadFile(b.logPath)
	if err != nil {
		return err.Error()
	}
	return string(data)
}

// updateRequests counts the UPDATE messages named has received and checked against an update policy, whether
// it applied them or not: the policy check logs the signer's verdict ("signer \"tsig-key\" approved") or the
// refusal ("update 'zone/IN' denied") once per message.
func (b *bindServer) updateRequests() int {
	return len(updatePolicyRe.FindAllString(b.log(), -1))
}

// updatePolicyRe matches the log line of an update policy check.
var updatePolicyRe = regexp.MustCompile(`signer "[^"]*" (approved|denied)|update '[^']*' denied`)

// signedQueries counts the TSIG-signed queries named logged for name and rrtype (the controller's).
func (b *bindServer) signedQueries(name, rrtype string) int {
	return strings.Count(b.log(), "query: "+strings.TrimSuffix(name, ".")+" IN "+rrtype+" -S")
}
