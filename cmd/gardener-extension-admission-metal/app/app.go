// Package app builds the command of the metal provider's admission component: it serves the validating and
// mutating webhooks for Gardener resources of the metal provider in the garden cluster.
package app

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	componentbaseconfigv1alpha1 "k8s.io/component-base/config/v1alpha1"
	"k8s.io/component-base/version/verflag"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionscmdcontroller "github.com/gardener/gardener/extensions/pkg/controller/cmd"
	"github.com/gardener/gardener/extensions/pkg/util"
	extensionscmdwebhook "github.com/gardener/gardener/extensions/pkg/webhook/cmd"
	gardencoreinstall "github.com/gardener/gardener/pkg/apis/core/install"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	securityinstall "github.com/gardener/gardener/pkg/apis/security/install"
	gardenerhealthz "github.com/gardener/gardener/pkg/healthz"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/admission/mutator"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/admission/validator"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/admission/warner"
	metalinstall "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/install"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// AdmissionName is the name of the admission component.
const AdmissionName = "admission-" + metal.Type

var log = logf.Log.WithName("gardener-extension-admission-metal")

// WebhookSwitchOptions are the switches of the admission webhooks; each can be disabled by flag.
func WebhookSwitchOptions() *extensionscmdwebhook.SwitchOptions {
	return extensionscmdwebhook.NewSwitchOptions(
		extensionscmdwebhook.Switch(validator.Name, validator.New),
		extensionscmdwebhook.Switch(validator.SecretsValidatorName, validator.NewSecretsWebhook),
		extensionscmdwebhook.Switch(validator.DNSSecretsValidatorName, validator.NewDNSSecretsWebhook),
		extensionscmdwebhook.Switch(validator.BackupValidatorName, validator.NewBackupWebhook),
		extensionscmdwebhook.Switch(mutator.Name, mutator.New),
		extensionscmdwebhook.Switch(warner.Name, warner.New),
	)
}

// NewAdmissionCommand creates the command that runs the metal admission webhooks.
func NewAdmissionCommand(ctx context.Context) *cobra.Command {
	var (
		restOpts = &extensionscmdcontroller.RESTOptions{}
		mgrOpts  = &extensionscmdcontroller.ManagerOptions{
			LeaderElection:          true,
			LeaderElectionID:        extensionscmdcontroller.LeaderElectionNameID(AdmissionName),
			LeaderElectionNamespace: os.Getenv("LEADER_ELECTION_NAMESPACE"),
			WebhookServerPort:       443,
			MetricsBindAddress:      ":8080",
			HealthBindAddress:       ":8081",
			WebhookCertDir:          "/tmp/admission-metal-cert",
		}
		webhookServerOptions = &extensionscmdwebhook.ServerOptions{
			Namespace: os.Getenv("WEBHOOK_CONFIG_NAMESPACE"),
		}
		webhookOptions = extensionscmdwebhook.NewAddToManagerOptions(
			AdmissionName,
			"",
			nil,
			nil,
			webhookServerOptions,
			WebhookSwitchOptions(),
		)
		aggOption = extensionscmdcontroller.NewOptionAggregator(restOpts, mgrOpts, webhookOptions)
	)

	cmd := &cobra.Command{
		Use:          AdmissionName,
		Short:        "Admission webhooks of the metal provider for the garden cluster",
		SilenceUsage: true,
		// Positional arguments are never used; rejecting them catches flags that lost their leading dashes.
		Args: cobra.NoArgs,

		RunE: func(_ *cobra.Command, _ []string) error {
			verflag.PrintAndExitIfRequested()

			if gardenKubeconfig := os.Getenv("GARDEN_KUBECONFIG"); gardenKubeconfig != "" {
				log.Info("Getting rest config for garden from GARDEN_KUBECONFIG", "path", gardenKubeconfig)
				restOpts.Kubeconfig = gardenKubeconfig
			}

			if err := aggOption.Complete(); err != nil {
				return fmt.Errorf("error completing options: %w", err)
			}
			return run(ctx, restOpts, mgrOpts, webhookOptions)
		},
	}

	verflag.AddFlags(cmd.Flags())
	aggOption.AddFlags(cmd.Flags())

	return cmd
}

func run(ctx context.Context, restOpts *extensionscmdcontroller.RESTOptions, mgrOpts *extensionscmdcontroller.ManagerOptions, webhookOptions *extensionscmdwebhook.AddToManagerOptions) error {
	util.ApplyClientConnectionConfigurationToRESTConfig(&componentbaseconfigv1alpha1.ClientConnectionConfiguration{
		QPS:   100.0,
		Burst: 130,
	}, restOpts.Completed().Config)

	managerOptions := mgrOpts.Completed().Options()

	// The webhooks serve the garden cluster but run in the runtime cluster, where leader election and the
	// webhook certificates live.
	log.Info("Configuring source cluster option")
	inClusterConfig, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("could not get in-cluster config: %w", err)
	}
	managerOptions.LeaderElectionConfig = inClusterConfig

	mgr, err := manager.New(restOpts.Completed().Config, managerOptions)
	if err != nil {
		return fmt.Errorf("could not instantiate manager: %w", err)
	}

	gardencoreinstall.Install(mgr.GetScheme())
	securityinstall.Install(mgr.GetScheme())
	if err := metalinstall.AddToScheme(mgr.GetScheme()); err != nil {
		return fmt.Errorf("could not update manager scheme: %w", err)
	}

	sourceCluster, err := cluster.New(inClusterConfig, func(opts *cluster.Options) {
		opts.Logger = log
		opts.Cache.DefaultNamespaces = map[string]cache.Config{v1beta1constants.GardenNamespace: {}}
	})
	if err != nil {
		return fmt.Errorf("could not create source cluster: %w", err)
	}
	if err := mgr.Add(sourceCluster); err != nil {
		return fmt.Errorf("could not add source cluster to manager: %w", err)
	}

	log.Info("Setting up webhook server")
	if _, err := webhookOptions.Completed().AddToManager(ctx, mgr, sourceCluster); err != nil {
		return fmt.Errorf("could not add webhooks to manager: %w", err)
	}

	if err := addHealthChecks(mgr, sourceCluster); err != nil {
		return err
	}

	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("error running manager: %w", err)
	}
	return nil
}

func addHealthChecks(mgr manager.Manager, sourceCluster cluster.Cluster) error {
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("could not add health check: %w", err)
	}
	if err := mgr.AddHealthzCheck("source-informer-sync", gardenerhealthz.NewCacheSyncHealthzWithDeadline(mgr.GetLogger(), clock.RealClock{}, sourceCluster.GetCache(), gardenerhealthz.DefaultCacheSyncDeadline)); err != nil {
		return fmt.Errorf("could not add health check for source informers: %w", err)
	}
	if err := mgr.AddReadyzCheck("source-informer-sync", gardenerhealthz.NewCacheSyncHealthz(sourceCluster.GetCache())); err != nil {
		return fmt.Errorf("could not add ready check for source informers: %w", err)
	}
	if err := mgr.AddHealthzCheck("informer-sync", gardenerhealthz.NewCacheSyncHealthzWithDeadline(mgr.GetLogger(), clock.RealClock{}, mgr.GetCache(), gardenerhealthz.DefaultCacheSyncDeadline)); err != nil {
		return fmt.Errorf("could not add health check for informers: %w", err)
	}
	if err := mgr.AddReadyzCheck("informer-sync", gardenerhealthz.NewCacheSyncHealthz(mgr.GetCache())); err != nil {
		return fmt.Errorf("could not add ready check for informers: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook-server", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return fmt.Errorf("could not add ready check for the webhook server: %w", err)
	}
	return nil
}
