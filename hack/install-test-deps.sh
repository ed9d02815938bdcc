#!/usr/bin/env bash
# Installs what the tests need beyond Go and the envtest binaries (hack/envtest.sh): the three RFC 2136 servers
# the DNSRecord integration suite (test/integration/dnsrecord) starts, BIND 9 (named, with rndc to freeze zones),
# Knot DNS (knotd, with knotc to freeze zones and read its counters) and the PowerDNS Authoritative Server
# (pdns_server with pdnsutil and pdns_control, its SQLite backend, and sqlite3 to create the database).
# Idempotent: installs only what is missing, and nothing when all is there. Needs root (apt-get) on Debian/Ubuntu.
set -euo pipefail

# installed reports whether the binary is in PATH or in /usr/sbin, where Debian puts the servers.
installed() {
  command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]
}

packages=()
installed named || packages+=(bind9)
installed rndc || packages+=(bind9-utils)
installed knotd || packages+=(knot)
installed knotc || packages+=(knot)
installed pdns_server || packages+=(pdns-server)
[[ -f /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql ]] || packages+=(pdns-backend-sqlite3)
installed sqlite3 || packages+=(sqlite3)

if [[ ${#packages[@]} -eq 0 ]]; then
  exit 0
fi
apt-get update
# The packages' services are not started: the suite starts its own servers on loopback (and a container has no
# init system to start them anyway).
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
