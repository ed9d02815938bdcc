package dnsrecord_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/miekg/dns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	genericdnsrecord "github.com/gardener/gardener/extensions/pkg/controller/dnsrecord"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/dnsrecord"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/dns/rfc2136"
)

// newDNSRecord returns a DNSRecord of type rfc2136 with the reconcile annotation gardenlet sets.
func newDNSRecord(name string, recordType extensionsv1alpha1.DNSRecordType, secret string, values ...string) *extensionsv1alpha1.DNSRecord {
	return &extensionsv1alpha1.DNSRecord{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "record-",
			Namespace:    namespace,
			Annotations:  map[string]string{v1beta1constants.GardenerOperation: v1beta1constants.GardenerOperationReconcile},
		},
		Spec: extensionsv1alpha1.DNSRecordSpec{
			DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: "rfc2136"},
			SecretRef:   corev1.SecretReference{Name: secret, Namespace: namespace},
			Name:        name,
			RecordType:  recordType,
			Values:      values,
		},
	}
}

// create creates the DNSRecord and deletes it (and waits until it is gone) when the test ends.
func create(record *extensionsv1alpha1.DNSRecord) {
	GinkgoHelper()
	Expect(testClient.Create(ctx, record)).To(Succeed())
	DeferCleanup(func() { deleteAndWait(record) })
}

// deleteAndWait deletes the DNSRecord and waits until the controller has removed its finalizer.
func deleteAndWait(record *extensionsv1alpha1.DNSRecord) {
	GinkgoHelper()
	Expect(client.IgnoreNotFound(testClient.Delete(ctx, record))).To(Succeed())
	Eventually(func() error {
		return testClient.Get(ctx, client.ObjectKeyFromObject(record), &extensionsv1alpha1.DNSRecord{})
	}).WithTimeout(30 * time.Second).Should(Satisfy(apierrors.IsNotFound))
}

// waitForState waits until the controller has handled the DNSRecord's current generation and its last
// operation is in the given state; it returns the DNSRecord as it is then.
func waitForState(record *extensionsv1alpha1.DNSRecord, state gardencorev1beta1.LastOperationState) *extensionsv1alpha1.DNSRecord {
	GinkgoHelper()
	current := &extensionsv1alpha1.DNSRecord{}
	Eventually(func(g Gomega) {
		g.Expect(testClient.Get(ctx, client.ObjectKeyFromObject(record), current)).To(Succeed())
		g.Expect(current.Annotations).NotTo(HaveKey(v1beta1constants.GardenerOperation))
		g.Expect(current.Status.ObservedGeneration).To(Equal(current.Generation))
		g.Expect(current.Status.LastOperation).NotTo(BeNil())
		g.Expect(current.Status.LastOperation.State).To(Equal(state), func() string {
			if current.Status.LastError != nil {
				return current.Status.LastError.Description
			}
			return current.Status.LastOperation.Description
		})
	}).WithTimeout(30 * time.Second).Should(Succeed())
	return current
}

// waitForError waits until the DNSRecord's last error has the given code and returns the error.
func waitForError(record *extensionsv1alpha1.DNSRecord, code gardencorev1beta1.ErrorCode) *gardencorev1beta1.LastError {
	GinkgoHelper()
	current := &extensionsv1alpha1.DNSRecord{}
	Eventually(func(g Gomega) {
		g.Expect(testClient.Get(ctx, client.ObjectKeyFromObject(record), current)).To(Succeed())
		g.Expect(current.Status.LastError).NotTo(BeNil())
		g.Expect(current.Status.LastError.Codes).To(ContainElement(code), current.Status.LastError.Description)
	}).WithTimeout(30 * time.Second).Should(Succeed())
	return current.Status.LastError
}

// update changes the DNSRecord's spec and asks for a reconciliation, as gardenlet does.
func update(record *extensionsv1alpha1.DNSRecord, mutate func(*extensionsv1alpha1.DNSRecord)) {
	GinkgoHelper()
	Expect(testClient.Get(ctx, client.ObjectKeyFromObject(record), record)).To(Succeed())
	patch := client.MergeFrom(record.DeepCopy())
	mutate(record)
	metav1.SetMetaDataAnnotation(&record.ObjectMeta, v1beta1constants.GardenerOperation, v1beta1constants.GardenerOperationReconcile)
	Expect(testClient.Patch(ctx, record, patch)).To(Succeed())
}

var _ = Describe("DNSRecord controller against BIND", func() {
	DescribeTable("creates, updates and deletes records",
		func(recordType extensionsv1alpha1.DNSRecordType, rrtype uint16, values, expected, newValues, newExpected []string) {
			name := fmt.Sprintf("%s.crud.example.com", strings.ToLower(string(recordType)))
			record := newDNSRecord(name, recordType, secretName, values...)
			record.Spec.TTL = ptr.To[int64](300)
			create(record)

			By("creating the record set")
			current := waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
			Expect(bind.records(name, rrtype)).To(ConsistOf(expected))
			Expect(bind.ttl(name, rrtype)).To(BeEquivalentTo(300))
			Expect(current.Status.Zone).To(Equal(ptr.To(zone)))

			By("replacing the values and the TTL")
			update(record, func(r *extensionsv1alpha1.DNSRecord) {
				r.Spec.Values = newValues
				r.Spec.TTL = nil
			})
			waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
			Expect(bind.records(name, rrtype)).To(ConsistOf(newExpected))
			Expect(bind.ttl(name, rrtype)).To(BeEquivalentTo(120), "Gardener's default TTL")

			By("deleting the record set")
			deleteAndWait(record)
			answer, err := bind.query(name, rrtype)
			Expect(err).NotTo(HaveOccurred())
			Expect(answer.Rcode).To(Equal(dns.RcodeNameError), "the name is gone")
		},
		Entry("A", extensionsv1alpha1.DNSRecordTypeA, dns.TypeA,
			[]string{"192.0.2.1", "192.0.2.2"}, []string{"192.0.2.1", "192.0.2.2"},
			[]string{"192.0.2.3"}, []string{"192.0.2.3"}),
		Entry("AAAA", extensionsv1alpha1.DNSRecordTypeAAAA, dns.TypeAAAA,
			[]string{"2001:db8::1"}, []string{"2001:db8::1"},
			[]string{"2001:db8::2", "2001:DB8::3"}, []string{"2001:db8::2", "2001:db8::3"}),
		Entry("CNAME", extensionsv1alpha1.DNSRecordTypeCNAME, dns.TypeCNAME,
			[]string{"target.example.org"}, []string{"target.example.org."},
			[]string{"other.example.org."}, []string{"other.example.org."}),
		Entry("TXT", extensionsv1alpha1.DNSRecordTypeTXT, dns.TypeTXT,
			[]string{"hello world", `say "hi"`}, []string{`"hello world"`, `"say \"hi\""`},
			[]string{strings.Repeat("x", 300)}, []string{`"` + strings.Repeat("x", 255) + `" "` + strings.Repeat("x", 45) + `"`}),
	)

	It("manages a wildcard record exactly, leaving other names and types alone", func() {
		wildcard := newDNSRecord("*.ingress.example.com", extensionsv1alpha1.DNSRecordTypeA, secretName, "192.0.2.10")
		create(wildcard)
		exact := newDNSRecord("api.ingress.example.com", extensionsv1alpha1.DNSRecordTypeA, secretName, "192.0.2.20")
		create(exact)
		txt := newDNSRecord("*.ingress.example.com", extensionsv1alpha1.DNSRecordTypeTXT, secretName, "owner=test")
		create(txt)
		waitForState(wildcard, gardencorev1beta1.LastOperationStateSucceeded)
		waitForState(exact, gardencorev1beta1.LastOperationStateSucceeded)
		waitForState(txt, gardencorev1beta1.LastOperationStateSucceeded)

		Expect(bind.records("*.ingress.example.com", dns.TypeA)).To(ConsistOf("192.0.2.10"))
		Expect(bind.records("foo.ingress.example.com", dns.TypeA)).To(ConsistOf("192.0.2.10"), "the wildcard answers for other names")
		Expect(bind.records("api.ingress.example.com", dns.TypeA)).To(ConsistOf("192.0.2.20"))

		deleteAndWait(wildcard)
		Expect(bind.records("*.ingress.example.com", dns.TypeA)).To(BeEmpty())
		Expect(bind.records("foo.ingress.example.com", dns.TypeA)).To(BeEmpty())
		Expect(bind.records("*.ingress.example.com", dns.TypeTXT)).To(ConsistOf(`"owner=test"`), "the other type at the name stays")
		Expect(bind.records("api.ingress.example.com", dns.TypeA)).To(ConsistOf("192.0.2.20"), "the exact name stays")
	})

	It("discovers the zone with SOA queries when neither the DNSRecord nor the secret names one", func() {
		subSerial := bind.mustSerial(subZone)
		inSub := newDNSRecord("host.deep.sub.example.com", extensionsv1alpha1.DNSRecordTypeA, secretWithoutZone, "192.0.2.30")
		create(inSub)
		inParent := newDNSRecord("*.discovered.example.com", extensionsv1alpha1.DNSRecordTypeA, secretWithoutZone, "192.0.2.31")
		create(inParent)

		Expect(waitForState(inSub, gardencorev1beta1.LastOperationStateSucceeded).Status.Zone).To(Equal(ptr.To(subZone)), "the deepest zone the server serves")
		Expect(waitForState(inParent, gardencorev1beta1.LastOperationStateSucceeded).Status.Zone).To(Equal(ptr.To(zone)))
		Expect(bind.records("host.deep.sub.example.com", dns.TypeA)).To(ConsistOf("192.0.2.30"))
		Expect(bind.records("x.discovered.example.com", dns.TypeA)).To(ConsistOf("192.0.2.31"))
		Expect(bind.mustSerial(subZone)).To(BeNumerically(">", subSerial), "the record went into the sub zone")
	})

	It("reports a wrong TSIG secret in status.lastError and changes nothing in the zone", func() {
		serial := bind.mustSerial(zone)
		updates := bind.updateRequests()
		record := newDNSRecord("wrong-key.example.com", extensionsv1alpha1.DNSRecordTypeA, secretWrongKey, "192.0.2.40")
		create(record)

		lastError := waitForError(record, gardencorev1beta1.ErrorInfraUnauthenticated)
		Expect(lastError.Description).To(SatisfyAll(
			ContainSubstring("NOTAUTH/BADSIG"),
			ContainSubstring(bind.addr),
			ContainSubstring(zone),
			Not(ContainSubstring(wrongTSIGSecret)),
			Not(ContainSubstring(bind.secret)),
		))
		Expect(bind.records("wrong-key.example.com", dns.TypeA)).To(BeEmpty())
		Expect(bind.mustSerial(zone)).To(Equal(serial))
		Expect(bind.updateRequests()).To(Equal(updates), "the failed signed query stops the reconciliation before any UPDATE")
	})

	It("reports a refused UPDATE as unauthorized", func() {
		record := newDNSRecord("a.readonly.test", extensionsv1alpha1.DNSRecordTypeA, secretName, "192.0.2.50")
		record.Spec.Zone = ptr.To("readonly.test")
		create(record)

		lastError := waitForError(record, gardencorev1beta1.ErrorInfraUnauthorized)
		Expect(lastError.Description).To(SatisfyAll(ContainSubstring("REFUSED"), ContainSubstring(readOnlyZone)))
		Expect(bind.records("a.readonly.test", dns.TypeA)).To(BeEmpty())
	})

	It("reports an unsupported TSIG algorithm as a configuration problem naming the field", func() {
		record := newDNSRecord("bad-algorithm.example.com", extensionsv1alpha1.DNSRecordTypeA, secretBadAlgorithm, "192.0.2.60")
		create(record)

		lastError := waitForError(record, gardencorev1beta1.ErrorConfigurationProblem)
		Expect(lastError.Description).To(SatisfyAll(
			ContainSubstring("secret.data[TSIGSecretAlgorithm]"),
			ContainSubstring("hmac-md5"),
			Not(ContainSubstring(bind.secret)),
		))
	})

	It("replaces records atomically: a resolver polling the name never sees it without records", func() {
		const name = "atomic.example.com"
		record := newDNSRecord(name, extensionsv1alpha1.DNSRecordTypeA, secretName, "192.0.2.100")
		create(record)
		waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)

		var (
			stop       atomic.Bool
			queries    atomic.Int64
			wg         sync.WaitGroup
			mu         sync.Mutex
			badAnswers []string
		)
		wg.Add(1)
		go func() {
			defer GinkgoRecover()
			defer wg.Done()
			for !stop.Load() {
				answer, err := bind.query(name, dns.TypeA)
				if err != nil {
					// A lost UDP packet says nothing about the zone's content.
					continue
				}
				queries.Add(1)
				if answer.Rcode != dns.RcodeSuccess || len(answer.Answer) == 0 {
					mu.Lock()
					badAnswers = append(badAnswers, fmt.Sprintf("rcode %s with %d records", dns.RcodeToString[answer.Rcode], len(answer.Answer)))
					mu.Unlock()
				}
			}
		}()

		for i := 1; i <= 5; i++ {
			value := fmt.Sprintf("192.0.2.%d", 100+i)
			update(record, func(r *extensionsv1alpha1.DNSRecord) { r.Spec.Values = []string{value, "198.51.100.1"} })
			waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
			Expect(bind.records(name, dns.TypeA)).To(ConsistOf(value, "198.51.100.1"))
		}
		stop.Store(true)
		wg.Wait()

		GinkgoWriter.Printf("the reader sent %d queries during the updates\n", queries.Load())
		Expect(queries.Load()).To(BeNumerically(">", 100), "the reader must have polled throughout the updates")
		Expect(badAnswers).To(BeEmpty())
	})

	It("sends no UPDATE when an unchanged DNSRecord is reconciled again", func() {
		const name = "unchanged.example.com"
		record := newDNSRecord(name, extensionsv1alpha1.DNSRecordTypeTXT, secretName, "unchanged", `with "quotes" and \ backslash`, "caf\u00e9")
		create(record)
		waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
		serial := bind.mustSerial(zone)
		updates := bind.updateRequests()
		queries := bind.signedQueries(name, "TXT")

		for range 3 {
			update(record, func(*extensionsv1alpha1.DNSRecord) {})
			// The controller's signed query of the record shows the reconciliation got as far as comparing.
			Eventually(func() int { return bind.signedQueries(name, "TXT") }).WithTimeout(30 * time.Second).Should(BeNumerically(">", queries))
			queries = bind.signedQueries(name, "TXT")
			waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
		}

		Expect(bind.updateRequests()).To(Equal(updates), "no UPDATE reached the server")
		Expect(bind.mustSerial(zone)).To(Equal(serial), "the zone did not change")

		By("changing a value, which takes exactly one UPDATE")
		update(record, func(r *extensionsv1alpha1.DNSRecord) { r.Spec.Values = []string{"changed"} })
		waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
		Expect(bind.records(name, dns.TypeTXT)).To(ConsistOf(`"changed"`))
		Expect(bind.updateRequests()).To(Equal(updates + 1))
		Expect(bind.mustSerial(zone)).To(Equal(serial + 1))
	})

	Describe("the actuator", func() {
		var actuator genericdnsrecord.Actuator

		// unhandled returns a DNSRecord in the API that the running controller ignores (another type), so that the
		// test alone drives the actuator, which still reads the secret and writes status.zone through the API.
		unhandled := func(name string, recordType extensionsv1alpha1.DNSRecordType, values ...string) *extensionsv1alpha1.DNSRecord {
			GinkgoHelper()
			record := newDNSRecord(name, recordType, secretName, values...)
			record.Spec.Type = "not-handled"
			create(record)
			return record
		}

		BeforeEach(func() {
			actuator = dnsrecord.NewActuator(testClient, dnsTimeout)
		})

		It("deletes repeatedly without error, also names that never existed", func() {
			record := unhandled("twice.example.com", extensionsv1alpha1.DNSRecordTypeA, "192.0.2.70")
			Expect(actuator.Reconcile(ctx, logr.Discard(), record, nil)).To(Succeed())
			Expect(bind.records("twice.example.com", dns.TypeA)).To(ConsistOf("192.0.2.70"))
			Expect(record.Status.Zone).To(Equal(ptr.To(zone)))

			Expect(actuator.Delete(ctx, logr.Discard(), record, nil)).To(Succeed())
			Expect(actuator.Delete(ctx, logr.Discard(), record, nil)).To(Succeed())
			Expect(actuator.ForceDelete(ctx, logr.Discard(), record, nil)).To(Succeed())
			Expect(bind.records("twice.example.com", dns.TypeA)).To(BeEmpty())

			never := unhandled("never.example.com", extensionsv1alpha1.DNSRecordTypeCNAME, "target.example.org")
			Expect(actuator.Delete(ctx, logr.Discard(), never, nil)).To(Succeed())
		})

		It("leaves the records in DNS on Migrate and rewrites them on Restore", func() {
			record := unhandled("migrated.example.com", extensionsv1alpha1.DNSRecordTypeA, "192.0.2.80")
			Expect(actuator.Reconcile(ctx, logr.Discard(), record, nil)).To(Succeed())
			DeferCleanup(func() { Expect(actuator.Delete(ctx, logr.Discard(), record, nil)).To(Succeed()) })

			serial := bind.mustSerial(zone)
			Expect(actuator.Migrate(ctx, logr.Discard(), record, nil)).To(Succeed())
			Expect(bind.records("migrated.example.com", dns.TypeA)).To(ConsistOf("192.0.2.80"))
			Expect(bind.mustSerial(zone)).To(Equal(serial))

			record.Spec.Values = []string{"192.0.2.81"}
			Expect(actuator.Restore(ctx, logr.Discard(), record, nil)).To(Succeed())
			Expect(bind.records("migrated.example.com", dns.TypeA)).To(ConsistOf("192.0.2.81"))
		})
	})

	It("the client finds zones and reads record sets from BIND", func() {
		config, err := rfc2136.ConfigFromSecret(&corev1.Secret{Data: map[string][]byte{
			"Server": []byte(bind.addr), "TSIGKeyName": []byte(tsigKeyName), "TSIGSecret": []byte(bind.secret),
		}}, dnsTimeout)
		Expect(err).NotTo(HaveOccurred())
		dnsClient := rfc2136.NewClient(config)

		Expect(dnsClient.FindZone(ctx, "example.com")).To(Equal(zone))
		Expect(dnsClient.FindZone(ctx, "a.b.sub.example.com")).To(Equal(subZone))
		Expect(dnsClient.FindZone(ctx, "*.readonly.test")).To(Equal(readOnlyZone))
		_, err = dnsClient.FindZone(ctx, "host.not-served.test")
		Expect(err).To(MatchError(rfc2136.ErrConfiguration))

		set, err := dnsClient.Query(ctx, zone, "ns.example.com", dns.TypeA)
		Expect(err).NotTo(HaveOccurred())
		Expect(set.Values).To(ConsistOf("127.0.0.1"))
		Expect(set.TTL).To(BeEquivalentTo(60))
	})
})
