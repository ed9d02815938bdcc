#!/usr/bin/env bash
# The main job: builds what the local landscape runs (the envtest binaries, metal-operator and its mock BMC, the
# extension, the machine-controller-manager and the metal driver, SeaweedFS) and runs it. Ctrl-C stops it; --keep=false
# deletes the shoot again once its machines run and checks that nothing is left. More flags: go run ./hack/landscape -h.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

KUBEBUILDER_ASSETS=$(hack/envtest.sh)
METAL_OPERATOR_ASSETS=$(hack/metal-operator.sh)
# SeaweedFS, the landscape's S3-compatible store for the BackupBucket and BackupEntry (a long first build).
SEAWEEDFS_ASSETS=$(hack/seaweedfs.sh)
# The seed's kube-controller-manager and kube-scheduler, at the kube-apiserver's version.
KUBE_CONTROLLERS_ASSETS=$(hack/kube-controllers.sh)
# The node agent that runs the seed's pods as processes.
PROCESS_KUBELET=$(hack/process-kubelet.sh)
# MetalLB's controller and speaker for the shoot's LoadBalancer Services.
METALLB_ASSETS=$(hack/metallb.sh)
export KUBEBUILDER_ASSETS METAL_OPERATOR_ASSETS SEAWEEDFS_ASSETS KUBE_CONTROLLERS_ASSETS PROCESS_KUBELET METALLB_ASSETS
mkdir -p bin
go build -o bin/gardener-extension-provider-metal ./cmd/gardener-extension-provider-metal
go build -o bin/machine-controller-manager-provider-metal ./cmd/machine-controller-manager-provider-metal
go build -o bin/machine-controller-manager github.com/gardener/machine-controller-manager/cmd/machine-controller-manager
go build -o bin/gardener-resource-manager github.com/gardener/gardener/cmd/gardener-resource-manager
go run ./hack/landscape --root "$root" "$@"
