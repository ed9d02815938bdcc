#!/usr/bin/env bash
# Builds kube-controller-manager and kube-scheduler from the Go module proxy at the version of the kube-apiserver
# that envtest runs (both pinned in hack/tools/kubernetes/go.mod), for the local landscape: the seed and the shoot
# get their real control loops (Deployments, ReplicaSets, ServiceAccounts, garbage collection, node IPAM,
# scheduling). Cached under .cache/kubernetes/<version>; prints that directory. The first build shares most of its
# packages with the kube-apiserver build of hack/envtest.sh (minutes on a cold Go build cache).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
moddir="$root/hack/tools/kubernetes"

kube_version=$(awk '$1=="require" && $2=="k8s.io/kubernetes" {print $3}' "$moddir/go.mod")
out="${METAL_CACHE_DIR:-$root/.cache}/kubernetes/$kube_version"
mkdir -p "$out"

major=${kube_version#v}; major=${major%%.*}
minor=${kube_version#v*.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean"
done

for bin in kube-controller-manager kube-scheduler; do
  if [[ ! -x "$out/$bin" ]]; then
    echo "building $bin $kube_version (minutes on a cold Go build cache)" >&2
    (cd "$moddir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$bin.tmp" "k8s.io/kubernetes/cmd/$bin")
    mv "$out/$bin.tmp" "$out/$bin"
  fi
done

echo "$out"
