package main

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
)

var _ = Describe("commandLine", func() {
	env := map[string]string{"PATH": "/usr/bin:/bin", "NAME": "x"}
	DescribeTable("puts the mapped binary where the image's entrypoint would run",
		func(command, args []string, path string, argv []string) {
			c := &container{
				spec:   corev1.Container{Image: "example.com/gardener/machine-controller-manager:v1", Command: command, Args: args},
				binary: "/cache/mcm",
			}
			p, a := commandLine(c, env)
			Expect(p).To(Equal(path))
			Expect(a).To(Equal(argv))
		},
		Entry("no command", nil, []string{"--a=$(NAME)"}, "/cache/mcm", []string{"/cache/mcm", "--a=x"}),
		Entry("the image's name", []string{"./machine-controller-manager", "-v"}, []string{"--b"}, "/cache/mcm", []string{"/cache/mcm", "-v", "--b"}),
		Entry("the binary's name", []string{"mcm"}, nil, "/cache/mcm", []string{"/cache/mcm"}),
		Entry("a missing absolute path", []string{"/app/driver"}, nil, "/cache/mcm", []string{"/cache/mcm"}),
		Entry("a missing relative path", []string{"./driver"}, nil, "/cache/mcm", []string{"/cache/mcm"}),
		Entry("a name not in PATH", []string{"no-such-command-here"}, nil, "/cache/mcm", []string{"/cache/mcm"}),
		Entry("a host program", []string{"/bin/sh", "-c", "echo $(NAME)"}, nil, "/bin/sh", []string{"/bin/sh", "-c", "echo x"}),
		Entry("a host program in PATH", []string{"sh", "-c", "true"}, nil, "sh", []string{"sh", "-c", "true"}),
	)
})
