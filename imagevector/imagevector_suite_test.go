package imagevector

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestImageVector(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "ImageVector Suite")
}
