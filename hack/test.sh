#!/usr/bin/env bash
# Runs all tests: unit tests and the envtest-backed integration tests (real kube-apiserver and etcd, built from
# the Go module proxy by hack/envtest.sh). Extra arguments go to `go test` (default: ./...).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

KUBEBUILDER_ASSETS=$(hack/envtest.sh)
export KUBEBUILDER_ASSETS

if [[ $# -eq 0 ]]; then
  set -- ./...
fi
go test -timeout 40m "$@"
