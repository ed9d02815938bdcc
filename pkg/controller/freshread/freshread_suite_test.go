package freshread

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestFreshRead(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Fresh Read Suite")
}
