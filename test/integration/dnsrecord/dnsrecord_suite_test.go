package dnsrecord_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

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

	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/dnsrecord"
)

func TestDNSRecord(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "DNSRecord Controller Integration Suite")
}

const (
	// namespace holds the test's secrets and DNSRecords; it is no shoot namespace, like the garden's DNSRecords.
	namespace = "garden"
	// secretName is the DNS secret with the right TSIG key and the zone.
	secretName = "dns"
	// secretWithoutZone is the DNS secret with the right TSIG key and no zone, so the controller discovers it.
	secretWithoutZone = "dns-without-zone"
	// secretWrongKey is the DNS secret with a TSIG secret BIND does not know.
	secretWrongKey = "dns-wrong-key"
	// secretBadAlgorithm is a DNS secret naming an unsupported TSIG algorithm.
	secretBadAlgorithm = "dns-bad-algorithm"
	// wrongTSIGSecret is the TSIG secret BIND does not know; it must not show up in any status.
	wrongTSIGSecret = "d3Jvbmctc2VjcmV0LXZhbHVlLWZvci10ZXN0cw=="
	// dnsTimeout bounds each DNS exchange of the controller under test.
	dnsTimeout = 3 * time.Second
)

var (
	ctx        = context.Background()
	testClient client.Client
	bind       *bindServer
)

var _ = BeforeSuite(func() {
	// The suite must not pass by testing nothing: without the envtest binaries or BIND it fails and says how to
	// get them.
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(),
		"KUBEBUILDER_ASSETS is not set: run the suite with KUBEBUILDER_ASSETS=$(hack/envtest.sh) (or via hack/test.sh)")
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))

	By("Starting BIND 9")
	bind = startBIND(Default, func(f func()) { DeferCleanup(f) })

	By("Starting kube-apiserver and etcd with the Gardener extension CRDs")
	testEnv := &envtest.Environment{
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

	By("Creating the namespace and the DNS secrets")
	Expect(testClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
	secretData := func(mutate func(map[string]string)) map[string]string {
		data := map[string]string{
			"Server":              bind.addr,
			"Zone":                zone,
			"TSIGKeyName":         tsigKeyName,
			"TSIGSecret":          bind.secret,
			"TSIGSecretAlgorithm": "hmac-sha256",
		}
		mutate(data)
		return data
	}
	for name, data := range map[string]map[string]string{
		secretName:         secretData(func(map[string]string) {}),
		secretWithoutZone:  secretData(func(data map[string]string) { delete(data, "Zone") }),
		secretWrongKey:     secretData(func(data map[string]string) { data["TSIGSecret"] = wrongTSIGSecret }),
		secretBadAlgorithm: secretData(func(data map[string]string) { data["TSIGSecretAlgorithm"] = "hmac-md5" }),
	} {
		Expect(testClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, StringData: data})).To(Succeed())
	}

	By("Starting the manager with the DNSRecord controller")
	mgr, err := manager.New(restConfig, manager.Options{
		Scheme:     scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(dnsrecord.AddToManagerWithOptions(ctx, mgr, dnsrecord.AddOptions{DNSTimeout: dnsTimeout})).To(Succeed())

	mgrCtx, cancel := context.WithCancel(ctx)
	DeferCleanup(cancel)
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
})
