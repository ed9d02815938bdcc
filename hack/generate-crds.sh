#!/usr/bin/env bash
# Copies the CRDs the extension works with from the Go module cache into the given folder (example/crds): the
# Gardener extension and resource CRDs, the machine-controller-manager CRDs, the metal-operator CRDs and the
# cluster-api IPAM CRDs. They serve as envtest assets and as the CRDs the local landscape installs.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: hack/generate-crds.sh <folder>}
cd "$root"
moddir() { go list -m -f '{{.Dir}}' "$1"; }

rm -rf "$out"
mkdir -p "$out/gardener" "$out/machine" "$out/metal" "$out/ipam"

gardener=$(moddir github.com/gardener/gardener)
for crd in backupbuckets backupentries clusters controlplanes dnsrecords infrastructures workers extensions operatingsystemconfigs; do
  cp "$gardener/example/seed-crds/10-crd-extensions.gardener.cloud_$crd.yaml" "$out/gardener/"
done
cp "$gardener/example/seed-crds/10-crd-resources.gardener.cloud_managedresources.yaml" "$out/gardener/"
cp "$gardener"/example/seed-crds/10-crd-autoscaling.k8s.io_verticalpodautoscalers.yaml "$out/gardener/"
cp "$gardener"/example/seed-crds/10-crd-monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml "$out/gardener/"
cp "$gardener"/example/seed-crds/10-crd-machine.sapcloud.io_*.yaml "$out/machine/"

metal=$(moddir github.com/ironcore-dev/metal-operator)
cp "$metal"/config/crd/bases/metal.ironcore.dev_*.yaml "$out/metal/"

# cluster-api is not a dependency of the module (only its api module is); the CRDs come from the same version.
capi_version=$(go list -m -f '{{.Version}}' sigs.k8s.io/cluster-api/api)
capi=$(go mod download -json "sigs.k8s.io/cluster-api@$capi_version" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
cp "$capi"/core/config/crd/bases/ipam.cluster.x-k8s.io_*.yaml "$out/ipam/"
chmod -R u+w "$out"
