package app

import (
	"errors"

	"github.com/spf13/pflag"

	extensionsbackupbucketcontroller "github.com/gardener/gardener/extensions/pkg/controller/backupbucket"
	extensionsbackupentrycontroller "github.com/gardener/gardener/extensions/pkg/controller/backupentry"
	extensionscmdcontroller "github.com/gardener/gardener/extensions/pkg/controller/cmd"
	extensionscontrolplanecontroller "github.com/gardener/gardener/extensions/pkg/controller/controlplane"
	extensionsdnsrecordcontroller "github.com/gardener/gardener/extensions/pkg/controller/dnsrecord"
	extensionshealthcheckcontroller "github.com/gardener/gardener/extensions/pkg/controller/healthcheck"
	extensionsheartbeatcontroller "github.com/gardener/gardener/extensions/pkg/controller/heartbeat"
	extensionsinfrastructurecontroller "github.com/gardener/gardener/extensions/pkg/controller/infrastructure"
	extensionsworkercontroller "github.com/gardener/gardener/extensions/pkg/controller/worker"
	extensionscloudproviderwebhook "github.com/gardener/gardener/extensions/pkg/webhook/cloudprovider"
	extensionscmdwebhook "github.com/gardener/gardener/extensions/pkg/webhook/cmd"
	extensionscontrolplanewebhook "github.com/gardener/gardener/extensions/pkg/webhook/controlplane"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/config"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/config/loader"
	backupbucketcontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/backupbucket"
	backupentrycontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/backupentry"
	controlplanecontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/controlplane"
	dnsrecordcontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/dnsrecord"
	healthcheckcontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/healthcheck"
	infrastructurecontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/infrastructure"
	workercontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/worker"
	cloudproviderwebhook "github.com/openkcm/gardener-extension-provider-metal/pkg/webhook/cloudprovider"
	controlplanewebhook "github.com/openkcm/gardener-extension-provider-metal/pkg/webhook/controlplane"
)

// ControllerSwitchOptions are the switches of the extension's controllers (`--controllers`, `--disable-controllers`).
func ControllerSwitchOptions() *extensionscmdcontroller.SwitchOptions {
	return extensionscmdcontroller.NewSwitchOptions(
		extensionscmdcontroller.Switch(extensionsbackupbucketcontroller.ControllerName, backupbucketcontroller.AddToManager),
		extensionscmdcontroller.Switch(extensionsbackupentrycontroller.ControllerName, backupentrycontroller.AddToManager),
		extensionscmdcontroller.Switch(extensionsinfrastructurecontroller.ControllerName, infrastructurecontroller.AddToManager),
		extensionscmdcontroller.Switch(extensionsdnsrecordcontroller.ControllerName, dnsrecordcontroller.AddToManager),
		extensionscmdcontroller.Switch(extensionscontrolplanecontroller.ControllerName, controlplanecontroller.AddToManager),
		extensionscmdcontroller.Switch(extensionsworkercontroller.ControllerName, workercontroller.AddToManager),
		extensionscmdcontroller.Switch(extensionshealthcheckcontroller.ControllerName, healthcheckcontroller.AddToManager),
		extensionscmdcontroller.Switch(extensionsheartbeatcontroller.ControllerName, extensionsheartbeatcontroller.AddToManager),
	)
}

// WebhookSwitchOptions are the switches of the extension's webhooks (`--webhooks`, `--disable-webhooks`).
func WebhookSwitchOptions() *extensionscmdwebhook.SwitchOptions {
	return extensionscmdwebhook.NewSwitchOptions(
		extensionscmdwebhook.Switch(extensionscontrolplanewebhook.WebhookName, controlplanewebhook.AddToManager),
		extensionscmdwebhook.Switch(extensionscloudproviderwebhook.WebhookName, cloudproviderwebhook.AddToManager),
	)
}

// ConfigOptions reads the component configuration given with `--config-file`.
type ConfigOptions struct {
	// ConfigFilePath is the path of the component configuration file.
	ConfigFilePath string

	config *config.ControllerConfiguration
}

// AddFlags implements extensionscmdcontroller.Option.
func (o *ConfigOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ConfigFilePath, "config-file", "", "path of the component configuration file (ControllerConfiguration of metal.provider.extensions.config.gardener.cloud/v1alpha1)")
}

// Complete implements extensionscmdcontroller.Option: it loads and strictly decodes the file.
func (o *ConfigOptions) Complete() error {
	if o.ConfigFilePath == "" {
		return errors.New("--config-file is required")
	}
	cfg, err := loader.LoadFromFile(o.ConfigFilePath)
	if err != nil {
		return err
	}
	o.config = cfg
	return nil
}

// Completed returns the loaded configuration; only valid after Complete.
func (o *ConfigOptions) Completed() *config.ControllerConfiguration {
	return o.config
}

// ProfilingOptions enable Go's profiling endpoints (`--pprof-bind-address`), off by default; the scale benchmark
// uses them to show where CPU time and memory go.
type ProfilingOptions struct {
	// BindAddress is the address of controller-runtime's pprof server; empty disables it.
	BindAddress string
}

// AddFlags implements extensionscmdcontroller.Option.
func (o *ProfilingOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.BindAddress, "pprof-bind-address", "", "bind address of the /debug/pprof endpoints (e.g. 127.0.0.1:6060); empty disables them")
}

// Complete implements extensionscmdcontroller.Option.
func (o *ProfilingOptions) Complete() error { return nil }
