package backupbucket

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gardener/gardener/extensions/pkg/controller/backupbucket"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	kubernetesutils "github.com/gardener/gardener/pkg/utils/kubernetes"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
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

// Reconcile creates the bucket unless the credentials own it already and reports it in the providerStatus. A
// bucket of that name owned by someone else fails the reconciliation with a configuration problem: its objects are
// not ours to manage.
func (a *actuator) Reconcile(ctx context.Context, log logr.Logger, bb *extensionsv1alpha1.BackupBucket) error {
	cfg, err := a.config(ctx, bb)
	if err != nil {
		return s3.WithErrorCodes(err)
	}
	s3Client, err := s3.NewClient(cfg, a.opts)
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
	return a.updateStatus(ctx, bb, bucketStatus(bb.Name, cfg))
}

// bucketStatus says where the bucket is; never anything of the credentials.
func bucketStatus(bucket string, cfg s3.Config) *api.BackupBucketStatus {
	status := &api.BackupBucketStatus{BucketName: bucket, Region: cfg.Region}
	if cfg.Endpoint != nil {
		status.Endpoint = cfg.Endpoint.String()
	}
	return status
}

// updateStatus writes the providerStatus only when it changed, so that an unchanged BackupBucket costs no write
// beyond Gardener's own bookkeeping.
func (a *actuator) updateStatus(ctx context.Context, bb *extensionsv1alpha1.BackupBucket, status *api.BackupBucketStatus) error {
	current, err := helper.BackupBucketStatusFromRaw(bb.Status.ProviderStatus)
	if err == nil && current != nil && *current == *status {
		return nil
	}
	raw, err := helper.EncodeToRaw(status)
	if err != nil {
		return err
	}
	patch := client.MergeFrom(bb.DeepCopy())
	bb.Status.ProviderStatus = raw
	if err := a.client.Status().Patch(ctx, bb, patch); err != nil {
		return fmt.Errorf("updating the BackupBucket status: %w", err)
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
	cfg, err := a.config(ctx, bb)
	if err != nil {
		return nil, err
	}
	return s3.NewClient(cfg, a.opts)
}

// config reads and validates the BackupBucket's secret.
func (a *actuator) config(ctx context.Context, bb *extensionsv1alpha1.BackupBucket) (s3.Config, error) {
	secret, err := kubernetesutils.GetSecretByReference(ctx, a.client, &bb.Spec.SecretRef)
	if err != nil {
		return s3.Config{}, fmt.Errorf("could not read the backup secret %s/%s: %w", bb.Spec.SecretRef.Namespace, bb.Spec.SecretRef.Name, err)
	}
	return s3.ConfigFromSecret(secret, bb.Spec.Region)
}
