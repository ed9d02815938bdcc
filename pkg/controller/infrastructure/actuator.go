package infrastructure

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	"github.com/gardener/gardener/extensions/pkg/controller/infrastructure"
	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	metalclient "github.com/openkcm/gardener-extension-provider-metal/pkg/metal/client"
)

type actuator struct {
	client   client.Client
	clients  *metalclient.Cache
	recorder events.EventRecorder
}

// NewActuator creates the Infrastructure actuator. clients caches the metal API clients, REST mappers and Server
// watches across reconciles; it must run in the manager.
func NewActuator(seedClient client.Client, clients *metalclient.Cache, recorder events.EventRecorder) infrastructure.Actuator {
	return &actuator{client: seedClient, clients: clients, recorder: recorder}
}

// Migrate keeps nothing in the state: everything the controller reports is observed anew.
func (a *actuator) Migrate(_ context.Context, _ logr.Logger, _ *extensionsv1alpha1.Infrastructure, _ *extensionscontroller.Cluster) error {
	return nil
}

// Restore reconciles, since there is no state to restore.
func (a *actuator) Restore(ctx context.Context, log logr.Logger, infra *extensionsv1alpha1.Infrastructure, cluster *extensionscontroller.Cluster) error {
	return a.Reconcile(ctx, log, infra, cluster)
}

// metalAPI is a connection to the shoot's namespace in the metal API.
type metalAPI struct {
	*metalclient.Client
	namespace string
	// scope selects the objects of this shoot; the machine driver puts these labels on everything it creates.
	scope client.MatchingLabels
}

// connect reads the credentials and the region's metal API from the cloud profile; problems with either are
// configuration problems of the shoot or the CloudProfile.
func (a *actuator) connect(ctx context.Context, infra *extensionsv1alpha1.Infrastructure, cluster *extensionscontroller.Cluster) (*metalAPI, error) {
	if cluster == nil || cluster.CloudProfile == nil || cluster.Shoot == nil {
		return nil, fmt.Errorf("cluster resource %s lacks the shoot or cloud profile", infra.Namespace)
	}
	region, err := regionConfig(cluster, infra.Spec.Region)
	if err != nil {
		return nil, err
	}

	secret := &corev1.Secret{}
	if err := a.client.Get(ctx, client.ObjectKey{Namespace: infra.Spec.SecretRef.Namespace, Name: infra.Spec.SecretRef.Name}, secret); err != nil {
		return nil, fmt.Errorf("reading credentials secret %s/%s: %w", infra.Spec.SecretRef.Namespace, infra.Spec.SecretRef.Name, err)
	}
	creds, err := metalclient.ReadCredentials(secret)
	if err != nil {
		return nil, configurationProblem(err)
	}
	c, err := a.clients.Get(infra.Namespace, region, creds)
	if err != nil {
		return nil, configurationProblem(err)
	}
	return &metalAPI{Client: c, namespace: creds.Namespace, scope: scopeLabels(infra, cluster)}, nil
}

func regionConfig(cluster *extensionscontroller.Cluster, regionName string) (*api.RegionConfig, error) {
	cloudProfileConfig, err := helper.CloudProfileConfigFromRaw(cluster.CloudProfile.Spec.ProviderConfig)
	if err != nil {
		return nil, configurationProblem(fmt.Errorf("cloud profile %s: %w", cluster.CloudProfile.Name, err))
	}
	region, ok := helper.FindRegionConfig(cloudProfileConfig, regionName)
	if !ok {
		return nil, configurationProblem(fmt.Errorf("cloud profile %s has no metal API for region %q (providerConfig.regionConfigs)", cluster.CloudProfile.Name, regionName))
	}
	return region, nil
}

// scopeLabels are the labels the machine driver puts on the shoot's ServerClaims, ignition Secrets and
// IPAddressClaims (the worker controller writes them into every MachineClass's providerSpec.labels); the
// controller touches nothing in the metal API without them. The Shoot's UID makes the scope unique across gardens
// that share a metal namespace, where technical IDs may repeat.
func scopeLabels(infra *extensionsv1alpha1.Infrastructure, cluster *extensionscontroller.Cluster) client.MatchingLabels {
	return metal.ScopeLabels(infra.Namespace, string(cluster.Shoot.UID))
}

func configurationProblem(err error) error {
	return v1beta1helper.NewErrorWithCodes(err, gardencorev1beta1.ErrorConfigurationProblem)
}
