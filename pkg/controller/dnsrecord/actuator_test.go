package dnsrecord_test

import (
	"context"
	"net"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	genericdnsrecord "github.com/gardener/gardener/extensions/pkg/controller/dnsrecord"
	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	. "github.com/openkcm/gardener-extension-provider-metal/pkg/controller/dnsrecord"
)

// These tests cover what the actuator decides before it talks DNS: the zone it picks, and how invalid input
// and secrets become errors with Gardener error codes. The exchanges with a real server are covered by the
// integration suite in test/integration/dnsrecord.
var _ = Describe("Actuator", func() {
	const tsigSecret = "c2VjcmV0LXZhbHVlLW5vdC10by1iZS1sb2dnZWQ="

	var (
		ctx    = context.Background()
		secret *corev1.Secret
		record *extensionsv1alpha1.DNSRecord
		// closedServer is an address nothing listens on, so that an exchange fails at once with "connection refused".
		closedServer string
	)

	BeforeEach(func() {
		listener, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		closedServer = listener.Addr().String()
		Expect(listener.Close()).To(Succeed())

		secret = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "dns", Namespace: "garden"},
			Data: map[string][]byte{
				"Server":      []byte(closedServer),
				"Zone":        []byte("secret.test."),
				"TSIGKeyName": []byte("tsig-key."),
				"TSIGSecret":  []byte(tsigSecret),
			},
		}
		record = &extensionsv1alpha1.DNSRecord{
			ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "garden"},
			Spec: extensionsv1alpha1.DNSRecordSpec{
				DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: "rfc2136"},
				SecretRef:   corev1.SecretReference{Name: "dns"},
				Name:        "api.example.com",
				RecordType:  extensionsv1alpha1.DNSRecordTypeA,
				Values:      []string{"192.0.2.1"},
			},
		}
	})

	// newActuator returns an actuator whose client holds the secret and the DNSRecord as the test has set them up.
	newActuator := func() genericdnsrecord.Actuator {
		scheme := runtime.NewScheme()
		utilruntime.Must(clientgoscheme.AddToScheme(scheme))
		utilruntime.Must(extensionsv1alpha1.AddToScheme(scheme))
		c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(secret, record).WithStatusSubresource(record).Build()
		return NewActuator(c, time.Second, clock.RealClock{})
	}

	expectCode := func(err error, code gardencorev1beta1.ErrorCode) {
		GinkgoHelper()
		Expect(err).To(HaveOccurred())
		Expect(v1beta1helper.ExtractErrorCodes(err)).To(ConsistOf(code))
		Expect(err.Error()).NotTo(ContainSubstring(tsigSecret))
	}

	Describe("zone", func() {
		It("prefers spec.zone over the secret's zone and status.zone", func() {
			record.Spec.Zone = ptr.To("other.test")
			record.Status.Zone = ptr.To("example.com.")
			err := newActuator().Reconcile(ctx, logr.Discard(), record, nil)
			expectCode(err, gardencorev1beta1.ErrorConfigurationProblem)
			Expect(err.Error()).To(ContainSubstring("api.example.com. is not in zone other.test."))
		})

		It("prefers the secret's zone over status.zone, so that a corrected secret wins", func() {
			record.Status.Zone = ptr.To("example.com.")
			for _, err := range []error{
				newActuator().Reconcile(ctx, logr.Discard(), record, nil),
				newActuator().Delete(ctx, logr.Discard(), record, nil),
			} {
				expectCode(err, gardencorev1beta1.ErrorConfigurationProblem)
				Expect(err.Error()).To(ContainSubstring("api.example.com. is not in zone secret.test."))
			}
		})

		It("takes status.zone when neither the DNSRecord nor the secret names a zone, without asking the server", func() {
			delete(secret.Data, "Zone")
			record.Status.Zone = ptr.To("status.test.")
			err := newActuator().Delete(ctx, logr.Discard(), record, nil)
			expectCode(err, gardencorev1beta1.ErrorConfigurationProblem)
			Expect(err.Error()).To(ContainSubstring("api.example.com. is not in zone status.test."))
		})

		It("takes the secret's zone when the DNSRecord names none", func() {
			err := newActuator().Reconcile(ctx, logr.Discard(), record, nil)
			expectCode(err, gardencorev1beta1.ErrorConfigurationProblem)
			Expect(err.Error()).To(ContainSubstring("api.example.com. is not in zone secret.test."))
		})

		It("asks the server when neither the DNSRecord nor the secret names a zone", func() {
			delete(secret.Data, "Zone")
			err := newActuator().Reconcile(ctx, logr.Discard(), record, nil)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(SatisfyAll(ContainSubstring("could not find the zone of api.example.com."), ContainSubstring(closedServer)))
			Expect(v1beta1helper.ExtractErrorCodes(err)).To(BeEmpty(), "an unreachable server is no configuration problem, and retried")
		})

		It("rejects a spec.zone that is no domain name", func() {
			record.Spec.Zone = ptr.To("a..b")
			expectCode(newActuator().Reconcile(ctx, logr.Discard(), record, nil), gardencorev1beta1.ErrorConfigurationProblem)
		})
	})

	Describe("errors", func() {
		It("reports record values that do not fit the type as a configuration problem", func() {
			record.Spec.Values = []string{"2001:db8::1"}
			err := newActuator().Reconcile(ctx, logr.Discard(), record, nil)
			expectCode(err, gardencorev1beta1.ErrorConfigurationProblem)
			Expect(err.Error()).To(ContainSubstring("not an IPv4 address"))
		})

		It("reports an unsupported record type as a configuration problem, also on delete", func() {
			record.Spec.RecordType = "MX"
			expectCode(newActuator().Reconcile(ctx, logr.Discard(), record, nil), gardencorev1beta1.ErrorConfigurationProblem)
			expectCode(newActuator().Delete(ctx, logr.Discard(), record, nil), gardencorev1beta1.ErrorConfigurationProblem)
		})

		It("reports an invalid secret as a configuration problem naming the secret and the field", func() {
			secret.Data["TSIGSecret"] = []byte(tsigSecret + "%")
			err := newActuator().Reconcile(ctx, logr.Discard(), record, nil)
			expectCode(err, gardencorev1beta1.ErrorConfigurationProblem)
			Expect(err.Error()).To(SatisfyAll(ContainSubstring("garden/dns"), ContainSubstring("secret.data[TSIGSecret]")))
		})

		It("reports a missing secret without an error code, as it may yet appear", func() {
			record.Spec.SecretRef.Name = "missing"
			err := newActuator().Reconcile(ctx, logr.Discard(), record, nil)
			Expect(err).To(MatchError(ContainSubstring("could not read DNS secret garden/missing")))
			Expect(v1beta1helper.ExtractErrorCodes(err)).To(BeEmpty())
		})

		It("names the server when it cannot be reached", func() {
			record.Spec.Zone = ptr.To("example.com")
			err := newActuator().Reconcile(ctx, logr.Discard(), record, nil)
			Expect(err).To(MatchError(SatisfyAll(ContainSubstring(closedServer), ContainSubstring("zone example.com."))))
		})
	})

	It("does nothing on Migrate, so the records stay in DNS", func() {
		Expect(newActuator().Migrate(ctx, logr.Discard(), record, nil)).To(Succeed())
	})
})
