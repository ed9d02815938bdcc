package backup_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/backup/s3"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/backupbucket"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/backupentry"
	"github.com/openkcm/gardener-extension-provider-metal/test/utils/seaweedfs"
)

func TestBackup(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Backup Integration Suite")
}

const (
	// gardenNamespace holds the backup secrets, as in a seed.
	gardenNamespace = "garden"
	// region is the region of the BackupBuckets and BackupEntries.
	region = "us-east-1"
)

// s3Options keep failing tests short: few retries, short timeouts; a small batch makes deletions take many rounds.
var s3Options = s3.Options{RequestTimeout: 5 * time.Second, MaxRetries: 2, BatchSize: 500}

var (
	ctx        = context.Background()
	testClient client.Client
	testEnv    *envtest.Environment
	store      *seaweedfs.Server
	// admin is an S3 client of the backup secrets' identity, for setting up and checking the store.
	admin *minio.Client
	// other is an S3 client of a second identity, the owner of buckets the controller must not adopt.
	other *minio.Client
)

var _ = BeforeSuite(func() {
	// The suite must not pass by testing nothing: without its binaries it fails and says how to get them.
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(),
		"KUBEBUILDER_ASSETS is not set: run the suite with KUBEBUILDER_ASSETS=$(hack/envtest.sh) (or via hack/test.sh)")
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(time.Minute)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)

	By("Starting SeaweedFS")
	store = seaweedfs.Start(Default, func(f func()) { DeferCleanup(f) })
	admin = newMinioClient(store.HTTPEndpoint, seaweedfs.GardenerIdentity)
	other = newMinioClient(store.HTTPEndpoint, seaweedfs.OtherIdentity)

	By("Starting kube-apiserver and etcd with the Gardener extension CRDs")
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "..", "example", "crds", "gardener")},
		ErrorIfCRDPathMissing: true,
	}
	restConfig, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		By("Stopping the test environment")
		Expect(testEnv.Stop()).To(Succeed())
	})

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(extensionsv1alpha1.AddToScheme(scheme))
	testClient, err = client.New(restConfig, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(testClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: gardenNamespace}})).To(Succeed())

	By("Starting the manager with the BackupBucket and BackupEntry controllers")
	mgr, err := manager.New(restConfig, manager.Options{
		Scheme:     scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(backupbucket.AddToManagerWithOptions(ctx, mgr, backupbucket.AddOptions{IgnoreOperationAnnotation: true, S3: s3Options})).To(Succeed())
	Expect(backupentry.AddToManagerWithOptions(ctx, mgr, backupentry.AddOptions{IgnoreOperationAnnotation: true, S3: s3Options})).To(Succeed())

	mgrCtx, cancel := context.WithCancel(ctx)
	DeferCleanup(cancel)
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
})

// newMinioClient returns a plain S3 client of the store for the test's own requests.
func newMinioClient(endpoint string, id seaweedfs.Identity) *minio.Client {
	return newMinioClientWith(Default, endpoint, id)
}

// newMinioClientWith is newMinioClient for a Gomega of its own (benchmarks).
func newMinioClientWith(g Gomega, endpoint string, id seaweedfs.Identity) *minio.Client {
	u, err := url.Parse(endpoint)
	g.Expect(err).NotTo(HaveOccurred())
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(id.AccessKey, id.SecretKey, ""),
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
	})
	g.Expect(err).NotTo(HaveOccurred())
	return c
}
