//go:build tools

// Package tools pins MetalLB's controller and speaker that the local landscape runs as the pods of the shoot charts;
// hack/metallb.sh builds both from here. MetalLB is served by the Go module proxy as go.universe.tf/metallb (its
// GitHub path github.com/metallb/metallb is not).
//
// The pin is v0.15.2, the version of imagevector/images.yaml and of the CRDs and RBAC that hack/generate-metallb
// writes into the charts; change them together. Not v0.16.2: it requires github.com/metallb/frr-k8s v0.0.27, which
// the module proxy refuses, and it does not compile against the newest served frr-k8s (v0.0.26 lacks the
// AsPathPrependPrefixes API that v0.16.2's internal/bgp/frrk8s uses). v0.15.2 requires frr-k8s v0.0.20, which is
// served.
package tools

import (
	_ "go.universe.tf/metallb/controller"
	_ "go.universe.tf/metallb/speaker"
)
