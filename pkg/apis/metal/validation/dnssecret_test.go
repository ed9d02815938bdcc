package validation_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
)

var _ = Describe("DNS secret", func() {
	const tsigSecret = "c2VjcmV0LXZhbHVlLW5vdC10by1iZS1sb2dnZWQ="
	fldPath := field.NewPath("secret")

	newSecret := func(mutate func(map[string][]byte)) *corev1.Secret {
		data := map[string][]byte{
			"Server":              []byte("ns1.example.com:5353"),
			"Zone":                []byte("example.com."),
			"TSIGKeyName":         []byte("tsig-key."),
			"TSIGSecret":          []byte(tsigSecret),
			"TSIGSecretAlgorithm": []byte("hmac-sha256"),
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

	It("requires a secret", func() {
		expectErrors(ValidateDNSSecret(nil, fldPath), []types.GomegaMatcher{fieldErr(required, "secret")})
	})

	DescribeTable("secret data",
		func(mutate func(map[string][]byte), expected ...types.GomegaMatcher) {
			expectErrors(ValidateDNSSecret(newSecret(mutate), fldPath), expected)
		},
		Entry("complete secret", func(map[string][]byte) {}),
		Entry("other keys are allowed (the secret may be shared)", set("other", "x")),
		Entry("server without port", set("Server", "ns1.example.com")),
		Entry("server IPv4 with port", set("Server", "192.0.2.1:53")),
		Entry("server IPv6 without port", set("Server", "2001:db8::1")),
		Entry("server IPv6 with port", set("Server", "[2001:db8::1]:53")),
		Entry("server FQDN with trailing dot", set("Server", "ns1.example.com.")),
		Entry("server missing", unset("Server"), fieldErr(required, "secret.data[Server]")),
		Entry("server empty", set("Server", ""), fieldErr(required, "secret.data[Server]")),
		Entry("server port zero", set("Server", "ns1.example.com:0"), fieldErr(invalid, "secret.data[Server]")),
		Entry("server port too large", set("Server", "ns1.example.com:65536"), fieldErr(invalid, "secret.data[Server]")),
		Entry("server port not a number", set("Server", "ns1.example.com:dns"), fieldErr(invalid, "secret.data[Server]")),
		Entry("server host invalid", set("Server", "ns_1.example.com:53"), fieldErr(invalid, "secret.data[Server]")),
		Entry("server URL", set("Server", "udp://ns1.example.com"), fieldErr(invalid, "secret.data[Server]")),
		Entry("zone is optional", unset("Zone")),
		Entry("zone without trailing dot", set("Zone", "example.com")),
		Entry("zone empty", set("Zone", ""), fieldErr(invalid, "secret.data[Zone]")),
		Entry("zone invalid", set("Zone", "exa mple.com."), fieldErr(invalid, "secret.data[Zone]")),
		Entry("zone upper case", set("Zone", "Example.com."), fieldErr(invalid, "secret.data[Zone]")),
		Entry("key name without trailing dot", set("TSIGKeyName", "tsig-key")),
		Entry("key name missing", unset("TSIGKeyName"), fieldErr(required, "secret.data[TSIGKeyName]")),
		Entry("key name invalid", set("TSIGKeyName", "a..b"), fieldErr(invalid, "secret.data[TSIGKeyName]")),
		Entry("key name with whitespace", set("TSIGKeyName", "tsig-key.\n"), fieldErr(invalid, "secret.data[TSIGKeyName]")),
		Entry("TSIG secret missing", unset("TSIGSecret"), fieldErr(required, "secret.data[TSIGSecret]")),
		Entry("TSIG secret not base64", set("TSIGSecret", "not base64!"), fieldErr(invalid, "secret.data[TSIGSecret]")),
		Entry("algorithm is optional", unset("TSIGSecretAlgorithm")),
		Entry("algorithm hmac-sha512", set("TSIGSecretAlgorithm", "hmac-sha512")),
		Entry("algorithm hmac-sha1", set("TSIGSecretAlgorithm", "hmac-sha1")),
		Entry("algorithm in upper case with trailing dot", set("TSIGSecretAlgorithm", "HMAC-SHA256.")),
		Entry("algorithm hmac-md5", set("TSIGSecretAlgorithm", "hmac-md5"), fieldErr(notSupported, "secret.data[TSIGSecretAlgorithm]")),
		Entry("algorithm hmac-sha384", set("TSIGSecretAlgorithm", "hmac-sha384"), fieldErr(notSupported, "secret.data[TSIGSecretAlgorithm]")),
		Entry("algorithm empty means the default", set("TSIGSecretAlgorithm", "")),
	)

	It("never puts the TSIG secret into the errors", func() {
		errs := ValidateDNSSecret(newSecret(set("Server", "")), fldPath)
		errs = append(errs, ValidateDNSSecret(newSecret(set("TSIGSecret", tsigSecret+"!")), fldPath)...)
		Expect(errs).To(HaveLen(2))
		Expect(errs.ToAggregate().Error()).NotTo(ContainSubstring(tsigSecret))
	})

	DescribeTable("TSIGAlgorithm",
		func(value, expected string, supported bool) {
			algorithm, ok := TSIGAlgorithm(value)
			Expect(ok).To(Equal(supported))
			Expect(algorithm).To(Equal(expected))
		},
		Entry("default", "", "hmac-sha256.", true),
		Entry("hmac-sha256", "hmac-sha256", "hmac-sha256.", true),
		Entry("hmac-sha512 in upper case", "HMAC-SHA512", "hmac-sha512.", true),
		Entry("hmac-sha1 with trailing dot", "hmac-sha1.", "hmac-sha1.", true),
		Entry("hmac-md5", "hmac-md5", "", false),
		Entry("garbage", "sha256", "", false),
	)
})
