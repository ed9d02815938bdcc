// Package cloudprovider contains the cloudprovider webhook of the metal extension. It composes the metal API
// kubeconfig in the seed's `cloudprovider` secret from the region of the CloudProfile and the shoot's credentials.
package cloudprovider

import (
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	"github.com/gardener/gardener/extensions/pkg/webhook/cloudprovider"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var logger = log.Log.WithName("metal-cloudprovider-webhook")

// AddToManager creates the cloudprovider webhook (name "cloudprovider") for shoots of type metal.
func AddToManager(mgr manager.Manager) (*extensionswebhook.Webhook, error) {
	logger.Info("Adding webhook to manager")
	return cloudprovider.New(mgr, cloudprovider.Args{
		Provider: metal.Type,
		Mutator:  cloudprovider.NewMutator(mgr, logger, NewEnsurer()),
	})
}
