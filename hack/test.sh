#!/usr/bin/env bash
# Runs all tests: unit tests and the integration tests against real kube-apiservers and etcd (built from the Go
# module proxy by hack/envtest.sh), a real SeaweedFS S3 store (hack/seaweedfs.sh) and a real BIND 9 (installed by hack/install-test-deps.sh). Extra arguments go
# to `go test` (default: ./...).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

hack/install-test-deps.sh
KUBEBUILDER_ASSETS=$(hack/envtest.sh)
export KUBEBUILDER_ASSETS
# The real metal-operator and its Redfish mock BMCs, built from the Go module proxy, for the landscape tests.
METAL_OPERATOR_ASSETS=$(hack/metal-operator.sh)
export METAL_OPERATOR_ASSETS
# SeaweedFS (`weed`), the S3-compatible store of the backup tests, built from the Go module proxy.
SEAWEEDFS_ASSETS=$(hack/seaweedfs.sh)
export SEAWEEDFS_ASSETS

# kube-controller-manager and kube-scheduler for the landscape's clusters, and the process kubelet for its nodes.
KUBE_CONTROLLERS_ASSETS=$(hack/kube-controllers.sh)
export KUBE_CONTROLLERS_ASSETS
PROCESS_KUBELET=$(hack/process-kubelet.sh)
export PROCESS_KUBELET
# MetalLB's controller and speaker at the version of the imagevector, built from the Go module proxy, which
# test/integration/metallb and the landscape run as the pods of the shoot charts.
METALLB_ASSETS=$(hack/metallb.sh)
export METALLB_ASSETS

all=false
if [[ $# -eq 0 ]]; then
  set -- ./...
  all=true
fi
go test -timeout 50m "$@"
# The process kubelet is a Go module of its own (virtual-kubelet needs k8s.io v0.37); its suite needs root.
if [[ $all == true ]]; then
  (cd test/landscape/processkubelet && go test -timeout 20m ./...)
fi
