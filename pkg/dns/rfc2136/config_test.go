package rfc2136_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	. "github.com/openkcm/gardener-extension-provider-metal/pkg/dns/rfc2136"
)

var _ = Describe("Config", func() {
	newSecret := func(data map[string]string) *corev1.Secret {
		secret := &corev1.Secret{Data: map[string][]byte{}}
		for key, value := range data {
			secret.Data[key] = []byte(value)
		}
		return secret
	}

	It("reads the external-dns-management keys, with port 53 and hmac-sha256 as defaults", func() {
		config, err := ConfigFromSecret(newSecret(map[string]string{
			"Server": "ns1.example.com", "Zone": "example.com", "TSIGKeyName": "Tsig-Key", "TSIGSecret": keySecret,
		}), 3*time.Second)
		Expect(err).NotTo(HaveOccurred())
		Expect(config).To(Equal(Config{
			Server: "ns1.example.com:53", Zone: "example.com.", KeyName: "tsig-key.", Secret: keySecret,
			Algorithm: "hmac-sha256.", Timeout: 3 * time.Second,
		}))
	})

	It("keeps an explicit port and reads the algorithm", func() {
		config, err := ConfigFromSecret(newSecret(map[string]string{
			"Server": "[2001:db8::1]:5353", "TSIGKeyName": "tsig-key.", "TSIGSecret": keySecret, "TSIGSecretAlgorithm": "HMAC-SHA1",
		}), time.Second)
		Expect(err).NotTo(HaveOccurred())
		Expect(config.Server).To(Equal("[2001:db8::1]:5353"))
		Expect(config.Zone).To(BeEmpty())
		Expect(config.Algorithm).To(Equal("hmac-sha1."))
	})

	It("adds the port to a bare IPv6 address", func() {
		config, err := ConfigFromSecret(newSecret(map[string]string{"Server": "2001:db8::1", "TSIGKeyName": "k.", "TSIGSecret": keySecret}), time.Second)
		Expect(err).NotTo(HaveOccurred())
		Expect(config.Server).To(Equal("[2001:db8::1]:53"))
	})

	It("rejects an invalid secret as a configuration error naming the fields, never the TSIG secret", func() {
		_, err := ConfigFromSecret(newSecret(map[string]string{
			"Server": "ns1.example.com", "TSIGKeyName": "tsig-key.", "TSIGSecret": keySecret + "%", "TSIGSecretAlgorithm": "hmac-md5",
		}), time.Second)
		Expect(err).To(MatchError(ErrConfiguration))
		Expect(err.Error()).To(SatisfyAll(
			ContainSubstring("secret.data[TSIGSecret]"),
			ContainSubstring("secret.data[TSIGSecretAlgorithm]"),
			Not(ContainSubstring(keySecret)),
		))
	})

	It("prints without the TSIG secret", func() {
		config := Config{Server: "ns1.example.com:53", KeyName: "tsig-key.", Secret: keySecret, Algorithm: "hmac-sha256."}
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			Expect(fmt.Sprintf(format, config)).NotTo(ContainSubstring(keySecret), format)
		}
	})
})
