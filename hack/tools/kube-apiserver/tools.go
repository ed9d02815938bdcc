//go:build tools

// Package tools pins the kube-apiserver that envtest runs; hack/envtest.sh builds it from here.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
