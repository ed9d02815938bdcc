// Package gardencrds provides schemaless CRDs of the garden kinds the admission webhooks handle or read, so that a
// plain kube-apiserver (envtest) serves them and calls the webhooks for them as the gardener-apiserver would.
// Schemaless, because validating the objects themselves is the gardener-apiserver's job, not this extension's.
package gardencrds

import (
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CRDs returns the CRDs of CloudProfile, NamespacedCloudProfile, Shoot, SecretBinding, Seed, BackupBucket,
// CredentialsBinding and WorkloadIdentity.
func CRDs() []*apiextensionsv1.CustomResourceDefinition {
	return []*apiextensionsv1.CustomResourceDefinition{
		crd("core.gardener.cloud", "v1beta1", "CloudProfile", "cloudprofiles", apiextensionsv1.ClusterScoped, false),
		crd("core.gardener.cloud", "v1beta1", "NamespacedCloudProfile", "namespacedcloudprofiles", apiextensionsv1.NamespaceScoped, true),
		crd("core.gardener.cloud", "v1beta1", "Shoot", "shoots", apiextensionsv1.NamespaceScoped, true),
		crd("core.gardener.cloud", "v1beta1", "SecretBinding", "secretbindings", apiextensionsv1.NamespaceScoped, false),
		crd("core.gardener.cloud", "v1beta1", "Seed", "seeds", apiextensionsv1.ClusterScoped, true),
		crd("core.gardener.cloud", "v1beta1", "BackupBucket", "backupbuckets", apiextensionsv1.ClusterScoped, true),
		crd("security.gardener.cloud", "v1alpha1", "CredentialsBinding", "credentialsbindings", apiextensionsv1.NamespaceScoped, false),
		crd("security.gardener.cloud", "v1alpha1", "WorkloadIdentity", "workloadidentities", apiextensionsv1.NamespaceScoped, false),
	}
}

// ShootStateCRD returns the CRD of ShootState, from which the Worker controller restores machines.
func ShootStateCRD() *apiextensionsv1.CustomResourceDefinition {
	return crd("core.gardener.cloud", "v1beta1", "ShootState", "shootstates", apiextensionsv1.NamespaceScoped, false)
}

func crd(group, version, kind, plural string, scope apiextensionsv1.ResourceScope, statusSubresource bool) *apiextensionsv1.CustomResourceDefinition {
	crdVersion := apiextensionsv1.CustomResourceDefinitionVersion{
		Name:    version,
		Served:  true,
		Storage: true,
		Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
			Type:                   "object",
			XPreserveUnknownFields: new(true),
		}},
	}
	if statusSubresource {
		crdVersion.Subresources = &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}}
	}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group:    group,
			Names:    apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: plural, Singular: strings.ToLower(kind)},
			Scope:    scope,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{crdVersion},
		},
	}
}
