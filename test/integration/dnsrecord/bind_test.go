package dnsrecord_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// namedConf configures BIND 9 for the test zones: the key may update all but readonly.test and transfer every
// zone; rndc reaches the control channel with its own key, to freeze and thaw zones.
var namedConf = template.Must(template.New("named.conf").Parse(`
key "{{ .KeyName }}" { algorithm hmac-sha256; secret "{{ .Secret }}"; };
key "rndc-key" { algorithm hmac-sha256; secret "{{ .RNDCSecret }}"; };
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
	allow-transfer { key "{{ .KeyName }}"; };
};
controls { inet 127.0.0.1 port {{ .ControlPort }} allow { 127.0.0.1; } keys { "rndc-key"; }; };
zone "example.com" { type primary; file "{{ .Dir }}/example.com.db"; allow-update { key "{{ .KeyName }}"; }; };
zone "sub.example.com" { type primary; file "{{ .Dir }}/sub.example.com.db"; allow-update { key "{{ .KeyName }}"; }; };
zone "frozen.test" { type primary; file "{{ .Dir }}/frozen.test.db"; allow-update { key "{{ .KeyName }}"; }; };
zone "readonly.test" { type primary; file "{{ .Dir }}/readonly.test.db"; };
`))

// rndcConf lets rndc reach the control channel of namedConf.
var rndcConf = template.Must(template.New("rndc.conf").Parse(`
key "rndc-key" { algorithm hmac-sha256; secret "{{ .RNDCSecret }}"; };
options { default-key "rndc-key"; default-server 127.0.0.1; default-port {{ .ControlPort }}; };
`))

// startBIND starts BIND 9 (named) in a temporary directory on a free port and waits until it answers; cleanup
// registers its shutdown. g and cleanup let both the ginkgo suite and the benchmarks use it.
func startBIND(g Gomega, cleanup func(func())) *dnsServer {
	named := lookPath(g, "named", "bind9")
	rndc := lookPath(g, "rndc", "bind9-utils")
	server := newDNSServer(g, cleanup, "BIND")
	rndcSecret := randomSecret(g)

	values := map[string]any{
		"KeyName": tsigKeyName, "Secret": server.secret, "RNDCSecret": rndcSecret, "Dir": server.dir,
		"Port": strings.TrimPrefix(server.addr, "127.0.0.1:"), "ControlPort": freePort(g),
	}
	for name, tmpl := range map[string]*template.Template{"named.conf": namedConf, "rndc.conf": rndcConf} {
		file, err := os.Create(filepath.Join(server.dir, name))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(tmpl.Execute(file, values)).To(Succeed())
		g.Expect(file.Close()).To(Succeed())
	}

	control := func(command string) func(string) {
		return func(z string) {
			GinkgoHelper()
			out, err := exec.Command(rndc, "-c", filepath.Join(server.dir, "rndc.conf"), command, strings.TrimSuffix(z, ".")).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
		}
	}
	server.freeze, server.thaw = control("freeze"), control("thaw")
	server.updateRequests = func() int { return len(updatePolicyRe.FindAllString(server.log(), -1)) }
	server.signedQueries = func(name, rrtype string) int {
		return strings.Count(server.log(), "query: "+strings.TrimSuffix(name, ".")+" IN "+rrtype+" -S")
	}

	// -g: foreground, all logging (query log, update log) to stderr, which the tests read from the log file.
	server.run(g, cleanup, exec.Command(named, "-g", "-c", filepath.Join(server.dir, "named.conf")))
	return server
}

// updatePolicyRe matches the log line of BIND's check of an UPDATE, once per message whether it applied it or
// not: the signer's verdict ("signer \"tsig-key\" approved"), the refusal ("update 'zone/IN' denied"), or the
// refusal of a frozen zone ("update failed: dynamic update temporarily disabled").
var updatePolicyRe = regexp.MustCompile(`signer "[^"]*" (approved|denied)|update '[^']*' denied|update failed: dynamic update temporarily disabled`)
