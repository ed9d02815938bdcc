package infrastructure

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencore "github.com/gardener/gardener/pkg/apis/core"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal/capacity"
)

const (
	// ConditionServersAvailable tells whether every worker pool can claim its minimum in each zone now. It
	// informs: a shortage surfaces on the machines, it does not fail the Infrastructure.
	ConditionServersAvailable gardencorev1beta1.ConditionType = "ServersAvailable"
	// ConditionServerMaintenancePermitted tells whether the credentials allow the cloud-controller-manager to
	// create ServerMaintenances, which only Nodes that request maintenance need.
	ConditionServerMaintenancePermitted gardencorev1beta1.ConditionType = "ServerMaintenancePermitted"
)

var providerConfigPath = field.NewPath("spec", "providerConfig")

// shootNetworking returns the shoot's networking in Gardener's internal form, so that the node networks are
// checked against spec.networking at reconcile as they are at admission.
func shootNetworking(cluster *extensionscontroller.Cluster) (*gardencore.Networking, error) {
	if cluster == nil || cluster.Shoot == nil || cluster.Shoot.Spec.Networking == nil {
		return nil, nil
	}
	networking := &gardencore.Networking{}
	if err := gardencorev1beta1.Convert_v1beta1_Networking_To_core_Networking(cluster.Shoot.Spec.Networking, networking, nil); err != nil {
		return nil, fmt.Errorf("converting the shoot's networking: %w", err)
	}
	return networking, nil
}

// Reconcile checks the shoot's access to the metal API and its IPAM pools, counts the Servers available to its
// worker pools and reports what it found in the status and its conditions. Capacity informs and never fails the
// reconcile. It writes the status only when it changed.
func (a *actuator) Reconcile(ctx context.Context, log logr.Logger, infra *extensionsv1alpha1.Infrastructure, cluster *extensionscontroller.Cluster) error {
	config, err := helper.InfrastructureConfigFromRaw(infra.Spec.ProviderConfig)
	if err != nil {
		return configurationProblem(fmt.Errorf("%s: %w", providerConfigPath, err))
	}
	networking, err := shootNetworking(cluster)
	if err != nil {
		return err
	}
	if errs := validation.ValidateInfrastructureConfig(config, networking, providerConfigPath); len(errs) > 0 {
		return configurationProblem(errs.ToAggregate())
	}

	metalAPI, err := a.connect(ctx, infra, cluster)
	if err != nil {
		return err
	}
	missingMaintenance, err := metalAPI.checkPermissions(ctx)
	if err != nil {
		return err
	}
	if err := metalAPI.checkIPAMPools(ctx, config.Networks, providerConfigPath.Child("networks")); err != nil {
		return err
	}

	hibernated := extensionscontroller.IsHibernationEnabled(cluster)
	var (
		pools      []capacity.PoolZone
		capacities []api.ServerCapacity
	)
	if !hibernated {
		if pools, capacities, err = a.capacity(ctx, metalAPI, infra, cluster); err != nil {
			return err
		}
	}

	status := &api.InfrastructureStatus{Networks: networkStatus(config.Networks), ServerCapacity: capacities}
	conditions := []gardencorev1beta1.Condition{
		a.serversCondition(infra, capacities, pools, hibernated),
		a.maintenanceCondition(infra, missingMaintenance),
	}
	if err := a.updateStatus(ctx, infra, status, statusNetworking(cluster.Shoot.Spec.Networking, config.Networks), conditions); err != nil {
		return err
	}
	log.Info("Infrastructure checked", "namespace", metalAPI.namespace, "poolZones", len(capacities), "hibernated", hibernated)
	return nil
}

// capacity counts the Servers of every pool and zone from the shared Server watch.
func (a *actuator) capacity(ctx context.Context, m *metalAPI, infra *extensionsv1alpha1.Infrastructure, cluster *extensionscontroller.Cluster) ([]capacity.PoolZone, []api.ServerCapacity, error) {
	cloudProfileConfig, err := helper.CloudProfileConfigFromRaw(cluster.CloudProfile.Spec.ProviderConfig)
	if err != nil {
		return nil, nil, configurationProblem(err)
	}
	pools, err := capacity.PoolZones(cluster.Shoot.Spec.Provider.Workers, cloudProfileConfig, infra.Spec.Region)
	if err != nil {
		return nil, nil, configurationProblem(err)
	}
	if len(pools) == 0 {
		return nil, nil, nil
	}
	reader, err := a.clients.Servers(ctx, m.Client)
	if err != nil {
		return nil, nil, err
	}
	// The count only reads the Servers: without the deep copy, a reconcile does not copy every Server of the metal
	// API (the Servers of all shoots, so that the copies of all reconciles grew with the square of the shoots).
	servers := &metalv1alpha1.ServerList{}
	if err := reader.List(ctx, servers, client.UnsafeDisableDeepCopy); err != nil {
		return nil, nil, fmt.Errorf("listing Servers from the watch of the metal API: %w", err)
	}
	capacities, err := m.serverCapacity(ctx, servers.Items, pools)
	return pools, capacities, err
}

// serversCondition reports shortages and Servers without the instance type label; a change is also an event.
func (a *actuator) serversCondition(infra *extensionsv1alpha1.Infrastructure, capacities []api.ServerCapacity, pools []capacity.PoolZone, hibernated bool) gardencorev1beta1.Condition {
	status, reason, message := gardencorev1beta1.ConditionTrue, "ServersAvailable", "Every worker pool can claim its minimum in each zone."
	short, untyped := shortages(capacities, pools)
	switch {
	case hibernated:
		status, reason, message = gardencorev1beta1.ConditionUnknown, "Hibernated", "The shoot is hibernated: no Servers are counted."
	case len(short) > 0:
		status, reason = gardencorev1beta1.ConditionFalse, "InsufficientServers"
		message = "Insufficient servers: " + strings.Join(short, "; ") + ". Machines wait for Servers and report ResourceExhausted."
	}
	if len(untyped) > 0 && !hibernated {
		message += " Nodes will lack node.kubernetes.io/instance-type: " + strings.Join(untyped, "; ") + "."
	}
	eventType := corev1.EventTypeNormal
	if status == gardencorev1beta1.ConditionFalse || len(untyped) > 0 {
		eventType = corev1.EventTypeWarning
	}
	return a.condition(infra, ConditionServersAvailable, status, reason, message, eventType)
}

func (a *actuator) maintenanceCondition(infra *extensionsv1alpha1.Infrastructure, missing []string) gardencorev1beta1.Condition {
	if len(missing) == 0 {
		return a.condition(infra, ConditionServerMaintenancePermitted, gardencorev1beta1.ConditionTrue, "Permitted",
			"The credentials allow the cloud-controller-manager to handle ServerMaintenances.", corev1.EventTypeNormal)
	}
	return a.condition(infra, ConditionServerMaintenancePermitted, gardencorev1beta1.ConditionFalse, "PermissionsMissing",
		"Nodes labelled metal.ironcore.dev/maintenance-requested=true get no ServerMaintenance: the credentials lack "+strings.Join(missing, ", ")+".",
		corev1.EventTypeWarning)
}

// condition builds the condition from the current one; when it changed, it also records an event, so that a
// shortage shows up in the shoot's events without failing anything.
func (a *actuator) condition(infra *extensionsv1alpha1.Infrastructure, conditionType gardencorev1beta1.ConditionType, status gardencorev1beta1.ConditionStatus, reason, message, eventType string) gardencorev1beta1.Condition {
	old := v1beta1helper.GetCondition(infra.Status.Conditions, conditionType)
	if old == nil {
		initial := v1beta1helper.InitConditionWithClock(clock.RealClock{}, conditionType)
		old = &initial
	}
	updated := v1beta1helper.UpdatedConditionWithClock(clock.RealClock{}, *old, status, reason, message)
	if updated.Status != old.Status || updated.Message != old.Message {
		a.recorder.Eventf(infra, nil, eventType, reason, "Reconcile", "%s", message)
	}
	return updated
}

// updateStatus writes the provider status, the networks and the conditions, skipping the write when nothing
// changed so that an unchanged Infrastructure costs no write beyond Gardener's own bookkeeping.
func (a *actuator) updateStatus(ctx context.Context, infra *extensionsv1alpha1.Infrastructure, status *api.InfrastructureStatus, networking *extensionsv1alpha1.InfrastructureStatusNetworking, conditions []gardencorev1beta1.Condition) error {
	desiredConditions := v1beta1helper.MergeConditions(infra.Status.Conditions, conditions...)
	current, err := helper.InfrastructureStatusFromRaw(infra.Status.ProviderStatus)
	if err == nil && current != nil && equality.Semantic.DeepEqual(current, status) &&
		equality.Semantic.DeepEqual(infra.Status.Networking, networking) &&
		equality.Semantic.DeepEqual(infra.Status.Conditions, desiredConditions) {
		return nil
	}

	raw, err := helper.EncodeToRaw(status)
	if err != nil {
		return err
	}
	patch := client.MergeFrom(infra.DeepCopy())
	infra.Status.ProviderStatus = raw
	infra.Status.Networking = networking
	infra.Status.Conditions = desiredConditions
	if err := a.client.Status().Patch(ctx, infra, patch); err != nil {
		return fmt.Errorf("updating infrastructure status: %w", err)
	}
	return nil
}

// statusNetworking reports the shoot's networks: as node networks the shoot's spec.networking.nodes and every
// node network of the InfrastructureConfig, whatever its IP family, since machines get addresses from them.
func statusNetworking(networking *gardencorev1beta1.Networking, networks []api.Network) *extensionsv1alpha1.InfrastructureStatusNetworking {
	result := &extensionsv1alpha1.InfrastructureStatusNetworking{}
	if networking != nil {
		if networking.Nodes != nil {
			result.Nodes = []string{*networking.Nodes}
		}
		if networking.Pods != nil {
			result.Pods = []string{*networking.Pods}
		}
		if networking.Services != nil {
			result.Services = []string{*networking.Services}
		}
	}
	for _, n := range networks {
		if !slices.Contains(result.Nodes, n.CIDR) {
			result.Nodes = append(result.Nodes, n.CIDR)
		}
	}
	if result.Nodes == nil && result.Pods == nil && result.Services == nil {
		return nil
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
