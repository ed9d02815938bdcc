package main

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("expand", func() {
	env := mappingFor(map[string]string{"VAR_A": "A", "VAR_B": "B", "VAR_EMPTY": "", "VAR_REF": "$(VAR_A)"})
	// Cases of the kubelet's expansion tests (third_party/forked/golang/expansion).
	DescribeTable("expands $(VAR) like the kubelet",
		func(in, out string) { Expect(expand(in, env)).To(Equal(out)) },
		Entry("whole string", "$(VAR_A)", "A"),
		Entry("repeated", "$(VAR_B)$(VAR_B)", "BB"),
		Entry("embedded", "___$(VAR_A)___", "___A___"),
		Entry("empty value", "x$(VAR_EMPTY)x", "xx"),
		Entry("undefined stays", "$(VAR_NOPE)", "$(VAR_NOPE)"),
		Entry("values are not expanded again", "$(VAR_REF)", "$(VAR_A)"),
		Entry("escaped", "$$(VAR_A)", "$(VAR_A)"),
		Entry("double escape", "$$$$(VAR_A)", "$$(VAR_A)"),
		Entry("escape then var", "$$$(VAR_A)", "$A"),
		Entry("unterminated", "$(VAR_A", "$(VAR_A"),
		Entry("unterminated after a var", "$(VAR_A)$(VAR_B", "A$(VAR_B"),
		Entry("lone dollar", "$VAR_A", "$VAR_A"),
		Entry("trailing dollar", "abc$", "abc$"),
		Entry("empty name", "$()", "$()"),
	)
})

var _ = Describe("images", func() {
	images := imageMap{"example.com/a": "/bin/a", "example.com/b:v1": "/bin/b1"}
	DescribeTable("looks up the full reference, then the repository",
		func(image, path string, found bool) {
			p, ok := images.lookup(image)
			Expect(ok).To(Equal(found))
			Expect(p).To(Equal(path))
		},
		Entry("repository", "example.com/a", "/bin/a", true),
		Entry("tag", "example.com/a:v3", "/bin/a", true),
		Entry("digest", "example.com/a@sha256:0123", "/bin/a", true),
		Entry("tag and digest", "example.com/a:v3@sha256:0123", "/bin/a", true),
		Entry("full reference", "example.com/b:v1", "/bin/b1", true),
		Entry("other tag", "example.com/b:v2", "", false),
		Entry("registry port", "localhost:5000/a:v1", "", false),
	)
	It("keeps a registry port in the repository", func() {
		Expect(imageRepository("localhost:5000/x/a:v1")).To(Equal("localhost:5000/x/a"))
	})
})
