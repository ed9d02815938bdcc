package backup_test

import (
	"net"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/test/utils/seaweedfs"
)

// createBackupBucket creates a BackupBucket of type metal for the secret; its name is the bucket's.
func createBackupBucket(secret *corev1.Secret) *extensionsv1alpha1.BackupBucket {
	bb := &extensionsv1alpha1.BackupBucket{
		ObjectMeta: metav1.ObjectMeta{Name: uniqueName("bucket")},
		Spec: extensionsv1alpha1.BackupBucketSpec{
			DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: metal.Type},
			Region:      region,
			SecretRef:   secretRef(secret),
		},
	}
	ExpectWithOffset(1, testClient.Create(ctx, bb)).To(Succeed())
	return bb
}

var _ = Describe("BackupBucket", func() {
	It("creates the bucket and deletes the bucket with all its objects", func() {
		secret := createSecret(secretData(nil))
		bb := createBackupBucket(secret)
		DeferCleanup(forceDelete, bb)

		expectSucceeded(bb)
		Expect(admin.BucketExists(ctx, bb.Name)).To(BeTrue())
		Expect(testClient.Get(ctx, client.ObjectKeyFromObject(secret), secret)).To(Succeed())
		Expect(secret.Finalizers).To(ContainElement("extensions.gardener.cloud/backupbucket"))

		By("reporting where the bucket is, and nothing of the credentials, in the providerStatus")
		status, err := helper.BackupBucketStatusFromRaw(bb.Status.ProviderStatus)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(&api.BackupBucketStatus{
			TypeMeta:   status.TypeMeta,
			BucketName: bb.Name,
			Region:     region,
			Endpoint:   store.HTTPEndpoint,
		}))
		Expect(string(bb.Status.ProviderStatus.Raw)).NotTo(ContainSubstring(seaweedfs.GardenerIdentity.SecretKey))

		By("deleting the BackupBucket with objects in the bucket")
		putObjects(admin, bb.Name, "shoot--dev--a--uid/", 1200)
		Expect(testClient.Delete(ctx, bb)).To(Succeed())
		expectGone(bb)
		Expect(admin.BucketExists(ctx, bb.Name)).To(BeFalse())
		Expect(testClient.Get(ctx, client.ObjectKeyFromObject(secret), secret)).To(Succeed())
		Expect(secret.Finalizers).NotTo(ContainElement("extensions.gardener.cloud/backupbucket"))
	})

	It("does not adopt a bucket owned by someone else and leaves it alone on deletion", func() {
		secret := createSecret(secretData(nil))
		name := uniqueName("foreign")
		makeBucket(other, name)
		putObjects(other, name, "their/", 3)

		bb := &extensionsv1alpha1.BackupBucket{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: extensionsv1alpha1.BackupBucketSpec{
				DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: metal.Type},
				Region:      region,
				SecretRef:   secretRef(secret),
			},
		}
		Expect(testClient.Create(ctx, bb)).To(Succeed())
		DeferCleanup(forceDelete, bb)

		lastError := expectLastError(bb, gardencorev1beta1.ErrorConfigurationProblem)
		Expect(lastError.Description).To(ContainSubstring("owned by someone else"))

		Expect(testClient.Delete(ctx, bb)).To(Succeed())
		expectGone(bb)
		Expect(countObjects(other, name, "", false)).To(Equal(3))
	})

	DescribeTable("reports why the store cannot be used, with the fitting error code and no secret value",
		func(mutate func(map[string]string), code gardencorev1beta1.ErrorCode, description string) {
			data := secretData(mutate)
			secret := createSecret(data)
			bb := createBackupBucket(secret)
			DeferCleanup(forceDelete, bb)

			lastError := expectLastError(bb, code)
			Expect(lastError.Description).To(ContainSubstring(description))
			Expect(lastError.Description).NotTo(ContainSubstring(data[metal.BackupSecretAccessKeyKey]))
			Expect(admin.BucketExists(ctx, bb.Name)).To(BeFalse())
		},
		Entry("wrong secret access key", func(data map[string]string) {
			data[metal.BackupSecretAccessKeyKey] = "wrong-secret-access-key-0123456789"
		}, gardencorev1beta1.ErrorInfraUnauthenticated, "rejected the credentials"),
		Entry("unknown access key", func(data map[string]string) {
			data[metal.BackupAccessKeyIDKey] = "AKIAUNKNOWN000000001"
		}, gardencorev1beta1.ErrorInfraUnauthenticated, "rejected the credentials"),
		Entry("unreachable endpoint", func(data map[string]string) {
			data[metal.BackupEndpointKey] = "http://" + closedAddress()
		}, gardencorev1beta1.ErrorRetryableInfraDependencies, "unreachable"),
		Entry("invalid secret", func(data map[string]string) {
			data[metal.BackupSecretAccessKeyKey] = "has whitespace\n"
			data[metal.BackupS3ForcePathStyleKey] = "yes"
		}, gardencorev1beta1.ErrorConfigurationProblem, "data[secretAccessKey]: Invalid value"),
		Entry("https endpoint with a CA that did not sign its certificate", func(data map[string]string) {
			data[metal.BackupEndpointKey] = store.HTTPSEndpoint
			data[metal.BackupTrustedCACertKey] = string(seaweedfs.NewCACert(Default))
		}, gardencorev1beta1.ErrorConfigurationProblem, "certificate"),
		Entry("https endpoint verified with the system CAs", func(data map[string]string) {
			data[metal.BackupEndpointKey] = store.HTTPSEndpoint
		}, gardencorev1beta1.ErrorConfigurationProblem, "certificate"),
	)

	DescribeTable("works over TLS",
		func(mutate func(map[string]string)) {
			secret := createSecret(secretData(func(data map[string]string) {
				data[metal.BackupEndpointKey] = store.HTTPSEndpoint
				mutate(data)
			}))
			bb := createBackupBucket(secret)
			DeferCleanup(forceDelete, bb)

			expectSucceeded(bb)
			Expect(admin.BucketExists(ctx, bb.Name)).To(BeTrue())
			Expect(testClient.Delete(ctx, bb)).To(Succeed())
			expectGone(bb)
			Expect(admin.BucketExists(ctx, bb.Name)).To(BeFalse())
		},
		Entry("with the custom CA in trustedCaCert", func(data map[string]string) {
			data[metal.BackupTrustedCACertKey] = string(store.CACert)
		}),
		Entry("with insecureSkipVerify", func(data map[string]string) {
			data[metal.BackupInsecureSkipVerifyKey] = "true"
		}),
	)
})

// closedAddress returns a loopback address nothing listens on.
func closedAddress() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := l.Addr().String()
	Expect(l.Close()).To(Succeed())
	return addr
}
