// Package infrastructure contains the Infrastructure controller of type `metal`. Bare metal has nothing to create
// up front, so the controller checks what a shoot needs: that the metal API accepts its credentials with the
// permissions the driver and cloud-controller-manager use and that referenced IPAM pools exist; it reports how
// many claimable Servers every worker pool finds in each zone (informing, never blocking) and, on deletion,
// removes what the shoot left in the metal API.
package infrastructure

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/gardener/gardener/extensions/pkg/controller/infrastructure"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/freshread"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	metalclient "github.com/openkcm/gardener-extension-provider-metal/pkg/metal/client"
)

// ControllerName is the name of the Infrastructure controller; its events name it as their reporter.
const ControllerName = "infrastructure-controller"

var (
	// DefaultAddOptions are the default AddOptions for AddToManager.
	DefaultAddOptions = AddOptions{}

	supportedExtensionClasses = sets.New(extensionsv1alpha1.ExtensionClassShoot)
)

// AddOptions are options to apply when adding the Infrastructure controller to the manager.
type AddOptions struct {
	// Controller are the controller.Options.
	Controller controller.Options
	// IgnoreOperationAnnotation specifies whether to ignore the operation annotation or not.
	IgnoreOperationAnnotation bool
	// ExtensionClasses are the configured extension classes for this extension deployment.
	ExtensionClasses []extensionsv1alpha1.ExtensionClass
	// MetalClients caches the metal API clients and Server watches; nil creates one. Tests set it to count the
	// requests to the metal API.
	MetalClients *metalclient.Cache
}

// AddToManagerWithOptions adds the controller with the given options to the manager.
func AddToManagerWithOptions(ctx context.Context, mgr manager.Manager, opts AddOptions) error {
	classes := slices.DeleteFunc(slices.Clone(opts.ExtensionClasses), func(class extensionsv1alpha1.ExtensionClass) bool {
		return !supportedExtensionClasses.Has(class)
	})
	clients := opts.MetalClients
	if clients == nil {
		clients = metalclient.NewCache()
	}
	if err := mgr.Add(clients); err != nil {
		return fmt.Errorf("adding the metal API client cache to the manager: %w", err)
	}
	// The reconciler reads a new Infrastructure from the API server, not from the cache (see package freshread).
	reconcilerMgr := freshread.Manager(mgr, &extensionsv1alpha1.Infrastructure{}, infrastructure.FinalizerName)
	return infrastructure.Add(reconcilerMgr, infrastructure.AddArgs{
		Actuator:          NewActuator(mgr.GetClient(), clients, mgr.GetEventRecorder(ControllerName)),
		ControllerOptions: opts.Controller,
		Predicates:        infrastructure.DefaultPredicates(ctx, mgr, opts.IgnoreOperationAnnotation),
		Type:              metal.Type,
		ExtensionClasses:  classes,
	})
}

// AddToManager adds the controller with the default options to the manager.
func AddToManager(ctx context.Context, mgr manager.Manager) error {
	return AddToManagerWithOptions(ctx, mgr, DefaultAddOptions)
}
