package metal

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	securityv1alpha1constants "github.com/gardener/gardener/pkg/apis/security/v1alpha1/constants"
)

const (
	// CloudControllerManagerName is the name of the metal cloud-controller-manager Deployment in the seed, of its
	// shoot access secret's ServiceAccount in the shoot and of its leader election lease.
	CloudControllerManagerName = "cloud-controller-manager"
	// MetalLoadBalancerControllerManagerName is the name of the metal-load-balancer-controller manager Deployment
	// in the seed and of its ServiceAccount in the shoot.
	MetalLoadBalancerControllerManagerName = "metal-load-balancer-controller-manager"
	// CloudProviderConfigName is the name of the ConfigMap holding the cloud-controller-manager's cloud config.
	CloudProviderConfigName = "cloud-provider-config"

	// KubeconfigKey is the key in the seed's `cloudprovider` secret holding the metal API kubeconfig the
	// cloudprovider webhook composes; the cloud-controller-manager and the machine-controller-manager driver
	// read it.
	KubeconfigKey = "kubeconfig"

	// WorkloadIdentityMountPath is where pods mount the workload identity token of the `cloudprovider` secret,
	// the path Gardener's providers use.
	WorkloadIdentityMountPath = "/var/run/secrets/gardener.cloud/workload-identity"
	// WorkloadIdentityTokenFile is the token file the metal kubeconfig of a workload identity shoot refers to.
	WorkloadIdentityTokenFile = WorkloadIdentityMountPath + "/" + securityv1alpha1constants.DataKeyToken
)

// IsWorkloadIdentitySecret tells whether gardenlet created the secret for workload identity credentials: its
// token is requested and rotated by Gardener, and it holds no static credentials.
func IsWorkloadIdentitySecret(secret *corev1.Secret) bool {
	return secret != nil && secret.Labels[securityv1alpha1constants.LabelPurpose] == securityv1alpha1constants.LabelPurposeWorkloadIdentityTokenRequestor
}

// WorkloadIdentityNamespace returns the shoot's metal API namespace of a workload identity secret. gardenlet copies
// the WorkloadIdentity's spec.targetSystem.providerConfig into the secret's `config` key; for the metal provider it
// names the namespace the identity is allowed to use, for example
// `{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"WorkloadIdentityConfig","namespace":"shoot-a"}`.
func WorkloadIdentityNamespace(secret *corev1.Secret) (string, error) {
	raw := secret.Data[securityv1alpha1constants.DataKeyConfig]
	if len(raw) == 0 {
		return "", fmt.Errorf("secret %s/%s has no %q key: the WorkloadIdentity must name the metal namespace in spec.targetSystem.providerConfig.namespace",
			secret.Namespace, secret.Name, securityv1alpha1constants.DataKeyConfig)
	}
	var config struct {
		Namespace string `json:"namespace"`
	}
	if err := yaml.Unmarshal(raw, &config); err != nil {
		return "", fmt.Errorf("decoding the workload identity config of secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	namespace := strings.TrimSpace(config.Namespace)
	if namespace == "" {
		return "", fmt.Errorf("the workload identity config of secret %s/%s names no namespace (spec.targetSystem.providerConfig.namespace)",
			secret.Namespace, secret.Name)
	}
	return namespace, nil
}

// MetalNamespace returns the shoot's namespace in the metal API from the `cloudprovider` secret: the `namespace`
// key of static credentials, or the workload identity config.
func MetalNamespace(secret *corev1.Secret) (string, error) {
	if IsWorkloadIdentitySecret(secret) {
		return WorkloadIdentityNamespace(secret)
	}
	namespace := strings.TrimSpace(string(secret.Data[NamespaceKey]))
	if namespace == "" {
		return "", fmt.Errorf("secret %s/%s lacks the key %s", secret.Namespace, secret.Name, NamespaceKey)
	}
	return namespace, nil
}
