package dnsrecord_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// pdnsSQLiteSchema is where Debian's pdns-backend-sqlite3 installs the database schema.
const pdnsSQLiteSchema = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"

// pdnsConf configures the PowerDNS Authoritative Server with its SQLite backend for the test zones. Caches are off,
// so that every answer shows the zone as it is after the last UPDATE.
var pdnsConf = template.Must(template.New("pdns.conf").Parse(`
launch=gsqlite3
gsqlite3-database={{ .Dir }}/pdns.sqlite3
local-address={{ .Addr }}
socket-dir={{ .Dir }}
dnsupdate=yes
allow-dnsupdate-from=127.0.0.0/8
allow-axfr-ips=127.0.0.0/8
guardian=no
daemon=no
disable-syslog=yes
cache-ttl=0
negquery-cache-ttl=0
query-cache-ttl=0
`))

// startPowerDNS starts the PowerDNS Authoritative Server (pdns_server) in a temporary directory on a free port and
// waits until it answers; cleanup registers its shutdown. The zones are loaded from the zone files with pdnsutil;
// the key may update (TSIG-ALLOW-DNSUPDATE) all zones but readonly.test and transfer all of them. PowerDNS cannot
// freeze a zone, so freeze is nil.
func startPowerDNS(g Gomega, cleanup func(func())) *dnsServer {
	pdnsServer := lookPath(g, "pdns_server", "pdns-server")
	pdnsutil := lookPath(g, "pdnsutil", "pdns-server")
	pdnsControl := lookPath(g, "pdns_control", "pdns-server")
	sqlite := lookPath(g, "sqlite3", "sqlite3")
	server := newDNSServer(g, cleanup, "PowerDNS")

	file, err := os.Create(filepath.Join(server.dir, "pdns.conf"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pdnsConf.Execute(file, map[string]any{"Dir": server.dir, "Addr": server.addr})).To(Succeed())
	g.Expect(file.Close()).To(Succeed())

	// The schema ships with the backend package.
	schema, err := os.Open(pdnsSQLiteSchema)
	g.Expect(err).NotTo(HaveOccurred(), "the PowerDNS SQLite backend is not installed: apt-get install pdns-backend-sqlite3 (or run hack/install-test-deps.sh)")
	defer func() { _ = schema.Close() }()
	create := exec.Command(sqlite, filepath.Join(server.dir, "pdns.sqlite3"))
	create.Stdin = schema
	out, err := create.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))

	configDir := "--config-dir=" + server.dir
	run := func(name string, args ...string) string {
		out, err := exec.Command(name, append([]string{configDir}, args...)...).CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred(), "%s %v: %s", name, args, out)
		return string(out)
	}
	key := strings.TrimSuffix(tsigKeyName, ".")
	run(pdnsutil, "import-tsig-key", key, "hmac-sha256", server.secret)
	for _, z := range testZones {
		name := strings.TrimSuffix(z, ".")
		run(pdnsutil, "load-zone", name, filepath.Join(server.dir, name+".db"))
		run(pdnsutil, "set-meta", name, "SOA-EDIT-DNSUPDATE", "INCREASE")
		run(pdnsutil, "set-meta", name, "TSIG-ALLOW-AXFR", key)
		// Without TSIG-ALLOW-DNSUPDATE PowerDNS takes any UPDATE from allow-dnsupdate-from, so the read-only zone
		// names another key.
		updateKey := key
		if z == readOnlyZone {
			updateKey = "other-key"
		}
		run(pdnsutil, "set-meta", name, "TSIG-ALLOW-DNSUPDATE", updateKey)
	}

	// counter reads one of the server's statistics, for example "dnsupdate-queries".
	counter := func(name string) int {
		GinkgoHelper()
		out, err := exec.Command(pdnsControl, configDir, "show", name).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		n, err := strconv.Atoi(strings.TrimSpace(string(out)))
		Expect(err).NotTo(HaveOccurred(), string(out))
		return n
	}
	// dnsupdate-queries counts the UPDATEs whose signature PowerDNS accepted, applied or refused.
	server.updateRequests = func() int { return counter("dnsupdate-queries") }
	// The controller talks TCP and the tests' resolver UDP, so the TCP count is the controller's.
	server.signedQueries = func(string, string) int { return counter("tcp-queries") }

	server.run(g, cleanup, exec.Command(pdnsServer, configDir))
	return server
}
