#!/usr/bin/env bash
# The main job: builds the extension and runs it on this machine against a local seed cluster (real
# kube-apiserver and etcd). Stops with Ctrl-C. Pass --keep=false to stop once the extension is ready.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

KUBEBUILDER_ASSETS=$(hack/envtest.sh)
export KUBEBUILDER_ASSETS
go build -o bin/gardener-extension-provider-metal ./cmd/gardener-extension-provider-metal
go run ./hack/landscape --root "$root" "$@"
