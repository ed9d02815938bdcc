// Package healthcheck registers the health checks of the metal extension: the control plane components it deploys
// into the seed and the shoot ManagedResources of its ControlPlane.
package healthcheck

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionsconfigv1alpha1 "github.com/gardener/gardener/extensions/pkg/apis/config/v1alpha1"
	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	"github.com/gardener/gardener/extensions/pkg/controller/controlplane/genericactuator"
	"github.com/gardener/gardener/extensions/pkg/controller/healthcheck"
	"github.com/gardener/gardener/extensions/pkg/controller/healthcheck/general"
	"github.com/gardener/gardener/extensions/pkg/controller/healthcheck/worker"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var (
	// DefaultAddOptions are the default options for AddToManager.
	DefaultAddOptions = healthcheck.DefaultAddArgs{
		ExtensionClasses:  []extensionsv1alpha1.ExtensionClass{extensionsv1alpha1.ExtensionClassShoot},
		HealthCheckConfig: extensionsconfigv1alpha1.HealthCheckConfig{SyncPeriod: metav1.Duration{Duration: 30 * time.Second}},
	}
)

// RegisterHealthChecks registers the health checks of ControlPlanes of type metal with the manager:
//   - ControlPlaneHealthy: the cloud-controller-manager Deployment and, when the shoot uses it, the
//     metal-load-balancer-controller manager Deployment in the seed;
//   - SystemComponentsHealthy: the shoot ManagedResources of the ControlPlane (components and RBAC, CRDs,
//     StorageClasses);
//
// and those of Workers of type metal (see workerHealthChecks).
func RegisterHealthChecks(mgr manager.Manager, opts healthcheck.DefaultAddArgs) error {
	if err := healthcheck.DefaultRegistration(
		metal.Type,
		extensionsv1alpha1.SchemeGroupVersion.WithKind(extensionsv1alpha1.ControlPlaneResource),
		func() client.ObjectList { return &extensionsv1alpha1.ControlPlaneList{} },
		func() extensionsv1alpha1.Object { return &extensionsv1alpha1.ControlPlane{} },
		mgr,
		opts,
		nil,
		healthChecks(),
		nil,
	); err != nil {
		return fmt.Errorf("registering the ControlPlane health checks: %w", err)
	}
	if err := healthcheck.DefaultRegistration(
		metal.Type,
		extensionsv1alpha1.SchemeGroupVersion.WithKind(extensionsv1alpha1.WorkerResource),
		func() client.ObjectList { return &extensionsv1alpha1.WorkerList{} },
		func() extensionsv1alpha1.Object { return &extensionsv1alpha1.Worker{} },
		mgr,
		opts,
		nil,
		workerHealthChecks(),
		nil,
	); err != nil {
		return fmt.Errorf("registering the Worker health checks: %w", err)
	}
	return nil
}

// workerHealthChecks: every node of the shoot is ready, and the machine-controller-manager (with the metal driver
// as its sidecar) runs in the seed.
func workerHealthChecks() []healthcheck.ConditionTypeToHealthCheck {
	return []healthcheck.ConditionTypeToHealthCheck{
		{
			ConditionType: string(gardencorev1beta1.ShootEveryNodeReady),
			HealthCheck:   worker.NewNodesChecker(),
		},
		{
			ConditionType: string(gardencorev1beta1.ShootControlPlaneHealthy),
			HealthCheck:   general.NewSeedDeploymentHealthChecker(v1beta1constants.DeploymentNameMachineControllerManager),
			PreCheckFunc:  notHibernated,
		},
	}
}

func healthChecks() []healthcheck.ConditionTypeToHealthCheck {
	return []healthcheck.ConditionTypeToHealthCheck{
		{
			ConditionType: string(gardencorev1beta1.ShootControlPlaneHealthy),
			HealthCheck:   general.NewSeedDeploymentHealthChecker(metal.CloudControllerManagerName),
			PreCheckFunc:  notHibernated,
		},
		{
			ConditionType: string(gardencorev1beta1.ShootControlPlaneHealthy),
			HealthCheck:   general.NewSeedDeploymentHealthChecker(metal.MetalLoadBalancerControllerManagerName),
			PreCheckFunc:  usesMetalLoadBalancer,
		},
		{
			ConditionType: string(gardencorev1beta1.ShootSystemComponentsHealthy),
			HealthCheck:   general.CheckManagedResource(genericactuator.ControlPlaneShootChartResourceName),
		},
		{
			ConditionType: string(gardencorev1beta1.ShootSystemComponentsHealthy),
			HealthCheck:   general.CheckManagedResource(genericactuator.ControlPlaneShootCRDsChartResourceName),
		},
		{
			ConditionType: string(gardencorev1beta1.ShootSystemComponentsHealthy),
			HealthCheck:   general.CheckManagedResource(genericactuator.StorageClassesChartResourceName),
		},
	}
}

// notHibernated skips the checks of seed components, which are scaled to zero while the shoot hibernates.
func notHibernated(_ context.Context, _ client.Client, _ client.Object, obj any) bool {
	cluster, ok := obj.(*extensionscontroller.Cluster)
	return !ok || !extensionscontroller.IsHibernated(cluster)
}

// usesMetalLoadBalancer checks the load balancer manager only where the ControlPlaneConfig deploys it. A config
// that does not decode is reported by the ControlPlane controller, not as an unhealthy component.
func usesMetalLoadBalancer(ctx context.Context, c client.Client, obj client.Object, cluster any) bool {
	cp, ok := obj.(*extensionsv1alpha1.ControlPlane)
	if !ok || !notHibernated(ctx, c, obj, cluster) {
		return false
	}
	cfg, err := helper.ControlPlaneConfigFromRaw(cp.Spec.ProviderConfig)
	if err != nil {
		return false
	}
	return cfg.LoadBalancer != nil && cfg.LoadBalancer.MetalLoadBalancer != nil
}

// AddToManager adds the health checks with the default options to the manager.
func AddToManager(_ context.Context, mgr manager.Manager) error {
	return RegisterHealthChecks(mgr, DefaultAddOptions)
}
