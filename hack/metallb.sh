#!/usr/bin/env bash
# Builds MetalLB's controller and speaker from the Go module proxy (go.universe.tf/metallb; its GitHub path is not
# served), at the version pinned in hack/tools/metallb/go.mod (the version of the MetalLB images in
# imagevector/images.yaml; tools.go there says why it is not v0.16.2), for the local landscape and
# test/integration/metallb, which run them as the pods of the shoot charts. The binaries are cached under
# .cache/metallb/<version> and rebuilt only when the version changes. Prints that directory; it holds controller
# and speaker, static binaries built without cgo. The first build compiles MetalLB's dependency tree
# (controller-runtime, client-go of its own versions): about seven minutes on a loaded two-core machine; the
# speaker then takes seconds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
moddir="$root/hack/tools/metallb"
module=go.universe.tf/metallb

version=$(awk -v m="$module" '$1=="require" && $2==m {print $3}' "$moddir/go.mod")
if [[ -z "$version" ]]; then
  echo "no version of $module in $moddir/go.mod" >&2
  exit 1
fi
out="${METAL_CACHE_DIR:-$root/.cache}/metallb/$version"
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

build controller "$module/controller"
build speaker "$module/speaker"

echo "$out"
