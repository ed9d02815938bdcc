package controlplane

import (
	extensionssecretsmanager "github.com/gardener/gardener/extensions/pkg/util/secret/manager"
	"github.com/gardener/gardener/pkg/utils/chart"
	gardenerutils "github.com/gardener/gardener/pkg/utils/gardener"
	kubernetesutils "github.com/gardener/gardener/pkg/utils/kubernetes"
	secretsutils "github.com/gardener/gardener/pkg/utils/secrets"

	"github.com/openkcm/gardener-extension-provider-metal/charts"
	"github.com/openkcm/gardener-extension-provider-metal/imagevector"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// cloudControllerManagerServerName is the serving certificate of the cloud-controller-manager.
const cloudControllerManagerServerName = metal.CloudControllerManagerName + "-server"

// Names of the sub-charts, which are also the keys of their values.
const (
	chartCloudControllerManager             = "cloud-controller-manager"
	chartMetalLoadBalancerControllerManager = "metal-load-balancer-controller-manager"
	chartMetalLoadBalancerControllerSpeaker = "metal-load-balancer-controller-speaker"
	chartMetalLB                            = "metallb"
	chartCalicoBGP                          = "calico-bgp"
)

// secretConfigs are the secrets Gardener's secrets manager keeps in the control plane namespace: the
// cloud-controller-manager's serving certificate for its metrics and health port, which the secrets manager renews
// before it expires.
//
// The certificate is self-signed, without a CA of the extension's own. Gardener's secrets manager gives every
// certificate a new 3072-bit RSA key and offers no other size or algorithm (CertificateSecretConfig in
// pkg/utils/secrets/certificate.go of gardener v1.150.0), and such a key costs about 0.3 CPU seconds (scale benchmark); a CA would
// double that for every shoot while no client could use it: the only clients of the port are the shoot's Prometheus,
// which skips verification (the ServiceMonitor of the chart; provider-aws scrapes its CA-signed CCM with
// insecure_skip_verify too), and the kubelet's probes, which never verify. The serving key is as strong as before
// and renewed as before; a shoot's CA rotation finds no CA of this extension to rotate, and the CA secrets of
// earlier versions are deleted by the secrets manager's cleanup at the next reconcile.
func secretConfigs(namespace string) []extensionssecretsmanager.SecretConfigWithOptions {
	return []extensionssecretsmanager.SecretConfigWithOptions{{
		Config: &secretsutils.CertificateSecretConfig{
			Name:       cloudControllerManagerServerName,
			CommonName: metal.CloudControllerManagerName,
			DNSNames:   kubernetesutils.DNSNamesForService(metal.CloudControllerManagerName, namespace),
			CertType:   secretsutils.ServerCert,
		},
	}}
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
