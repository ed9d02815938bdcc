package charts_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	"github.com/gardener/gardener/pkg/extensions"

	"github.com/openkcm/gardener-extension-provider-metal/hack/generate-registration/registration"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/test/utils/seaweedfs"
)

const (
	extensionNamespace = "extension-provider-metal"
	shootNamespace     = "shoot--dev--rbac"
	metalNamespace     = "metal-rbac"
	region             = "region-1"
	dnsZone            = "example.org."
	tsigKeyName        = "gardener."
)

// backupSecretName is the backup secret of the BackupBucket and BackupEntry, for backupStore.
const backupSecretName = "backup"

// backupStore is the S3 store of the BackupBucket and BackupEntry.
var backupStore *seaweedfs.Server

// forbidden matches what the API server answers when RBAC denies a request.
var forbidden = regexp.MustCompile(`(?i)forbidden`)

// The extension runs as the chart's ServiceAccount with nothing but the chart's ClusterRole and Role: it becomes
// ready, elects a leader, renews its heartbeat, registers its webhooks and reconciles exactly the resources of the
// registration, and no request of it is forbidden.
var _ = Describe("gardener-extension-provider-metal with the chart's RBAC", Ordered, func() {
	var (
		session    *gexec.Session
		healthPort int
		// The DNS server serves the DNSRecord until it is deleted.
		dnsServer dnsServer
	)

	BeforeAll(func(ctx SpecContext) {
		session, healthPort = startExtension(ctx, extensionNamespace)
		dnsServer = startDNSServer()
		// The S3 store serves the BackupBucket and the BackupEntry.
		backupStore = seaweedfs.Start(Default, func(f func()) { DeferCleanup(f) })
	})

	It("becomes ready", func() {
		expectReady(healthPort)
	})

	It("holds the leader election lease and renews its heartbeat in its namespace", func(ctx SpecContext) {
		renewals := map[string]sets.Set[string]{}
		for _, name := range []string{"provider-metal-leader-election", extensions.HeartBeatResourceName} {
			renewals[name] = sets.New[string]()
			Eventually(func(g Gomega) {
				lease := &coordinationv1.Lease{}
				g.Expect(testClient.Get(ctx, client.ObjectKey{Namespace: extensionNamespace, Name: name}, lease)).To(Succeed())
				g.Expect(lease.Spec.HolderIdentity).NotTo(BeNil())
				g.Expect(lease.Spec.RenewTime).NotTo(BeNil())
				renewals[name].Insert(lease.Spec.RenewTime.String())
				g.Expect(renewals[name].Len()).To(BeNumerically(">=", 3), "renewed repeatedly")
			}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed(), name)
		}
	})

	It("registers its webhooks with the CA of the certificates it manages in its namespace", func(ctx SpecContext) {
		Eventually(func(g Gomega) {
			config := &admissionregistrationv1.MutatingWebhookConfiguration{}
			g.Expect(testClient.Get(ctx, client.ObjectKey{Name: "gardener-extension-provider-metal"}, config)).To(Succeed())
			g.Expect(config.Webhooks).NotTo(BeEmpty())
			for _, webhook := range config.Webhooks {
				g.Expect(webhook.ClientConfig.CABundle).NotTo(BeEmpty(), webhook.Name)
			}
			secrets := &corev1.SecretList{}
			g.Expect(testClient.List(ctx, secrets, client.InNamespace(extensionNamespace))).To(Succeed())
			g.Expect(secrets.Items).NotTo(BeEmpty())
		}).WithTimeout(time.Minute).Should(Succeed())
	})

	It("reconciles exactly the resources of the registration, an Infrastructure, a DNSRecord, a BackupBucket and a BackupEntry successfully", func(ctx SpecContext) {
		createShoot(ctx, dnsServer)

		type kindType struct{ kind, typ string }
		objects := map[kindType]extensionsv1alpha1.Object{}
		for _, kind := range []string{extensionsv1alpha1.InfrastructureResource, extensionsv1alpha1.ControlPlaneResource, extensionsv1alpha1.WorkerResource, extensionsv1alpha1.DNSRecordResource, extensionsv1alpha1.BackupBucketResource, extensionsv1alpha1.BackupEntryResource, extensionsv1alpha1.OperatingSystemConfigResource, extensionsv1alpha1.ExtensionResource} {
			for _, typ := range []string{metal.Type, metal.DNSType} {
				obj := extensionObject(kind, typ)
				Expect(testClient.Create(ctx, obj)).To(Succeed())
				objects[kindType{kind, typ}] = obj
			}
		}

		By("the registered resources are picked up")
		for _, resource := range registration.Resources {
			obj := objects[kindType{resource.Kind, resource.Type}]
			Eventually(func(g Gomega) {
				g.Expect(testClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
				g.Expect(obj.GetExtensionStatus().GetLastOperation()).NotTo(BeNil())
			}).WithTimeout(time.Minute).Should(Succeed(), resource.Kind+"/"+resource.Type)
		}

		By("the Infrastructure, the DNSRecord, the BackupBucket and the BackupEntry succeed")
		for _, key := range []kindType{{extensionsv1alpha1.InfrastructureResource, metal.Type}, {extensionsv1alpha1.DNSRecordResource, metal.DNSType}, {extensionsv1alpha1.BackupBucketResource, metal.Type}, {extensionsv1alpha1.BackupEntryResource, metal.Type}} {
			obj := objects[key]
			Eventually(func(g Gomega) {
				g.Expect(testClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
				status := obj.GetExtensionStatus()
				g.Expect(status.GetLastError()).To(BeNil())
				g.Expect(status.GetLastOperation()).NotTo(BeNil())
				g.Expect(status.GetLastOperation().State).To(Equal(gardencorev1beta1.LastOperationStateSucceeded))
			}).WithTimeout(time.Minute).Should(Succeed(), key.kind)
		}

		By("nothing else is picked up")
		Consistently(func(g Gomega) {
			var served []gardencorev1beta1.ControllerResource
			for key, obj := range objects {
				g.Expect(testClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
				if obj.GetExtensionStatus().GetLastOperation() != nil {
					served = append(served, gardencorev1beta1.ControllerResource{Kind: key.kind, Type: key.typ})
				}
				if lastError := obj.GetExtensionStatus().GetLastError(); lastError != nil {
					g.Expect(lastError.Description).NotTo(MatchRegexp(forbidden.String()), key.kind+"/"+key.typ)
				}
			}
			g.Expect(served).To(ConsistOf(registration.Resources))
		}).WithTimeout(10 * time.Second).Should(Succeed())
	})

	It("mutates the shoot's cloudprovider secret through its webhook, which reads the shoot's Cluster", func(ctx SpecContext) {
		secret := &corev1.Secret{}
		Eventually(func(g Gomega) {
			g.Expect(testClient.Get(ctx, client.ObjectKey{Namespace: shootNamespace, Name: v1beta1constants.SecretNameCloudProvider}, secret)).To(Succeed())
			patch := client.MergeFrom(secret.DeepCopy())
			metav1.SetMetaDataAnnotation(&secret.ObjectMeta, "test.gardener.cloud/touched", time.Now().String())
			g.Expect(testClient.Patch(ctx, secret, patch)).To(Succeed())
			g.Expect(secret.Data).To(HaveKey(metal.KubeconfigKey))
		}).WithTimeout(time.Minute).Should(Succeed())
		Expect(string(secret.Data[metal.KubeconfigKey])).To(ContainSubstring(restConfig.Host))
	})

	It("deletes the Infrastructure, ControlPlane, DNSRecord, BackupBucket and BackupEntry", func(ctx SpecContext) {
		// A Worker's deletion waits for the machine-controller-manager, which does not run here.
		for _, resource := range registration.Resources {
			if resource.Kind == extensionsv1alpha1.WorkerResource {
				continue
			}
			obj := extensionObject(resource.Kind, resource.Type)
			Expect(testClient.Delete(ctx, obj)).To(Succeed())
			Eventually(func() error {
				return testClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			}).WithTimeout(2*time.Minute).Should(Satisfy(apierrors.IsNotFound), resource.Kind+"/"+resource.Type)
		}
	})

	It("was never forbidden anything", func() {
		expectNeverForbidden(session)
	})
})

// In a runtime namespace of gardener-operator the chart runs the extension for the garden's DNSRecords only.
var _ = Describe("gardener-extension-provider-metal in the garden runtime cluster with the chart's RBAC", Ordered, func() {
	const runtimeNamespace = "runtime-extension-provider-metal"
	var (
		session    *gexec.Session
		healthPort int
	)

	BeforeAll(func(ctx SpecContext) {
		session, healthPort = startExtension(ctx, runtimeNamespace)
	})

	It("becomes ready", func() {
		expectReady(healthPort)
	})

	It("reconciles the garden's DNSRecords", func(ctx SpecContext) {
		dnsServer := startDNSServer()
		Expect(client.IgnoreAlreadyExists(testClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: v1beta1constants.GardenNamespace}}))).To(Succeed())
		Expect(testClient.Create(ctx, dnsSecret(v1beta1constants.GardenNamespace, "garden-dns", dnsServer))).To(Succeed())
		record := &extensionsv1alpha1.DNSRecord{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: v1beta1constants.GardenNamespace, Name: "garden-ingress",
				Annotations: map[string]string{v1beta1constants.GardenerOperation: v1beta1constants.GardenerOperationReconcile},
			},
			Spec: extensionsv1alpha1.DNSRecordSpec{
				DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: metal.DNSType, Class: new(extensionsv1alpha1.ExtensionClassGarden)},
				SecretRef:   corev1.SecretReference{Namespace: v1beta1constants.GardenNamespace, Name: "garden-dns"},
				Name:        "*.ingress.garden." + strings.TrimSuffix(dnsZone, "."), RecordType: extensionsv1alpha1.DNSRecordTypeA, Values: []string{"192.0.2.2"},
			},
		}
		Expect(testClient.Create(ctx, record)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(testClient.Get(ctx, client.ObjectKeyFromObject(record), record)).To(Succeed())
			g.Expect(record.Status.LastError).To(BeNil())
			g.Expect(record.Status.LastOperation).NotTo(BeNil())
			g.Expect(record.Status.LastOperation.State).To(Equal(gardencorev1beta1.LastOperationStateSucceeded))
		}).WithTimeout(time.Minute).Should(Succeed())
	})

	It("was never forbidden anything", func() {
		expectNeverForbidden(session)
	})
})

// startExtension installs the chart's ServiceAccount and RBAC in the namespace and starts the binary with the chart's
// arguments and environment, as the chart's ServiceAccount; it stops it when the container ends.
func startExtension(ctx SpecContext, namespace string) (*gexec.Session, int) {
	binary, err := gexec.Build("github.com/openkcm/gardener-extension-provider-metal/cmd/gardener-extension-provider-metal")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(gexec.CleanupBuildArtifacts)

	By("installing the chart's ServiceAccount and RBAC")
	Expect(testClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
	// A short heartbeat interval, so that the test sees the heartbeat renewed several times.
	objects := mustRender(renderHelmV3, providerChart, namespace, map[string]any{
		"controllers": map[string]any{"heartbeat": map[string]any{"renewIntervalSeconds": 2}},
	})
	for _, obj := range objects {
		switch obj.(type) {
		case *corev1.ServiceAccount, *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding, *rbacv1.Role, *rbacv1.RoleBinding:
			createForContainer(ctx, obj)
		}
	}
	serviceAccount := only[*corev1.ServiceAccount](objects)

	By("starting the binary with the chart's arguments, as the chart's ServiceAccount")
	dir := GinkgoT().TempDir()
	configFile := filepath.Join(dir, "config.yaml")
	Expect(os.WriteFile(configFile, []byte(only[*corev1.ConfigMap](objects).Data["config.yaml"]), 0o600)).To(Succeed())
	kubeconfig := impersonatingKubeconfig(dir, serviceAccount)

	healthPort := freePort()
	webhookPort := freePort()
	container := only[*appsv1.Deployment](objects).Spec.Template.Spec.Containers[0]
	// The chart's arguments, but with addresses, ports and the certificate directory of this machine, and the
	// webhooks called by URL since there is no Service to route to this process.
	args := slices.DeleteFunc(slices.Clone(container.Args), func(arg string) bool {
		for _, local := range []string{"--config-file=", "--metrics-bind-address=", "--health-bind-address=", "--webhook-config-mode=", "--webhook-config-server-port=", "--webhook-config-cert-dir="} {
			if strings.HasPrefix(arg, local) {
				return true
			}
		}
		return false
	})
	args = append(args,
		"--kubeconfig="+kubeconfig,
		"--config-file="+configFile,
		"--metrics-bind-address=127.0.0.1:0",
		fmt.Sprintf("--health-bind-address=127.0.0.1:%d", healthPort),
		"--webhook-config-mode=url",
		fmt.Sprintf("--webhook-config-url=127.0.0.1:%d", webhookPort),
		"--webhook-config-server-host=127.0.0.1",
		fmt.Sprintf("--webhook-config-server-port=%d", webhookPort),
		"--webhook-config-cert-dir="+filepath.Join(dir, "certs"),
	)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), chartEnv(container.Env, namespace)...)
	session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx SpecContext) {
		session.Kill().Wait()
		Expect(client.IgnoreNotFound(testClient.Delete(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: serviceAccount.Name}}))).To(Succeed())
	})
	return session, healthPort
}

func expectReady(healthPort int) {
	GinkgoHelper()
	for _, endpoint := range []string{"healthz", "readyz"} {
		url := fmt.Sprintf("http://127.0.0.1:%d/%s", healthPort, endpoint)
		Eventually(func() (int, error) {
			resp, err := http.Get(url) //nolint:gosec,noctx // local test endpoint
			if err != nil {
				return 0, err
			}
			defer func() { _ = resp.Body.Close() }()
			return resp.StatusCode, nil
		}).WithTimeout(time.Minute).Should(Equal(http.StatusOK), endpoint)
	}
}

// expectNeverForbidden fails if the extension's log shows a request that RBAC denied.
func expectNeverForbidden(session *gexec.Session) {
	GinkgoHelper()
	var denied []string
	for _, output := range [][]byte{session.Out.Contents(), session.Err.Contents()} {
		for line := range strings.SplitSeq(string(output), "\n") {
			if forbidden.MatchString(line) {
				denied = append(denied, line)
			}
		}
	}
	Expect(denied).To(BeEmpty(), "the chart's RBAC lacks a permission the extension uses")
	Expect(session.Err.Contents()).To(ContainSubstring("Reconcil"), "the extension's log is checked where it is written")
	Expect(session).NotTo(gexec.Exit())
}

// createForContainer creates the object and deletes it when the container ends: the render tests create the same
// cluster-scoped objects with a dry run, which fails on existing ones.
func createForContainer(ctx SpecContext, obj client.Object) {
	Expect(testClient.Create(ctx, obj)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		Expect(client.IgnoreNotFound(testClient.Delete(ctx, obj))).To(Succeed())
	})
}

// impersonatingKubeconfig writes a kubeconfig of an administrator that impersonates the ServiceAccount, so that
// every request is authorized with the ServiceAccount's permissions only.
func impersonatingKubeconfig(dir string, serviceAccount *corev1.ServiceAccount) string {
	admin, err := env.AddUser(envtest.User{Name: "charts-admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	data, err := admin.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	config, err := clientcmd.Load(data)
	Expect(err).NotTo(HaveOccurred())
	for _, authInfo := range config.AuthInfos {
		authInfo.Impersonate = "system:serviceaccount:" + serviceAccount.Namespace + ":" + serviceAccount.Name
		authInfo.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + serviceAccount.Namespace, "system:authenticated"}
	}
	path := filepath.Join(dir, "kubeconfig")
	Expect(clientcmd.WriteToFile(*config, path)).To(Succeed())
	return path
}

// chartEnv resolves the chart's environment: the downward API fields name the pod's namespace.
func chartEnv(env []corev1.EnvVar, namespace string) []string {
	var out []string
	for _, variable := range env {
		value := variable.Value
		if variable.ValueFrom != nil {
			Expect(variable.ValueFrom.FieldRef).NotTo(BeNil(), variable.Name)
			Expect(variable.ValueFrom.FieldRef.FieldPath).To(Equal("metadata.namespace"), variable.Name)
			value = namespace
		}
		out = append(out, variable.Name+"="+value)
	}
	return out
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { Expect(l.Close()).To(Succeed()) }()
	return l.Addr().(*net.TCPAddr).Port
}

// dnsServer is an RFC 2136 server that accepts every TSIG-signed update.
type dnsServer struct {
	addr, secret string
}

func startDNSServer() dnsServer {
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.IsTsig() == nil || w.TsigStatus() != nil {
			m.SetRcode(r, dns.RcodeRefused)
		} else {
			m.SetTsig(tsigKeyName, dns.HmacSHA256, 300, time.Now().Unix())
		}
		_ = w.WriteMsg(m)
	})
	// The default accept function answers UPDATE messages with NOTIMP.
	accept := func(dns.Header) dns.MsgAcceptAction { return dns.MsgAccept }
	// The same port for TCP and UDP, as a DNS server has.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	conn, err := net.ListenPacket("udp", listener.Addr().String())
	Expect(err).NotTo(HaveOccurred())
	for _, server := range []*dns.Server{
		{Listener: listener, TsigSecret: map[string]string{tsigKeyName: secret}, Handler: handler, MsgAcceptFunc: accept},
		{PacketConn: conn, TsigSecret: map[string]string{tsigKeyName: secret}, Handler: handler, MsgAcceptFunc: accept},
	} {
		go func() { _ = server.ActivateAndServe() }()
		DeferCleanup(server.Shutdown)
	}
	return dnsServer{addr: listener.Addr().String(), secret: secret}
}

// dnsSecret is a DNS provider secret of type rfc2136 for the server.
func dnsSecret(namespace, name string, dnsServer dnsServer) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		StringData: map[string]string{
			metal.DNSServerKey: dnsServer.addr, metal.DNSZoneKey: dnsZone, metal.DNSTSIGKeyNameKey: tsigKeyName,
			metal.DNSTSIGSecretKey: dnsServer.secret, metal.DNSTSIGSecretAlgorithmKey: "hmac-sha256",
		},
	}
}

// createShoot creates what gardenlet provides in a shoot's control plane namespace (Cluster, cloudprovider and DNS
// secrets) and the shoot's namespace in the metal API, which is this API server with a ServiceAccount of its own.
func createShoot(ctx SpecContext, dnsServer dnsServer) {
	metalClient := testClient
	Expect(metalClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: metalNamespace}})).To(Succeed())
	Expect(testClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: shootNamespace, Labels: map[string]string{
		v1beta1constants.GardenRole: v1beta1constants.GardenRoleShoot, v1beta1constants.LabelShootProvider: metal.Type,
	}}})).To(Succeed())

	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: metalNamespace, Name: "shoot"}}
	Expect(metalClient.Create(ctx, sa)).To(Succeed())
	subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: metalNamespace, Name: sa.Name}
	Expect(metalClient.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: metalNamespace, Name: "shoot"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"serverclaims", "servermaintenances"}, Verbs: []string{"*"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "create", "update", "patch", "delete"}},
		{APIGroups: []string{"ipam.cluster.x-k8s.io"}, Resources: []string{"ipaddressclaims", "ipaddresses"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
	}})).To(Succeed())
	Expect(metalClient.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: metalNamespace, Name: "shoot"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "shoot"},
		Subjects:   []rbacv1.Subject{subject},
	})).To(Succeed())
	Expect(metalClient.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "metal-rbac-servers"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"servers"}, Verbs: []string{"get", "list", "watch"}},
	}})).To(Succeed())
	Expect(metalClient.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "metal-rbac-servers"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "metal-rbac-servers"},
		Subjects:   []rbacv1.Subject{subject},
	})).To(Succeed())
	tokenRequest := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))}}
	Expect(metalClient.SubResource("token").Create(ctx, sa, tokenRequest)).To(Succeed())

	cloudProfileConfig := &v1alpha1.CloudProfileConfig{
		TypeMeta:      metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "CloudProfileConfig"},
		RegionConfigs: []v1alpha1.RegionConfig{{Name: region, Server: restConfig.Host, CertificateAuthorityData: restConfig.CAData}},
	}
	cloudProfile := &gardencorev1beta1.CloudProfile{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "CloudProfile"},
		ObjectMeta: metav1.ObjectMeta{Name: "metal"},
		Spec:       gardencorev1beta1.CloudProfileSpec{Type: metal.Type, ProviderConfig: &runtime.RawExtension{Raw: encode(cloudProfileConfig)}},
	}
	shoot := &gardencorev1beta1.Shoot{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Shoot"},
		ObjectMeta: metav1.ObjectMeta{Name: "rbac", Namespace: "garden-dev"},
		Spec: gardencorev1beta1.ShootSpec{
			Region:     region,
			Kubernetes: gardencorev1beta1.Kubernetes{Version: "1.33.0"},
			Provider:   gardencorev1beta1.Provider{Type: metal.Type},
			Networking: &gardencorev1beta1.Networking{Nodes: new("10.250.0.0/16"), Pods: new("100.96.0.0/11"), Services: new("100.64.0.0/13")},
		},
		Status: gardencorev1beta1.ShootStatus{TechnicalID: shootNamespace},
	}
	seed := &gardencorev1beta1.Seed{TypeMeta: metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Seed"}}
	Expect(testClient.Create(ctx, &extensionsv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: shootNamespace},
		Spec: extensionsv1alpha1.ClusterSpec{
			CloudProfile: runtime.RawExtension{Raw: encode(cloudProfile)},
			Seed:         &runtime.RawExtension{Raw: encode(seed)},
			Shoot:        runtime.RawExtension{Raw: encode(shoot)},
		},
	})).To(Succeed())

	// The extension's cloudprovider webhook selects the secret by gardenlet's purpose label and reads the Cluster
	// from its cache, which may lag a moment behind.
	Eventually(func() error {
		return testClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: shootNamespace, Name: v1beta1constants.SecretNameCloudProvider, Labels: map[string]string{
				v1beta1constants.GardenerPurpose: v1beta1constants.SecretNameCloudProvider,
			}},
			Data: map[string][]byte{metal.NamespaceKey: []byte(metalNamespace), metal.TokenKey: []byte(tokenRequest.Status.Token)},
		})
	}).WithTimeout(30 * time.Second).Should(Succeed())
	Expect(testClient.Create(ctx, dnsSecret(shootNamespace, "dns", dnsServer))).To(Succeed())
	Expect(testClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: shootNamespace, Name: backupSecretName}, StringData: map[string]string{
		metal.BackupAccessKeyIDKey:      seaweedfs.GardenerIdentity.AccessKey,
		metal.BackupSecretAccessKeyKey:  seaweedfs.GardenerIdentity.SecretKey,
		metal.BackupEndpointKey:         backupStore.HTTPEndpoint,
		metal.BackupS3ForcePathStyleKey: "true",
	}})).To(Succeed())
}

// extensionObject returns an extension resource of the kind and type in the shoot namespace, with the reconcile
// annotation gardenlet sets.
func extensionObject(kind, typ string) extensionsv1alpha1.Object {
	meta := metav1.ObjectMeta{
		Namespace:   shootNamespace,
		Name:        strings.ToLower(kind) + "-" + typ,
		Annotations: map[string]string{v1beta1constants.GardenerOperation: v1beta1constants.GardenerOperationReconcile},
	}
	spec := extensionsv1alpha1.DefaultSpec{Type: typ}
	cloudprovider := corev1.SecretReference{Namespace: shootNamespace, Name: v1beta1constants.SecretNameCloudProvider}
	switch kind {
	case extensionsv1alpha1.InfrastructureResource:
		return &extensionsv1alpha1.Infrastructure{ObjectMeta: meta, Spec: extensionsv1alpha1.InfrastructureSpec{DefaultSpec: spec, Region: region, SecretRef: cloudprovider}}
	case extensionsv1alpha1.ControlPlaneResource:
		return &extensionsv1alpha1.ControlPlane{ObjectMeta: meta, Spec: extensionsv1alpha1.ControlPlaneSpec{DefaultSpec: spec, Region: region, SecretRef: cloudprovider}}
	case extensionsv1alpha1.WorkerResource:
		return &extensionsv1alpha1.Worker{ObjectMeta: meta, Spec: extensionsv1alpha1.WorkerSpec{DefaultSpec: spec, Region: region, SecretRef: cloudprovider, Pools: []extensionsv1alpha1.WorkerPool{}}}
	case extensionsv1alpha1.DNSRecordResource:
		return &extensionsv1alpha1.DNSRecord{ObjectMeta: meta, Spec: extensionsv1alpha1.DNSRecordSpec{
			DefaultSpec: spec, SecretRef: corev1.SecretReference{Namespace: shootNamespace, Name: "dns"},
			Name: "api.rbac." + strings.TrimSuffix(dnsZone, "."), RecordType: extensionsv1alpha1.DNSRecordTypeA, Values: []string{"192.0.2.1"},
		}}
	case extensionsv1alpha1.BackupBucketResource:
		// Cluster-scoped, named like the bucket.
		return &extensionsv1alpha1.BackupBucket{ObjectMeta: metav1.ObjectMeta{Name: "backupbucket-" + typ, Annotations: meta.Annotations}, Spec: extensionsv1alpha1.BackupBucketSpec{
			DefaultSpec: spec, Region: region, SecretRef: corev1.SecretReference{Namespace: shootNamespace, Name: backupSecretName},
		}}
	case extensionsv1alpha1.BackupEntryResource:
		// Cluster-scoped, named <shoot namespace>--<shoot UID> as gardenlet names it, so that the etcd-backup
		// secret goes into the shoot namespace.
		return &extensionsv1alpha1.BackupEntry{ObjectMeta: metav1.ObjectMeta{Name: shootNamespace + "--" + typ, Annotations: meta.Annotations}, Spec: extensionsv1alpha1.BackupEntrySpec{
			DefaultSpec: spec, Region: region, BucketName: "backupbucket-" + typ, SecretRef: corev1.SecretReference{Namespace: shootNamespace, Name: backupSecretName},
		}}
	case extensionsv1alpha1.OperatingSystemConfigResource:
		return &extensionsv1alpha1.OperatingSystemConfig{ObjectMeta: meta, Spec: extensionsv1alpha1.OperatingSystemConfigSpec{DefaultSpec: spec, Purpose: extensionsv1alpha1.OperatingSystemConfigPurposeReconcile}}
	case extensionsv1alpha1.ExtensionResource:
		return &extensionsv1alpha1.Extension{ObjectMeta: meta, Spec: extensionsv1alpha1.ExtensionSpec{DefaultSpec: spec}}
	}
	Fail("unknown kind " + kind)
	return nil
}

func encode(obj any) []byte {
	data, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())
	return data
}
