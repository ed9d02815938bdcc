// Command machine-controller-manager-provider-metal runs machine-controller-manager's machine controller with the
// metal driver, which backs Machines with ServerClaims in the metal API.
package main

import (
	"os"

	"github.com/openkcm/gardener-extension-provider-metal/cmd/machine-controller-manager-provider-metal/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:], os.Stderr))
}
