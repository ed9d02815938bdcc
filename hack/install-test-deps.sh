#!/usr/bin/env bash
# Installs what the tests need beyond Go and the envtest binaries (hack/envtest.sh): BIND 9, which the DNSRecord
# integration suite (test/integration/dnsrecord) starts as the RFC 2136 server. Idempotent: does nothing when
# named is already installed. Needs root (apt-get) on Debian/Ubuntu.
set -euo pipefail

if command -v named >/dev/null 2>&1 || [[ -x /usr/sbin/named ]]; then
  exit 0
fi
apt-get update
apt-get install -y --no-install-recommends bind9 bind9-dnsutils
