#!/usr/bin/env bash
# Builds a development tool from the pinned tools modules under hack/tools into .cache/tools/bin and prints its
# path. Usage: hack/tools.sh <name>, where name is deepcopy-gen, conversion-gen, defaulter-gen, crd-ref-docs,
# golangci-lint or ccm-feature-gates. A tool is rebuilt when its tools module changes.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=${1:?usage: hack/tools.sh <tool>}

case "$name" in
  deepcopy-gen|conversion-gen|defaulter-gen) module=codegen; pkg=k8s.io/code-generator/cmd/$name ;;
  crd-ref-docs) module=codegen; pkg=github.com/elastic/crd-ref-docs ;;
  golangci-lint) module=golangci-lint; pkg=github.com/golangci/golangci-lint/v2/cmd/golangci-lint ;;
  ccm-feature-gates) module=ccm-feature-gates; pkg=. ;;
  *) echo "unknown tool $name" >&2; exit 1 ;;
esac

moddir="$root/hack/tools/$module"
stamp=$(cat "$moddir/go.mod" "$moddir/go.sum" | sha256sum | cut -c1-12)
cache=${METAL_CACHE_DIR:-$root/.cache}
bin="$cache/tools/bin/$name-$stamp"
if [[ ! -x "$bin" ]]; then
  mkdir -p "$(dirname "$bin")"
  (cd "$moddir" && go build -o "$bin.tmp" "$pkg") >&2
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
