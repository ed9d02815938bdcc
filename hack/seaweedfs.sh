#!/usr/bin/env bash
# Builds SeaweedFS's `weed` (the S3-compatible server of the backup integration tests and the local landscape)
# from the Go module proxy, at the version pinned in hack/tools/seaweedfs/go.mod. SeaweedFS has no semver tags, so
# the pin is a pseudo-version. The binary is cached under ${METAL_CACHE_DIR:-.cache}/seaweedfs/<version> and rebuilt
# only when the version changes; the script prints that directory (it holds `weed`).
# The first build compiles SeaweedFS's whole dependency tree (cloud SDKs, rclone backends, gRPC, ...) and is the
# heaviest step of `make test`: measured 10 min of CPU (user), 36 min wall clock on two cores shared with other
# builds (about 6 min on two idle cores, an estimate), with a Go build cache that already held the Kubernetes
# dependencies.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
moddir="$root/hack/tools/seaweedfs"
module=github.com/seaweedfs/seaweedfs

version=$(awk -v m="$module" '$1=="require" && $2==m {print $3} $1==m {print $2}' "$moddir/go.mod" | head -n1)
if [[ -z "$version" ]]; then
  echo "no version of $module in $moddir/go.mod" >&2
  exit 1
fi
out="${METAL_CACHE_DIR:-$root/.cache}/seaweedfs/$version"
mkdir -p "$out"

if [[ ! -x "$out/weed" ]]; then
  echo "building weed from $module/weed@$version (cold: about 10 min of CPU time)" >&2
  start=$SECONDS
  # Builds into a temporary name first, so that an interrupted build never leaves a binary that looks complete.
  (cd "$moddir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/weed.tmp" "$module/weed")
  mv "$out/weed.tmp" "$out/weed"
  echo "built weed in $((SECONDS - start))s" >&2
fi

echo "$out"
