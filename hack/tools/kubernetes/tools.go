//go:build tools

// Package tools pins the Kubernetes control plane binaries at one version: envtest runs the kube-apiserver
// (hack/envtest.sh), the local landscape runs kube-controller-manager and kube-scheduler next to it
// (hack/kube-controllers.sh).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
