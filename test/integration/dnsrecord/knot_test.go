package dnsrecord_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// knotConf configures Knot DNS for the test zones: the key may update and transfer all zones but readonly.test,
// which it may only transfer (Knot then answers its signed queries, and its UPDATEs with NOTAUTH/BADKEY).
// mod-stats counts requests by operation and query type, which the tests read with knotc. The zones are kept in
// memory and the journal (zonefile-sync -1): nothing is written back to the zone files.
var knotConf = template.Must(template.New("knot.conf").Parse(`
server:
    rundir: "{{ .Dir }}"
    listen: 127.0.0.1@{{ .Port }}
log:
  - target: stderr
    any: info
database:
    storage: "{{ .Dir }}/db"
key:
  - id: {{ .KeyName }}
    algorithm: hmac-sha256
    secret: {{ .Secret }}
acl:
  - id: update
    key: {{ .KeyName }}
    action: [update, transfer]
  - id: transfer
    key: {{ .KeyName }}
    action: transfer
mod-stats:
  - id: counters
    server-operation: on
    query-type: on
template:
  - id: default
    storage: "{{ .Dir }}"
    file: "%s.db"
    zonefile-sync: -1
    journal-content: changes
    global-module: mod-stats/counters
zone:
  - domain: example.com
    acl: update
  - domain: sub.example.com
    acl: update
  - domain: frozen.test
    acl: update
  - domain: readonly.test
    acl: transfer
`))

// startKnot starts Knot DNS (knotd) in a temporary directory on a free port and waits until it answers; cleanup
// registers its shutdown.
func startKnot(g Gomega, cleanup func(func())) *dnsServer {
	knotd := lookPath(g, "knotd", "knot")
	knotc := lookPath(g, "knotc", "knot")
	server := newDNSServer(g, cleanup, "Knot")
	g.Expect(os.Mkdir(filepath.Join(server.dir, "db"), 0o700)).To(Succeed())

	conf := filepath.Join(server.dir, "knot.conf")
	file, err := os.Create(conf)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(knotConf.Execute(file, map[string]any{
		"KeyName": tsigKeyName, "Secret": server.secret, "Dir": server.dir, "Port": strings.TrimPrefix(server.addr, "127.0.0.1:"),
	})).To(Succeed())
	g.Expect(file.Close()).To(Succeed())

	knotctl := func(args ...string) string {
		GinkgoHelper()
		out, err := exec.Command(knotc, append([]string{"-c", conf}, args...)...).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		return string(out)
	}
	// counter reads one of mod-stats' counters, for example "server-operation[update]"; knotc omits zero counters.
	counter := func(name string) int {
		GinkgoHelper()
		match := regexp.MustCompile(`(?m)^mod-stats\.` + regexp.QuoteMeta(name) + ` = (\d+)$`).FindStringSubmatch(knotctl("stats", "mod-stats"))
		if match == nil {
			return 0
		}
		n, err := strconv.Atoi(match[1])
		Expect(err).NotTo(HaveOccurred())
		return n
	}
	server.freeze = func(z string) { knotctl("zone-freeze", z) }
	server.thaw = func(z string) { knotctl("zone-thaw", z) }
	server.updateRequests = func() int { return counter("server-operation[update]") }
	server.signedQueries = func(_, rrtype string) int { return counter("query-type[" + rrtype + "]") }

	server.run(g, cleanup, exec.Command(knotd, "-c", conf))
	return server
}
