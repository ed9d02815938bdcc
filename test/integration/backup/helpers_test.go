package backup_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/test/utils/seaweedfs"
)

// uniqueName returns a name valid for Kubernetes objects and S3 buckets alike.
func uniqueName(prefix string) string {
	return prefix + "-" + rand.String(8)
}

// secretData is the data of a backup secret for the store's http endpoint with the gardener identity.
func secretData(mutate func(map[string]string)) map[string]string {
	data := map[string]string{
		metal.BackupAccessKeyIDKey:      seaweedfs.GardenerIdentity.AccessKey,
		metal.BackupSecretAccessKeyKey:  seaweedfs.GardenerIdentity.SecretKey,
		metal.BackupRegionKey:           region,
		metal.BackupEndpointKey:         store.HTTPEndpoint,
		metal.BackupS3ForcePathStyleKey: "true",
	}
	if mutate != nil {
		mutate(data)
	}
	return data
}

// createSecret creates a backup secret in the garden namespace.
func createSecret(data map[string]string) *corev1.Secret {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("backup"), Namespace: gardenNamespace}, StringData: data}
	ExpectWithOffset(1, testClient.Create(ctx, secret)).To(Succeed())
	DeferCleanup(func() {
		// The BackupBucket controller's finalizer may still be on it when a test gave up on the bucket.
		forceDelete(secret)
	})
	return secret
}

// secretRef references the secret.
func secretRef(secret *corev1.Secret) corev1.SecretReference {
	return corev1.SecretReference{Name: secret.Name, Namespace: secret.Namespace}
}

// forceDelete deletes obj without waiting for the controller: for objects of tests whose store never works.
func forceDelete(obj client.Object) {
	// The controller may update the object meanwhile: retried on conflicts.
	Eventually(func() error {
		if err := testClient.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return client.IgnoreNotFound(err)
		}
		obj.SetFinalizers(nil)
		if err := testClient.Update(ctx, obj); err != nil {
			return client.IgnoreNotFound(err)
		}
		return client.IgnoreNotFound(testClient.Delete(ctx, obj))
	}).Should(Succeed())
}

// lastOperation returns the object's last operation once it reflects the current generation.
func lastOperation(obj extensionsv1alpha1.Object) func(Gomega) *gardencorev1beta1.LastOperation {
	return func(g Gomega) *gardencorev1beta1.LastOperation {
		g.Expect(testClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		status := obj.GetExtensionStatus()
		g.Expect(status.GetObservedGeneration()).To(Equal(obj.GetGeneration()))
		return status.GetLastOperation()
	}
}

// expectSucceeded waits until the object's last operation succeeded.
func expectSucceeded(obj extensionsv1alpha1.Object) {
	EventuallyWithOffset(1, lastOperation(obj)).Should(And(
		Not(BeNil()),
		HaveField("State", gardencorev1beta1.LastOperationStateSucceeded),
	))
}

// expectLastError waits until the object's last error carries the code, and returns it.
func expectLastError(obj extensionsv1alpha1.Object, code gardencorev1beta1.ErrorCode) *gardencorev1beta1.LastError {
	var lastError *gardencorev1beta1.LastError
	EventuallyWithOffset(1, func(g Gomega) {
		g.Expect(testClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		lastError = obj.GetExtensionStatus().GetLastError()
		g.Expect(lastError).NotTo(BeNil())
		g.Expect(lastError.Codes).To(ContainElement(code), lastError.Description)
	}).Should(Succeed())
	return lastError
}

// expectGone waits until the object is deleted.
func expectGone(obj client.Object) {
	EventuallyWithOffset(1, func() error {
		return testClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	}).WithTimeout(2 * time.Minute).Should(Satisfy(apierrors.IsNotFound))
}

// putObjects uploads n small objects under prefix, 16 at a time.
func putObjects(c *minio.Client, bucket, prefix string, n int) {
	putObjectsWith(Default, c, bucket, prefix, n)
}

// putObjectsWith is putObjects for a Gomega of its own (benchmarks).
func putObjectsWith(g Gomega, c *minio.Client, bucket, prefix string, n int) {
	var (
		wg   sync.WaitGroup
		errs = make(chan error, n)
		sem  = make(chan struct{}, 16)
	)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body := fmt.Sprintf("object %d", i)
			_, err := c.PutObject(ctx, bucket, fmt.Sprintf("%sv2/Incr-%08d", prefix, i), strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		g.Expect(err).NotTo(HaveOccurred())
	}
}

// countObjects counts the objects (with versions: the object versions and delete markers) under prefix.
func countObjects(c *minio.Client, bucket, prefix string, withVersions bool) int {
	n := 0
	for object := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: withVersions}) {
		ExpectWithOffset(1, object.Err).NotTo(HaveOccurred())
		n++
	}
	return n
}

// makeBucket creates a bucket owned by the client's identity.
func makeBucket(c *minio.Client, bucket string) {
	ExpectWithOffset(1, c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region})).To(Succeed())
}

// getObject reads an object.
func getObject(c *minio.Client, bucket, key string) []byte {
	object, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	defer func() { _ = object.Close() }()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(object)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return buf.Bytes()
}
