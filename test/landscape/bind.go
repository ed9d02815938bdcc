package landscape

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/miekg/dns"
)

const (
	// dnsZone is the zone the local BIND serves; the landscape's DNSRecord writes into it.
	dnsZone = "landscape.local."
	// dnsKeyName is the TSIG key allowed to update the zone.
	dnsKeyName = "landscape."
)

// bind is a local BIND 9 serving dnsZone on loopback, updatable with a TSIG key.
type bind struct {
	*process
	addr   string
	secret string
}

// namedBinary finds BIND's named, or returns "" when it is not installed.
func namedBinary() string {
	if path, err := exec.LookPath("named"); err == nil {
		return path
	}
	if _, err := os.Stat("/usr/sbin/named"); err == nil {
		return "/usr/sbin/named"
	}
	return ""
}

// startBIND writes a configuration with one primary zone into stateDir and starts named in the foreground.
func startBIND(ctx context.Context, named, stateDir string) (*bind, error) {
	dir := filepath.Join(stateDir, "bind")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	b := &bind{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), secret: base64.StdEncoding.EncodeToString(key)}

	zoneFile := filepath.Join(dir, "zone.db")
	conf := fmt.Sprintf(`key "%[1]s" { algorithm hmac-sha256; secret "%[2]s"; };
options { directory "%[3]s"; listen-on port %[4]d { 127.0.0.1; }; listen-on-v6 { none; }; pid-file "%[3]s/named.pid";
  session-keyfile "%[3]s/session.key"; recursion no; notify no; dnssec-validation no; };
controls { };
zone "%[5]s" { type primary; file "%[6]s"; allow-update { key "%[1]s"; }; };
`, dnsKeyName, b.secret, dir, port, dnsZone, zoneFile)
	soa := fmt.Sprintf("$TTL 60\n@ IN SOA ns.%[1]s admin.%[1]s 1 3600 600 86400 60\n@ IN NS ns.%[1]s\nns IN A 127.0.0.1\n", dnsZone)
	if err := os.WriteFile(filepath.Join(dir, "named.conf"), []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(zoneFile, []byte(soa), 0o600); err != nil {
		return nil, err
	}
	if b.process, err = startProcess(stateDir, "named", named, "-g", "-c", filepath.Join(dir, "named.conf")); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if soa, err := b.lookup(dnsZone, dns.TypeSOA); err == nil && len(soa) == 1 {
			return b, nil
		}
		if err := b.running(); err != nil || time.Now().After(deadline) || ctx.Err() != nil {
			b.stop()
			return nil, fmt.Errorf("named did not answer on %s; log: %s", b.addr, b.logPath)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lookup asks the server for name and type, as a resolver would, and returns the answer's values.
func (b *bind) lookup(name string, rrtype uint16) ([]string, error) {
	msg := new(dns.Msg)
	msg.SetQuestion(dns.Fqdn(name), rrtype)
	in, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(msg, b.addr)
	if err != nil {
		return nil, err
	}
	if in.Rcode != dns.RcodeSuccess && in.Rcode != dns.RcodeNameError {
		return nil, fmt.Errorf("%s %s: %s", name, dns.TypeToString[rrtype], dns.RcodeToString[in.Rcode])
	}
	var values []string
	for _, rr := range in.Answer {
		switch r := rr.(type) {
		case *dns.A:
			values = append(values, r.A.String())
		case *dns.SOA:
			values = append(values, r.Ns)
		}
	}
	return values, nil
}
