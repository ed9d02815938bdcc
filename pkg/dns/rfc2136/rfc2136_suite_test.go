package rfc2136_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestRFC2136(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "RFC 2136 Client Suite")
}
