package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	"github.com/gardener/gardener/extensions/pkg/controller/controlplane/genericactuator"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	kubernetesutils "github.com/gardener/gardener/pkg/utils/kubernetes"
	secretsmanager "github.com/gardener/gardener/pkg/utils/secrets/manager"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const (
	// calicoNetworkingType is the networking type of Gardener's Calico extension.
	calicoNetworkingType = "calico"
	// defaultBGPPort is the port MetalLB peers on unless the config says otherwise.
	defaultBGPPort = 179
)

// NewValuesProvider returns the values provider of the metal control plane charts. It reads the shoot's
// `cloudprovider` secret with the given client.
func NewValuesProvider(c client.Client) genericactuator.ValuesProvider {
	return &valuesProvider{client: c}
}

type valuesProvider struct {
	genericactuator.NoopValuesProvider
	client client.Client
}

// GetControlPlaneChartValues returns the values of the seed chart: the cloud-controller-manager with its cloud
// config and the metal-load-balancer-controller manager when the shoot uses it.
func (vp *valuesProvider) GetControlPlaneChartValues(
	ctx context.Context,
	cp *extensionsv1alpha1.ControlPlane,
	cluster *extensionscontroller.Cluster,
	secretsReader secretsmanager.Reader,
	_ map[string]string,
	scaledDown bool,
) (map[string]any, error) {
	cfg, err := controlPlaneConfig(cp, cluster)
	if err != nil {
		return nil, err
	}
	// Current, not the default: for a certificate it did not sign with a CA, the secrets manager's default is the
	// bundle it keeps for CAs, which holds no key.
	serverSecret, found := secretsReader.Get(cloudControllerManagerServerName, secretsmanager.Current)
	if !found {
		return nil, fmt.Errorf("secret %q not found in the secrets manager", cloudControllerManagerServerName)
	}
	credentials := &corev1.Secret{}
	if err := vp.client.Get(ctx, client.ObjectKey{Namespace: cp.Namespace, Name: v1beta1constants.SecretNameCloudProvider}, credentials); err != nil {
		return nil, fmt.Errorf("reading the cloudprovider secret: %w", err)
	}
	access, err := readMetalAccess(credentials)
	if err != nil {
		return nil, err
	}
	return seedValues(cfg, cluster, access, serverSecret.Name, extensionscontroller.GetControlPlaneReplicas(cluster, scaledDown, 1))
}

// GetControlPlaneShootChartValues returns the values of the shoot chart: RBAC, and the load balancer components
// the ControlPlaneConfig enables.
func (vp *valuesProvider) GetControlPlaneShootChartValues(
	_ context.Context,
	cp *extensionsv1alpha1.ControlPlane,
	cluster *extensionscontroller.Cluster,
	_ secretsmanager.Reader,
	_ map[string]string,
) (map[string]any, error) {
	cfg, err := controlPlaneConfig(cp, cluster)
	if err != nil {
		return nil, err
	}
	return shootValues(cfg, cluster), nil
}

// GetControlPlaneShootCRDsChartValues returns the values of the shoot CRDs chart.
func (vp *valuesProvider) GetControlPlaneShootCRDsChartValues(
	_ context.Context,
	cp *extensionsv1alpha1.ControlPlane,
	cluster *extensionscontroller.Cluster,
) (map[string]any, error) {
	cfg, err := controlPlaneConfig(cp, cluster)
	if err != nil {
		return nil, err
	}
	return crdsValues(cfg), nil
}

// GetStorageClassesChartValues returns the values of the storage classes chart.
func (vp *valuesProvider) GetStorageClassesChartValues(
	_ context.Context,
	cp *extensionsv1alpha1.ControlPlane,
	cluster *extensionscontroller.Cluster,
) (map[string]any, error) {
	cfg, err := controlPlaneConfig(cp, cluster)
	if err != nil {
		return nil, err
	}
	return storageClassValues(cfg), nil
}

// metalAccess is what the seed components need to know about the shoot's access to the metal API.
type metalAccess struct {
	// namespace is the shoot's namespace in the metal API.
	namespace string
	// kubeconfigChecksum changes when the metal kubeconfig changes, so that the pods restart with it.
	kubeconfigChecksum string
	// workloadIdentity tells whether the kubeconfig reads a workload identity token from a file.
	workloadIdentity bool
	// egressLabels let the cloud-controller-manager's pods reach the metal API server.
	egressLabels map[string]any
}

// readMetalAccess reads the `cloudprovider` secret. Its kubeconfig is written by the extension's cloudprovider
// webhook; the checksum covers only that key, because with workload identity Gardener renews the token in the same
// secret regularly and the mounted token file follows without a restart.
func readMetalAccess(secret *corev1.Secret) (*metalAccess, error) {
	kubeconfig := secret.Data[metal.KubeconfigKey]
	if len(kubeconfig) == 0 {
		return nil, fmt.Errorf("secret %s/%s has no %q key; it is written by the cloudprovider webhook of %s",
			secret.Namespace, secret.Name, metal.KubeconfigKey, metal.Name)
	}
	namespace, err := metal.MetalNamespace(secret)
	if err != nil {
		return nil, err
	}
	egressLabels, err := metalAPIEgressLabels(kubeconfig)
	if err != nil {
		return nil, err
	}
	return &metalAccess{
		egressLabels:       egressLabels,
		namespace:          namespace,
		kubeconfigChecksum: checksum(kubeconfig),
		workloadIdentity:   metal.IsWorkloadIdentitySecret(secret),
	}, nil
}

// cloudConfig is the configuration file of the metal cloud-controller-manager.
type cloudConfig struct {
	ClusterName string                 `json:"clusterName"`
	Networking  *cloudConfigNetworking `json:"networking"`
}

type cloudConfigNetworking struct {
	ConfigureNodeAddresses bool                 `json:"configureNodeAddresses"`
	IPAMKind               *cloudConfigIPAMKind `json:"ipamKind,omitempty"`
}

type cloudConfigIPAMKind struct {
	APIGroup string `json:"apiGroup"`
	Kind     string `json:"kind"`
}

func renderCloudConfig(cfg *api.ControlPlaneConfig, clusterName string) (string, error) {
	config := cloudConfig{
		ClusterName: clusterName,
		Networking:  &cloudConfigNetworking{ConfigureNodeAddresses: helper.ConfigureNodeAddresses(cfg)},
	}
	if ccm := cfg.CloudControllerManager; ccm != nil && ccm.Networking != nil && ccm.Networking.IPAMKind != nil {
		kind := ccm.Networking.IPAMKind
		config.Networking.IPAMKind = &cloudConfigIPAMKind{APIGroup: kind.APIGroup, Kind: kind.Kind}
	}
	data, err := yaml.Marshal(config)
	if err != nil {
		return "", fmt.Errorf("rendering the cloud-provider-config: %w", err)
	}
	return string(data), nil
}

func seedValues(cfg *api.ControlPlaneConfig, cluster *extensionscontroller.Cluster, access *metalAccess, serverSecretName string, replicas int) (map[string]any, error) {
	clusterName := cluster.Shoot.Status.TechnicalID
	config, err := renderCloudConfig(cfg, clusterName)
	if err != nil {
		return nil, err
	}

	ccm := map[string]any{
		"replicas":         replicas,
		"clusterName":      clusterName,
		"cloudConfig":      config,
		"podNetworks":      podNetworks(cluster),
		"metalNamespace":   access.namespace,
		"workloadIdentity": access.workloadIdentity,
		"podAnnotations": map[string]any{
			"checksum/configmap-" + metal.CloudProviderConfigName: checksum([]byte(config)),
			"checksum/secret-cloudprovider-kubeconfig":            access.kubeconfigChecksum,
		},
		"podLabels":         ccmPodLabels(access),
		"priorityClassName": v1beta1constants.PriorityClassNameShootControlPlane300,
		"server": map[string]any{
			"tlsSecretName":   serverSecretName,
			"tlsCipherSuites": kubernetesutils.TLSCipherSuites,
		},
	}
	if c := cfg.CloudControllerManager; c != nil {
		if len(c.FeatureGates) > 0 {
			gates := map[string]any{}
			for name, enabled := range c.FeatureGates {
				gates[name] = enabled
			}
			ccm["featureGates"] = gates
		}
		if c.PodPrefixSize != nil {
			ccm["podPrefixSize"] = *c.PodPrefixSize
		}
	}

	lbManager := map[string]any{"enabled": false}
	if metalLoadBalancer(cfg) != nil {
		lbManager = map[string]any{
			"enabled":  true,
			"replicas": replicas,
			"podLabels": map[string]any{
				v1beta1constants.LabelPodMaintenanceRestart: "true",
			},
			"priorityClassName": v1beta1constants.PriorityClassNameShootControlPlane300,
		}
	}

	return map[string]any{
		"global": map[string]any{
			"genericTokenKubeconfigSecretName": extensionscontroller.GenericTokenKubeconfigSecretNameFromCluster(cluster),
		},
		chartCloudControllerManager:             ccm,
		chartMetalLoadBalancerControllerManager: lbManager,
	}, nil
}

func ccmPodLabels(access *metalAccess) map[string]any {
	labels := map[string]any{v1beta1constants.LabelPodMaintenanceRestart: "true"}
	for key, value := range access.egressLabels {
		labels[key] = value
	}
	return labels
}

// podNetworks are the shoot's pod CIDRs: those Gardener reports in the status (one per IP family in dual-stack
// shoots), or the configured one before the status has them.
func podNetworks(cluster *extensionscontroller.Cluster) []any {
	var networks []any
	if status := cluster.Shoot.Status.Networking; status != nil {
		for _, cidr := range status.Pods {
			networks = append(networks, cidr)
		}
	}
	if len(networks) == 0 && cluster.Shoot.Spec.Networking != nil && cluster.Shoot.Spec.Networking.Pods != nil {
		networks = append(networks, *cluster.Shoot.Spec.Networking.Pods)
	}
	return networks
}

func metalLoadBalancer(cfg *api.ControlPlaneConfig) *api.MetalLoadBalancerConfig {
	if cfg.LoadBalancer == nil {
		return nil
	}
	return cfg.LoadBalancer.MetalLoadBalancer
}

func metalLB(cfg *api.ControlPlaneConfig) *api.MetalLBConfig {
	if cfg.LoadBalancer == nil {
		return nil
	}
	return cfg.LoadBalancer.MetalLB
}

// calicoBGP returns the Calico BGP configuration if the shoot uses Calico; Calico's resources exist only there.
func calicoBGP(cfg *api.ControlPlaneConfig, cluster *extensionscontroller.Cluster) *api.CalicoBGPConfig {
	if cfg.LoadBalancer == nil || cfg.LoadBalancer.CalicoBGP == nil {
		return nil
	}
	networking := cluster.Shoot.Spec.Networking
	if networking == nil || ptr.Deref(networking.Type, "") != calicoNetworkingType {
		return nil
	}
	return cfg.LoadBalancer.CalicoBGP
}

func shootValues(cfg *api.ControlPlaneConfig, cluster *extensionscontroller.Cluster) map[string]any {
	speaker := map[string]any{"enabled": false}
	if lb := metalLoadBalancer(cfg); lb != nil {
		speaker = map[string]any{"enabled": true, "vni": lb.VNI, "metalBondServer": lb.MetalBondServer}
	}
	return map[string]any{
		chartMetalLoadBalancerControllerSpeaker: speaker,
		chartMetalLB:                            metalLBValues(metalLB(cfg)),
		chartCalicoBGP:                          calicoBGPValues(calicoBGP(cfg, cluster)),
	}
}

func metalLBValues(lb *api.MetalLBConfig) map[string]any {
	if lb == nil {
		return map[string]any{"enabled": false}
	}
	var pools []any
	for _, pool := range lb.IPAddressPools {
		values := map[string]any{"name": pool.Name, "addresses": toAny(pool.Addresses)}
		if pool.AutoAssign != nil {
			values["autoAssign"] = *pool.AutoAssign
		}
		pools = append(pools, values)
	}
	values := map[string]any{"enabled": true, "ipAddressPools": pools}
	if lb.L2 != nil {
		values["l2"] = map[string]any{"ipAddressPools": toAny(lb.L2.IPAddressPools), "interfaces": toAny(lb.L2.Interfaces)}
	}
	if lb.BGP != nil {
		var peers []any
		for _, peer := range lb.BGP.Peers {
			selector := map[string]any{}
			for k, v := range peer.NodeSelector {
				selector[k] = v
			}
			peers = append(peers, map[string]any{
				"name":         peer.Name,
				"peerAddress":  peer.PeerAddress,
				"peerASN":      peer.PeerASN,
				"myASN":        peer.MyASN,
				"peerPort":     ptr.Deref(peer.PeerPort, defaultBGPPort),
				"nodeSelector": selector,
			})
		}
		values["bgp"] = map[string]any{"ipAddressPools": toAny(lb.BGP.IPAddressPools), "peers": peers}
	}
	return values
}

func calicoBGPValues(bgp *api.CalicoBGPConfig) map[string]any {
	if bgp == nil {
		return map[string]any{"enabled": false}
	}
	var peers, filters, pools []any
	for _, peer := range bgp.Peers {
		peers = append(peers, map[string]any{
			"name":         calicoPeerName(peer.PeerIP),
			"peerIP":       peer.PeerIP,
			"asNumber":     peer.ASNumber,
			"nodeSelector": peer.NodeSelector,
			"filters":      toAny(peer.Filters),
		})
	}
	for _, filter := range bgp.Filters {
		filters = append(filters, map[string]any{
			"name":     filter.Name,
			"exportV4": calicoRules(filter.ExportV4),
			"importV4": calicoRules(filter.ImportV4),
			"exportV6": calicoRules(filter.ExportV6),
			"importV6": calicoRules(filter.ImportV6),
		})
	}
	for _, pool := range bgp.IPPools {
		values := map[string]any{"name": pool.Name, "cidr": pool.CIDR, "nodeSelector": pool.NodeSelector}
		if pool.BlockSize != nil {
			values["blockSize"] = *pool.BlockSize
		}
		if pool.DisableBGPExport != nil {
			values["disableBGPExport"] = *pool.DisableBGPExport
		}
		pools = append(pools, values)
	}
	return map[string]any{
		"enabled":                true,
		"asNumber":               bgp.ASNumber,
		"nodeToNodeMeshEnabled":  ptr.Deref(bgp.NodeToNodeMeshEnabled, true),
		"serviceLoadBalancerIPs": toAny(bgp.ServiceLoadBalancerIPs),
		"serviceExternalIPs":     toAny(bgp.ServiceExternalIPs),
		"serviceClusterIPs":      toAny(bgp.ServiceClusterIPs),
		"peers":                  peers,
		"filters":                filters,
		"ipPools":                pools,
	}
}

func calicoRules(rules []api.CalicoBGPFilterRule) []any {
	var result []any
	for _, rule := range rules {
		result = append(result, map[string]any{"cidr": rule.CIDR, "matchOperator": rule.MatchOperator, "action": rule.Action})
	}
	return result
}

// calicoPeerName derives a stable object name from the peer's address ("192.0.2.1:179", "[2001:db8::1]:179"), so
// that reordering the peers in the config does not replace the objects.
func calicoPeerName(peerIP string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		case r == '[' || r == ']':
			return -1
		default:
			return '-'
		}
	}, peerIP)
	return "metal-" + strings.Trim(name, "-")
}

func crdsValues(cfg *api.ControlPlaneConfig) map[string]any {
	return map[string]any{"metallb": map[string]any{"enabled": metalLB(cfg) != nil}}
}

func storageClassValues(cfg *api.ControlPlaneConfig) map[string]any {
	isDefault := false
	if cfg.Storage != nil && cfg.Storage.Local != nil {
		isDefault = ptr.Deref(cfg.Storage.Local.Default, false)
	}
	return map[string]any{"local": map[string]any{"enabled": helper.LocalStorageEnabled(cfg), "default": isDefault}}
}

func toAny(values []string) []any {
	var result []any
	for _, v := range values {
		result = append(result, v)
	}
	return result
}

func checksum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
