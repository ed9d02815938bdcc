//go:build tools

// Package e2e pins the programs the end-to-end test builds from the module graph (gexec.Build in the suite) so that
// `go mod tidy` keeps their dependencies: gardener-resource-manager and machine-controller-manager at the versions
// of go.mod.
package e2e

import (
	_ "github.com/gardener/gardener/cmd/gardener-resource-manager"
	_ "github.com/gardener/machine-controller-manager/cmd/machine-controller-manager"
)
