package controlplane

import (
	. "github.com/onsi/gomega"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// expectCRDValid checks that every version of a rendered CRD has a structural schema, as the kube-apiserver
// requires of apiextensions.k8s.io/v1 CRDs. The integration suite installs the CRDs into a real API server.
func expectCRDValid(crd *apiextensionsv1.CustomResourceDefinition) {
	Expect(crd.Name).To(Equal(crd.Spec.Names.Plural + "." + crd.Spec.Group))
	Expect(crd.Spec.Versions).NotTo(BeEmpty())
	for _, version := range crd.Spec.Versions {
		Expect(version.Schema).NotTo(BeNil(), crd.Name)
		internal := &apiextensions.JSONSchemaProps{}
		Expect(apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(version.Schema.OpenAPIV3Schema, internal, nil)).To(Succeed())
		structural, err := structuralschema.NewStructural(internal)
		Expect(err).NotTo(HaveOccurred(), crd.Name)
		Expect(structuralschema.ValidateStructural(field.NewPath("spec", "versions").Key(version.Name), structural)).To(BeEmpty(), crd.Name)
	}
}
