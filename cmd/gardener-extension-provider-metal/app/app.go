// Package app builds the command of gardener-extension-provider-metal.
package app

import (
	"context"
	"fmt"
	"os"
	"slices"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	vpaautoscalingv1 "k8s.io/autoscaler/vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1"
	"k8s.io/client-go/rest"
	componentbaseconfig "k8s.io/component-base/config"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/gardener/gardener/extensions/pkg/controller"
	extensionscmdcontroller "github.com/gardener/gardener/extensions/pkg/controller/cmd"
	"github.com/gardener/gardener/extensions/pkg/controller/heartbeat"
	extensionsheartbeatcmd "github.com/gardener/gardener/extensions/pkg/controller/heartbeat/cmd"
	extensionscmdwebhook "github.com/gardener/gardener/extensions/pkg/webhook/cmd"
	gardenerhealthz "github.com/gardener/gardener/pkg/healthz"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/config"
	metalinstall "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/install"
	backupbucketcontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/backupbucket"
	backupentrycontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/backupentry"
	controlplanecontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/controlplane"
	dnsrecordcontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/dnsrecord"
	healthcheckcontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/healthcheck"
	infrastructurecontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/infrastructure"
	workercontroller "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/worker"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// NewControllerManagerCommand creates the command that runs the extension's controllers and webhooks.
func NewControllerManagerCommand(ctx context.Context) *cobra.Command {
	var (
		restOpts = &extensionscmdcontroller.RESTOptions{}
		mgrOpts  = &extensionscmdcontroller.ManagerOptions{
			LeaderElection:          true,
			LeaderElectionID:        extensionscmdcontroller.LeaderElectionNameID(metal.Name),
			LeaderElectionNamespace: os.Getenv("LEADER_ELECTION_NAMESPACE"),
			WebhookServerPort:       443,
			WebhookCertDir:          "/tmp/gardener-extensions-cert",
			MetricsBindAddress:      ":8080",
			HealthBindAddress:       ":8081",
		}
		generalOpts   = &extensionscmdcontroller.GeneralOptions{}
		configOpts    = &ConfigOptions{}
		profilingOpts = &ProfilingOptions{}
		reconcileOpts = &extensionscmdcontroller.ReconcilerOptions{}

		// An Infrastructure reconcile mostly waits for metal API round trips: more of them may wait at once.
		infraCtrlOpts = &extensionscmdcontroller.ControllerOptions{MaxConcurrentReconciles: 20}
		// DNS updates of one zone are serialized by the server anyway; one worker keeps them in order.
		dnsRecordCtrlOpts = &extensionscmdcontroller.ControllerOptions{MaxConcurrentReconciles: 1}
		// A first ControlPlane reconcile mostly computes (the secrets manager generates a 3072-bit RSA key), so
		// more workers than a seed's cores only delay all of them alike.
		controlPlaneCtrlOpts = &extensionscmdcontroller.ControllerOptions{MaxConcurrentReconciles: 10}
		// Gardener's generic Worker actuator blocks its worker while it polls the MachineDeployments every 5 s
		// until machine-controller-manager reports them available; with 5 workers the Workers of a seed queue up
		// behind those waits (scale benchmark, docs/development/testing.md).
		workerCtrlOpts       = &extensionscmdcontroller.ControllerOptions{MaxConcurrentReconciles: 50}
		healthCheckCtrlOpts  = &extensionscmdcontroller.ControllerOptions{MaxConcurrentReconciles: 5}
		backupBucketCtrlOpts = &extensionscmdcontroller.ControllerOptions{MaxConcurrentReconciles: 5}
		backupEntryCtrlOpts  = &extensionscmdcontroller.ControllerOptions{MaxConcurrentReconciles: 5}

		heartbeatCtrlOpts = &extensionsheartbeatcmd.Options{
			ExtensionName:        metal.Name,
			RenewIntervalSeconds: 30,
			Namespace:            os.Getenv("LEADER_ELECTION_NAMESPACE"),
		}

		webhookServerOpts = &extensionscmdwebhook.ServerOptions{
			Namespace: os.Getenv("WEBHOOK_CONFIG_NAMESPACE"),
		}
		controllerSwitches = ControllerSwitchOptions()
		webhookSwitches    = WebhookSwitchOptions()
		webhookOpts        = extensionscmdwebhook.NewAddToManagerOptions(
			metal.Name,
			"extension-"+metal.Name+"-shoot-webhooks",
			nil,
			generalOpts,
			webhookServerOpts,
			webhookSwitches,
		)

		// The component configuration is completed first so that a bad file is reported before anything else.
		aggOption = extensionscmdcontroller.NewOptionAggregator(
			configOpts,
			profilingOpts,
			restOpts,
			mgrOpts,
			generalOpts,
			reconcileOpts,
			extensionscmdcontroller.PrefixOption("infrastructure-", infraCtrlOpts),
			extensionscmdcontroller.PrefixOption("dnsrecord-", dnsRecordCtrlOpts),
			extensionscmdcontroller.PrefixOption("controlplane-", controlPlaneCtrlOpts),
			extensionscmdcontroller.PrefixOption("worker-", workerCtrlOpts),
			extensionscmdcontroller.PrefixOption("healthcheck-", healthCheckCtrlOpts),
			extensionscmdcontroller.PrefixOption("backupbucket-", backupBucketCtrlOpts),
			extensionscmdcontroller.PrefixOption("backupentry-", backupEntryCtrlOpts),
			extensionscmdcontroller.PrefixOption("heartbeat-", heartbeatCtrlOpts),
			controllerSwitches,
			webhookOpts,
		)
	)

	cmd := &cobra.Command{
		Use:           metal.Name + "-controller-manager",
		Short:         "Runs the controllers and webhooks of the Gardener extension for bare metal.",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(_ *cobra.Command, _ []string) error {
			if err := aggOption.Complete(); err != nil {
				return fmt.Errorf("error completing options: %w", err)
			}
			if err := heartbeatCtrlOpts.Validate(); err != nil {
				return err
			}
			infraCtrlOpts.Completed().Apply(&infrastructurecontroller.DefaultAddOptions.Controller)
			dnsRecordCtrlOpts.Completed().Apply(&dnsrecordcontroller.DefaultAddOptions.Controller)
			controlPlaneCtrlOpts.Completed().Apply(&controlplanecontroller.DefaultAddOptions.Controller)
			workerCtrlOpts.Completed().Apply(&workercontroller.DefaultAddOptions.Controller)
			healthCheckCtrlOpts.Completed().Apply(&healthcheckcontroller.DefaultAddOptions.Controller)
			backupBucketCtrlOpts.Completed().Apply(&backupbucketcontroller.DefaultAddOptions.Controller)
			backupEntryCtrlOpts.Completed().Apply(&backupentrycontroller.DefaultAddOptions.Controller)
			applyComponentConfig(configOpts.Completed())
			heartbeatCtrlOpts.Completed().Apply(&heartbeat.DefaultAddOptions)
			applyGeneralOptions(generalOpts, reconcileOpts)
			clientConnection := configOpts.Completed().ClientConnection
			return run(ctx, withClientConnection(restOpts.Completed().Config, clientConnection), clientConnection, managerOptions(mgrOpts, profilingOpts), controllerSwitches, webhookOpts)
		},
	}
	aggOption.AddFlags(cmd.Flags())
	return cmd
}

func run(
	ctx context.Context,
	restConfig *rest.Config,
	clientConnection *componentbaseconfig.ClientConnectionConfiguration,
	mgrOpts manager.Options,
	controllerSwitches *extensionscmdcontroller.SwitchOptions,
	webhookOpts *extensionscmdwebhook.AddToManagerOptions,
) error {
	mgr, err := manager.New(restConfig, mgrOpts)
	if err != nil {
		return fmt.Errorf("could not instantiate manager: %w", err)
	}

	scheme := mgr.GetScheme()
	if err := controller.AddToScheme(scheme); err != nil {
		return fmt.Errorf("could not update manager scheme: %w", err)
	}
	for _, addToScheme := range []func(*runtime.Scheme) error{
		metalinstall.AddToScheme,
		vpaautoscalingv1.AddToScheme,
		machinev1alpha1.AddToScheme,
		monitoringv1.AddToScheme,
	} {
		if err := addToScheme(scheme); err != nil {
			return fmt.Errorf("could not update manager scheme: %w", err)
		}
	}

	if err := addHealthChecks(mgr); err != nil {
		return err
	}
	gardenCluster, err := addGardenCluster(mgr, clientConnection)
	if err != nil {
		return err
	}
	workercontroller.DefaultAddOptions.GardenCluster = gardenCluster
	if _, err := webhookOpts.Completed().AddToManager(ctx, mgr, nil); err != nil {
		return fmt.Errorf("could not add webhooks to manager: %w", err)
	}
	if err := controllerSwitches.Completed().AddToManager(ctx, mgr); err != nil {
		return fmt.Errorf("could not add controllers to manager: %w", err)
	}
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("error running manager: %w", err)
	}
	return nil
}

// managerOptions are Gardener's manager options of the command line with the extension's own additions: the
// profiling endpoints, and a cache without managedFields. Every cached seed object carries the field managers of
// each of its writers (gardenlet, gardener-resource-manager, the extension, machine-controller-manager), which
// nothing in the extension reads: patches are computed from the objects, and an update without managedFields keeps
// the server's.
func managerOptions(mgrOpts *extensionscmdcontroller.ManagerOptions, profilingOpts *ProfilingOptions) manager.Options {
	opts := mgrOpts.Completed().Options()
	opts.PprofBindAddress = profilingOpts.BindAddress
	opts.Cache.DefaultTransform = cache.TransformStripManagedFields()
	return opts
}

// withClientConnection returns a copy of a REST configuration with the component configuration's client connection
// applied. The seed's is the one every client of the manager is built from (cache, client, webhooks, the generic
// actuators' clients), so without it all of them were held to client-go's default of 5 requests per second; the
// garden cluster's gets the same. Empty fields keep client-go's and controller-runtime's choice (the loader
// defaults the rate limits).
func withClientConnection(base *rest.Config, cc *componentbaseconfig.ClientConnectionConfiguration) *rest.Config {
	restConfig := rest.CopyConfig(base)
	if cc == nil {
		return restConfig
	}
	restConfig.QPS = cc.QPS
	restConfig.Burst = int(cc.Burst)
	restConfig.ContentType = cc.ContentType
	restConfig.AcceptContentTypes = cc.AcceptContentTypes
	return restConfig
}

// applyGeneralOptions hands the options every controller shares to the controllers' default add options.
func applyGeneralOptions(generalOpts *extensionscmdcontroller.GeneralOptions, reconcileOpts *extensionscmdcontroller.ReconcilerOptions) {
	classes := generalOpts.Completed().ExtensionClasses
	ignoreOperationAnnotation := reconcileOpts.Completed().IgnoreOperationAnnotation

	infrastructurecontroller.DefaultAddOptions.ExtensionClasses = slices.Clone(classes)
	infrastructurecontroller.DefaultAddOptions.IgnoreOperationAnnotation = ignoreOperationAnnotation
	dnsrecordcontroller.DefaultAddOptions.ExtensionClasses = slices.Clone(classes)
	dnsrecordcontroller.DefaultAddOptions.IgnoreOperationAnnotation = ignoreOperationAnnotation
	controlplanecontroller.DefaultAddOptions.ExtensionClasses = slices.Clone(classes)
	controlplanecontroller.DefaultAddOptions.IgnoreOperationAnnotation = ignoreOperationAnnotation
	workercontroller.DefaultAddOptions.ExtensionClasses = slices.Clone(classes)
	workercontroller.DefaultAddOptions.IgnoreOperationAnnotation = ignoreOperationAnnotation
	healthcheckcontroller.DefaultAddOptions.ExtensionClasses = slices.Clone(classes)
	backupbucketcontroller.DefaultAddOptions.ExtensionClasses = slices.Clone(classes)
	backupbucketcontroller.DefaultAddOptions.IgnoreOperationAnnotation = ignoreOperationAnnotation
	backupentrycontroller.DefaultAddOptions.ExtensionClasses = slices.Clone(classes)
	backupentrycontroller.DefaultAddOptions.IgnoreOperationAnnotation = ignoreOperationAnnotation
}

// applyComponentConfig hands the component configuration to the controllers that use it.
func applyComponentConfig(cfg *config.ControllerConfiguration) {
	if cfg.DNS != nil && cfg.DNS.Timeout != nil {
		dnsrecordcontroller.DefaultAddOptions.DNSTimeout = cfg.DNS.Timeout.Duration
	}
	if cfg.HealthCheckConfig != nil {
		healthcheckcontroller.DefaultAddOptions.HealthCheckConfig = *cfg.HealthCheckConfig
	}
}

func addHealthChecks(mgr manager.Manager) error {
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("could not add healthz check: %w", err)
	}
	if err := mgr.AddHealthzCheck("informer-sync", gardenerhealthz.NewCacheSyncHealthzWithDeadline(mgr.GetLogger(), clock.RealClock{}, mgr.GetCache(), gardenerhealthz.DefaultCacheSyncDeadline)); err != nil {
		return fmt.Errorf("could not add healthz check: %w", err)
	}
	if err := mgr.AddReadyzCheck("informer-sync", gardenerhealthz.NewCacheSyncHealthz(mgr.GetCache())); err != nil {
		return fmt.Errorf("could not add readyz check: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook-server", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return fmt.Errorf("could not add readyz check: %w", err)
	}
	return nil
}
