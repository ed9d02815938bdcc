//go:build tools

// Package tools pins the metal-operator manager and its Redfish mock BMC that the local landscape runs;
// hack/metal-operator.sh builds both from here.
package tools

import (
	_ "github.com/ironcore-dev/metal-operator/bmc/mock"
	_ "github.com/ironcore-dev/metal-operator/cmd"
)
