package controlplane

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	vpaautoscalingv1 "k8s.io/autoscaler/vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

const (
	seedNamespace  = "shoot--project--name"
	metalNamespace = "metal-project-name"
	serverSecret   = "cloud-controller-manager-server-ab12cd34"
)

// family is a shoot's IP family setup.
type family struct {
	families []gardencorev1beta1.IPFamily
	pods     []string
}

var (
	ipv4      = family{[]gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv4}, []string{"100.96.0.0/11"}}
	ipv6      = family{[]gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv6}, []string{"2001:db8:1::/48"}}
	dualStack = family{[]gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv4, gardencorev1beta1.IPFamilyIPv6}, []string{"100.96.0.0/11", "2001:db8:1::/48"}}
	// dualStackIPv6First is the dual-stack setup the metal-load-balancer-controller needs: IPv6 cluster IPs first.
	dualStackIPv6First = family{[]gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv6, gardencorev1beta1.IPFamilyIPv4}, []string{"2001:db8:1::/48", "100.96.0.0/11"}}
)

// withPoolAddresses returns a copy of a MetalLB config whose only pool has the given addresses.
func withPoolAddresses(lb *api.LoadBalancerConfig, addresses ...string) *api.LoadBalancerConfig {
	c := lb.DeepCopy()
	c.MetalLB.IPAddressPools[0].Addresses = addresses
	return c
}

func testCluster(f family, networkingType string) *extensionscontroller.Cluster {
	return &extensionscontroller.Cluster{Shoot: &gardencorev1beta1.Shoot{
		Spec: gardencorev1beta1.ShootSpec{
			Kubernetes: gardencorev1beta1.Kubernetes{Version: "1.33.2"},
			Networking: &gardencorev1beta1.Networking{
				Type:       ptr.To(networkingType),
				Pods:       ptr.To(f.pods[0]),
				IPFamilies: f.families,
			},
		},
		Status: gardencorev1beta1.ShootStatus{
			TechnicalID: seedNamespace,
			Networking:  &gardencorev1beta1.NetworkingStatus{Pods: f.pods},
		},
	}}
}

var (
	metalLoadBalancerConfig = &api.LoadBalancerConfig{MetalLoadBalancer: &api.MetalLoadBalancerConfig{VNI: 4242, MetalBondServer: "[2001:db8::10]:4711"}}
	metalLBL2Config         = &api.LoadBalancerConfig{MetalLB: &api.MetalLBConfig{
		IPAddressPools: []api.MetalLBIPAddressPool{
			{Name: "public", Addresses: []string{"192.0.2.0/28", "192.0.2.100-192.0.2.110"}},
			{Name: "manual", Addresses: []string{"198.51.100.0/28"}, AutoAssign: ptr.To(false)},
		},
		L2: &api.MetalLBL2Advertisement{IPAddressPools: []string{"public"}, Interfaces: []string{"eth0"}},
	}}
	metalLBBGPConfig = &api.LoadBalancerConfig{MetalLB: &api.MetalLBConfig{
		IPAddressPools: []api.MetalLBIPAddressPool{{Name: "public", Addresses: []string{"192.0.2.0/28", "2001:db8:2::/120"}}},
		BGP: &api.MetalLBBGPAdvertisement{Peers: []api.MetalLBBGPPeer{
			{Name: "tor-a", PeerAddress: "192.0.2.254", PeerASN: 4200000001, MyASN: 64512, PeerPort: ptr.To[int32](179), NodeSelector: map[string]string{"rack": "a"}},
			{Name: "tor-b", PeerAddress: "2001:db8::fe", PeerASN: 64513, MyASN: 64512, PeerPort: ptr.To[int32](1179)},
		}},
	}}
	// MetalLB pools must be of the shoot's IP families (admission and the ControlPlane controller check it).
	metalLBBGPConfigIPv4 = withPoolAddresses(metalLBBGPConfig, "192.0.2.0/28")
	metalLBBGPConfigIPv6 = withPoolAddresses(metalLBBGPConfig, "2001:db8:2::/120")
	calicoBGPConfig      = &api.LoadBalancerConfig{CalicoBGP: &api.CalicoBGPConfig{
		ASNumber:               64512,
		NodeToNodeMeshEnabled:  ptr.To(false),
		ServiceLoadBalancerIPs: []string{"192.0.2.0/24"},
		ServiceExternalIPs:     []string{"198.51.100.0/24"},
		Peers: []api.CalicoBGPPeer{
			{PeerIP: "192.0.2.254:179", ASNumber: 64513, NodeSelector: "rack == 'a'", Filters: []string{"only-lb"}},
			{PeerIP: "[2001:db8::fe]:179", ASNumber: 64513},
		},
		Filters: []api.CalicoBGPFilter{{
			Name:     "only-lb",
			ExportV4: []api.CalicoBGPFilterRule{{CIDR: "192.0.2.0/24", MatchOperator: "In", Action: "Accept"}, {CIDR: "0.0.0.0/0", MatchOperator: "In", Action: "Reject"}},
		}},
		IPPools: []api.CalicoIPPool{{Name: "extra", CIDR: "10.10.0.0/16", BlockSize: ptr.To[int32](26), DisableBGPExport: ptr.To(true)}},
	}}
)

// valuesFor computes the values the actuator would pass, after the same validation it runs.
func valuesFor(cfg *api.ControlPlaneConfig, cluster *extensionscontroller.Cluster) (seed, shoot, crds, storage map[string]any) {
	Expect(validateControlPlaneConfig(cfg, cluster)).To(Succeed())
	access := &metalAccess{namespace: metalNamespace, kubeconfigChecksum: "kubeconfig-checksum"}
	seed, err := seedValues(cfg, cluster, access, serverSecret, 1)
	Expect(err).NotTo(HaveOccurred())
	return seed, shootValues(cfg, cluster), crdsValues(cfg), storageClassValues(cfg)
}

type renderedCharts struct {
	seed, shoot, crds, storage *rendered
}

func renderAll(cfg *api.ControlPlaneConfig, cluster *extensionscontroller.Cluster) renderedCharts {
	seed, shoot, crds, storage := valuesFor(cfg, cluster)
	return renderedCharts{
		seed:    render(seedChart, seedNamespace, seed),
		shoot:   render(shootChart, metav1.NamespaceSystem, shoot),
		crds:    render(shootCRDsChart, metav1.NamespaceSystem, crds),
		storage: render(storageClassesChart, metav1.NamespaceSystem, storage),
	}
}

func ccmArgs(r *rendered) []string {
	deployment := get[*appsv1.Deployment](r, "Deployment", "cloud-controller-manager")
	Expect(deployment.Spec.Template.Spec.Containers).To(HaveLen(1))
	return deployment.Spec.Template.Spec.Containers[0].Args
}

var _ = Describe("Charts", func() {
	DescribeTable("render schema-valid objects for every load balancer and IP family",
		func(lb *api.LoadBalancerConfig, f family, networkingType string, check func(renderedCharts)) {
			cfg := &api.ControlPlaneConfig{LoadBalancer: lb}
			charts := renderAll(cfg, testCluster(f, networkingType))
			expectCommonSeedObjects(charts.seed, f)
			expectCCMShootRBAC(charts.shoot)
			expectLocalStorageClass(charts.storage, false)
			expectMetalLBObjectsValid(charts.shoot)
			expectCalicoObjectsValid(charts.shoot)
			expectCRDsValid(charts.crds)
			check(charts)
		},
		Entry("no load balancer, IPv4", nil, ipv4, "cilium", expectNoLoadBalancer),
		Entry("no load balancer, IPv6", nil, ipv6, "cilium", expectNoLoadBalancer),
		Entry("no load balancer, dual-stack", nil, dualStack, "calico", expectNoLoadBalancer),
		Entry("metal load balancer, IPv6", metalLoadBalancerConfig, ipv6, "cilium", expectMetalLoadBalancer),
		Entry("metal load balancer, dual-stack with IPv6 first", metalLoadBalancerConfig, dualStackIPv6First, "calico", expectMetalLoadBalancer),
		Entry("MetalLB L2, IPv4", metalLBL2Config, ipv4, "cilium", expectMetalLBL2),
		Entry("MetalLB L2, dual-stack", metalLBL2Config, dualStack, "cilium", expectMetalLBL2),
		Entry("MetalLB BGP, IPv4", metalLBBGPConfigIPv4, ipv4, "cilium", expectMetalLBBGP),
		Entry("MetalLB BGP, IPv6", metalLBBGPConfigIPv6, ipv6, "calico", expectMetalLBBGP),
		Entry("MetalLB BGP, dual-stack", metalLBBGPConfig, dualStack, "cilium", expectMetalLBBGP),
		Entry("Calico BGP, IPv4", calicoBGPConfig, ipv4, "calico", expectCalicoBGP),
		Entry("Calico BGP, IPv6", calicoBGPConfig, ipv6, "calico", expectCalicoBGP),
		Entry("Calico BGP, dual-stack", calicoBGPConfig, dualStack, "calico", expectCalicoBGP),
		Entry("MetalLB L2 with Calico BGP announcing, IPv4", &api.LoadBalancerConfig{MetalLB: metalLBL2Config.MetalLB, CalicoBGP: calicoBGPConfig.CalicoBGP}, ipv4, "calico",
			func(c renderedCharts) { expectMetalLBL2(c); expectCalicoBGP(c) }),
	)

	It("renders the advertisements of all pools on all interfaces with an empty spec object, which the CRD's schema requires", func() {
		lb := &api.LoadBalancerConfig{MetalLB: &api.MetalLBConfig{
			IPAddressPools: []api.MetalLBIPAddressPool{{Name: "public", Addresses: []string{"192.0.2.0/28"}}},
			L2:             &api.MetalLBL2Advertisement{},
			BGP:            &api.MetalLBBGPAdvertisement{Peers: metalLBBGPConfigIPv4.MetalLB.BGP.Peers},
		}}
		charts := renderAll(&api.ControlPlaneConfig{LoadBalancer: lb}, testCluster(ipv4, "cilium"))
		expectMetalLBObjectsValid(charts.shoot)
		for _, kind := range []string{"L2Advertisement", "BGPAdvertisement"} {
			advertisement := charts.shoot.ofKind(kind)
			Expect(advertisement).To(HaveLen(1), kind)
			Expect(advertisement[0].(*unstructured.Unstructured).Object).To(HaveKeyWithValue("spec", map[string]any{}), kind)
		}
	})

	It("passes the cloud-controller-manager settings of the config as flags and cloud config", func() {
		cfg := &api.ControlPlaneConfig{CloudControllerManager: &api.CloudControllerManagerConfig{
			FeatureGates:  map[string]bool{"LoggingBetaOptions": false, "ContextualLogging": true},
			PodPrefixSize: ptr.To[int32](24),
			Networking: &api.CCMNetworking{
				ConfigureNodeAddresses: ptr.To(true),
				IPAMKind:               &api.IPAMKind{APIGroup: "ipam.cluster.x-k8s.io", Kind: "IPAddress"},
			},
		}}
		charts := renderAll(cfg, testCluster(ipv4, "cilium"))
		Expect(ccmArgs(charts.seed)).To(ContainElements("--feature-gates=ContextualLogging=true,LoggingBetaOptions=false", "--pod-prefix-size=24"))

		configMap := get[*corev1.ConfigMap](charts.seed, "ConfigMap", "cloud-provider-config")
		config := map[string]any{}
		Expect(yaml.Unmarshal([]byte(configMap.Data["cloudprovider.conf"]), &config)).To(Succeed())
		Expect(config).To(Equal(map[string]any{
			"clusterName": seedNamespace,
			"networking": map[string]any{
				"configureNodeAddresses": true,
				"ipamKind":               map[string]any{"apiGroup": "ipam.cluster.x-k8s.io", "kind": "IPAddress"},
			},
		}))
	})

	// A kubelet v1.36 with --cloud-provider=external and no --node-ip publishes only its hostname; without
	// configureNodeAddresses the CCM sets no InternalIP either (cloud-provider-metal instances_v2.go
	// getNodeAddresses), and logs, exec and metrics-server break.
	DescribeTable("configures node addresses unless switched off",
		func(cfg *api.ControlPlaneConfig, expected bool) {
			configMap := get[*corev1.ConfigMap](renderAll(cfg, testCluster(ipv4, "cilium")).seed, "ConfigMap", "cloud-provider-config")
			config := map[string]any{}
			Expect(yaml.Unmarshal([]byte(configMap.Data["cloudprovider.conf"]), &config)).To(Succeed())
			Expect(config).To(HaveKeyWithValue("networking", map[string]any{"configureNodeAddresses": expected}))
		},
		Entry("no config", &api.ControlPlaneConfig{}, true),
		Entry("CCM config without networking", &api.ControlPlaneConfig{CloudControllerManager: &api.CloudControllerManagerConfig{}}, true),
		Entry("networking without the field", &api.ControlPlaneConfig{CloudControllerManager: &api.CloudControllerManagerConfig{Networking: &api.CCMNetworking{}}}, true),
		Entry("switched off", &api.ControlPlaneConfig{CloudControllerManager: &api.CloudControllerManagerConfig{Networking: &api.CCMNetworking{ConfigureNodeAddresses: ptr.To(false)}}}, false),
	)

	It("rolls the cloud-controller-manager when its config or the metal kubeconfig change", func() {
		cluster := testCluster(ipv4, "cilium")
		annotations := func(cfg *api.ControlPlaneConfig, kubeconfigChecksum string) map[string]string {
			seed, err := seedValues(cfg, cluster, &metalAccess{namespace: metalNamespace, kubeconfigChecksum: kubeconfigChecksum}, serverSecret, 1)
			Expect(err).NotTo(HaveOccurred())
			return get[*appsv1.Deployment](render(seedChart, seedNamespace, seed), "Deployment", "cloud-controller-manager").Spec.Template.Annotations
		}
		base := annotations(&api.ControlPlaneConfig{}, "a")
		Expect(base).To(HaveKey("checksum/configmap-cloud-provider-config"))
		Expect(annotations(&api.ControlPlaneConfig{}, "a")).To(Equal(base))
		Expect(annotations(&api.ControlPlaneConfig{}, "b")["checksum/secret-cloudprovider-kubeconfig"]).NotTo(Equal(base["checksum/secret-cloudprovider-kubeconfig"]))
		changed := annotations(&api.ControlPlaneConfig{CloudControllerManager: &api.CloudControllerManagerConfig{Networking: &api.CCMNetworking{ConfigureNodeAddresses: ptr.To(false)}}}, "a")
		Expect(changed["checksum/configmap-cloud-provider-config"]).NotTo(Equal(base["checksum/configmap-cloud-provider-config"]))
	})

	It("mounts the workload identity token for workload identity credentials", func() {
		seed, err := seedValues(&api.ControlPlaneConfig{}, testCluster(ipv4, "cilium"), &metalAccess{namespace: metalNamespace, workloadIdentity: true}, serverSecret, 1)
		Expect(err).NotTo(HaveOccurred())
		deployment := get[*appsv1.Deployment](render(seedChart, seedNamespace, seed), "Deployment", "cloud-controller-manager")
		Expect(deployment.Spec.Template.Spec.Containers[0].VolumeMounts).To(ContainElement(corev1.VolumeMount{
			Name: "workload-identity", MountPath: "/var/run/secrets/gardener.cloud/workload-identity", ReadOnly: true,
		}))
		Expect(deployment.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("Secret.Items", ConsistOf(corev1.KeyToPath{Key: "token", Path: "token"}))))
	})

	DescribeTable("renders the local StorageClass unless it is disabled",
		func(storage *api.StorageConfig, enabled, isDefault bool) {
			charts := renderAll(&api.ControlPlaneConfig{Storage: storage}, testCluster(ipv4, "cilium"))
			if !enabled {
				Expect(charts.storage.ofKind("StorageClass")).To(BeEmpty())
				return
			}
			expectLocalStorageClass(charts.storage, isDefault)
		},
		Entry("no storage config", nil, true, false),
		Entry("enabled", &api.StorageConfig{Local: &api.LocalStorageConfig{Enabled: ptr.To(true)}}, true, false),
		Entry("default class", &api.StorageConfig{Local: &api.LocalStorageConfig{Default: ptr.To(true)}}, true, true),
		Entry("disabled", &api.StorageConfig{Local: &api.LocalStorageConfig{Enabled: ptr.To(false)}}, false, false),
	)

	It("renders no Calico objects for shoots that do not use Calico", func() {
		cluster := testCluster(ipv4, "cilium")
		Expect(calicoBGPValues(calicoBGP(&api.ControlPlaneConfig{LoadBalancer: calicoBGPConfig}, cluster))).To(Equal(map[string]any{"enabled": false}))
		// The validation at reconcile refuses the config for such shoots with its field path.
		err := validateControlPlaneConfig(&api.ControlPlaneConfig{LoadBalancer: calicoBGPConfig}, cluster)
		Expect(err).To(MatchError(ContainSubstring("spec.providerConfig.loadBalancer.calicoBgp")))
	})
})

func expectCommonSeedObjects(r *rendered, f family) {
	args := ccmArgs(r)
	Expect(args).To(ContainElements(
		"--cloud-provider=metal",
		"--cloud-config=/etc/kubernetes/cloudprovider/cloudprovider.conf",
		"--metal-kubeconfig=/etc/metal/kubeconfig",
		"--metal-namespace="+metalNamespace,
		"--cluster-name="+seedNamespace,
		"--cluster-cidr="+strings.Join(f.pods, ","),
		"--configure-cloud-routes=false",
		"--kubeconfig=/var/run/secrets/gardener.cloud/shoot/generic-kubeconfig/kubeconfig",
		"--leader-elect=true",
		"--secure-port=10258",
		"--tls-cert-file=/var/lib/cloud-controller-manager-server/tls.crt",
		"--tls-private-key-file=/var/lib/cloud-controller-manager-server/tls.key",
	))
	Expect(args).To(ContainElement(HavePrefix("--tls-cipher-suites=")))
	// Least privilege in the shoot: the controllers act with the controller's own identity.
	Expect(args).NotTo(ContainElement(HavePrefix("--use-service-account-credentials")))
	Expect(args).NotTo(ContainElement(HavePrefix("--feature-gates")))
	Expect(args).NotTo(ContainElement(HavePrefix("--pod-prefix-size")))

	deployment := get[*appsv1.Deployment](r, "Deployment", "cloud-controller-manager")
	Expect(deployment.Labels).To(HaveKeyWithValue("high-availability-config.resources.gardener.cloud/type", "controller"))
	pod := deployment.Spec.Template
	Expect(pod.Annotations).To(HaveKey("checksum/configmap-cloud-provider-config"))
	Expect(pod.Annotations).To(HaveKeyWithValue("checksum/secret-cloudprovider-kubeconfig", "kubeconfig-checksum"))
	Expect(pod.Labels).To(HaveKeyWithValue("networking.resources.gardener.cloud/to-kube-apiserver-tcp-443", "allowed"))
	Expect(pod.Spec.AutomountServiceAccountToken).To(PointTo(BeFalse()))
	Expect(pod.Spec.PriorityClassName).To(Equal("gardener-system-300"))
	expectRestricted(pod.Spec)
	Expect(pod.Spec.Volumes).To(ContainElements(
		HaveField("Secret", PointTo(And(HaveField("SecretName", serverSecret)))),
		HaveField("Secret", PointTo(And(HaveField("SecretName", "cloudprovider"), HaveField("Items", ConsistOf(corev1.KeyToPath{Key: "kubeconfig", Path: "kubeconfig"}))))),
		HaveField("ConfigMap", PointTo(HaveField("Name", "cloud-provider-config"))),
		HaveField("Projected.Sources", ContainElements(
			HaveField("Secret.Name", "generic-token-kubeconfig"),
			HaveField("Secret.Name", "shoot-access-cloud-controller-manager"),
		)),
	))
	Expect(pod.Spec.Volumes).NotTo(ContainElement(HaveField("Name", "workload-identity")))

	Expect(get[*corev1.ConfigMap](r, "ConfigMap", "cloud-provider-config").Data).To(HaveKeyWithValue("cloudprovider.conf", "clusterName: "+seedNamespace+"\nnetworking:\n  configureNodeAddresses: true\n"))
	Expect(get[*corev1.Service](r, "Service", "cloud-controller-manager").Spec.Ports).To(ConsistOf(HaveField("Name", "metrics")))
	Expect(get[*vpaautoscalingv1.VerticalPodAutoscaler](r, "VerticalPodAutoscaler", "cloud-controller-manager-vpa").Spec.TargetRef.Name).To(Equal("cloud-controller-manager"))
	Expect(get[*policyv1.PodDisruptionBudget](r, "PodDisruptionBudget", "cloud-controller-manager").Spec.MaxUnavailable.IntValue()).To(Equal(1))
	serviceMonitor := get[*monitoringv1.ServiceMonitor](r, "ServiceMonitor", "shoot-cloud-controller-manager")
	Expect(serviceMonitor.Labels).To(HaveKeyWithValue("prometheus", "shoot"))
	Expect(serviceMonitor.Spec.Endpoints).To(ConsistOf(HaveField("Port", "metrics")))
	Expect(get[*monitoringv1.PrometheusRule](r, "PrometheusRule", "shoot-cloud-controller-manager").Labels).To(HaveKeyWithValue("prometheus", "shoot"))
}

// expectRestricted checks that every container runs as non-root with a read-only root filesystem.
func expectRestricted(spec corev1.PodSpec) {
	Expect(spec.SecurityContext).NotTo(BeNil())
	Expect(spec.SecurityContext.RunAsNonRoot).To(PointTo(BeTrue()))
	for _, container := range spec.Containers {
		Expect(container.SecurityContext).NotTo(BeNil(), container.Name)
		Expect(container.SecurityContext.ReadOnlyRootFilesystem).To(PointTo(BeTrue()), container.Name)
		Expect(container.SecurityContext.AllowPrivilegeEscalation).To(PointTo(BeFalse()), container.Name)
		Expect(container.SecurityContext.Capabilities.Drop).To(ContainElement(corev1.Capability("ALL")), container.Name)
	}
}

func expectCCMShootRBAC(r *rendered) {
	role := get[*rbacv1.ClusterRole](r, "ClusterRole", "extensions.gardener.cloud:provider-metal:cloud-controller-manager")
	var resources []string
	for _, rule := range role.Rules {
		Expect(rule.APIGroups).To(Equal([]string{""}))
		Expect(rule.Verbs).NotTo(ContainElement("*"))
		resources = append(resources, rule.Resources...)
	}
	Expect(resources).To(ConsistOf("nodes", "nodes/status", "events", "services", "services/status"))

	lease := get[*rbacv1.Role](r, "Role", "extensions.gardener.cloud:provider-metal:cloud-controller-manager:leader-election")
	Expect(lease.Namespace).To(Equal(metav1.NamespaceSystem))
	Expect(lease.Rules).To(ContainElement(And(HaveField("Resources", []string{"leases"}), HaveField("ResourceNames", []string{"cloud-controller-manager"}))))

	for _, obj := range r.ofKind("ClusterRoleBinding") {
		binding := obj.(*rbacv1.ClusterRoleBinding)
		Expect(binding.RoleRef.Name).NotTo(Equal("cluster-admin"), binding.Name)
	}
	for _, obj := range r.ofKind("ClusterRole") {
		for _, rule := range obj.(*rbacv1.ClusterRole).Rules {
			Expect(rule.Resources).NotTo(ContainElement("*"), obj.GetName())
		}
	}
}

func expectLocalStorageClass(r *rendered, isDefault bool) {
	class := get[*storagev1.StorageClass](r, "StorageClass", "local")
	Expect(class.Provisioner).To(Equal("kubernetes.io/no-provisioner"))
	Expect(class.VolumeBindingMode).To(PointTo(Equal(storagev1.VolumeBindingWaitForFirstConsumer)))
	if isDefault {
		Expect(class.Annotations).To(HaveKeyWithValue("storageclass.kubernetes.io/is-default-class", "true"))
	} else {
		Expect(class.Annotations).NotTo(HaveKey("storageclass.kubernetes.io/is-default-class"))
	}
}

func expectNoLoadBalancer(c renderedCharts) {
	Expect(c.seed.has("Deployment", "metal-load-balancer-controller-manager")).To(BeFalse())
	Expect(c.shoot.ofKind("DaemonSet")).To(BeEmpty())
	Expect(c.shoot.ofKind("Deployment")).To(BeEmpty())
	Expect(c.shoot.ofKind("Namespace")).To(BeEmpty())
	Expect(calicoObjects(c.shoot)).To(BeEmpty())
	Expect(c.crds.objects).To(BeEmpty())
}

func expectMetalLoadBalancer(c renderedCharts) {
	manager := get[*appsv1.Deployment](c.seed, "Deployment", "metal-load-balancer-controller-manager")
	args := manager.Spec.Template.Spec.Containers[0].Args
	Expect(args).To(ContainElements("--leader-election", "--leader-election-namespace=kube-system",
		"--kubeconfig=/var/run/secrets/gardener.cloud/shoot/generic-kubeconfig/kubeconfig"))
	Expect(args).NotTo(ContainElement(HavePrefix("--leader-elect=")))
	Expect(args).NotTo(ContainElement("--leader-elect"))
	expectRestricted(manager.Spec.Template.Spec)
	Expect(manager.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("Projected.Sources", ContainElement(
		HaveField("Secret.Name", "shoot-access-metal-load-balancer-controller-manager")))))
	Expect(c.seed.has("VerticalPodAutoscaler", "metal-load-balancer-controller-manager-vpa")).To(BeTrue())
	Expect(c.seed.has("PodDisruptionBudget", "metal-load-balancer-controller-manager")).To(BeTrue())

	speaker := get[*appsv1.DaemonSet](c.shoot, "DaemonSet", "metal-load-balancer-controller-speaker")
	container := speaker.Spec.Template.Spec.Containers[0]
	Expect(container.Args).To(ContainElements("--vni=4242", "--metalbond-server=[2001:db8::10]:4711", "--node-address=$(NODE_IP)"))
	Expect(container.Env).To(ContainElement(corev1.EnvVar{Name: "NODE_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}}))
	expectRestricted(speaker.Spec.Template.Spec)
	Expect(c.shoot.has("ClusterRole", "extensions.gardener.cloud:provider-metal:metal-load-balancer-controller-manager")).To(BeTrue())
	Expect(c.shoot.ofKind("Namespace")).To(BeEmpty())
}

func expectMetalLBL2(c renderedCharts) {
	Expect(c.seed.has("Deployment", "metal-load-balancer-controller-manager")).To(BeFalse())
	expectMetalLBComponents(c)
	pools := c.shoot.ofKind("IPAddressPool")
	Expect(pools).To(HaveLen(2))
	manual := get[*unstructured.Unstructured](c.shoot, "IPAddressPool", "manual")
	Expect(manual.Object["spec"]).To(Equal(map[string]any{"addresses": []any{"198.51.100.0/28"}, "autoAssign": false}))
	l2 := get[*unstructured.Unstructured](c.shoot, "L2Advertisement", "l2")
	Expect(l2.Object["spec"]).To(Equal(map[string]any{"ipAddressPools": []any{"public"}, "interfaces": []any{"eth0"}}))
	for _, peer := range c.shoot.ofKind("BGPPeer") {
		Expect(peer.GetObjectKind().GroupVersionKind().Group).NotTo(Equal("metallb.io"), "MetalLB peers without BGP")
	}
}

func expectMetalLBBGP(c renderedCharts) {
	expectMetalLBComponents(c)
	Expect(c.shoot.ofKind("L2Advertisement")).To(BeEmpty())
	Expect(c.shoot.has("BGPAdvertisement", "bgp")).To(BeTrue())
	peer := get[*unstructured.Unstructured](c.shoot, "BGPPeer", "tor-a")
	Expect(peer.GetAPIVersion()).To(Equal("metallb.io/v1beta2"))
	Expect(peer.Object["spec"]).To(Equal(map[string]any{
		"myASN": int64(64512), "peerASN": int64(4200000001), "peerAddress": "192.0.2.254", "peerPort": int64(179),
		"nodeSelectors": []any{map[string]any{"matchLabels": map[string]any{"rack": "a"}}},
	}))
	Expect(get[*unstructured.Unstructured](c.shoot, "BGPPeer", "tor-b").Object["spec"]).To(HaveKeyWithValue("peerPort", int64(1179)))
}

func expectMetalLBComponents(c renderedCharts) {
	// kube-system, not upstream's metallb-system: the shoot's gardener-resource-manager applies objects only in
	// the namespaces of its target cache (kube-system, kubernetes-dashboard, kube-node-lease).
	Expect(c.shoot.ofKind("Namespace")).To(BeEmpty())
	controller := get[*appsv1.Deployment](c.shoot, "Deployment", "controller")
	Expect(controller.Namespace).To(Equal("kube-system"))
	for _, obj := range c.shoot.objects {
		if ns := obj.GetNamespace(); ns != "" {
			Expect(ns).To(Equal("kube-system"), "%T %s", obj, obj.GetName())
		}
	}
	expectRestricted(controller.Spec.Template.Spec)
	speaker := get[*appsv1.DaemonSet](c.shoot, "DaemonSet", "speaker")
	Expect(speaker.Spec.Template.Spec.Containers[0].SecurityContext.Capabilities.Add).To(ConsistOf(corev1.Capability("NET_RAW")))
	Expect(speaker.Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem).To(PointTo(BeTrue()))
	Expect(c.crds.ofKind("CustomResourceDefinition")).To(ContainElements(
		HaveField("Name", "ipaddresspools.metallb.io"), HaveField("Name", "l2advertisements.metallb.io"),
		HaveField("Name", "bgpadvertisements.metallb.io"), HaveField("Name", "bgppeers.metallb.io"),
	))
}

func expectCalicoBGP(c renderedCharts) {
	config := get[*unstructured.Unstructured](c.shoot, "BGPConfiguration", "default")
	Expect(config.Object["spec"]).To(Equal(map[string]any{
		"asNumber": int64(64512), "nodeToNodeMeshEnabled": false,
		"serviceLoadBalancerIPs": []any{map[string]any{"cidr": "192.0.2.0/24"}},
		"serviceExternalIPs":     []any{map[string]any{"cidr": "198.51.100.0/24"}},
	}))
	Expect(get[*unstructured.Unstructured](c.shoot, "BGPPeer", "metal-192-0-2-254-179").Object["spec"]).To(Equal(map[string]any{
		"peerIP": "192.0.2.254:179", "asNumber": int64(64513), "nodeSelector": "rack == 'a'", "filters": []any{"only-lb"},
	}))
	Expect(c.shoot.has("BGPPeer", "metal-2001-db8--fe-179")).To(BeTrue())
	filter := get[*unstructured.Unstructured](c.shoot, "BGPFilter", "only-lb")
	Expect(filter.Object["spec"]).To(Equal(map[string]any{"exportV4": []any{
		map[string]any{"cidr": "192.0.2.0/24", "matchOperator": "In", "action": "Accept"},
		map[string]any{"cidr": "0.0.0.0/0", "matchOperator": "In", "action": "Reject"},
	}}))
	pool := get[*unstructured.Unstructured](c.shoot, "IPPool", "extra")
	Expect(pool.Object["spec"]).To(HaveKeyWithValue("cidr", "10.10.0.0/16"))
	Expect(pool.Object["spec"]).To(HaveKeyWithValue("blockSize", int64(26)))
	Expect(pool.Object["spec"]).To(HaveKeyWithValue("disableBGPExport", true))
}

func calicoObjects(r *rendered) []string {
	var names []string
	for _, obj := range r.objects {
		if strings.HasPrefix(obj.GetObjectKind().GroupVersionKind().Group, "crd.projectcalico.org") {
			names = append(names, obj.GetName())
		}
	}
	return names
}

// requiredFields are the fields Calico and MetalLB require of the custom resources the charts render.
var requiredFields = map[string][][]string{
	"metallb.io/v1beta1/IPAddressPool":          {{"spec", "addresses"}},
	"metallb.io/v1beta1/L2Advertisement":        {},
	"metallb.io/v1beta1/BGPAdvertisement":       {},
	"metallb.io/v1beta2/BGPPeer":                {{"spec", "myASN"}, {"spec", "peerASN"}, {"spec", "peerAddress"}},
	"crd.projectcalico.org/v1/BGPConfiguration": {{"spec", "asNumber"}},
	"crd.projectcalico.org/v1/BGPPeer":          {{"spec", "peerIP"}, {"spec", "asNumber"}},
	"crd.projectcalico.org/v1/BGPFilter":        {},
	"crd.projectcalico.org/v1/IPPool":           {{"spec", "cidr"}},
}

func expectMetalLBObjectsValid(r *rendered) { expectCustomResourcesValid(r, "metallb.io") }

func expectCalicoObjectsValid(r *rendered) { expectCustomResourcesValid(r, "crd.projectcalico.org") }

func expectCustomResourcesValid(r *rendered, group string) {
	for _, obj := range r.objects {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok || u.GroupVersionKind().Group != group {
			continue
		}
		gvk := u.GroupVersionKind()
		fields, known := requiredFields[gvk.GroupVersion().String()+"/"+gvk.Kind]
		Expect(known).To(BeTrue(), "unexpected custom resource %s", gvk)
		for _, path := range fields {
			value, found, err := unstructured.NestedFieldNoCopy(u.Object, path...)
			Expect(err).NotTo(HaveOccurred())
			Expect(found).To(BeTrue(), "%s %s lacks %s", gvk.Kind, u.GetName(), strings.Join(path, "."))
			Expect(value).NotTo(BeZero(), "%s %s has an empty %s", gvk.Kind, u.GetName(), strings.Join(path, "."))
		}
		if group == "metallb.io" {
			Expect(u.GetNamespace()).To(Equal("kube-system"))
		} else {
			Expect(u.GetNamespace()).To(BeEmpty(), "Calico's resources are cluster-scoped")
		}
	}
}

func expectCRDsValid(r *rendered) {
	for _, obj := range r.objects {
		crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
		Expect(ok).To(BeTrue(), "the CRDs chart renders only CRDs, got %T", obj)
		expectCRDValid(crd)
	}
}
