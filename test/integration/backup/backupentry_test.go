package backup_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/backup/s3"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/backupentry"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/test/utils/seaweedfs"
)

// createShootNamespace creates the control plane namespace of a shoot, where the etcd-backup secret goes.
func createShootNamespace() string {
	name := "shoot--dev--" + rand.String(6)
	ExpectWithOffset(1, testClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	return name
}

// createBackupEntry creates a BackupEntry of type metal named as Gardener names it: <shoot namespace>--<uid>.
func createBackupEntry(shootNamespace, bucket string, secret *corev1.Secret) *extensionsv1alpha1.BackupEntry {
	be := &extensionsv1alpha1.BackupEntry{
		ObjectMeta: metav1.ObjectMeta{Name: shootNamespace + "--" + uuidLike()},
		Spec: extensionsv1alpha1.BackupEntrySpec{
			DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: metal.Type},
			Region:      region,
			BucketName:  bucket,
			SecretRef:   secretRef(secret),
		},
	}
	ExpectWithOffset(1, testClient.Create(ctx, be)).To(Succeed())
	return be
}

// uuidLike returns a random UID in the form Kubernetes gives them.
func uuidLike() string {
	return fmt.Sprintf("%s-%s-%s-%s-%s", rand.String(8), rand.String(4), rand.String(4), rand.String(4), rand.String(12))
}

// etcdBackupSecret returns the etcd-backup secret the controller wrote into the shoot namespace.
func etcdBackupSecret(shootNamespace string) func(Gomega) *corev1.Secret {
	return func(g Gomega) *corev1.Secret {
		secret := &corev1.Secret{}
		g.Expect(testClient.Get(ctx, client.ObjectKey{Namespace: shootNamespace, Name: v1beta1constants.BackupSecretName}, secret)).To(Succeed())
		return secret
	}
}

var _ = Describe("BackupEntry", func() {
	var (
		bucket         string
		secret         *corev1.Secret
		shootNamespace string
	)

	BeforeEach(func() {
		bucket = uniqueName("entries")
		makeBucket(admin, bucket)
		DeferCleanup(func() { Expect(newS3Client(secretData(nil)).DeleteBucket(ctx, bucket, nil)).To(BeTrue()) })
		secret = createSecret(secretData(func(data map[string]string) { delete(data, metal.BackupRegionKey) }))
		shootNamespace = createShootNamespace()
	})

	It("writes the etcd-backup secret and deletes every object under the entry's prefix, and no other", func() {
		be := createBackupEntry(shootNamespace, bucket, secret)
		DeferCleanup(forceDelete, be)
		expectSucceeded(be)

		etcdSecret := etcdBackupSecret(shootNamespace)(Default)
		Expect(etcdSecret.Data).To(Equal(map[string][]byte{
			metal.BackupAccessKeyIDKey:               []byte(seaweedfs.GardenerIdentity.AccessKey),
			metal.BackupSecretAccessKeyKey:           []byte(seaweedfs.GardenerIdentity.SecretKey),
			metal.BackupEndpointKey:                  []byte(store.HTTPEndpoint),
			metal.BackupS3ForcePathStyleKey:          []byte("true"),
			metal.BackupRegionKey:                    []byte(region),
			v1beta1constants.DataKeyBackupBucketName: []byte(bucket),
		}))

		By("storing thousands of objects under the entry's prefix and some under a neighbour's")
		const total = 3000
		prefix := backupentry.Prefix(be.Name)
		neighbour := be.Name + "x/"
		putObjects(admin, bucket, prefix, total)
		putObjects(admin, bucket, neighbour, 20)
		Expect(countObjects(admin, bucket, prefix, false)).To(Equal(total))

		Expect(testClient.Delete(ctx, be)).To(Succeed())
		expectGone(be)
		Expect(countObjects(admin, bucket, prefix, false)).To(BeZero())
		Expect(countObjects(admin, bucket, neighbour, false)).To(Equal(20))
		Eventually(func() error {
			return testClient.Get(ctx, client.ObjectKey{Namespace: shootNamespace, Name: v1beta1constants.BackupSecretName}, &corev1.Secret{})
		}).Should(MatchError(ContainSubstring("not found")))
	})

	It("stores an etcd snapshot with the generated secret data and reads it back byte-identical", func() {
		be := createBackupEntry(shootNamespace, bucket, secret)
		DeferCleanup(forceDelete, be)
		expectSucceeded(be)

		By("taking a snapshot of the envtest etcd")
		etcd, err := clientv3.New(clientv3.Config{Endpoints: []string{testEnv.ControlPlane.Etcd.URL.String()}, DialTimeout: 10 * time.Second})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(etcd.Close)
		status, err := etcd.Status(ctx, testEnv.ControlPlane.Etcd.URL.String())
		Expect(err).NotTo(HaveOccurred())
		reader, err := etcd.Snapshot(ctx)
		Expect(err).NotTo(HaveOccurred())
		var snapshot bytes.Buffer
		_, err = snapshot.ReadFrom(reader)
		Expect(err).NotTo(HaveOccurred())
		Expect(reader.Close()).To(Succeed())
		Expect(snapshot.Len()).To(BeNumerically(">", 0))

		By("storing it as etcd-backup-restore would, with nothing but the etcd-backup secret")
		etcdSecret := etcdBackupSecret(shootNamespace)(Default)
		cfg, err := s3.ConfigFromSecret(etcdSecret, "")
		Expect(err).NotTo(HaveOccurred())
		snapClient, err := minio.New(cfg.Endpoint.Host, &minio.Options{
			Creds:        credentialsOf(cfg),
			Region:       cfg.Region,
			BucketLookup: minio.BucketLookupPath,
		})
		Expect(err).NotTo(HaveOccurred())
		snapBucket := string(etcdSecret.Data[v1beta1constants.DataKeyBackupBucketName])
		// etcd-backup-restore's key: <prefix>/v2/Full-<start revision>-<last revision>-<unix time>.
		key := fmt.Sprintf("%sv2/Full-%08d-%08d-%d", backupentry.Prefix(be.Name), 0, status.Header.Revision, time.Now().Unix())
		_, err = snapClient.PutObject(ctx, snapBucket, key, bytes.NewReader(snapshot.Bytes()), int64(snapshot.Len()), minio.PutObjectOptions{})
		Expect(err).NotTo(HaveOccurred())

		Expect(getObject(snapClient, snapBucket, key)).To(Equal(snapshot.Bytes()))

		By("deleting the entry")
		Expect(testClient.Delete(ctx, be)).To(Succeed())
		expectGone(be)
		Expect(countObjects(admin, bucket, backupentry.Prefix(be.Name), false)).To(BeZero())
	})

	It("keeps the objects while the credentials are rejected and deletes them once they are fixed", func() {
		be := createBackupEntry(shootNamespace, bucket, secret)
		DeferCleanup(forceDelete, be)
		expectSucceeded(be)
		prefix := backupentry.Prefix(be.Name)
		putObjects(admin, bucket, prefix, 50)

		By("breaking the credentials and deleting the entry")
		patch := client.MergeFrom(secret.DeepCopy())
		secret.Data[metal.BackupSecretAccessKeyKey] = []byte("wrong-secret-access-key-0123456789")
		Expect(testClient.Patch(ctx, secret, patch)).To(Succeed())
		Expect(testClient.Delete(ctx, be)).To(Succeed())
		lastError := expectLastError(be, "ERR_INFRA_UNAUTHENTICATED")
		Expect(lastError.Description).NotTo(ContainSubstring("wrong-secret-access-key"))
		Expect(countObjects(admin, bucket, prefix, false)).To(Equal(50))

		By("fixing them")
		patch = client.MergeFrom(secret.DeepCopy())
		secret.Data[metal.BackupSecretAccessKeyKey] = []byte(seaweedfs.GardenerIdentity.SecretKey)
		Expect(testClient.Patch(ctx, secret, patch)).To(Succeed())
		expectGone(be)
		Expect(countObjects(admin, bucket, prefix, false)).To(BeZero())
	})
})
