package backup_test

import (
	"context"

	"github.com/minio/minio-go/v7/pkg/credentials"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/backup/s3"
)

// newS3Client returns the controllers' S3 client for the backup secret data, with the suite's options.
func newS3Client(data map[string]string) *s3.Client {
	return newS3ClientWith(Default, data, s3Options)
}

// newS3ClientWith returns the controllers' S3 client for the backup secret data and options.
func newS3ClientWith(g Gomega, data map[string]string, opts s3.Options) *s3.Client {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: gardenNamespace}, Data: map[string][]byte{}}
	for k, v := range data {
		secret.Data[k] = []byte(v)
	}
	cfg, err := s3.ConfigFromSecret(secret, region)
	g.Expect(err).NotTo(HaveOccurred())
	c, err := s3.NewClient(cfg, opts)
	g.Expect(err).NotTo(HaveOccurred())
	return c
}

var _ = Describe("S3 client", func() {
	var c *s3.Client

	BeforeEach(func() {
		c = newS3Client(secretData(nil))
	})

	It("creates a bucket once and then finds it owned", func() {
		bucket := uniqueName("ensure")
		Expect(c.BucketExists(ctx, bucket)).To(BeFalse())
		Expect(c.EnsureBucket(ctx, bucket)).To(BeTrue())
		Expect(c.EnsureBucket(ctx, bucket)).To(BeFalse())
		Expect(c.BucketExists(ctx, bucket)).To(BeTrue())
		Expect(c.DeleteBucket(ctx, bucket, nil)).To(BeTrue())
		Expect(c.BucketExists(ctx, bucket)).To(BeFalse())
		By("deleting a bucket that is gone already")
		Expect(c.DeleteBucket(ctx, bucket, nil)).To(BeTrue())
	})

	It("continues an interrupted deletion where it stopped", func() {
		bucket := uniqueName("resume")
		makeBucket(admin, bucket)
		DeferCleanup(func() { Expect(c.DeleteBucket(ctx, bucket, nil)).To(BeTrue()) })
		const total = 2000
		prefix := "shoot--dev--resume--uid/"
		putObjects(admin, bucket, prefix, total)

		By("crashing after the first batch")
		crashCtx, crash := context.WithCancel(ctx)
		deleted, err := c.DeleteObjects(crashCtx, bucket, prefix, func(int) { crash() })
		Expect(err).To(MatchError(context.Canceled))
		Expect(deleted).To(Equal(s3Options.BatchSize))
		Expect(countObjects(admin, bucket, prefix, false)).To(Equal(total - s3Options.BatchSize))

		By("deleting again")
		deleted, err = c.DeleteObjects(ctx, bucket, prefix, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(deleted).To(Equal(total - s3Options.BatchSize))
		Expect(countObjects(admin, bucket, prefix, false)).To(BeZero())
	})

	It("deletes every version in a versioned bucket", func() {
		bucket := uniqueName("versioned")
		makeBucket(admin, bucket)
		DeferCleanup(func() { Expect(c.DeleteBucket(ctx, bucket, nil)).To(BeTrue()) })
		Expect(admin.EnableVersioning(ctx, bucket)).To(Succeed())
		prefix := "shoot--dev--versioned--uid/"
		putObjects(admin, bucket, prefix, 300)
		putObjects(admin, bucket, prefix, 300)
		Expect(countObjects(admin, bucket, prefix, true)).To(Equal(600))

		Expect(c.DeleteObjects(ctx, bucket, prefix, nil)).To(Equal(600))
		Expect(countObjects(admin, bucket, prefix, true)).To(BeZero())
	})
})

// credentialsOf returns the static credentials of cfg.
func credentialsOf(cfg s3.Config) *credentials.Credentials {
	return credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, "")
}
