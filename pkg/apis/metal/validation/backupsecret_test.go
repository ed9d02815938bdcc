package validation_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
)

var _ = Describe("Backup secret", func() {
	const secretAccessKey = "backup-secret-value-not-to-be-logged"
	fldPath := field.NewPath("secret")

	caPEM := func() string {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		Expect(err).NotTo(HaveOccurred())
		template := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
		der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
		Expect(err).NotTo(HaveOccurred())
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}()

	newSecret := func(mutate func(map[string][]byte)) *corev1.Secret {
		data := map[string][]byte{
			"accessKeyID":      []byte("AKIAEXAMPLE"),
			"secretAccessKey":  []byte(secretAccessKey),
			"region":           []byte("eu-de-1"),
			"endpoint":         []byte("https://s3.example.org:8443"),
			"s3ForcePathStyle": []byte("true"),
			"trustedCaCert":    []byte(caPEM),
		}
		mutate(data)
		return &corev1.Secret{Data: data}
	}
	set := func(key, value string) func(map[string][]byte) {
		return func(data map[string][]byte) { data[key] = []byte(value) }
	}
	unset := func(key string) func(map[string][]byte) {
		return func(data map[string][]byte) { delete(data, key) }
	}

	DescribeTable("accepts",
		func(mutate func(map[string][]byte)) {
			Expect(ValidateBackupSecret(newSecret(mutate), fldPath)).To(BeEmpty())
		},
		Entry("a complete secret for an S3-compatible store", func(map[string][]byte) {}),
		Entry("AWS S3: credentials and region only", func(data map[string][]byte) {
			for _, key := range []string{"endpoint", "s3ForcePathStyle", "trustedCaCert"} {
				delete(data, key)
			}
		}),
		Entry("no region", unset("region")),
		Entry("an http endpoint without CA", func(data map[string][]byte) {
			data["endpoint"] = []byte("http://10.0.0.1:8333")
			delete(data, "trustedCaCert")
		}),
		Entry("insecureSkipVerify without CA", func(data map[string][]byte) {
			data["insecureSkipVerify"] = []byte("true")
			delete(data, "trustedCaCert")
		}),
		Entry("booleans as strconv.ParseBool reads them", set("s3ForcePathStyle", "1")),
		Entry("other keys of a shared secret", set("comment", "anything")),
	)

	DescribeTable("rejects with the key's path and never the secret access key",
		func(mutate func(map[string][]byte), path string) {
			errs := ValidateBackupSecret(newSecret(mutate), fldPath)
			Expect(errs).To(ContainElement(HaveField("Field", path)))
			Expect(errs.ToAggregate().Error()).NotTo(ContainSubstring(secretAccessKey))
		},
		Entry("no access key ID", unset("accessKeyID"), "secret.data[accessKeyID]"),
		Entry("no secret access key", unset("secretAccessKey"), "secret.data[secretAccessKey]"),
		Entry("a secret access key with a trailing newline", set("secretAccessKey", secretAccessKey+"\n"), "secret.data[secretAccessKey]"),
		Entry("an empty region", set("region", ""), "secret.data[region]"),
		Entry("a region with spaces", set("region", "eu de"), "secret.data[region]"),
		Entry("an endpoint without scheme", set("endpoint", "s3.example.org:8443"), "secret.data[endpoint].scheme"),
		Entry("an ftp endpoint", set("endpoint", "ftp://s3.example.org"), "secret.data[endpoint].scheme"),
		Entry("an endpoint with a path", set("endpoint", "https://s3.example.org/bucket"), "secret.data[endpoint]"),
		Entry("an endpoint with a trailing newline", set("endpoint", "https://s3.example.org\n"), "secret.data[endpoint]"),
		Entry("an endpoint with credentials", set("endpoint", "https://user:"+secretAccessKey+"@s3.example.org"), "secret.data[endpoint].userinfo"),
		Entry("an endpoint with port 0", set("endpoint", "https://s3.example.org:0"), "secret.data[endpoint].port"),
		Entry("s3ForcePathStyle yes", set("s3ForcePathStyle", "yes"), "secret.data[s3ForcePathStyle]"),
		Entry("s3ForcePathStyle with a trailing newline", set("s3ForcePathStyle", "true\n"), "secret.data[s3ForcePathStyle]"),
		Entry("insecureSkipVerify maybe", set("insecureSkipVerify", "maybe"), "secret.data[insecureSkipVerify]"),
		Entry("a CA that is no PEM", set("trustedCaCert", "not a certificate"), "secret.data[trustedCaCert]"),
		Entry("a CA that is a private key", set("trustedCaCert", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "secret.data[trustedCaCert]"),
		Entry("a CA together with insecureSkipVerify", set("insecureSkipVerify", "true"), "secret.data[trustedCaCert]"),
		Entry("a CA for an http endpoint", set("endpoint", "http://s3.example.org"), "secret.data[trustedCaCert]"),
	)

	It("rejects workload identity secrets", func() {
		secret := newSecret(func(map[string][]byte) {})
		secret.ObjectMeta = metav1.ObjectMeta{Labels: map[string]string{"security.gardener.cloud/purpose": "workload-identity-token-requestor"}}
		Expect(ValidateBackupSecret(secret, fldPath)).To(ConsistOf(HaveField("Type", field.ErrorTypeForbidden)))
	})
})
