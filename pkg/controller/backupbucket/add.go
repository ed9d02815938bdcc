// Package backupbucket contains the controller for BackupBuckets of type metal: it creates the bucket on the
// S3-compatible store the BackupBucket's secret names and deletes it, with all its objects, when the BackupBucket
// goes.
package backupbucket

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/gardener/gardener/extensions/pkg/controller/backupbucket"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/backup/s3"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var (
	// DefaultAddOptions are the default AddOptions for AddToManager.
	DefaultAddOptions = AddOptions{}

	// supportedExtensionClasses are the extension classes the controller serves: the buckets of seeds (class
	// shoot, the etcd backups of their shoots) and of the garden, as in provider-local.
	supportedExtensionClasses = sets.New(extensionsv1alpha1.ExtensionClassGarden, extensionsv1alpha1.ExtensionClassShoot)
)

// AddOptions are options to apply when adding the BackupBucket controller to the manager.
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

// AddToManagerWithOptions adds a BackupBucket controller with the given options to the manager.
func AddToManagerWithOptions(_ context.Context, mgr manager.Manager, opts AddOptions) error {
	classes := slices.DeleteFunc(slices.Clone(opts.ExtensionClasses), func(class extensionsv1alpha1.ExtensionClass) bool {
		return !supportedExtensionClasses.Has(class)
	})

	return backupbucket.Add(mgr, backupbucket.AddArgs{
		Actuator:                  NewActuator(mgr.GetClient(), opts.S3),
		ControllerOptions:         opts.Controller,
		Predicates:                backupbucket.DefaultPredicates(opts.IgnoreOperationAnnotation),
		Type:                      metal.Type,
		IgnoreOperationAnnotation: opts.IgnoreOperationAnnotation,
		ExtensionClasses:          classes,
	})
}

// AddToManager adds a BackupBucket controller with DefaultAddOptions to the manager.
func AddToManager(ctx context.Context, mgr manager.Manager) error {
	return AddToManagerWithOptions(ctx, mgr, DefaultAddOptions)
}
