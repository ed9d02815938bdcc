package metalclient_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestMetalClient(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Driver Metal Client Suite")
}
