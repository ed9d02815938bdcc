package infrastructure

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var providerConfigPath = field.NewPath("spec", "providerConfig")

// Reconcile checks the shoot's access to the metal API, the Servers available to its worker pools and its IPAM
// pools, and reports what it found in the status. It writes the status only when it changed.
func (a *actuator) Reconcile(ctx context.Context, log logr.Logger, infra *extensionsv1alpha1.Infrastructure, cluster *extensionscontroller.Cluster) error {
	config, err := helper.InfrastructureConfigFromRaw(infra.Spec.ProviderConfig)
	if err != nil {
		return configurationProblem(fmt.Errorf("%s: %w", providerConfigPath, err))
	}
	if errs := validation.ValidateInfrastructureConfig(config, nil, providerConfigPath); len(errs) > 0 {
		return configurationProblem(errs.ToAggregate())
	}

	metalAPI, err := a.connect(ctx, infra, cluster)
	if err != nil {
		return err
	}
	if err := metalAPI.checkPermissions(ctx); err != nil {
		return err
	}
	if err := metalAPI.checkIPAMPools(ctx, config.Networks, providerConfigPath.Child("networks")); err != nil {
		return err
	}

	cloudProfileConfig, err := helper.CloudProfileConfigFromRaw(cluster.CloudProfile.Spec.ProviderConfig)
	if err != nil {
		return configurationProblem(err)
	}
	pools, err := poolZones(cluster.Shoot.Spec.Provider.Workers, cloudProfileConfig)
	if err != nil {
		return err
	}
	capacities, err := metalAPI.serverCapacity(ctx, pools)
	if err != nil {
		return err
	}

	status := &api.InfrastructureStatus{Networks: networkStatus(config.Networks), ServerCapacity: capacities}
	if err := a.updateStatus(ctx, infra, status, cluster.Shoot.Spec.Networking); err != nil {
		return err
	}

	if problems := insufficient(capacities, pools); len(problems) > 0 {
		return v1beta1helper.NewErrorWithCodes(
			fmt.Errorf("insufficient servers: %s", strings.Join(problems, "; ")),
			gardencorev1beta1.ErrorInfraResourcesDepleted)
	}
	log.Info("Infrastructure checked", "namespace", metalAPI.namespace, "poolZones", len(capacities))
	return nil
}

// updateStatus writes the provider status and the networks, skipping the write when nothing changed so that an
// unchanged Infrastructure costs no write beyond Gardener's own bookkeeping.
func (a *actuator) updateStatus(ctx context.Context, infra *extensionsv1alpha1.Infrastructure, status *api.InfrastructureStatus, networking *gardencorev1beta1.Networking) error {
	desiredNetworking := statusNetworking(networking)
	current, err := helper.InfrastructureStatusFromRaw(infra.Status.ProviderStatus)
	if err == nil && current != nil && equality.Semantic.DeepEqual(current, status) &&
		equality.Semantic.DeepEqual(infra.Status.Networking, desiredNetworking) {
		return nil
	}

	raw, err := helper.EncodeToRaw(status)
	if err != nil {
		return err
	}
	patch := client.MergeFrom(infra.DeepCopy())
	infra.Status.ProviderStatus = raw
	infra.Status.Networking = desiredNetworking
	if err := a.client.Status().Patch(ctx, infra, patch); err != nil {
		return fmt.Errorf("updating infrastructure status: %w", err)
	}
	return nil
}

func statusNetworking(networking *gardencorev1beta1.Networking) *extensionsv1alpha1.InfrastructureStatusNetworking {
	if networking == nil {
		return nil
	}
	result := &extensionsv1alpha1.InfrastructureStatusNetworking{}
	if networking.Nodes != nil {
		result.Nodes = []string{*networking.Nodes}
	}
	if networking.Pods != nil {
		result.Pods = []string{*networking.Pods}
	}
	if networking.Services != nil {
		result.Services = []string{*networking.Services}
	}
	return result
}

func networkStatus(networks []api.Network) []api.NetworkStatus {
	var result []api.NetworkStatus
	for _, n := range networks {
		result = append(result, api.NetworkStatus{Name: n.Name, CIDR: n.CIDR})
	}
	return result
}

// checkNoClaimsLeft fails while ServerClaims of the shoot remain, so that a leak blocks the deletion visibly
// instead of leaving Servers claimed forever.
func (m *metalAPI) checkNoClaimsLeft(ctx context.Context, log logr.Logger) error {
	claims := &metalv1alpha1.ServerClaimList{}
	if err := m.client.List(ctx, claims, client.InNamespace(m.namespace), client.MatchingLabels{metal.ShootLabel: m.shootID}); err != nil {
		return accessError(fmt.Errorf("listing the shoot's ServerClaims in the metal API: %w", err))
	}
	if len(claims.Items) == 0 {
		return nil
	}
	names := make([]string, 0, len(claims.Items))
	for _, claim := range claims.Items {
		names = append(names, claim.Name)
	}
	log.Info("ServerClaims of the shoot remain", "claims", names)
	return v1beta1helper.NewErrorWithCodes(
		fmt.Errorf("%d ServerClaims of the shoot remain in namespace %s: %s", len(names), m.namespace, strings.Join(names, ", ")),
		gardencorev1beta1.ErrorInfraDependencies)
}
