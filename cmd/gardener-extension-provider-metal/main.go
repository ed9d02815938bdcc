// Command gardener-extension-provider-metal runs the controllers and webhooks of the metal provider extension.
package main

import (
	"os"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager/signals"

	"github.com/gardener/gardener/cmd/utils"
	"github.com/gardener/gardener/pkg/logger"

	"github.com/openkcm/gardener-extension-provider-metal/cmd/gardener-extension-provider-metal/app"
)

func main() {
	utils.DeduplicateWarnings()
	logf.SetLogger(logger.MustNewZapLogger(logger.InfoLevel, logger.FormatJSON))

	if err := app.NewControllerManagerCommand(signals.SetupSignalHandler()).Execute(); err != nil {
		logf.Log.Error(err, "Error executing the main controller command")
		os.Exit(1)
	}
}
