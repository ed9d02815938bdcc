package cloudprovider

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/gardener/gardener/extensions/pkg/webhook/cloudprovider"
	extensionscontextwebhook "github.com/gardener/gardener/extensions/pkg/webhook/context"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	metalclient "github.com/openkcm/gardener-extension-provider-metal/pkg/metal/client"
)

// NewEnsurer returns the ensurer of the `cloudprovider` secret.
func NewEnsurer() cloudprovider.Ensurer {
	return &ensurer{}
}

type ensurer struct{}

// EnsureCloudProviderSecret writes the metal API kubeconfig under the key `kubeconfig`: the server and CA of the
// shoot's region from the CloudProfile, and either the static token and namespace of the secret or, for workload
// identity, the namespace of the identity's config and a token read from the file Gardener keeps fresh. The
// result depends only on these inputs, so admitting the secret again yields the same kubeconfig.
func (e *ensurer) EnsureCloudProviderSecret(ctx context.Context, gctx extensionscontextwebhook.GardenContext, newSecret, _ *corev1.Secret) error {
	cluster, err := gctx.GetCluster(ctx)
	if err != nil {
		return fmt.Errorf("reading the Cluster: %w", err)
	}
	if cluster.CloudProfile == nil || cluster.Shoot == nil {
		return fmt.Errorf("the Cluster of namespace %s lacks the CloudProfile or the Shoot", newSecret.Namespace)
	}
	cloudProfileConfig, err := helper.CloudProfileConfigFromRaw(cluster.CloudProfile.Spec.ProviderConfig)
	if err != nil {
		return fmt.Errorf("decoding the CloudProfile's providerConfig: %w", err)
	}
	region, found := helper.FindRegionConfig(cloudProfileConfig, cluster.Shoot.Spec.Region)
	if !found {
		return fmt.Errorf("the CloudProfile %s has no regionConfig for region %q", cluster.CloudProfile.Name, cluster.Shoot.Spec.Region)
	}

	kubeconfig, err := composeKubeconfig(region, newSecret)
	if err != nil {
		return err
	}
	if newSecret.Data == nil {
		newSecret.Data = map[string][]byte{}
	}
	newSecret.Data[metal.KubeconfigKey] = kubeconfig
	return nil
}

func composeKubeconfig(region *api.RegionConfig, secret *corev1.Secret) ([]byte, error) {
	if metal.IsWorkloadIdentitySecret(secret) {
		namespace, err := metal.WorkloadIdentityNamespace(secret)
		if err != nil {
			return nil, err
		}
		return workloadIdentityKubeconfig(region, namespace)
	}
	creds, err := metalclient.ReadCredentials(secret)
	if err != nil {
		return nil, fmt.Errorf("reading the metal credentials: %w", err)
	}
	kubeconfig, err := metalclient.Kubeconfig(region, creds)
	if err != nil {
		return nil, fmt.Errorf("composing the metal kubeconfig: %w", err)
	}
	return kubeconfig, nil
}

// workloadIdentityKubeconfig renders a kubeconfig whose user reads its bearer token from the file the components
// mount the secret's `token` key to; client-go rereads the file, so renewed tokens are used without a restart.
func workloadIdentityKubeconfig(region *api.RegionConfig, namespace string) ([]byte, error) {
	if region.Server == "" {
		return nil, fmt.Errorf("region %q has no metal API server configured in the CloudProfile", region.Name)
	}
	const name = "metal"
	cfg := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{name: {
			Server:                   region.Server,
			CertificateAuthorityData: region.CertificateAuthorityData,
		}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{name: {TokenFile: metal.WorkloadIdentityTokenFile}},
		Contexts: map[string]*clientcmdapi.Context{name: {
			Cluster:   name,
			AuthInfo:  name,
			Namespace: namespace,
		}},
		CurrentContext: name,
	}
	kubeconfig, err := clientcmd.Write(cfg)
	if err != nil {
		return nil, fmt.Errorf("composing the workload identity kubeconfig: %w", err)
	}
	return kubeconfig, nil
}
