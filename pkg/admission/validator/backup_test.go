package validator_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/gardener/gardener/pkg/apis/core"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/admission/validator"
)

var _ = Describe("Backup validator", func() {
	const secretAccessKey = "backup-secret-value-not-to-be-echoed"

	newValidator := func(data map[string]string) func(client.Object) error {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "garden", Name: "backup"}, Data: map[string][]byte{}}
		for k, v := range data {
			secret.Data[k] = []byte(v)
		}
		reader := fakeclient.NewClientBuilder().WithObjects(secret).Build()
		return func(obj client.Object) error {
			return validator.NewBackupValidator(reader).Validate(context.Background(), obj, nil)
		}
	}
	validData := map[string]string{"accessKeyID": "AKIAEXAMPLE", "secretAccessKey": secretAccessKey, "endpoint": "https://s3.example.org", "s3ForcePathStyle": "true"}
	ref := func(name string) *corev1.ObjectReference {
		return &corev1.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: "garden", Name: name}
	}
	seed := func(provider string, credentialsRef *corev1.ObjectReference) *core.Seed {
		return &core.Seed{Spec: core.SeedSpec{Backup: &core.Backup{Provider: provider, CredentialsRef: credentialsRef}}}
	}
	bucket := func(credentialsRef *corev1.ObjectReference) *core.BackupBucket {
		return &core.BackupBucket{Spec: core.BackupBucketSpec{Provider: core.BackupBucketProvider{Type: "metal"}, CredentialsRef: credentialsRef}}
	}

	It("accepts a metal Seed and BackupBucket with a valid backup secret", func() {
		validate := newValidator(validData)
		Expect(validate(seed("metal", ref("backup")))).To(Succeed())
		Expect(validate(bucket(ref("backup")))).To(Succeed())
	})

	It("ignores Seeds whose backup is not metal or that have none", func() {
		validate := newValidator(nil)
		Expect(validate(seed("aws", ref("missing")))).To(Succeed())
		Expect(validate(&core.Seed{})).To(Succeed())
	})

	DescribeTable("rejects with the reference's path and never a secret value",
		func(obj client.Object, data map[string]string, path, detail string) {
			err := newValidator(data)(obj)
			Expect(err).To(MatchError(And(ContainSubstring(path), ContainSubstring(detail))))
			Expect(err.Error()).NotTo(ContainSubstring(secretAccessKey))
		},
		Entry("a Seed without credentialsRef", seed("metal", nil), validData, "spec.backup.credentialsRef", "Required"),
		Entry("a Seed referencing a WorkloadIdentity", seed("metal", &corev1.ObjectReference{APIVersion: "security.gardener.cloud/v1alpha1", Kind: "WorkloadIdentity", Name: "wi"}), validData, "spec.backup.credentialsRef.kind", "Unsupported"),
		Entry("a Seed referencing a missing Secret", seed("metal", ref("missing")), validData, "spec.backup.credentialsRef", "does not exist"),
		Entry("a Seed with an invalid Secret", seed("metal", ref("backup")), map[string]string{"accessKeyID": "AKIAEXAMPLE", "secretAccessKey": secretAccessKey + " ", "endpoint": "s3.example.org"}, "spec.backup.credentialsRef", "data[secretAccessKey]"),
		Entry("a BackupBucket with a Secret without access key", bucket(ref("backup")), map[string]string{"secretAccessKey": secretAccessKey}, "spec.credentialsRef", "data[accessKeyID]"),
	)
})
