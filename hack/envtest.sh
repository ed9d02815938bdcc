#!/usr/bin/env bash
# Builds the envtest binaries (kube-apiserver, etcd) from the Go module proxy, because no download site is
# reachable. Versions come from hack/tools/*/go.mod; binaries are cached under .cache/envtest/<versions> and
# rebuilt only when a version changes. Prints the directory to use as KUBEBUILDER_ASSETS.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/hack/tools"

kube_version=$(awk '$1=="require" && $2=="k8s.io/kubernetes" {print $3}' "$tools/kubernetes/go.mod")
etcd_version=$(awk '$1=="require" && $2=="go.etcd.io/etcd/server/v3" {print $3}' "$tools/etcd/go.mod")
assets="${METAL_CACHE_DIR:-$root/.cache}/envtest/kube-${kube_version}-etcd-${etcd_version}"
mkdir -p "$assets"

if [[ ! -x "$assets/kube-apiserver" ]]; then
  major=${kube_version#v}; major=${major%%.*}
  minor=${kube_version#v*.}; minor=${minor%%.*}
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean"
  done
  echo "building kube-apiserver $kube_version (several minutes on a cold cache)" >&2
  (cd "$tools/kubernetes" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" \
    -o "$assets/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$assets/kube-apiserver.tmp" "$assets/kube-apiserver"
fi

if [[ ! -x "$assets/etcd" ]]; then
  echo "building etcd $etcd_version" >&2
  (cd "$tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$assets/etcd.tmp" .)
  mv "$assets/etcd.tmp" "$assets/etcd"
fi

echo "$assets"
