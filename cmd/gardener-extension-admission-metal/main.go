// Command gardener-extension-admission-metal runs the admission webhooks of the metal provider for the garden
// cluster.
package main

import (
	"os"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager/signals"

	"github.com/gardener/gardener/cmd/utils"
	"github.com/gardener/gardener/pkg/logger"

	"github.com/openkcm/gardener-extension-provider-metal/cmd/gardener-extension-admission-metal/app"
)

func main() {
	utils.DeduplicateWarnings()

	logf.SetLogger(logger.MustNewZapLogger(logger.InfoLevel, logger.FormatJSON))

	if err := app.NewAdmissionCommand(signals.SetupSignalHandler()).Execute(); err != nil {
		logf.Log.Error(err, "Error executing the admission command")
		os.Exit(1)
	}
}
