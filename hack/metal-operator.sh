#!/usr/bin/env bash
# Builds the metal-operator manager and its Redfish mock BMC (bmc/mock) from the Go module proxy, at the version
# pinned in hack/tools/metal-operator/go.mod, for the local landscape. The binaries are cached under
# .cache/metal-operator/<version> and rebuilt only when the version changes. Prints that directory; it holds
# metal-operator, redfish-mock and, under config/, the module's files the manager needs at run time (CRDs, webhook
# manifests, the discovery ignition template), copied from the module cache so that they match the binary. The
# first build compiles the whole dependency tree of metal-operator (controller-runtime, client-go, gofish, ...):
# about two minutes on two cores with an empty Go build cache; the mock then takes seconds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
moddir="$root/hack/tools/metal-operator"
module=github.com/ironcore-dev/metal-operator

version=$(awk -v m="$module" '$1=="require" && $2==m {print $3}' "$moddir/go.mod")
if [[ -z "$version" ]]; then
  echo "no version of $module in $moddir/go.mod" >&2
  exit 1
fi
out="${METAL_CACHE_DIR:-$root/.cache}/metal-operator/$version"
mkdir -p "$out"

# build <binary> <package>: builds into a temporary name first, so that an interrupted build never leaves a
# binary behind that looks complete.
build() {
  local bin=$1 pkg=$2
  if [[ -x "$out/$bin" ]]; then
    return
  fi
  echo "building $bin from $pkg@$version (minutes on a cold Go build cache)" >&2
  local start=$SECONDS
  (cd "$moddir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/$bin.tmp" "$pkg")
  mv "$out/$bin.tmp" "$out/$bin"
  echo "built $bin in $((SECONDS - start))s" >&2
}

build metal-operator "$module/cmd"
build redfish-mock "$module/bmc/mock"

if [[ ! -f "$out/config/manager/ignition-template.yaml" ]]; then
  src=$(cd "$moddir" && go list -m -f '{{.Dir}}' "$module")
  rm -rf "$out/config.tmp"
  mkdir -p "$out/config.tmp/crd" "$out/config.tmp/webhook" "$out/config.tmp/manager"
  cp -r "$src/config/crd/bases" "$out/config.tmp/crd/bases"
  cp "$src/config/webhook/manifests.yaml" "$out/config.tmp/webhook/"
  cp "$src/config/manager/ignition-template.yaml" "$out/config.tmp/manager/"
  # The module cache is read-only; the copies need not be.
  chmod -R u+w "$out/config.tmp"
  rm -rf "$out/config"
  mv "$out/config.tmp" "$out/config"
fi

echo "$out"
