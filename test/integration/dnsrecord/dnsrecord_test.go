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
	"k8s.io/utils/clock"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	genericdnsrecord "github.com/gardener/gardener/extensions/pkg/controller/dnsrecord"
	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
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

// waitForLastError waits until the DNSRecord's last error mentions text and returns the error.
func waitForLastError(record *extensionsv1alpha1.DNSRecord, text string) *gardencorev1beta1.LastError {
	GinkgoHelper()
	current := &extensionsv1alpha1.DNSRecord{}
	Eventually(func(g Gomega) {
		g.Expect(testClient.Get(ctx, client.ObjectKeyFromObject(record), current)).To(Succeed())
		g.Expect(current.Status.LastError).NotTo(BeNil())
		g.Expect(current.Status.LastError.Description).To(ContainSubstring(text))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	return current.Status.LastError
}

// refusal is how the controller must report a request a server refuses.
type refusal struct {
	// text is part of status.lastError: the answer, for example "NOTAUTH/BADSIG".
	text string
	// meaning is part of status.lastError that says what the answer means.
	meaning string
	// code is the one Gardener error code of status.lastError; empty for a retryable error without codes.
	code gardencorev1beta1.ErrorCode
}

// setSecretZone sets the Zone of the DNS secret.
func setSecretZone(name, z string) {
	GinkgoHelper()
	secret := &corev1.Secret{}
	Expect(testClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret)).To(Succeed())
	patch := client.MergeFrom(secret.DeepCopy())
	secret.Data["Zone"] = []byte(z)
	Expect(testClient.Patch(ctx, secret, patch)).To(Succeed())
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

var _ = Describe("DNSRecord controller", func() {
	for _, kind := range serverKinds {
		Describe("against "+kind, func() { serverSpecs(kind) })
	}
})

// serverSpecs are the specs every kind of server runs.
func serverSpecs(kind string) {
	var server *dnsServer
	BeforeEach(func() { server = servers[kind] })

	DescribeTable("creates, updates and deletes records",
		func(recordType extensionsv1alpha1.DNSRecordType, rrtype uint16, values, expected, newValues, newExpected []string) {
			name := fmt.Sprintf("%s.crud.example.com", strings.ToLower(string(recordType)))
			record := newDNSRecord(name, recordType, server.secretName(secretName), values...)
			record.Spec.TTL = ptr.To[int64](300)
			create(record)

			By("creating the record set")
			current := waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
			Expect(server.records(name, rrtype)).To(ConsistOf(expected))
			Expect(server.ttl(name, rrtype)).To(BeEquivalentTo(300))
			Expect(current.Status.Zone).To(Equal(ptr.To(zone)))

			By("replacing the values and the TTL")
			update(record, func(r *extensionsv1alpha1.DNSRecord) {
				r.Spec.Values = newValues
				r.Spec.TTL = nil
			})
			waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
			Expect(server.records(name, rrtype)).To(ConsistOf(newExpected))
			Expect(server.ttl(name, rrtype)).To(BeEquivalentTo(120), "Gardener's default TTL")

			By("deleting the record set")
			deleteAndWait(record)
			answer, err := server.query(name, rrtype)
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
		wildcard := newDNSRecord("*.ingress.example.com", extensionsv1alpha1.DNSRecordTypeA, server.secretName(secretName), "192.0.2.10")
		create(wildcard)
		exact := newDNSRecord("api.ingress.example.com", extensionsv1alpha1.DNSRecordTypeA, server.secretName(secretName), "192.0.2.20")
		create(exact)
		txt := newDNSRecord("*.ingress.example.com", extensionsv1alpha1.DNSRecordTypeTXT, server.secretName(secretName), "owner=test")
		create(txt)
		waitForState(wildcard, gardencorev1beta1.LastOperationStateSucceeded)
		waitForState(exact, gardencorev1beta1.LastOperationStateSucceeded)
		waitForState(txt, gardencorev1beta1.LastOperationStateSucceeded)

		Expect(server.records("*.ingress.example.com", dns.TypeA)).To(ConsistOf("192.0.2.10"))
		Expect(server.records("foo.ingress.example.com", dns.TypeA)).To(ConsistOf("192.0.2.10"), "the wildcard answers for other names")
		Expect(server.records("api.ingress.example.com", dns.TypeA)).To(ConsistOf("192.0.2.20"))

		deleteAndWait(wildcard)
		Expect(server.records("*.ingress.example.com", dns.TypeA)).To(BeEmpty())
		Expect(server.records("foo.ingress.example.com", dns.TypeA)).To(BeEmpty())
		Expect(server.records("*.ingress.example.com", dns.TypeTXT)).To(ConsistOf(`"owner=test"`), "the other type at the name stays")
		Expect(server.records("api.ingress.example.com", dns.TypeA)).To(ConsistOf("192.0.2.20"), "the exact name stays")
	})

	It("discovers the zone with SOA queries when neither the DNSRecord nor the secret names one", func() {
		subSerial := server.mustSerial(subZone)
		inSub := newDNSRecord("host.deep.sub.example.com", extensionsv1alpha1.DNSRecordTypeA, server.secretName(secretWithoutZone), "192.0.2.30")
		create(inSub)
		inParent := newDNSRecord("*.discovered.example.com", extensionsv1alpha1.DNSRecordTypeA, server.secretName(secretWithoutZone), "192.0.2.31")
		create(inParent)

		Expect(waitForState(inSub, gardencorev1beta1.LastOperationStateSucceeded).Status.Zone).To(Equal(ptr.To(subZone)), "the deepest zone the server serves")
		Expect(waitForState(inParent, gardencorev1beta1.LastOperationStateSucceeded).Status.Zone).To(Equal(ptr.To(zone)))
		Expect(server.records("host.deep.sub.example.com", dns.TypeA)).To(ConsistOf("192.0.2.30"))
		Expect(server.records("x.discovered.example.com", dns.TypeA)).To(ConsistOf("192.0.2.31"))
		Expect(server.mustSerial(subZone)).To(BeNumerically(">", subSerial), "the record went into the sub zone")
	})

	DescribeTable("reports what a refusal means, with the error codes that decide whether gardenlet retries, and changes nothing",
		func(name, secret string, specZone string, updateSent bool, expected map[string]refusal) {
			want := expected[kind]
			record := newDNSRecord(name, extensionsv1alpha1.DNSRecordTypeA, server.secretName(secret), "192.0.2.40")
			if specZone != "" {
				record.Spec.Zone = ptr.To(specZone)
			}
			serials := map[string]uint32{}
			for _, z := range testZones {
				serials[z] = server.mustSerial(z)
			}
			updates := server.updateRequests()
			create(record)

			lastError := waitForLastError(record, want.text)
			if want.code == "" {
				Expect(lastError.Codes).To(BeEmpty(), "retryable: %s", lastError.Description)
			} else {
				Expect(lastError.Codes).To(ConsistOf(want.code), lastError.Description)
			}
			Expect(lastError.Description).To(SatisfyAll(
				ContainSubstring(server.addr),
				ContainSubstring(want.meaning),
				Not(ContainSubstring(wrongTSIGSecret)),
				Not(ContainSubstring(server.secret)),
			))
			Expect(server.records(name, dns.TypeA)).To(BeEmpty())
			for _, z := range testZones {
				Expect(server.mustSerial(z)).To(Equal(serials[z]), "zone %s did not change", z)
			}
			if !updateSent {
				Expect(server.updateRequests()).To(Equal(updates), "the failed query stops the reconciliation before any UPDATE")
			}
		},
		Entry("a wrong TSIG secret", "wrong-key.example.com", secretWrongKey, "", false, map[string]refusal{
			"BIND":     {"NOTAUTH/BADSIG", "TSIG secret", gardencorev1beta1.ErrorInfraUnauthenticated},
			"Knot":     {"NOTAUTH/BADSIG", "TSIG secret", gardencorev1beta1.ErrorInfraUnauthenticated},
			"PowerDNS": {"NOTAUTH (unsigned)", "TSIG secret", gardencorev1beta1.ErrorInfraUnauthenticated},
		}),
		Entry("a TSIG key the server does not know", "unknown-key.example.com", secretUnknownKey, "", false, map[string]refusal{
			"BIND":     {"NOTAUTH/BADKEY", "unknown-key.", gardencorev1beta1.ErrorInfraUnauthenticated},
			"Knot":     {"NOTAUTH/BADKEY", "unknown-key.", gardencorev1beta1.ErrorInfraUnauthenticated},
			"PowerDNS": {"NOTAUTH (unsigned)", "unknown-key.", gardencorev1beta1.ErrorInfraUnauthenticated},
		}),
		Entry("a Zone in the secret the server does not serve (Knot answers it unsigned)", "api.not-served.test", secretNotServed, "", false, map[string]refusal{
			"BIND":     {"failed: REFUSED:", "does not serve the zone", gardencorev1beta1.ErrorConfigurationProblem},
			"Knot":     {"failed: REFUSED (unsigned):", "does not serve the zone", gardencorev1beta1.ErrorConfigurationProblem},
			"PowerDNS": {"failed: REFUSED:", "does not serve the zone", gardencorev1beta1.ErrorConfigurationProblem},
		}),
		Entry("a name in none of the server's zones, to be discovered", "api.not-served.test", secretWithoutZone, "", false, map[string]refusal{
			"BIND":     {"no zone for api.not-served.test.", "answered no SOA query", gardencorev1beta1.ErrorConfigurationProblem},
			"Knot":     {"no zone for api.not-served.test.", "answered no SOA query", gardencorev1beta1.ErrorConfigurationProblem},
			"PowerDNS": {"no zone for api.not-served.test.", "answered no SOA query", gardencorev1beta1.ErrorConfigurationProblem},
		}),
		Entry("an UPDATE the key may not make: BIND and PowerDNS refuse it like a frozen zone, Knot says BADKEY to a key it has accepted",
			"a.readonly.test", secretName, readOnlyZone, true, map[string]refusal{
				"BIND":     {"failed: REFUSED:", "update policy does not allow them for key " + tsigKeyName + ", or updates are suspended", ""},
				"Knot":     {"failed: NOTAUTH/BADKEY:", "update policy does not allow it", gardencorev1beta1.ErrorInfraUnauthorized},
				"PowerDNS": {"failed: REFUSED:", "update policy does not allow them for key " + tsigKeyName + ", or updates are suspended", ""},
			}),
	)

	It("retries an UPDATE refused while the zone is frozen, and succeeds once it is thawed", func() {
		if server.freeze == nil {
			Skip(server.kind + " cannot freeze a zone")
		}
		const name = "api.frozen.test"
		server.freeze(frozenZone)
		thawed := false
		DeferCleanup(func() {
			if !thawed {
				server.thaw(frozenZone)
			}
		})
		record := newDNSRecord(name, extensionsv1alpha1.DNSRecordTypeA, server.secretName(secretName), "192.0.2.90")
		record.Spec.Zone = ptr.To(frozenZone)
		create(record)

		lastError := waitForLastError(record, "failed: REFUSED:")
		Expect(lastError.Codes).To(BeEmpty(), "retryable: %s", lastError.Description)
		Expect(lastError.Description).To(ContainSubstring("suspended for now (a frozen zone); retrying"))

		server.thaw(frozenZone)
		thawed = true
		waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
		Expect(server.records(name, dns.TypeA)).To(ConsistOf("192.0.2.90"))
	})

	It("reports a clock skew beyond the TSIG fudge as retryable where the server says so", func() {
		want := map[string]refusal{
			"BIND": {"NOTAUTH/BADTIME", "clocks", ""},
			"Knot": {"NOTAUTH/BADTIME", "clocks", ""},
			// PowerDNS answers a bad signing time like a bad secret: an unsigned NOTAUTH without TSIG error.
			"PowerDNS": {"NOTAUTH (unsigned)", "clocks", gardencorev1beta1.ErrorInfraUnauthenticated},
		}[kind]
		skewed := testingclock.NewFakePassiveClock(time.Now().Add(-10 * time.Minute))
		record := newDNSRecord("skewed.example.com", extensionsv1alpha1.DNSRecordTypeA, server.secretName(secretName), "192.0.2.91")
		err := dnsrecord.NewActuator(testClient, dnsTimeout, skewed).Reconcile(ctx, logr.Discard(), record, nil)
		Expect(err).To(MatchError(SatisfyAll(ContainSubstring(want.text), ContainSubstring(want.meaning))))
		if want.code == "" {
			Expect(v1beta1helper.ExtractErrorCodes(err)).To(BeEmpty())
		} else {
			Expect(v1beta1helper.ExtractErrorCodes(err)).To(ConsistOf(want.code))
		}
		Expect(server.records("skewed.example.com", dns.TypeA)).To(BeEmpty())
	})

	It("moves the record set when the secret's Zone is corrected, although status.zone holds the old zone", func() {
		const name = "host.fix.sub.example.com"
		// Registered before create, so that it runs after the deletion, which goes to the corrected zone.
		DeferCleanup(func() { setSecretZone(server.secretName(secretZoneFix), zone) })
		record := newDNSRecord(name, extensionsv1alpha1.DNSRecordTypeA, server.secretName(secretZoneFix), "192.0.2.95")
		create(record)
		Expect(waitForState(record, gardencorev1beta1.LastOperationStateSucceeded).Status.Zone).To(Equal(ptr.To(zone)))
		Expect(server.zoneRecords(zone, name, dns.TypeA)).To(ConsistOf("192.0.2.95"))
		Expect(server.records(name, dns.TypeA)).To(BeEmpty(), "the server answers for the name from sub.example.com, where the record is not")

		By("correcting the secret's Zone to the zone the server answers for the name from")
		setSecretZone(server.secretName(secretZoneFix), subZone)
		update(record, func(*extensionsv1alpha1.DNSRecord) {})
		// The spec is unchanged, so the generation is too: the new zone in the status shows the new reconciliation.
		Eventually(func(g Gomega) *string {
			current := &extensionsv1alpha1.DNSRecord{}
			g.Expect(testClient.Get(ctx, client.ObjectKeyFromObject(record), current)).To(Succeed())
			return current.Status.Zone
		}).WithTimeout(30 * time.Second).Should(Equal(ptr.To(subZone)))
		waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
		Expect(server.records(name, dns.TypeA)).To(ConsistOf("192.0.2.95"))
		Expect(server.zoneRecords(subZone, name, dns.TypeA)).To(ConsistOf("192.0.2.95"))
		Expect(server.zoneRecords(zone, name, dns.TypeA)).To(BeEmpty(), "nothing is left behind in the old zone")

		By("deleting the DNSRecord, from the corrected zone")
		deleteAndWait(record)
		Expect(server.zoneRecords(subZone, name, dns.TypeA)).To(BeEmpty())
	})

	It("reports an unsupported TSIG algorithm as a configuration problem naming the field", func() {
		record := newDNSRecord("bad-algorithm.example.com", extensionsv1alpha1.DNSRecordTypeA, server.secretName(secretBadAlgorithm), "192.0.2.60")
		create(record)

		lastError := waitForError(record, gardencorev1beta1.ErrorConfigurationProblem)
		Expect(lastError.Description).To(SatisfyAll(
			ContainSubstring("secret.data[TSIGSecretAlgorithm]"),
			ContainSubstring("hmac-md5"),
			Not(ContainSubstring(server.secret)),
		))
	})

	It("replaces records atomically: a resolver polling the name never sees it without records", func() {
		const name = "atomic.example.com"
		record := newDNSRecord(name, extensionsv1alpha1.DNSRecordTypeA, server.secretName(secretName), "192.0.2.100")
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
				answer, err := server.query(name, dns.TypeA)
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
			Expect(server.records(name, dns.TypeA)).To(ConsistOf(value, "198.51.100.1"))
		}
		stop.Store(true)
		wg.Wait()

		GinkgoWriter.Printf("the reader sent %d queries during the updates\n", queries.Load())
		Expect(queries.Load()).To(BeNumerically(">", 100), "the reader must have polled throughout the updates")
		Expect(badAnswers).To(BeEmpty())
	})

	It("sends no UPDATE when an unchanged DNSRecord is reconciled again", func() {
		const name = "unchanged.example.com"
		record := newDNSRecord(name, extensionsv1alpha1.DNSRecordTypeTXT, server.secretName(secretName), "unchanged", `with "quotes" and \ backslash`, "caf\u00e9")
		create(record)
		waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
		serial := server.mustSerial(zone)
		updates := server.updateRequests()
		queries := server.signedQueries(name, "TXT")

		for range 3 {
			update(record, func(*extensionsv1alpha1.DNSRecord) {})
			// The controller's signed query of the record shows the reconciliation got as far as comparing.
			Eventually(func() int { return server.signedQueries(name, "TXT") }).WithTimeout(30 * time.Second).Should(BeNumerically(">", queries))
			queries = server.signedQueries(name, "TXT")
			waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
		}

		Expect(server.updateRequests()).To(Equal(updates), "no UPDATE reached the server")
		Expect(server.mustSerial(zone)).To(Equal(serial), "the zone did not change")

		By("changing a value, which takes exactly one UPDATE")
		update(record, func(r *extensionsv1alpha1.DNSRecord) { r.Spec.Values = []string{"changed"} })
		waitForState(record, gardencorev1beta1.LastOperationStateSucceeded)
		Expect(server.records(name, dns.TypeTXT)).To(ConsistOf(`"changed"`))
		Expect(server.updateRequests()).To(Equal(updates + 1))
		Expect(server.mustSerial(zone)).To(Equal(serial + 1))
	})

	Describe("the actuator", func() {
		var actuator genericdnsrecord.Actuator

		// unhandled returns a DNSRecord in the API that the running controller ignores (another type), so that the
		// test alone drives the actuator, which still reads the secret and writes status.zone through the API.
		unhandled := func(name string, recordType extensionsv1alpha1.DNSRecordType, values ...string) *extensionsv1alpha1.DNSRecord {
			GinkgoHelper()
			record := newDNSRecord(name, recordType, server.secretName(secretName), values...)
			record.Spec.Type = "not-handled"
			create(record)
			return record
		}

		BeforeEach(func() {
			actuator = dnsrecord.NewActuator(testClient, dnsTimeout, clock.RealClock{})
		})

		It("deletes repeatedly without error, also names that never existed", func() {
			record := unhandled("twice.example.com", extensionsv1alpha1.DNSRecordTypeA, "192.0.2.70")
			Expect(actuator.Reconcile(ctx, logr.Discard(), record, nil)).To(Succeed())
			Expect(server.records("twice.example.com", dns.TypeA)).To(ConsistOf("192.0.2.70"))
			Expect(record.Status.Zone).To(Equal(ptr.To(zone)))

			Expect(actuator.Delete(ctx, logr.Discard(), record, nil)).To(Succeed())
			Expect(actuator.Delete(ctx, logr.Discard(), record, nil)).To(Succeed())
			Expect(actuator.ForceDelete(ctx, logr.Discard(), record, nil)).To(Succeed())
			Expect(server.records("twice.example.com", dns.TypeA)).To(BeEmpty())

			never := unhandled("never.example.com", extensionsv1alpha1.DNSRecordTypeCNAME, "target.example.org")
			Expect(actuator.Delete(ctx, logr.Discard(), never, nil)).To(Succeed())
		})

		It("leaves the records in DNS on Migrate and rewrites them on Restore", func() {
			record := unhandled("migrated.example.com", extensionsv1alpha1.DNSRecordTypeA, "192.0.2.80")
			Expect(actuator.Reconcile(ctx, logr.Discard(), record, nil)).To(Succeed())
			DeferCleanup(func() { Expect(actuator.Delete(ctx, logr.Discard(), record, nil)).To(Succeed()) })

			serial := server.mustSerial(zone)
			Expect(actuator.Migrate(ctx, logr.Discard(), record, nil)).To(Succeed())
			Expect(server.records("migrated.example.com", dns.TypeA)).To(ConsistOf("192.0.2.80"))
			Expect(server.mustSerial(zone)).To(Equal(serial))

			record.Spec.Values = []string{"192.0.2.81"}
			Expect(actuator.Restore(ctx, logr.Discard(), record, nil)).To(Succeed())
			Expect(server.records("migrated.example.com", dns.TypeA)).To(ConsistOf("192.0.2.81"))
		})
	})

	It("the client finds zones and reads record sets from the server", func() {
		config, err := rfc2136.ConfigFromSecret(&corev1.Secret{Data: map[string][]byte{
			"Server": []byte(server.addr), "TSIGKeyName": []byte(tsigKeyName), "TSIGSecret": []byte(server.secret),
		}}, dnsTimeout)
		Expect(err).NotTo(HaveOccurred())
		dnsClient := rfc2136.NewClient(config)

		Expect(dnsClient.FindZone(ctx, "example.com")).To(Equal(zone))
		Expect(dnsClient.FindZone(ctx, "a.b.sub.example.com")).To(Equal(subZone))
		Expect(dnsClient.FindZone(ctx, "*.readonly.test")).To(Equal(readOnlyZone))
		_, err = dnsClient.FindZone(ctx, "host.not-served.test")
		Expect(err).To(MatchError(rfc2136.ErrWrongZone))

		set, err := dnsClient.Query(ctx, zone, "ns.example.com", dns.TypeA)
		Expect(err).NotTo(HaveOccurred())
		Expect(set.Values).To(ConsistOf("127.0.0.1"))
		Expect(set.TTL).To(BeEquivalentTo(60))
	})
}
