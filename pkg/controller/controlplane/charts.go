package controlplane

import (
	extensionssecretsmanager "github.com/gardener/gardener/extensions/pkg/util/secret/manager"
	"github.com/gardener/gardener/pkg/utils/chart"
	gardenerutils "github.com/gardener/gardener/pkg/utils/gardener"
	kubernetesutils "github.com/gardener/gardener/pkg/utils/kubernetes"
	secretsutils "github.com/gardener/gardener/pkg/utils/secrets"
	secretsmanager "github.com/gardener/gardener/pkg/utils/secrets/manager"

	"github.com/openkcm/gardener-extension-provider-metal/charts"
	"github.com/openkcm/gardener-extension-provider-metal/imagevector"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const (
	// caNameControlPlane is the CA that signs the serving certificates of the extension's control plane components.
	caNameControlPlane = "ca-" + metal.Name + "-controlplane"
	// cloudControllerManagerServerName is the serving certificate of the cloud-controller-manager.
	cloudControllerManagerServerName = metal.CloudControllerManagerName + "-server"
)

// Names of the sub-charts, which are also the keys of their values.
const (
	chartCloudControllerManager             = "cloud-controller-manager"
	chartMetalLoadBalancerControllerManager = "metal-load-balancer-controller-manager"
	chartMetalLoadBalancerControllerSpeaker = "metal-load-balancer-controller-speaker"
	chartMetalLB                            = "metallb"
	chartCalicoBGP                          = "calico-bgp"
)

// secretConfigs are the secrets Gardener's secrets manager keeps in the control plane namespace: a CA, persisted so
// that it survives the secrets manager's cleanup, and the cloud-controller-manager's serving certificate, which the
// secrets manager renews before it expires.
func secretConfigs(namespace string) []extensionssecretsmanager.SecretConfigWithOptions {
	return []extensionssecretsmanager.SecretConfigWithOptions{
		{
			Config: &secretsutils.CertificateSecretConfig{
				Name:       caNameControlPlane,
				CommonName: caNameControlPlane,
				CertType:   secretsutils.CACert,
			},
			Options: []secretsmanager.GenerateOption{secretsmanager.Persist()},
		},
		{
			Config: &secretsutils.CertificateSecretConfig{
				Name:                        cloudControllerManagerServerName,
				CommonName:                  metal.CloudControllerManagerName,
				DNSNames:                    kubernetesutils.DNSNamesForService(metal.CloudControllerManagerName, namespace),
				CertType:                    secretsutils.ServerCert,
				SkipPublishingCACertificate: true,
			},
			Options: []secretsmanager.GenerateOption{secretsmanager.SignedByCA(caNameControlPlane)},
		},
	}
}

// shootAccessSecrets are the tokens with which the seed components act in the shoot; gardener-resource-manager
// creates their ServiceAccounts in the shoot's kube-system namespace and keeps the tokens fresh. Both are always
// created: the load balancer manager's ServiceAccount has no permissions unless the shoot enables it.
func shootAccessSecrets(namespace string) []*gardenerutils.AccessSecret {
	return []*gardenerutils.AccessSecret{
		gardenerutils.NewShootAccessSecret(metal.CloudControllerManagerName, namespace),
		gardenerutils.NewShootAccessSecret(metal.MetalLoadBalancerControllerManagerName, namespace),
	}
}

var (
	seedChart = &chart.Chart{
		Name:       "seed-controlplane",
		EmbeddedFS: charts.InternalChart,
		Path:       charts.SeedControlPlaneChartPath,
		SubCharts: []*chart.Chart{
			{Name: chartCloudControllerManager, Images: []string{imagevector.ImageNameCloudControllerManager}},
			{Name: chartMetalLoadBalancerControllerManager, Images: []string{imagevector.ImageNameMetalLoadBalancerControllerManager}},
		},
	}

	shootChart = &chart.Chart{
		Name:       "shoot-system-components",
		EmbeddedFS: charts.InternalChart,
		Path:       charts.ShootSystemComponentsChartPath,
		SubCharts: []*chart.Chart{
			{Name: chartCloudControllerManager},
			{Name: chartMetalLoadBalancerControllerSpeaker, Images: []string{imagevector.ImageNameMetalLoadBalancerControllerSpeaker}},
			{Name: chartMetalLB, Images: []string{imagevector.ImageNameMetalLBController, imagevector.ImageNameMetalLBSpeaker}},
			{Name: chartCalicoBGP},
		},
	}

	shootCRDsChart = &chart.Chart{
		Name:       "shoot-crds",
		EmbeddedFS: charts.InternalChart,
		Path:       charts.ShootCRDsChartPath,
	}

	storageClassesChart = &chart.Chart{
		Name:       "shoot-storageclasses",
		EmbeddedFS: charts.InternalChart,
		Path:       charts.ShootStorageClassesChartPath,
	}
)
