package backupbucket

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gardener/gardener/extensions/pkg/controller/backupbucket"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	kubernetesutils "github.com/gardener/gardener/pkg/utils/kubernetes"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/backup/s3"
)

// actuator reconciles BackupBuckets of type metal. The bucket is named after the BackupBucket (Gardener names
// it after the seed's UID), as in gardener-extension-provider-aws.
type actuator struct {
	client client.Client
	opts   s3.Options
}

// NewActuator returns the BackupBucket actuator. It reads the BackupBuckets' secrets with c and talks to the
// stores with a client tuned by opts.
func NewActuator(c client.Client, opts s3.Options) backupbucket.Actuator {
	return &actuator{client: c, opts: opts}
}

// Reconcile creates the bucket unless the credentials own it already. A bucket of that name owned by someone
// else fails the reconciliation with a configuration problem: its objects are not ours to manage.
func (a *actuator) Reconcile(ctx context.Context, log logr.Logger, bb *extensionsv1alpha1.BackupBucket) error {
	s3Client, err := a.newS3Client(ctx, bb)
	if err != nil {
		return s3.WithErrorCodes(err)
	}
	created, err := s3Client.EnsureBucket(ctx, bb.Name)
	if err != nil {
		return s3.WithErrorCodes(err)
	}
	if created {
		log.Info("Created bucket", "bucket", bb.Name)
	}
	return nil
}

// Delete deletes every object of the bucket and the bucket; it continues where an earlier attempt stopped. A
// bucket of that name owned by someone else is left alone.
func (a *actuator) Delete(ctx context.Context, log logr.Logger, bb *extensionsv1alpha1.BackupBucket) error {
	s3Client, err := a.newS3Client(ctx, bb)
	if err != nil {
		return s3.WithErrorCodes(err)
	}
	progress := func(deleted int) {
		log.Info("Deleting the objects of the bucket", "bucket", bb.Name, "deleted", deleted)
	}
	owned, err := s3Client.DeleteBucket(ctx, bb.Name, progress)
	if err != nil {
		return s3.WithErrorCodes(err)
	}
	if !owned {
		log.Info("Left the bucket alone: it belongs to someone else", "bucket", bb.Name)
		return nil
	}
	log.Info("Deleted bucket", "bucket", bb.Name)
	return nil
}

// newS3Client reads and validates the BackupBucket's secret and returns a client for the store it names.
func (a *actuator) newS3Client(ctx context.Context, bb *extensionsv1alpha1.BackupBucket) (*s3.Client, error) {
	secret, err := kubernetesutils.GetSecretByReference(ctx, a.client, &bb.Spec.SecretRef)
	if err != nil {
		return nil, fmt.Errorf("could not read the backup secret %s/%s: %w", bb.Spec.SecretRef.Namespace, bb.Spec.SecretRef.Name, err)
	}
	cfg, err := s3.ConfigFromSecret(secret, bb.Spec.Region)
	if err != nil {
		return nil, err
	}
	return s3.NewClient(cfg, a.opts)
}
