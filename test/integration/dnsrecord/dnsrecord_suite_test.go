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
	// secretName is the purpose of the DNS secret with the right TSIG key and the zone (see dnsServer.secretName).
	secretName = "dns"
	// secretWithoutZone is the DNS secret with the right TSIG key and no zone, so the controller discovers it.
	secretWithoutZone = "dns-without-zone"
	// secretWrongKey is the DNS secret with a TSIG secret the server does not know.
	secretWrongKey = "dns-wrong-key"
	// secretUnknownKey is the DNS secret with a TSIG key name the server does not know.
	secretUnknownKey = "dns-unknown-key"
	// secretBadAlgorithm is a DNS secret naming an unsupported TSIG algorithm.
	secretBadAlgorithm = "dns-bad-algorithm"
	// secretNotServed is the DNS secret whose Zone the server does not serve.
	secretNotServed = "dns-not-served"
	// secretZoneFix is the DNS secret whose Zone a test corrects.
	secretZoneFix = "dns-zone-fix"
	// notServedZone is a zone none of the servers serves.
	notServedZone = "not-served.test."
	// wrongTSIGSecret is the TSIG secret the servers do not know; it must not show up in any status.
	wrongTSIGSecret = "d3Jvbmctc2VjcmV0LXZhbHVlLWZvci10ZXN0cw=="
	// dnsTimeout bounds each DNS exchange of the controller under test.
	dnsTimeout = 3 * time.Second
)

// serverKinds are the RFC 2136 implementations every spec runs against; BeforeSuite starts one server of each.
var serverKinds = []string{"BIND", "Knot", "PowerDNS"}

var (
	ctx        = context.Background()
	testClient client.Client
	// servers are the running servers by kind.
	servers = map[string]*dnsServer{}
)

var _ = BeforeSuite(func() {
	// The suite must not pass by testing nothing: without the envtest binaries or the DNS servers it fails and
	// says how to get them.
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(),
		"KUBEBUILDER_ASSETS is not set: run the suite with KUBEBUILDER_ASSETS=$(hack/envtest.sh) (or via hack/test.sh)")
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))

	By("Starting BIND 9, Knot DNS and PowerDNS")
	cleanup := func(f func()) { DeferCleanup(f) }
	servers["BIND"] = startBIND(Default, cleanup)
	servers["Knot"] = startKnot(Default, cleanup)
	servers["PowerDNS"] = startPowerDNS(Default, cleanup)

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

	By("Creating the namespace and the DNS secrets of each server")
	Expect(testClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
	for _, server := range servers {
		for purpose, data := range secretsOf(server) {
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: server.secretName(purpose), Namespace: namespace}, StringData: data}
			Expect(testClient.Create(ctx, secret)).To(Succeed())
		}
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

// secretsOf returns the data of the DNS secrets for server by purpose.
func secretsOf(server *dnsServer) map[string]map[string]string {
	secretData := func(mutate func(map[string]string)) map[string]string {
		data := map[string]string{
			"Server":              server.addr,
			"Zone":                zone,
			"TSIGKeyName":         tsigKeyName,
			"TSIGSecret":          server.secret,
			"TSIGSecretAlgorithm": "hmac-sha256",
		}
		mutate(data)
		return data
	}
	return map[string]map[string]string{
		secretName:         secretData(func(map[string]string) {}),
		secretWithoutZone:  secretData(func(data map[string]string) { delete(data, "Zone") }),
		secretWrongKey:     secretData(func(data map[string]string) { data["TSIGSecret"] = wrongTSIGSecret }),
		secretUnknownKey:   secretData(func(data map[string]string) { data["TSIGKeyName"] = "unknown-key." }),
		secretBadAlgorithm: secretData(func(data map[string]string) { data["TSIGSecretAlgorithm"] = "hmac-md5" }),
		secretNotServed:    secretData(func(data map[string]string) { data["Zone"] = notServedZone }),
		secretZoneFix:      secretData(func(map[string]string) {}),
	}
}
