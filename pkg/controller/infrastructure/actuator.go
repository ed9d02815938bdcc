package infrastructure

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	"github.com/gardener/gardener/extensions/pkg/controller/infrastructure"
	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	metalclient "github.com/openkcm/gardener-extension-provider-metal/pkg/metal/client"
)

// NewClientFunc creates a client for the metal API from a REST configuration.
type NewClientFunc func(*rest.Config) (client.Client, error)

type actuator struct {
	client    client.Client
	newClient NewClientFunc
}

// NewActuator creates the Infrastructure actuator.
func NewActuator(mgr manager.Manager) infrastructure.Actuator {
	return &actuator{client: mgr.GetClient(), newClient: metalclient.New}
}

// Delete makes sure the shoot left nothing behind in the metal API; the worker deletion removes the machines
// before, so claims that remain are leaks that must not go unnoticed.
func (a *actuator) Delete(ctx context.Context, log logr.Logger, infra *extensionsv1alpha1.Infrastructure, cluster *extensionscontroller.Cluster) error {
	metal, err := a.connect(ctx, infra, cluster)
	if err != nil {
		return err
	}
	return metal.checkNoClaimsLeft(ctx, log)
}

// ForceDelete does not wait for anything: bare metal has no infrastructure objects of its own.
func (a *actuator) ForceDelete(_ context.Context, _ logr.Logger, _ *extensionsv1alpha1.Infrastructure, _ *extensionscontroller.Cluster) error {
	return nil
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
	client    client.Client
	namespace string
	shootID   string
}

// connect reads the credentials and the region's metal API from the cloud profile; problems with either are
// configuration problems of the shoot or the CloudProfile.
func (a *actuator) connect(ctx context.Context, infra *extensionsv1alpha1.Infrastructure, cluster *extensionscontroller.Cluster) (*metalAPI, error) {
	if cluster == nil || cluster.CloudProfile == nil || cluster.Shoot == nil {
		return nil, fmt.Errorf("cluster resource %s lacks the shoot or cloud profile", infra.Namespace)
	}
	cloudProfileConfig, err := helper.CloudProfileConfigFromRaw(cluster.CloudProfile.Spec.ProviderConfig)
	if err != nil {
		return nil, configurationProblem(fmt.Errorf("cloud profile %s: %w", cluster.CloudProfile.Name, err))
	}
	region, ok := helper.FindRegionConfig(cloudProfileConfig, infra.Spec.Region)
	if !ok {
		return nil, configurationProblem(fmt.Errorf("cloud profile %s has no metal API for region %q (providerConfig.regionConfigs)", cluster.CloudProfile.Name, infra.Spec.Region))
	}

	secret := &corev1.Secret{}
	if err := a.client.Get(ctx, client.ObjectKey{Namespace: infra.Spec.SecretRef.Namespace, Name: infra.Spec.SecretRef.Name}, secret); err != nil {
		return nil, fmt.Errorf("reading credentials secret %s/%s: %w", infra.Spec.SecretRef.Namespace, infra.Spec.SecretRef.Name, err)
	}
	creds, err := metalclient.ReadCredentials(secret)
	if err != nil {
		return nil, configurationProblem(err)
	}
	restConfig, err := metalclient.RESTConfig(region, creds)
	if err != nil {
		return nil, configurationProblem(err)
	}
	c, err := a.newClient(restConfig)
	if err != nil {
		return nil, configurationProblem(err)
	}
	return &metalAPI{client: c, namespace: creds.Namespace, shootID: infra.Namespace}, nil
}

func configurationProblem(err error) error {
	return v1beta1helper.NewErrorWithCodes(err, gardencorev1beta1.ErrorConfigurationProblem)
}
