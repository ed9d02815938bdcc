// Package controlplane contains the ControlPlane controller of type `metal`. It renders the metal
// cloud-controller-manager, the optional load balancer components and the shoot's RBAC and StorageClasses with
// Gardener's generic control plane actuator into ManagedResources.
package controlplane

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	"github.com/gardener/gardener/extensions/pkg/controller/controlplane"
	"github.com/gardener/gardener/extensions/pkg/controller/controlplane/genericactuator"
	"github.com/gardener/gardener/extensions/pkg/util"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/imagevector"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/freshread"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var (
	// DefaultAddOptions are the default AddOptions for AddToManager.
	DefaultAddOptions = AddOptions{}

	supportedExtensionClasses = sets.New(extensionsv1alpha1.ExtensionClassShoot)
)

// AddOptions are options to apply when adding the ControlPlane controller to the manager.
type AddOptions struct {
	// Controller are the controller.Options.
	Controller controller.Options
	// IgnoreOperationAnnotation specifies whether to ignore the operation annotation or not.
	IgnoreOperationAnnotation bool
	// ExtensionClasses are the configured extension classes for this extension deployment.
	ExtensionClasses []extensionsv1alpha1.ExtensionClass
}

// AddToManagerWithOptions adds the controller with the given options to the manager.
func AddToManagerWithOptions(ctx context.Context, mgr manager.Manager, opts AddOptions) error {
	generic, err := genericactuator.NewActuator(
		mgr,
		metal.Name,
		secretConfigs,
		// The shoot access secrets are reconciled by this extension's actuator, see reconcileShootAccessSecrets.
		nil,
		// The cloud-provider-config is part of the seed chart, so its checksum is computed from the rendered
		// config instead of being read back from the seed, where gardener-resource-manager creates it later.
		nil,
		seedChart,
		shootChart,
		shootCRDsChart,
		storageClassesChart,
		NewValuesProvider(mgr.GetClient()),
		extensionscontroller.ChartRendererFactoryFunc(util.NewChartRendererForShoot),
		imagevector.ImageVector(),
		"",
		// The extension registers no webhooks in the shoot.
		nil,
		"",
	)
	if err != nil {
		return fmt.Errorf("creating the generic control plane actuator: %w", err)
	}

	classes := slices.DeleteFunc(slices.Clone(opts.ExtensionClasses), func(class extensionsv1alpha1.ExtensionClass) bool {
		return !supportedExtensionClasses.Has(class)
	})
	// The reconciler reads a new ControlPlane from the API server, not from the cache (see package freshread).
	reconcilerMgr := freshread.Manager(mgr, &extensionsv1alpha1.ControlPlane{}, controlplane.FinalizerName)
	return controlplane.Add(reconcilerMgr, controlplane.AddArgs{
		Actuator:          &actuator{Actuator: generic, client: mgr.GetClient(), secrets: newSecretsGenerator(mgr.GetClient())},
		ControllerOptions: opts.Controller,
		Predicates:        controlplane.DefaultPredicates(ctx, mgr, opts.IgnoreOperationAnnotation),
		Type:              metal.Type,
		ExtensionClasses:  classes,
	})
}

// AddToManager adds the controller with the default options to the manager.
func AddToManager(ctx context.Context, mgr manager.Manager) error {
	return AddToManagerWithOptions(ctx, mgr, DefaultAddOptions)
}
