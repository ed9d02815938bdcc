package standins_test

import (
	"context"
	"io"
	"net/netip"
	"strings"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/test/landscape/standins"
)

const (
	clusterName        = "shoot--p--s"
	uninitializedTaint = "node.cloudprovider.kubernetes.io/uninitialized"
)

var (
	noAddresses   = "clusterName: " + clusterName + "\nnetworking:\n  configureNodeAddresses: false\n"
	nicAddresses  = "clusterName: " + clusterName + "\nnetworking:\n  configureNodeAddresses: true\n"
	ipamAddresses = "clusterName: " + clusterName + "\nnetworking:\n  configureNodeAddresses: true\n  ipamKind:\n    apiGroup: ipam.cluster.x-k8s.io\n    kind: IPAddress\n"
)

// shootRules are what the shoot's metal credentials may do (example/landscape/metal/rbac.yaml): in the metal
// namespace ServerClaims and IPAM objects; Servers cluster-wide.
var shootRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"serverclaims"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
	{APIGroups: []string{"ipam.cluster.x-k8s.io"}, Resources: []string{"ipaddressclaims"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
	{APIGroups: []string{"ipam.cluster.x-k8s.io"}, Resources: []string{"ipaddresses"}, Verbs: []string{"get", "list", "watch"}},
}

var _ = Describe("CCM stand-in", func() {
	It("refuses a cloud config without clusterName", func(ctx SpecContext) {
		err := standins.RunCCM(ctx, shootConfig, metalConfig, standins.CCMOptions{MetalNamespace: "m", CloudConfig: []byte("networking: {}\n")})
		Expect(err).To(MatchError(ContainSubstring("clusterName missing")))
	})

	It("initializes a tainted Node with a provider ID from its Server and labels and powers its ServerClaim", func(ctx SpecContext) {
		ns := newMetalNamespace(ctx, shootRules)
		server := newServer(ctx, map[string]string{
			metal.ZoneLabel: "z1", metal.RegionLabel: "r1", metal.InstanceTypeLabel: "m1",
			"example.com/rack": "r7", "example.com/pool": "server", "node.kubernetes.io/exclude": "x",
		}, "10.1.0.7")
		claim := newBoundClaim(ctx, ns.Name, "machine-a", server, metalv1alpha1.PowerOff)
		node := newNode(ctx, "node-a", providerID(claim), server.Spec.SystemUUID, map[string]string{"example.com/pool": "node"})
		log := startCCM(ctx, ns, noAddresses)

		Eventually(ctx, func(g Gomega) {
			g.Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
			g.Expect(node.Spec.Taints).NotTo(ContainElement(HaveField("Key", uninitializedTaint)))
			// The pool's taint stays (and so does the not-ready taint the API server's admission adds).
			g.Expect(node.Spec.Taints).To(ContainElement(HaveField("Key", "pool.example.com/dedicated")))
		}).Should(Succeed())
		Expect(node.Labels).To(Equal(map[string]string{
			"kubernetes.io/hostname":                   "node-a",
			"topology.kubernetes.io/zone":              "z1",
			"failure-domain.beta.kubernetes.io/zone":   "z1",
			"topology.kubernetes.io/region":            "r1",
			"failure-domain.beta.kubernetes.io/region": "r1",
			"node.kubernetes.io/instance-type":         "m1",
			"beta.kubernetes.io/instance-type":         "m1",
			metal.InstanceTypeLabel:                    "m1",
			"example.com/rack":                         "r7",
			// The Node's own value wins, and labels in kubernetes.io namespaces are not copied.
			"example.com/pool": "node",
		}))
		Expect(node.Spec.ProviderID).To(Equal(providerID(claim)))
		Expect(node.Status.Addresses).To(Equal([]corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "node-a"}}), "configureNodeAddresses is false")

		Eventually(ctx, func(g Gomega) {
			g.Expect(metalClient.Get(ctx, client.ObjectKeyFromObject(claim), claim)).To(Succeed())
			g.Expect(claim.Labels).To(HaveKeyWithValue("kubernetes.io/cluster", clusterName))
			g.Expect(claim.Spec.Power).To(Equal(metalv1alpha1.PowerOn))
		}).Should(Succeed())
		Expect(log.Contents()).To(ContainSubstring(standins.CCMStandInName))
	})

	It("finds the ServerClaim of a Node without provider ID by the system UUID of its Server", func(ctx SpecContext) {
		ns := newMetalNamespace(ctx, shootRules)
		other := newServer(ctx, map[string]string{metal.ZoneLabel: "z2"})
		newBoundClaim(ctx, ns.Name, "machine-other", other, metalv1alpha1.PowerOn)
		server := newServer(ctx, map[string]string{metal.ZoneLabel: "z1"})
		claim := newBoundClaim(ctx, ns.Name, "machine-b", server, metalv1alpha1.PowerOn)
		node := newNode(ctx, "node-b", "", strings.ToUpper(server.Spec.SystemUUID), nil)
		startCCM(ctx, ns, noAddresses)

		Eventually(ctx, func(g Gomega) {
			g.Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
			g.Expect(node.Spec.ProviderID).To(Equal(providerID(claim)))
			g.Expect(node.Spec.Taints).NotTo(ContainElement(HaveField("Key", uninitializedTaint)))
		}).Should(Succeed())
		Expect(node.Labels).To(HaveKeyWithValue("topology.kubernetes.io/zone", "z1"))
	})

	It("sets the InternalIPs from the claim's IPAddressClaims with ipamKind, keeping the Hostname", func(ctx SpecContext) {
		ns := newMetalNamespace(ctx, shootRules)
		server := newServer(ctx, nil, "10.1.0.9")
		claim := newBoundClaim(ctx, ns.Name, "machine-c", server, metalv1alpha1.PowerOn)
		newIPAddress(ctx, claim, "node", "10.250.0.10")
		node := newNode(ctx, "node-c", providerID(claim), server.Spec.SystemUUID, nil)
		startCCM(ctx, ns, ipamAddresses)

		Eventually(ctx, func(g Gomega) {
			g.Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
			g.Expect(node.Status.Addresses).To(Equal([]corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: "10.250.0.10"},
				{Type: corev1.NodeHostName, Address: "node-c"},
			}))
		}).Should(Succeed())
		Expect(node.Spec.Taints).NotTo(ContainElement(HaveField("Key", uninitializedTaint)))

		By("a second address claimed later")
		newIPAddress(ctx, claim, "storage", "10.251.0.10")
		Eventually(ctx, func(g Gomega) {
			g.Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
			g.Expect(node.Status.Addresses).To(ConsistOf(
				corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.250.0.10"},
				corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.251.0.10"},
				corev1.NodeAddress{Type: corev1.NodeHostName, Address: "node-c"},
			))
		}).Should(Succeed())
	})

	It("gives a Node without pod CIDR its InternalIP masked to the pod prefix size", func(ctx SpecContext) {
		ns := newMetalNamespace(ctx, shootRules)
		server := newServer(ctx, nil, "2001:db8:0:7::1")
		claim := newBoundClaim(ctx, ns.Name, "machine-h", server, metalv1alpha1.PowerOn)
		node := newNode(ctx, "node-h", providerID(claim), server.Spec.SystemUUID, nil)
		startCCMWith(ctx, ns, standins.CCMOptions{CloudConfig: []byte(nicAddresses), PodPrefixSize: 64})

		Eventually(ctx, func(g Gomega) {
			g.Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
			g.Expect(node.Spec.PodCIDR).To(Equal("2001:db8:0:7::/64"))
			g.Expect(node.Spec.PodCIDRs).To(Equal([]string{"2001:db8:0:7::/64"}))
		}).Should(Succeed())
	})

	It("sets the InternalIPs from the Server's network interfaces without ipamKind", func(ctx SpecContext) {
		ns := newMetalNamespace(ctx, shootRules)
		server := newServer(ctx, nil, "10.1.0.11", "2001:db8::11")
		claim := newBoundClaim(ctx, ns.Name, "machine-d", server, metalv1alpha1.PowerOn)
		node := newNode(ctx, "node-d", providerID(claim), server.Spec.SystemUUID, nil)
		startCCM(ctx, ns, nicAddresses)

		Eventually(ctx, func(g Gomega) {
			g.Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
			g.Expect(node.Status.Addresses).To(Equal([]corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: "10.1.0.11"},
				{Type: corev1.NodeInternalIP, Address: "2001:db8::11"},
				{Type: corev1.NodeHostName, Address: "node-d"},
			}))
		}).Should(Succeed())
	})

	It("powers the ServerClaim off for a Node with the power-off annotation", func(ctx SpecContext) {
		ns := newMetalNamespace(ctx, shootRules)
		server := newServer(ctx, nil)
		claim := newBoundClaim(ctx, ns.Name, "machine-e", server, metalv1alpha1.PowerOn)
		node := newNode(ctx, "node-e", providerID(claim), server.Spec.SystemUUID, nil)
		startCCM(ctx, ns, noAddresses)
		Eventually(ctx, func(g Gomega) {
			g.Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
			g.Expect(node.Spec.Taints).NotTo(ContainElement(HaveField("Key", uninitializedTaint)))
		}).Should(Succeed())

		patch := client.MergeFrom(node.DeepCopy())
		metav1.SetMetaDataAnnotation(&node.ObjectMeta, "metal.ironcore.dev/power-off", "")
		Expect(shootClient.Patch(ctx, node, patch)).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			g.Expect(metalClient.Get(ctx, client.ObjectKeyFromObject(claim), claim)).To(Succeed())
			g.Expect(claim.Spec.Power).To(Equal(metalv1alpha1.PowerOff))
		}).Should(Succeed())

		patch = client.MergeFrom(node.DeepCopy())
		delete(node.Annotations, "metal.ironcore.dev/power-off")
		Expect(shootClient.Patch(ctx, node, patch)).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			g.Expect(metalClient.Get(ctx, client.ObjectKeyFromObject(claim), claim)).To(Succeed())
			g.Expect(claim.Spec.Power).To(Equal(metalv1alpha1.PowerOn))
		}).Should(Succeed())
	})

	It("taints a NotReady Node whose Server is off as shut down and untaints it when it is Ready", func(ctx SpecContext) {
		ns := newMetalNamespace(ctx, shootRules)
		server := newServer(ctx, nil)
		claim := newBoundClaim(ctx, ns.Name, "machine-i", server, metalv1alpha1.PowerOn)
		node := newNode(ctx, "node-i", providerID(claim), server.Spec.SystemUUID, nil)
		startCCM(ctx, ns, noAddresses)

		setReady(ctx, node, corev1.ConditionUnknown)
		patch := client.MergeFrom(server.DeepCopy())
		server.Status.PowerState = metalv1alpha1.ServerOffPowerState
		Expect(metalClient.Status().Patch(ctx, server, patch)).To(Succeed())
		Eventually(ctx, func(g Gomega) {
			g.Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
			g.Expect(node.Spec.Taints).To(ContainElement(corev1.Taint{Key: "node.cloudprovider.kubernetes.io/shutdown", Effect: corev1.TaintEffectNoSchedule}))
		}).Should(Succeed())

		setReady(ctx, node, corev1.ConditionTrue)
		Eventually(ctx, func(g Gomega) {
			g.Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
			g.Expect(node.Spec.Taints).NotTo(ContainElement(HaveField("Key", "node.cloudprovider.kubernetes.io/shutdown")))
		}).Should(Succeed())
	})

	It("leaves the Node of a deleted ServerClaim in place", func(ctx SpecContext) {
		ns := newMetalNamespace(ctx, shootRules)
		server := newServer(ctx, nil)
		claim := newBoundClaim(ctx, ns.Name, "machine-f", server, metalv1alpha1.PowerOn)
		node := newNode(ctx, "node-f", providerID(claim), server.Spec.SystemUUID, nil)
		log := startCCM(ctx, ns, noAddresses)
		Eventually(ctx, func(g Gomega) {
			g.Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
			g.Expect(node.Spec.Taints).NotTo(ContainElement(HaveField("Key", uninitializedTaint)))
		}).Should(Succeed())

		Expect(metalClient.Delete(ctx, claim)).To(Succeed())
		Eventually(ctx, func() string { return string(log.Contents()) }).Should(
			MatchRegexp(`no ServerClaim for the Node; leaving it as it is.*"name":"node-f"`))
		Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
		Expect(node.DeletionTimestamp).To(BeNil())
	})

	It("reports that the shoot's metal credentials may not list ServerClaims and leaves the Node uninitialized", func(ctx SpecContext) {
		ns := newMetalNamespace(ctx, []rbacv1.PolicyRule{
			{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"serverclaims"}, Verbs: []string{"get", "patch"}},
		})
		server := newServer(ctx, map[string]string{metal.ZoneLabel: "z1"})
		claim := newBoundClaim(ctx, ns.Name, "machine-g", server, metalv1alpha1.PowerOn)
		node := newNode(ctx, "node-g", providerID(claim), server.Spec.SystemUUID, nil)
		log := startCCM(ctx, ns, noAddresses)

		Eventually(ctx, func() string { return string(log.Contents()) }).Should(And(
			ContainSubstring("cannot list or watch the metal API with the shoot's metal credentials"),
			ContainSubstring(`cannot list resource \"serverclaims\" in API group \"metal.ironcore.dev\" in the namespace \"`+ns.Name+`\"`),
		))
		Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
		Expect(node.Spec.Taints).To(ContainElement(HaveField("Key", uninitializedTaint)))
	})
})

type metalNamespace struct {
	Name string
	// Config authenticates as the shoot's ServiceAccount in the namespace.
	Config *rest.Config
}

// newMetalNamespace creates a metal namespace with the shoot's ServiceAccount, allowed rules there and to read
// Servers cluster-wide, and returns a configuration with a token of the ServiceAccount.
func newMetalNamespace(ctx context.Context, rules []rbacv1.PolicyRule) metalNamespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "shoot-"}}
	Expect(metalClient.Create(ctx, ns)).To(Succeed())
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "shoot"}}
	Expect(metalClient.Create(ctx, sa)).To(Succeed())
	subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns.Name, Name: sa.Name}
	Expect(metalClient.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "shoot"}, Rules: rules})).To(Succeed())
	Expect(metalClient.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "shoot"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "shoot"},
		Subjects:   []rbacv1.Subject{subject},
	})).To(Succeed())
	servers := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "shoot-" + ns.Name + "-servers"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"servers"}, Verbs: []string{"get", "list", "watch"}},
	}}
	Expect(metalClient.Create(ctx, servers)).To(Succeed())
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: servers.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: servers.Name},
		Subjects:   []rbacv1.Subject{subject},
	}
	Expect(metalClient.Create(ctx, binding)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		Expect(client.IgnoreNotFound(metalClient.Delete(ctx, binding))).To(Succeed())
		Expect(client.IgnoreNotFound(metalClient.Delete(ctx, servers))).To(Succeed())
	})

	token := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
	Expect(metalClient.SubResource("token").Create(ctx, sa, token)).To(Succeed())
	// The kubeconfig as the cloudprovider webhook writes it into the seed's cloudprovider secret.
	kubeconfig, err := clientcmd.Write(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"metal": {Server: metalConfig.Host, CertificateAuthorityData: metalConfig.CAData}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"shoot": {Token: token.Status.Token}},
		Contexts:       map[string]*clientcmdapi.Context{"metal": {Cluster: "metal", AuthInfo: "shoot", Namespace: ns.Name}},
		CurrentContext: "metal",
	})
	Expect(err).NotTo(HaveOccurred())
	cfg, err := standins.MetalConfigFromSecret(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shoot--p--s", Name: "cloudprovider"},
		Data:       map[string][]byte{metal.KubeconfigKey: kubeconfig},
	})
	Expect(err).NotTo(HaveOccurred())
	return metalNamespace{Name: ns.Name, Config: cfg}
}

// startCCM runs the CCM stand-in with the cloud config until the spec ends and returns its log.
func startCCM(ctx context.Context, ns metalNamespace, cloudConfig string) *gbytes.Buffer {
	return startCCMWith(ctx, ns, standins.CCMOptions{CloudConfig: []byte(cloudConfig)})
}

// startCCMWith runs the CCM stand-in with opts in the metal namespace until the spec ends and returns its log.
func startCCMWith(ctx context.Context, ns metalNamespace, opts standins.CCMOptions) *gbytes.Buffer {
	log := gbytes.NewBuffer()
	opts.MetalNamespace, opts.Log = ns.Name, io.MultiWriter(log, GinkgoWriter)
	ccmCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() {
		defer GinkgoRecover()
		done <- standins.RunCCM(ccmCtx, shootConfig, ns.Config, opts)
	}()
	DeferCleanup(func(ctx SpecContext) {
		cancel()
		var err error
		Eventually(ctx, done).Should(Receive(&err))
		Expect(err).NotTo(HaveOccurred())
	})
	return log
}

// newServer creates a Server with labels and IPs on one network interface; each Server gets its own system UUID.
func newServer(ctx context.Context, labels map[string]string, ips ...string) *metalv1alpha1.Server {
	server := &metalv1alpha1.Server{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "server-", Labels: labels},
	}
	server.Spec.SystemUUID = string(uuid.NewUUID())
	Expect(metalClient.Create(ctx, server)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) { Expect(client.IgnoreNotFound(metalClient.Delete(ctx, server))).To(Succeed()) })
	if len(ips) > 0 {
		nic := metalv1alpha1.NetworkInterface{Name: "eth0", MACAddress: "52:54:00:00:00:01"}
		for _, ip := range ips {
			nic.IPs = append(nic.IPs, metalv1alpha1.IP{Addr: netip.MustParseAddr(ip)})
		}
		patch := client.MergeFrom(server.DeepCopy())
		server.Status.NetworkInterfaces = []metalv1alpha1.NetworkInterface{nic}
		Expect(metalClient.Status().Patch(ctx, server, patch)).To(Succeed())
	}
	return server
}

// newBoundClaim creates a ServerClaim bound to server as metal-operator binds one: the claim names the Server and
// the Server the claim.
func newBoundClaim(ctx context.Context, namespace, name string, server *metalv1alpha1.Server, power metalv1alpha1.Power) *metalv1alpha1.ServerClaim {
	claim := &metalv1alpha1.ServerClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: metal.ScopeLabels(clusterName, "")},
		Spec: metalv1alpha1.ServerClaimSpec{
			Power: power, Image: "ghcr.io/example/gardenlinux:1877.0",
			ServerRef: &corev1.LocalObjectReference{Name: server.Name},
		},
	}
	Expect(metalClient.Create(ctx, claim)).To(Succeed())
	patch := client.MergeFrom(server.DeepCopy())
	server.Spec.ServerClaimRef = &metalv1alpha1.ImmutableObjectReference{Namespace: namespace, Name: name}
	Expect(metalClient.Patch(ctx, server, patch)).To(Succeed())
	return claim
}

// newIPAddress creates an IPAddressClaim of claim, labelled as the driver labels it, and its IPAddress, as an IPAM
// provider allocates it.
func newIPAddress(ctx context.Context, claim *metalv1alpha1.ServerClaim, key, address string) {
	pool := ipamv1beta2.IPPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "GlobalInClusterIPPool", Name: key}
	ipClaim := &ipamv1beta2.IPAddressClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: claim.Namespace, Name: claim.Name + "-" + key, Labels: map[string]string{
			metal.ServerClaimNameLabel: claim.Name, metal.ServerClaimNamespaceLabel: claim.Namespace,
		}},
		Spec: ipamv1beta2.IPAddressClaimSpec{PoolRef: pool},
	}
	Expect(metalClient.Create(ctx, ipClaim)).To(Succeed())
	ip := &ipamv1beta2.IPAddress{
		ObjectMeta: metav1.ObjectMeta{Namespace: claim.Namespace, Name: ipClaim.Name},
		Spec: ipamv1beta2.IPAddressSpec{
			ClaimRef: ipamv1beta2.IPAddressClaimReference{Name: ipClaim.Name}, PoolRef: pool,
			Address: address, Prefix: ptr.To[int32](24),
		},
	}
	Expect(metalClient.Create(ctx, ip)).To(Succeed())
	patch := client.MergeFrom(ipClaim.DeepCopy())
	ipClaim.Status.AddressRef = ipamv1beta2.IPAddressReference{Name: ip.Name}
	Expect(metalClient.Status().Patch(ctx, ipClaim, patch)).To(Succeed())
}

// newNode registers a Node as kubelet v1.36 does with --cloud-provider=external: the uninitialized taint (next to
// a pool taint), only a Hostname address, the system UUID in its node info, a provider ID only if given.
func newNode(ctx context.Context, name, providerID, systemUUID string, labels map[string]string) *corev1.Node {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Spec: corev1.NodeSpec{ProviderID: providerID, Taints: []corev1.Taint{
			{Key: uninitializedTaint, Value: "true", Effect: corev1.TaintEffectNoSchedule},
			{Key: "pool.example.com/dedicated", Value: "true", Effect: corev1.TaintEffectNoSchedule},
		}},
	}
	for key, value := range labels {
		node.Labels[key] = value
	}
	Expect(shootClient.Create(ctx, node)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) { Expect(client.IgnoreNotFound(shootClient.Delete(ctx, node))).To(Succeed()) })
	patch := client.MergeFrom(node.DeepCopy())
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}}
	node.Status.NodeInfo.SystemUUID = systemUUID
	Expect(shootClient.Status().Patch(ctx, node, patch)).To(Succeed())
	return node
}

// setReady reports the Node's Ready condition as a kubelet (or, for Unknown, the node lifecycle controller) does.
func setReady(ctx context.Context, node *corev1.Node, status corev1.ConditionStatus) {
	Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(node), node)).To(Succeed())
	patch := client.MergeFrom(node.DeepCopy())
	now := metav1.Now()
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status, LastHeartbeatTime: now, LastTransitionTime: now}}
	Expect(shootClient.Status().Patch(ctx, node, patch)).To(Succeed())
}

func providerID(claim *metalv1alpha1.ServerClaim) string {
	return "metal://" + claim.Namespace + "/" + claim.Name
}
