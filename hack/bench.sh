#!/usr/bin/env bash
# Runs the benchmarks (requests, writes and allocations per reconcile; see docs/development/testing.md) and the
# scale benchmark with 10 shoots. Extra arguments go to `go test` instead (default: -benchtime 20x over every package
# with benchmarks, and then the scale benchmark).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

hack/install-test-deps.sh
KUBEBUILDER_ASSETS=$(hack/envtest.sh)
export KUBEBUILDER_ASSETS
SEAWEEDFS_ASSETS=$(hack/seaweedfs.sh)
export SEAWEEDFS_ASSETS

scale=false
if [[ $# -eq 0 ]]; then
  set -- -benchtime 20x ./test/integration/driver/ ./test/integration/worker/ ./test/integration/dnsrecord/
  scale=true
  # Each round of the backup benchmark uploads 5000 objects first: three rounds suffice.
  go test -run '^$' -bench . -benchmem -benchtime 3x ./test/integration/backup/
fi
# -run '^$' skips the ginkgo suites; each benchmark starts what it needs itself.
go test -run '^$' -bench . -benchmem "$@"
# Without arguments also the scale benchmark with a small number of shoots; `make bench-scale` runs the larger ones.
if [[ "$scale" == true ]]; then
  hack/bench-scale.sh 10
fi
