// Package backupentry contains the controller for BackupEntries of type metal: it writes the etcd-backup secret
// of each shoot's control plane and, when the BackupEntry is deleted, deletes every object under the entry's
// prefix in the bucket.
package backupentry

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/gardener/gardener/extensions/pkg/controller/backupentry"
	"github.com/gardener/gardener/extensions/pkg/controller/backupentry/genericactuator"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/backup/s3"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var (
	// DefaultAddOptions are the default AddOptions for AddToManager.
	DefaultAddOptions = AddOptions{}

	// supportedExtensionClasses are the extension classes the controller serves, as in provider-local.
	supportedExtensionClasses = sets.New(extensionsv1alpha1.ExtensionClassGarden, extensionsv1alpha1.ExtensionClassShoot)
)

// AddOptions are options to apply when adding the BackupEntry controller to the manager.
type AddOptions struct {
	// Controller are the controller.Options.
	Controller controller.Options
	// IgnoreOperationAnnotation specifies whether to ignore the operation annotation or not.
	IgnoreOperationAnnotation bool
	// ExtensionClasses are the configured extension classes for this extension deployment.
	ExtensionClasses []extensionsv1alpha1.ExtensionClass
	// S3 tunes the S3 client (timeouts, retries, batch size); zero values mean its defaults.
	S3 s3.Options
}

// AddToManagerWithOptions adds a BackupEntry controller with the given options to the manager. Gardener's
// generic actuator writes the etcd-backup secret; the delegate adds the region and deletes the objects.
func AddToManagerWithOptions(_ context.Context, mgr manager.Manager, opts AddOptions) error {
	classes := slices.DeleteFunc(slices.Clone(opts.ExtensionClasses), func(class extensionsv1alpha1.ExtensionClass) bool {
		return !supportedExtensionClasses.Has(class)
	})

	return backupentry.Add(mgr, backupentry.AddArgs{
		Actuator:                  genericactuator.NewActuator(mgr, NewDelegate(mgr.GetClient(), opts.S3)),
		ControllerOptions:         opts.Controller,
		Predicates:                backupentry.DefaultPredicates(opts.IgnoreOperationAnnotation),
		Type:                      metal.Type,
		IgnoreOperationAnnotation: opts.IgnoreOperationAnnotation,
		ExtensionClasses:          classes,
	})
}

// AddToManager adds a BackupEntry controller with DefaultAddOptions to the manager.
func AddToManager(ctx context.Context, mgr manager.Manager) error {
	return AddToManagerWithOptions(ctx, mgr, DefaultAddOptions)
}
