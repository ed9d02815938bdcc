#!/usr/bin/env bash
# Regenerates everything that is generated: deepcopy, conversion and defaulting functions of the APIs, the CRDs
# in example/ (also the envtest assets), the registration manifests (example/controller-registration.yaml,
# example/extension.yaml) and the API reference docs.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
module=github.com/openkcm/gardener-extension-provider-metal
header=hack/boilerplate.go.txt

apis=(./pkg/apis/metal ./pkg/apis/metal/v1alpha1 ./pkg/apis/config ./pkg/apis/config/v1alpha1)
versioned=(./pkg/apis/metal/v1alpha1 ./pkg/apis/config/v1alpha1)

"$(hack/tools.sh deepcopy-gen)" --go-header-file "$header" --output-file zz_generated.deepcopy.go "${apis[@]}"
"$(hack/tools.sh defaulter-gen)" --go-header-file "$header" --output-file zz_generated.defaults.go "${versioned[@]}"
"$(hack/tools.sh conversion-gen)" --go-header-file "$header" --output-file zz_generated.conversion.go \
  --extra-peer-dirs k8s.io/apimachinery/pkg/apis/meta/v1,k8s.io/apimachinery/pkg/conversion,k8s.io/apimachinery/pkg/runtime \
  "${versioned[@]}"

# The feature gates the deployed cloud-controller-manager accepts, from the Kubernetes libraries of its release
# (hack/tools/ccm-feature-gates/go.mod), and MetalLB's CRDs and RBAC from the module of the deployed MetalLB.
ccm_image=$(awk '/^- name: cloud-controller-manager$/ {found=1} found && /repository:/ && !repo {repo=$2} found && /tag:/ {print repo ":" $2; exit}' imagevector/images.yaml)
"$(hack/tools.sh ccm-feature-gates)" pkg/apis/metal/validation/zz_generated.ccm_feature_gates.go "$ccm_image"
go run ./hack/generate-metallb --root "$root"

hack/generate-crds.sh example/crds
go run ./hack/generate-registration --root "$root"

docs=docs/api-reference
mkdir -p "$docs"
"$(hack/tools.sh crd-ref-docs)" --source-path=pkg/apis/metal/v1alpha1 --config=hack/api-reference/config.yaml \
  --renderer=markdown --log-level=ERROR --output-path="$docs/metal.md"
"$(hack/tools.sh crd-ref-docs)" --source-path=pkg/apis/config/v1alpha1 --config=hack/api-reference/config.yaml \
  --renderer=markdown --log-level=ERROR --output-path="$docs/config.md"
gofmt -w pkg
