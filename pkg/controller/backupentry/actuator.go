package backupentry

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gardener/gardener/extensions/pkg/controller/backupentry/genericactuator"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	kubernetesutils "github.com/gardener/gardener/pkg/utils/kubernetes"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/backup/s3"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// delegate does the metal part of Gardener's generic BackupEntry actuator.
type delegate struct {
	client client.Client
	opts   s3.Options
}

// NewDelegate returns the BackupEntry delegate. It reads the BackupEntries' secrets with c and talks to the
// stores with a client tuned by opts.
func NewDelegate(c client.Client, opts s3.Options) genericactuator.BackupEntryDelegate {
	return &delegate{client: c, opts: opts}
}

// GetETCDSecretData validates the backup secret's data (a copy of the BackupEntry's secret plus bucketName) and
// completes it for etcd-backup-restore, which requires the region: the secret's, else the BackupEntry's. All
// other keys go to etcd-backup-restore unchanged.
func (d *delegate) GetETCDSecretData(_ context.Context, _ logr.Logger, be *extensionsv1alpha1.BackupEntry, data map[string][]byte) (map[string][]byte, error) {
	secret := &corev1.Secret{Data: data}
	secret.Namespace, secret.Name = be.Spec.SecretRef.Namespace, be.Spec.SecretRef.Name
	if _, err := s3.ConfigFromSecret(secret, be.Spec.Region); err != nil {
		return nil, s3.WithErrorCodes(err)
	}
	data[metal.BackupRegionKey] = []byte(s3.Region(data, be.Spec.Region))
	return data, nil
}

// Delete deletes every object under the entry's prefix, in batches; an interrupted deletion continues where it
// stopped. Gardener's grace period (gardenlet's backupEntryDeletionGracePeriodHours) has passed when the
// extension's BackupEntry is deleted; migration never deletes objects.
func (d *delegate) Delete(ctx context.Context, log logr.Logger, be *extensionsv1alpha1.BackupEntry) error {
	secret, err := kubernetesutils.GetSecretByReference(ctx, d.client, &be.Spec.SecretRef)
	if err != nil {
		return fmt.Errorf("could not read the backup secret %s/%s: %w", be.Spec.SecretRef.Namespace, be.Spec.SecretRef.Name, err)
	}
	cfg, err := s3.ConfigFromSecret(secret, be.Spec.Region)
	if err != nil {
		return s3.WithErrorCodes(err)
	}
	s3Client, err := s3.NewClient(cfg, d.opts)
	if err != nil {
		return s3.WithErrorCodes(err)
	}

	prefix := Prefix(be.Name)
	progress := func(deleted int) {
		log.Info("Deleting the objects of the backup entry", "bucket", be.Spec.BucketName, "prefix", prefix, "deleted", deleted)
	}
	deleted, err := s3Client.DeleteObjects(ctx, be.Spec.BucketName, prefix, progress)
	if err != nil {
		return s3.WithErrorCodes(err)
	}
	log.Info("Deleted the objects of the backup entry", "bucket", be.Spec.BucketName, "prefix", prefix, "deleted", deleted)
	return nil
}

// Prefix is the prefix of a BackupEntry's objects: etcd-backup-restore stores under the BackupEntry's name (the
// ETCD's spec.backup.store.prefix, gardener pkg/gardenlet/operation/botanist/etcd.go), and a source BackupEntry
// ("source-<name>", for copying backups) stands for the entry it copies, as in gardener-extension-provider-aws.
// The trailing slash keeps shoot--p--a--uid from matching shoot--p--a--uid2.
func Prefix(backupEntryName string) string {
	return strings.TrimPrefix(backupEntryName, v1beta1constants.BackupSourcePrefix+"-") + "/"
}
