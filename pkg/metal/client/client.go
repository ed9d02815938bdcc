// Package client connects to the metal API with a shoot's credentials: the region's server and CA from the
// CloudProfile, the namespace and token from the credentials secret.
package client

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// Scheme knows the types this extension reads and writes in the metal API.
var Scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(metalv1alpha1.AddToScheme(Scheme))
	utilruntime.Must(ipamv1beta2.AddToScheme(Scheme))
}

// Credentials are a shoot's credentials for the metal API.
type Credentials struct {
	// Namespace is the shoot's namespace in the metal API.
	Namespace string
	// Token is the bearer token.
	Token string
}

// ReadCredentials reads the credentials from a secret: the namespace from its `namespace` key or, for a
// workload identity secret, from the WorkloadIdentity's provider config; the bearer token from its `token` key,
// which gardenlet keeps fresh for workload identities. Errors name what is missing, never a value.
func ReadCredentials(secret *corev1.Secret) (*Credentials, error) {
	namespace, err := metal.MetalNamespace(secret)
	if err != nil {
		return nil, err
	}
	token := strings.TrimSpace(string(secret.Data[metal.TokenKey]))
	if token == "" {
		return nil, fmt.Errorf("secret %s/%s lacks the key %s", secret.Namespace, secret.Name, metal.TokenKey)
	}
	return &Credentials{Namespace: namespace, Token: token}, nil
}

// RESTConfig returns the configuration for talking to the region's metal API with the credentials.
func RESTConfig(region *api.RegionConfig, creds *Credentials) (*rest.Config, error) {
	if region == nil || region.Server == "" {
		return nil, errors.New("the region has no metal API server configured in the CloudProfile")
	}
	return &rest.Config{
		Host:            region.Server,
		BearerToken:     creds.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: region.CertificateAuthorityData},
	}, nil
}

// Kubeconfig renders the credentials as a kubeconfig whose context points at the shoot's namespace; the driver
// and the cloud-controller-manager take the namespace from there.
func Kubeconfig(region *api.RegionConfig, creds *Credentials) ([]byte, error) {
	if region == nil || region.Server == "" {
		return nil, errors.New("the region has no metal API server configured in the CloudProfile")
	}
	const name = "metal"
	cfg := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{name: {
			Server:                   region.Server,
			CertificateAuthorityData: region.CertificateAuthorityData,
		}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{name: {Token: creds.Token}},
		Contexts: map[string]*clientcmdapi.Context{name: {
			Cluster:   name,
			AuthInfo:  name,
			Namespace: creds.Namespace,
		}},
		CurrentContext: name,
	}
	return clientcmd.Write(cfg)
}
