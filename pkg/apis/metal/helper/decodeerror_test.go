package helper_test

import (
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
)

var _ = Describe("DecodeError", func() {
	base := field.NewPath("spec", "providerConfig")

	// Before, every decode error was reported on the providerConfig as a whole.
	DescribeTable("names the field that cannot be decoded",
		func(decode func(*runtime.RawExtension) error, document, path string) {
			err := decode(raw(document))
			Expect(err).To(HaveOccurred())
			decodeErr, ok := errors.AsType[*DecodeError](err)
			Expect(ok).To(BeTrue(), "%v is no *DecodeError", err)
			Expect(decodeErr.FieldPath(base).String()).To(Equal(path))
		},
		Entry("bad base64 in the second region's CA bundle", cloudProfileConfig,
			`{`+apiVersion+`,"kind":"CloudProfileConfig","regionConfigs":[{"name":"a","server":"https://a"},{"name":"b","server":"https://b","certificateAuthorityData":"%%%"}]}`,
			"spec.providerConfig.regionConfigs[1].certificateAuthorityData"),
		Entry("bad base64 in YAML", cloudProfileConfig,
			"apiVersion: metal.provider.extensions.gardener.cloud/v1alpha1\nkind: CloudProfileConfig\nregionConfigs:\n- name: a\n  server: https://a\n  certificateAuthorityData: not-base64!\n",
			"spec.providerConfig.regionConfigs[0].certificateAuthorityData"),
		Entry("an unknown field deep inside", cloudProfileConfig,
			`{`+apiVersion+`,"kind":"CloudProfileConfig","machineImages":[{"name":"gl","versions":[{"version":"1","image":"r/i:1","arch":"amd64"}]}]}`,
			"spec.providerConfig.machineImages[0].versions[0].arch"),
		Entry("a label value of the wrong type", cloudProfileConfig,
			`{`+apiVersion+`,"kind":"CloudProfileConfig","machineTypes":[{"name":"m","serverLabels":{"size":3}}]}`,
			"spec.providerConfig.machineTypes[0].serverLabels[size]"),
		Entry("a list where an object belongs", workerConfig,
			`{`+apiVersion+`,"kind":"WorkerConfig","extraIgnition":[]}`,
			"spec.providerConfig.extraIgnition"),
		Entry("a wrong kind", workerConfig,
			`{`+apiVersion+`,"kind":"InfrastructureConfig"}`,
			"spec.providerConfig.kind"),
		Entry("a wrong apiVersion", workerConfig,
			`{"apiVersion":"v1","kind":"WorkerConfig"}`,
			"spec.providerConfig.apiVersion"),
		Entry("malformed data", workerConfig, `{`, "spec.providerConfig"),
	)

	It("puts the path into its message", func() {
		_, err := CloudProfileConfigFromRaw(raw(`{` + apiVersion + `,"kind":"CloudProfileConfig","regionConfigs":[{"name":"a","server":"https://a","certificateAuthorityData":"%%%"}]}`))
		Expect(err).To(MatchError(ContainSubstring("could not decode CloudProfileConfig: regionConfigs[0].certificateAuthorityData: illegal base64 data")))
	})
})

func cloudProfileConfig(r *runtime.RawExtension) error {
	_, err := CloudProfileConfigFromRaw(r)
	return err
}

func workerConfig(r *runtime.RawExtension) error {
	_, err := WorkerConfigFromRaw(r)
	return err
}
