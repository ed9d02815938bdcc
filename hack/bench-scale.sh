#!/usr/bin/env bash
# Runs the scale benchmark (test/bench/scale, see docs/development/testing.md): for each shoot count given (default
# 10 50 200) it builds the extension binary, starts an envtest seed and an envtest metal API with audit logging and
# prints latencies, API requests per shoot, CPU time and memory of the extension. Options before the counts go to
# the benchmark, e.g. `hack/bench-scale.sh -details 10`. N=200 keeps both cores busy for minutes.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

args=()
counts=()
for arg in "$@"; do
  if [[ "$arg" =~ ^[0-9]+$ ]]; then
    counts+=("$arg")
  else
    args+=("$arg")
  fi
done
if [[ ${#counts[@]} -eq 0 ]]; then
  counts=(10 50 200)
fi

KUBEBUILDER_ASSETS=$(hack/envtest.sh)
export KUBEBUILDER_ASSETS

out="${METAL_CACHE_DIR:-$root/.cache}/bench"
mkdir -p "$out"
go build -o "$out/gardener-extension-provider-metal" ./cmd/gardener-extension-provider-metal
go build -o "$out/scale" ./test/bench/scale
# The metal API serves the CRDs of the metal-operator version the extension is built against.
metal_operator=$(go list -m -f '{{.Dir}}' github.com/ironcore-dev/metal-operator)

for n in "${counts[@]}"; do
  "$out/scale" -shoots "$n" \
    -extension "$out/gardener-extension-provider-metal" \
    -config example/component-config.yaml \
    -seed-crds example/crds \
    -metal-crds "$metal_operator/config/crd/bases,example/crds/ipam" \
    ${args[@]+"${args[@]}"}
done
