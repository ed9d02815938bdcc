package dnsrecord_test

import (
	"testing"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/dnsrecord"
)

// BenchmarkNoOpReconcile measures the reconciliation of an unchanged DNSRecord against BIND: reading the secret
// (from a fake client, as the manager's cache would serve it), one TSIG-signed query over TCP and the
// comparison. It fails if any of the reconciliations sends an UPDATE. Run it alone with
//
//	go test -run '^$' -bench NoOpReconcile ./test/integration/dnsrecord/
func BenchmarkNoOpReconcile(b *testing.B) {
	g := NewWithT(b)
	server := startBIND(g, func(f func()) { b.Cleanup(f) })

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(extensionsv1alpha1.AddToScheme(scheme))
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: namespace},
		Data: map[string][]byte{
			"Server":      []byte(server.addr),
			"TSIGKeyName": []byte(tsigKeyName),
			"TSIGSecret":  []byte(server.secret),
		},
	}
	record := newDNSRecord("bench.example.com", extensionsv1alpha1.DNSRecordTypeA, secretName, "192.0.2.1", "192.0.2.2")
	record.Name = "bench"
	// The zone found before, as after the first reconciliation, so that every round is the steady state.
	record.Status.Zone = ptr.To(zone)
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(secret, record).WithStatusSubresource(record).Build()
	actuator := dnsrecord.NewActuator(c, dnsTimeout, clock.RealClock{})
	g.Expect(actuator.Reconcile(ctx, logr.Discard(), record, nil)).To(Succeed())
	updates := server.updateRequests()

	for b.Loop() {
		if err := actuator.Reconcile(ctx, logr.Discard(), record, nil); err != nil {
			b.Fatal(err)
		}
	}

	sent := server.updateRequests() - updates
	b.ReportMetric(float64(sent)/float64(b.N), "updates/op")
	g.Expect(sent).To(BeZero(), "an unchanged DNSRecord must not cause an UPDATE")
}
