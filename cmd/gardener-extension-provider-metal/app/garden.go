package app

import (
	"fmt"
	"os"

	componentbaseconfig "k8s.io/component-base/config"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/gardener/gardener/pkg/client/kubernetes"
	gardenerhealthz "github.com/gardener/gardener/pkg/healthz"
)

// GardenKubeconfigEnv names the environment variable with the path of the garden kubeconfig. gardenlet sets it
// (and mounts the kubeconfig) in the extension's pods when the ControllerDeployment sets injectGardenKubeconfig
// (Gardener docs/extensions/garden-api-access.md).
const GardenKubeconfigEnv = "GARDEN_KUBECONFIG"

// addGardenCluster adds the garden cluster to the manager when a garden kubeconfig is given, and returns nil
// otherwise. The Worker actuator needs it to restore machines from the ShootState when a restored Worker's status
// holds no machine state (Gardener's genericactuator, actuator_restore.go); provider-local wires it the same way
// (cmd/gardener-extension-provider-local/app). The kubeconfig's token file is rotated by gardenlet, hence
// AuthTokenFile. The client connection of the component configuration applies to it as to the seed.
func addGardenCluster(mgr manager.Manager, clientConnection *componentbaseconfig.ClientConnectionConfiguration) (cluster.Cluster, error) {
	path := os.Getenv(GardenKubeconfigEnv)
	if path == "" {
		return nil, nil
	}
	config, err := kubernetes.RESTConfigFromKubeconfigFile(path, kubernetes.AuthTokenFile)
	if err != nil {
		return nil, fmt.Errorf("reading the garden kubeconfig %s: %w", path, err)
	}
	gardenCluster, err := cluster.New(withClientConnection(config, clientConnection), func(opts *cluster.Options) {
		opts.Scheme = kubernetes.GardenScheme
		opts.Logger = mgr.GetLogger().WithName("garden")
	})
	if err != nil {
		return nil, fmt.Errorf("creating the garden cluster: %w", err)
	}
	if err := mgr.Add(gardenCluster); err != nil {
		return nil, fmt.Errorf("adding the garden cluster to the manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("garden-informer-sync", gardenerhealthz.NewCacheSyncHealthzWithDeadline(mgr.GetLogger(), clock.RealClock{}, gardenCluster.GetCache(), gardenerhealthz.DefaultCacheSyncDeadline)); err != nil {
		return nil, fmt.Errorf("could not add healthz check: %w", err)
	}
	if err := mgr.AddReadyzCheck("garden-informer-sync", gardenerhealthz.NewCacheSyncHealthz(gardenCluster.GetCache())); err != nil {
		return nil, fmt.Errorf("could not add readyz check: %w", err)
	}
	return gardenCluster, nil
}
