#!/usr/bin/env bash
# Builds the process kubelet (test/landscape/processkubelet, a Go module of its own) for the local landscape.
# The binary is cached under .cache/process-kubelet/<hash of the module's go.mod, go.sum and sources>/ and
# rebuilt only when they change. Prints the binary's path. The first build compiles virtual-kubelet and client-go
# (about a minute on two cores with an empty Go build cache).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
moddir="$root/test/landscape/processkubelet"

hash=$(cd "$moddir" && find . -name '*.go' ! -name '*_test.go' ! -path './internal/testbin/*' -print0 \
  | LC_ALL=C sort -z | xargs -0 sha256sum | cat - go.mod go.sum | sha256sum | cut -c1-16)
out="${METAL_CACHE_DIR:-$root/.cache}/process-kubelet/$hash"
bin="$out/process-kubelet"

if [[ ! -x "$bin" ]]; then
  mkdir -p "$out"
  echo "building process-kubelet ($hash)" >&2
  start=$SECONDS
  # An interrupted build never leaves a binary behind that looks complete.
  (cd "$moddir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
  echo "built process-kubelet in $((SECONDS - start))s" >&2
fi

echo "$bin"
