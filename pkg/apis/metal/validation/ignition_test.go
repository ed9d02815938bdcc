package validation_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
)

var _ = Describe("Ignition", func() {
	fldPath := field.NewPath("spec", "provider", "workers").Index(0).Child("providerConfig", "extraIgnition", "raw")
	const path = "spec.provider.workers[0].providerConfig.extraIgnition.raw"

	// Each rejected entry was accepted before, when Ignition only had to be a JSON or YAML object, and then failed
	// in the Worker controller, which parses it with pkg/driver/ignition.ParseExtra.
	DescribeTable("#ValidateIgnitionContent",
		func(content string, merged bool, expected ...types.GomegaMatcher) {
			expectErrors(ValidateIgnitionContent(content, merged, fldPath), expected)
		},
		Entry("JSON of spec 3.4", `{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/motd","contents":{"source":"data:,hi"}}]}}`, true),
		Entry("YAML of spec 3.0", "ignition:\n  version: 3.0.0\n", true),
		Entry("YAML of spec 3.5", "ignition:\n  version: 3.5.0\nsystemd:\n  units:\n  - name: extra.service\n    enabled: true\n", true),
		Entry("empty", "  ", true, fieldErr(required, path)),
		Entry("no version", "storage:\n  files: []\n", true, fieldErr(invalid, path)),
		Entry("spec 2", `{"ignition":{"version":"2.3.0"}}`, true, fieldErr(invalid, path)),
		Entry("a future spec", `{"ignition":{"version":"3.9.0"}}`, true, fieldErr(invalid, path)),
		Entry("no object", `[1, 2]`, true, fieldErr(invalid, path)),
		Entry("not parseable", `{"ignition":`, true, fieldErr(invalid, path)),
		Entry("a field of the wrong type", `{"ignition":{"version":"3.4.0"},"storage":{"files":{"path":"/etc/motd"}}}`, true, fieldErr(invalid, path)),
		Entry("a relative path", `{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"etc/motd"}]}}`, true, fieldErr(invalid, path)),
		Entry("a file with an invalid source", `{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/motd","contents":{"source":"data:;base64,%%%"}}]}}`, true, fieldErr(invalid, path)),
		Entry("the generated hostname when merged", `{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/hostname","contents":{"source":"data:,x"}}]}}`, true, fieldErr(forbidden, path)),
		Entry("the generated metadata when merged", `{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/var/lib/metal/metadata.json"}]}}`, true, fieldErr(forbidden, path)),
		Entry("the user data unit when merged", `{"ignition":{"version":"3.4.0"},"systemd":{"units":[{"name":"metal-user-data.service","mask":true}]}}`, true, fieldErr(forbidden, path)),
		Entry("the generated hostname with override", `{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/hostname","contents":{"source":"data:,x"}}]}}`, false),
	)

	It("does not echo the content in the error", func() {
		errs := ValidateIgnitionContent(`{"ignition":{"version":"2.0.0"},"passwd":{"users":[{"name":"core","passwordHash":"s3cr3t-hash"}]}}`, true, fldPath)
		Expect(errs).To(HaveLen(1))
		Expect(errs.ToAggregate().Error()).NotTo(ContainSubstring("s3cr3t-hash"))
	})
})
