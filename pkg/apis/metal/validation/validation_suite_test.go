package validation_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	"github.com/onsi/gomega/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidation(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Metal API Validation Suite")
}

// fieldErr matches a *field.Error by type and path.
func fieldErr(errorType field.ErrorType, path string) types.GomegaMatcher {
	return PointTo(MatchFields(IgnoreExtras, Fields{"Type": Equal(errorType), "Field": Equal(path)}))
}

// expectErrors asserts that errs are exactly the expected ones, or empty when none are expected.
func expectErrors(errs field.ErrorList, expected []types.GomegaMatcher) {
	GinkgoHelper()
	if len(expected) == 0 {
		Expect(errs).To(BeEmpty())
		return
	}
	Expect(errs).To(ConsistOf(expected))
}

const (
	invalid      = field.ErrorTypeInvalid
	required     = field.ErrorTypeRequired
	forbidden    = field.ErrorTypeForbidden
	duplicate    = field.ErrorTypeDuplicate
	notFound     = field.ErrorTypeNotFound
	notSupported = field.ErrorTypeNotSupported
	internal     = field.ErrorTypeInternal
)
