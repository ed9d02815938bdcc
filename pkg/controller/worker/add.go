// Package worker contains the Worker controller of type `metal`. It runs Gardener's generic worker actuator with
// a delegate that turns every worker pool and zone into a MachineClass for the metal machine driver and a
// MachineDeployment, so that machine-controller-manager claims Servers of the pool's machine type in that zone.
package worker

import (
	"context"
	"fmt"
	"slices"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/gardener/gardener/extensions/pkg/controller/worker"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/freshread"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var (
	// DefaultAddOptions are the default AddOptions for AddToManager.
	DefaultAddOptions = AddOptions{}

	supportedExtensionClasses = sets.New(extensionsv1alpha1.ExtensionClassShoot)
)

// AddOptions are options to apply when adding the Worker controller to the manager.
type AddOptions struct {
	// Controller are the controller.Options.
	Controller controller.Options
	// IgnoreOperationAnnotation specifies whether to ignore the operation annotation or not.
	IgnoreOperationAnnotation bool
	// ExtensionClasses are the configured extension classes for this extension deployment.
	ExtensionClasses []extensionsv1alpha1.ExtensionClass
	// GardenCluster is the garden cluster. It is optional: the generic actuator only reads a ShootState from it
	// when a restored Worker carries no machine state in its status.
	GardenCluster cluster.Cluster
}

// AddToManagerWithOptions adds the controller with the given options to the manager.
func AddToManagerWithOptions(ctx context.Context, mgr manager.Manager, opts AddOptions) error {
	// The generic actuator reads and writes machine-controller-manager's objects with the manager's client.
	if err := machinev1alpha1.AddToScheme(mgr.GetScheme()); err != nil {
		return fmt.Errorf("adding the machine API to the scheme: %w", err)
	}
	classes := slices.DeleteFunc(slices.Clone(opts.ExtensionClasses), func(class extensionsv1alpha1.ExtensionClass) bool {
		return !supportedExtensionClasses.Has(class)
	})
	// The reconciler reads a new Worker from the API server, not from the cache (see package freshread).
	reconcilerMgr := freshread.Manager(mgr, &extensionsv1alpha1.Worker{}, worker.FinalizerName)
	return worker.Add(ctx, reconcilerMgr, worker.AddArgs{
		Actuator:                  NewActuator(mgr, opts.GardenCluster),
		ControllerOptions:         opts.Controller,
		Predicates:                worker.DefaultPredicates(ctx, mgr, opts.IgnoreOperationAnnotation),
		Type:                      metal.Type,
		IgnoreOperationAnnotation: opts.IgnoreOperationAnnotation,
		ExtensionClasses:          classes,
	})
}

// AddToManager adds the controller with the default options to the manager.
func AddToManager(ctx context.Context, mgr manager.Manager) error {
	return AddToManagerWithOptions(ctx, mgr, DefaultAddOptions)
}
