package validation_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
)

var _ = Describe("#ValidateCloudProviderSecret", func() {
	const token = "s3cr3t-t0ken"
	newSecret := func() *corev1.Secret {
		return &corev1.Secret{Data: map[string][]byte{"namespace": []byte("shoot-ns"), "token": []byte(token)}}
	}

	DescribeTable("keys",
		func(mutate func(*corev1.Secret), expected ...types.GomegaMatcher) {
			secret := newSecret()
			mutate(secret)
			errs := ValidateCloudProviderSecret(secret, field.NewPath("secret"))
			expectErrors(errs, expected)
			for _, err := range errs {
				Expect(err.Error()).NotTo(ContainSubstring(token))
			}
		},
		Entry("valid secret", func(*corev1.Secret) {}),
		Entry("valid secret with username", func(s *corev1.Secret) { s.Data["username"] = []byte("system:serviceaccount:x:y") }),
		Entry("missing namespace", func(s *corev1.Secret) { delete(s.Data, "namespace") },
			fieldErr(required, "secret.data[namespace]")),
		Entry("namespace that is no DNS label", func(s *corev1.Secret) { s.Data["namespace"] = []byte("Shoot_NS") },
			fieldErr(invalid, "secret.data[namespace]")),
		Entry("missing token", func(s *corev1.Secret) { delete(s.Data, "token") },
			fieldErr(required, "secret.data[token]")),
		Entry("empty token", func(s *corev1.Secret) { s.Data["token"] = nil },
			fieldErr(required, "secret.data[token]")),
		Entry("token with trailing newline", func(s *corev1.Secret) { s.Data["token"] = []byte(token + "\n") },
			fieldErr(invalid, "secret.data[token]")),
		Entry("unknown key", func(s *corev1.Secret) { s.Data["kubeconfig"] = []byte("x") },
			fieldErr(forbidden, "secret.data[kubeconfig]")),
	)

	It("should not reveal the token", func() {
		secret := newSecret()
		secret.Data["token"] = []byte(" " + token)
		errs := ValidateCloudProviderSecret(secret, nil)
		Expect(errs).To(HaveLen(1))
		Expect(errs[0].Error()).NotTo(ContainSubstring(token))
		Expect(errs[0].Field).To(Equal("data[token]"))
	})

	It("should require a secret", func() {
		Expect(ValidateCloudProviderSecret(nil, field.NewPath("secret"))).To(ConsistOf(fieldErr(required, "secret")))
	})
})
