package landscape

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/backupentry"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/test/utils/seaweedfs"
)

const (
	// backupBucketName is the seed's BackupBucket; Gardener names it after the seed's UID.
	backupBucketName = "landscape-seed-0b6a4c1e"
	// backupEntryName is the example shoot's BackupEntry: <technical ID>--<shoot UID>, as gardenlet names it.
	backupEntryName   = seedNamespace + "--" + shootUID
	backupSecretName  = "backup-metal"
	backupSecretSpace = "garden"
)

// backups is the landscape's S3-compatible store, as a seed operator runs one on premises (SeaweedFS), with the
// seed's BackupBucket and the example shoot's BackupEntry.
type backups struct {
	store    *seaweedfs.Server
	admin    *minio.Client
	cleanups []func()
}

// startBackups starts SeaweedFS when SEAWEEDFS_ASSETS names it (hack/seaweedfs.sh), creates the seed's backup
// secret, BackupBucket and the shoot's BackupEntry, and waits until the extension reconciled them. Gardener's
// etcd-backup-restore is not served by the module proxy, so no etcd backs up here: a stand-in object named as its
// full snapshots are (<prefix>/v2/Full-<start>-<end>-<time>) is stored with nothing but the etcd-backup secret the
// BackupEntry generated, which shows that the secret works unchanged.
func (l *landscape) startBackups(ctx context.Context) error {
	if os.Getenv("SEAWEEDFS_ASSETS") == "" {
		l.step("backups skipped: SEAWEEDFS_ASSETS is not set (hack/seaweedfs.sh builds SeaweedFS)")
		return nil
	}
	b := &backups{}
	l.backups = b
	if err := b.start(); err != nil {
		return fmt.Errorf("starting SeaweedFS: %w", err)
	}
	if err := l.createBackupObjects(ctx); err != nil {
		return err
	}
	for _, obj := range []extensionsv1alpha1.Object{&extensionsv1alpha1.BackupBucket{}, &extensionsv1alpha1.BackupEntry{}} {
		name := backupBucketName
		if _, ok := obj.(*extensionsv1alpha1.BackupEntry); ok {
			name = backupEntryName
		}
		if err := l.waitSucceeded(ctx, name, obj); err != nil {
			return err
		}
	}
	key, err := l.storeSnapshotStandIn(ctx)
	if err != nil {
		return err
	}
	l.step(fmt.Sprintf("backups: BackupBucket %s and BackupEntry %s Succeeded on SeaweedFS at %s; stand-in snapshot %s stored with the etcd-backup secret", backupBucketName, backupEntryName, b.store.HTTPEndpoint, key))
	return nil
}

// start starts SeaweedFS; its helper reports failures through Gomega, which become an error here.
func (b *backups) start() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	g := gomega.NewGomega(func(message string, _ ...int) { panic(message) })
	b.store = seaweedfs.Start(g, func(f func()) { b.cleanups = append(b.cleanups, f) })
	endpoint, err := url.Parse(b.store.HTTPEndpoint)
	if err != nil {
		return err
	}
	b.admin, err = minio.New(endpoint.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(seaweedfs.GardenerIdentity.AccessKey, seaweedfs.GardenerIdentity.SecretKey, ""),
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
	})
	return err
}

// stop stops SeaweedFS and removes its data.
func (b *backups) stop() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
}

func (l *landscape) createBackupObjects(ctx context.Context) error {
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: backupSecretSpace}}
	if err := l.seed.Create(ctx, namespace); client.IgnoreAlreadyExists(err) != nil {
		return err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: backupSecretSpace, Name: backupSecretName},
		Data: map[string][]byte{
			metal.BackupAccessKeyIDKey:      []byte(seaweedfs.GardenerIdentity.AccessKey),
			metal.BackupSecretAccessKeyKey:  []byte(seaweedfs.GardenerIdentity.SecretKey),
			metal.BackupRegionKey:           []byte(region),
			metal.BackupEndpointKey:         []byte(l.backups.store.HTTPEndpoint),
			metal.BackupS3ForcePathStyleKey: []byte("true"),
		},
	}
	secretRef := corev1.SecretReference{Namespace: backupSecretSpace, Name: backupSecretName}
	bucket := &extensionsv1alpha1.BackupBucket{
		ObjectMeta: metav1.ObjectMeta{Name: backupBucketName},
		Spec: extensionsv1alpha1.BackupBucketSpec{
			DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: metal.Type},
			Region:      region,
			SecretRef:   secretRef,
		},
	}
	entry := &extensionsv1alpha1.BackupEntry{
		ObjectMeta: metav1.ObjectMeta{Name: backupEntryName},
		Spec: extensionsv1alpha1.BackupEntrySpec{
			DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: metal.Type},
			Region:      region,
			BucketName:  backupBucketName,
			SecretRef:   secretRef,
		},
	}
	for _, obj := range []client.Object{secret, bucket, entry} {
		if err := l.seed.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	return nil
}

// waitSucceeded waits until the extension object's last operation succeeded.
func (l *landscape) waitSucceeded(ctx context.Context, name string, obj extensionsv1alpha1.Object) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, time.Second, l.opts.Timeout, true, func(ctx context.Context) (bool, error) {
		if err := l.seed.Get(ctx, client.ObjectKey{Name: name}, obj); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		op := obj.GetExtensionStatus().GetLastOperation()
		if lastErr := obj.GetExtensionStatus().GetLastError(); lastErr != nil {
			last = lastErr.Description
		}
		return op != nil && op.State == gardencorev1beta1.LastOperationStateSucceeded, nil
	})
	if err != nil {
		return fmt.Errorf("%T %s did not succeed (last error: %q): %w", obj, name, last, err)
	}
	return nil
}

// storeSnapshotStandIn stores an object where etcd-backup-restore stores a full snapshot, with only the data of
// the etcd-backup secret in the shoot's control plane namespace, and returns its key.
func (l *landscape) storeSnapshotStandIn(ctx context.Context) (string, error) {
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: seedNamespace, Name: v1beta1constants.BackupSecretName}
	if err := wait.PollUntilContextTimeout(ctx, time.Second, l.opts.Timeout, true, func(ctx context.Context) (bool, error) {
		err := l.seed.Get(ctx, key, secret)
		return err == nil, client.IgnoreNotFound(err)
	}); err != nil {
		return "", fmt.Errorf("waiting for the etcd-backup secret %s: %w", key, err)
	}
	endpoint, err := url.Parse(string(secret.Data[metal.BackupEndpointKey]))
	if err != nil {
		return "", err
	}
	c, err := minio.New(endpoint.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(string(secret.Data[metal.BackupAccessKeyIDKey]), string(secret.Data[metal.BackupSecretAccessKeyKey]), ""),
		Region:       string(secret.Data[metal.BackupRegionKey]),
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return "", err
	}
	object := fmt.Sprintf("%sv2/Full-%08d-%08d-%d", backupentry.Prefix(backupEntryName), 0, 1, time.Now().Unix())
	content := "stand-in for an etcd-backup-restore full snapshot (etcd-backup-restore is not served here)"
	bucket := string(secret.Data[v1beta1constants.DataKeyBackupBucketName])
	if _, err := c.PutObject(ctx, bucket, object, strings.NewReader(content), int64(len(content)), minio.PutObjectOptions{}); err != nil {
		return "", fmt.Errorf("storing %s in bucket %s with the etcd-backup secret: %w", object, bucket, err)
	}
	return object, nil
}

// deleteBackups deletes the BackupEntry (gardenlet does once the shoot is gone and the grace period passed) and
// the BackupBucket, and checks that no object and no bucket is left.
func (l *landscape) deleteBackups(ctx context.Context) error {
	if l.backups == nil {
		return nil
	}
	for _, obj := range []client.Object{
		&extensionsv1alpha1.BackupEntry{ObjectMeta: metav1.ObjectMeta{Name: backupEntryName}},
		&extensionsv1alpha1.BackupBucket{ObjectMeta: metav1.ObjectMeta{Name: backupBucketName}},
	} {
		if err := l.deleteConfirmed(ctx, obj); err != nil {
			return err
		}
		if err := wait.PollUntilContextTimeout(ctx, time.Second, l.opts.Timeout, true, func(ctx context.Context) (bool, error) {
			err := l.seed.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
		}); err != nil {
			return fmt.Errorf("waiting for %T %s to be deleted: %w", obj, obj.GetName(), err)
		}
		if _, ok := obj.(*extensionsv1alpha1.BackupEntry); ok {
			if n, err := l.backups.countObjects(ctx, backupentry.Prefix(backupEntryName)); err != nil || n > 0 {
				return errors.Join(err, fmt.Errorf("%d objects left under %s after the BackupEntry was deleted", n, backupentry.Prefix(backupEntryName)))
			}
		}
	}
	exists, err := l.backups.admin.BucketExists(ctx, backupBucketName)
	if err != nil {
		return err
	}
	if exists {
		return fmt.Errorf("bucket %s left after the BackupBucket was deleted", backupBucketName)
	}
	l.step("backups: BackupEntry and BackupBucket deleted; no object left, bucket gone")
	return nil
}

// countObjects counts the objects under the prefix of the seed's bucket.
func (b *backups) countObjects(ctx context.Context, prefix string) (int, error) {
	n := 0
	for object := range b.admin.ListObjects(ctx, backupBucketName, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if object.Err != nil {
			return n, object.Err
		}
		n++
	}
	return n, nil
}
