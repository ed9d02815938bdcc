package controlplane_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/openkcm/gardener-extension-provider-metal/test/utils/requests"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gardener/gardener/extensions/pkg/controller/controlplane/genericactuator"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	resourcesv1alpha1 "github.com/gardener/gardener/pkg/apis/resources/v1alpha1"
	"github.com/gardener/gardener/pkg/client/kubernetes"
	secretsutils "github.com/gardener/gardener/pkg/utils/secrets"
	secretsmanager "github.com/gardener/gardener/pkg/utils/secrets/manager"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const region = "region-1"

// metalLBConfig enables MetalLB in layer 2, so that every ManagedResource of the ControlPlane has content. It does
// not set networking.configureNodeAddresses, whose default (true) the cloud config must show.
const metalLBConfig = `{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"ControlPlaneConfig",
"cloudControllerManager":{"featureGates":{"ContextualLogging":true}},
"loadBalancer":{"metallb":{"ipAddressPools":[{"name":"public","addresses":["192.0.2.0/28"]}],"l2":{}}}}`

// shoot is one shoot's control plane namespace in the seed and its ControlPlane.
type shoot struct {
	namespace string
	cp        *extensionsv1alpha1.ControlPlane
}

var _ = Describe("ControlPlane controller", func() {
	It("deploys the seed components and the shoot ManagedResources, and removes them on deletion", func(ctx SpecContext) {
		s := newShoot(ctx, metalLBConfig)
		s.expectSucceeded(ctx)

		By("the secrets manager created the self-signed serving certificate and no CA")
		serverSecret := s.secretWithPrefix(ctx, "cloud-controller-manager-server-")
		expectSelfSignedServingCertificate(serverSecret, "cloud-controller-manager."+s.namespace+".svc")
		Expect(s.secretsWithPrefix(ctx, "ca-provider-metal-controlplane")).To(BeEmpty())
		access := &corev1.Secret{}
		Expect(seedClient.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: "shoot-access-cloud-controller-manager"}, access)).To(Succeed())
		Expect(access.Annotations).To(HaveKeyWithValue("serviceaccount.resources.gardener.cloud/name", metal.CloudControllerManagerName))

		By("the seed ManagedResource holds the cloud-controller-manager")
		seedMR := s.managedResource(ctx, genericactuator.ControlPlaneSeedChartResourceName)
		Expect(seedMR.Spec.Class).To(PointTo(Equal("seed")))
		seedObjects := s.managedResourceObjects(ctx, seedMR)
		deployment := &appsv1.Deployment{}
		fromUnstructured(find(seedObjects, "Deployment", "cloud-controller-manager"), deployment)
		Expect(deployment.Spec.Template.Spec.Containers[0].Args).To(ContainElements(
			"--cloud-provider=metal",
			"--metal-kubeconfig=/etc/metal/kubeconfig",
			"--metal-namespace=metal-"+s.namespace,
			"--cluster-name="+s.namespace,
			"--cluster-cidr=100.96.0.0/11",
			"--feature-gates=ContextualLogging=true",
			"--leader-elect=true",
		))
		Expect(deployment.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("Secret.SecretName", serverSecret.Name)))
		configMap := &corev1.ConfigMap{}
		fromUnstructured(find(seedObjects, "ConfigMap", "cloud-provider-config"), configMap)
		Expect(configMap.Data["cloudprovider.conf"]).To(Equal("clusterName: " + s.namespace + "\nnetworking:\n  configureNodeAddresses: true\n"))
		Expect(find(seedObjects, "ServiceMonitor", "shoot-cloud-controller-manager")).NotTo(BeNil())

		By("the shoot ManagedResources hold RBAC, MetalLB, its CRDs and the StorageClass")
		shootObjects := s.managedResourceObjects(ctx, s.managedResource(ctx, genericactuator.ControlPlaneShootChartResourceName))
		Expect(find(shootObjects, "ClusterRole", "extensions.gardener.cloud:provider-metal:cloud-controller-manager")).NotTo(BeNil())
		Expect(find(shootObjects, "IPAddressPool", "public")).NotTo(BeNil())
		crdObjects := s.managedResourceObjects(ctx, s.managedResource(ctx, genericactuator.ControlPlaneShootCRDsChartResourceName))
		Expect(find(crdObjects, "CustomResourceDefinition", "ipaddresspools.metallb.io")).NotTo(BeNil())
		storageObjects := s.managedResourceObjects(ctx, s.managedResource(ctx, genericactuator.StorageClassesChartResourceName))
		Expect(find(storageObjects, "StorageClass", "local")).NotTo(BeNil())

		By("a real API server accepts the rendered CRDs and the MetalLB objects")
		for _, crd := range crdObjects {
			Expect(client.IgnoreAlreadyExists(seedClient.Create(ctx, crd.DeepCopy()))).To(Succeed(), crd.GetName())
		}
		Eventually(func(g Gomega) {
			for _, obj := range shootObjects {
				if obj.GetObjectKind().GroupVersionKind().Group == "metallb.io" {
					g.Expect(seedClient.Create(ctx, obj.DeepCopy(), client.DryRunAll)).To(Succeed(), obj.GetKind()+"/"+obj.GetName())
				}
			}
		}).WithTimeout(30 * time.Second).Should(Succeed())

		By("the CCM's RBAC outlives the ManagedResource, the StorageClass is replaced when an update is invalid")
		for _, kind := range []string{"ClusterRole", "ClusterRoleBinding"} {
			Expect(find(shootObjects, kind, "extensions.gardener.cloud:provider-metal:cloud-controller-manager").GetAnnotations()).To(
				HaveKeyWithValue("resources.gardener.cloud/keep-object", "true"), kind)
		}
		storageClass := find(storageObjects, "StorageClass", "local")
		Expect(storageClass.GetAnnotations()).To(HaveKeyWithValue("resources.gardener.cloud/delete-on-invalid-update", "true"))
		Expect(seedClient.Create(ctx, storageClass.DeepCopy(), client.DryRunAll)).To(Succeed())
		for _, name := range []string{"cloud-controller-manager-vpa"} {
			vpa := find(seedObjects, "VerticalPodAutoscaler", name)
			Expect(vpa.Object).To(HaveKeyWithValue("spec", HaveKeyWithValue("updatePolicy", HaveKeyWithValue("updateMode", "InPlaceOrRecreate"))), name)
		}

		By("deleting the ControlPlane removes the ManagedResources and the shoot access secrets")
		Expect(seedClient.Delete(ctx, s.cp)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(seedClient.Get(ctx, client.ObjectKeyFromObject(s.cp), &extensionsv1alpha1.ControlPlane{}))
		}).WithTimeout(time.Minute).Should(BeTrue())
		managedResources := &resourcesv1alpha1.ManagedResourceList{}
		Expect(seedClient.List(ctx, managedResources, client.InNamespace(s.namespace))).To(Succeed())
		Expect(managedResources.Items).To(BeEmpty())
		Expect(apierrors.IsNotFound(seedClient.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: "shoot-access-cloud-controller-manager"}, &corev1.Secret{}))).To(BeTrue())
		Expect(s.secretsWithPrefix(ctx, "cloud-controller-manager-server-")).To(BeEmpty())
		Expect(s.secretsWithPrefix(ctx, "managedresource-")).To(BeEmpty())
		managed := &corev1.SecretList{}
		Expect(seedClient.List(ctx, managed, client.InNamespace(s.namespace), client.MatchingLabels{secretsmanager.LabelKeyManagerIdentity: metal.Name + "-controlplane"})).To(Succeed())
		Expect(managed.Items).To(BeEmpty())
	})

	It("replaces the CA-signed serving certificate of earlier versions and deletes their CA", func(ctx SpecContext) {
		s := newShoot(ctx, "")
		s.expectSucceeded(ctx)

		By("the secrets of an earlier version: a persisted CA and the serving certificate it signed")
		sm, err := secretsmanager.New(ctx, logr.Discard(), clock.RealClock{}, seedClient, metal.Name+"-controlplane", secretsmanager.WithNamespaces(s.namespace))
		Expect(err).NotTo(HaveOccurred())
		const caName = "ca-" + metal.Name + "-controlplane"
		_, err = sm.Generate(ctx, &secretsutils.CertificateSecretConfig{Name: caName, CommonName: caName, CertType: secretsutils.CACert}, secretsmanager.Persist())
		Expect(err).NotTo(HaveOccurred())
		_, err = sm.Generate(ctx, &secretsutils.CertificateSecretConfig{
			Name: "cloud-controller-manager-server", CommonName: metal.CloudControllerManagerName, CertType: secretsutils.ServerCert, SkipPublishingCACertificate: true,
		}, secretsmanager.SignedByCA(caName))
		Expect(err).NotTo(HaveOccurred())
		earlier := append(s.secretsWithPrefix(ctx, caName), s.secretsWithPrefix(ctx, "cloud-controller-manager-server-")...)
		Expect(earlier).To(HaveLen(3))
		// The controller's secrets manager finds them in the manager's cache.
		Eventually(func(g Gomega) {
			for _, secret := range earlier {
				g.Expect(mgrCache.Get(ctx, client.ObjectKeyFromObject(&secret), &corev1.Secret{})).To(Succeed())
			}
		}).Should(Succeed())

		s.reconcile(ctx)
		s.expectSucceeded(ctx)
		Expect(s.secretsWithPrefix(ctx, caName)).To(BeEmpty())
		serverSecret := s.secretWithPrefix(ctx, "cloud-controller-manager-server-")
		expectSelfSignedServingCertificate(serverSecret, "cloud-controller-manager."+s.namespace+".svc")
		Expect(s.ccmPodTemplate(ctx).Spec.Volumes).To(ContainElement(HaveField("Secret.SecretName", serverSecret.Name)))
	})

	It("writes nothing but Gardener's bookkeeping when reconciling an unchanged ControlPlane", func(ctx SpecContext) {
		s := newShoot(ctx, metalLBConfig)
		s.expectSucceeded(ctx)

		seedWrites.Reset()
		s.reconcile(ctx)
		s.expectSucceeded(ctx)
		Expect(s.unexpectedWrites(seedWrites.Recorded())).To(BeEmpty())

		By("the check catches a write the reconcile did not need")
		seedWrites.Reset()
		s.reconcile(ctx)
		s.expectSucceeded(ctx)
		server := s.secretWithPrefix(ctx, "cloud-controller-manager-server-")
		patch := client.MergeFrom(server.DeepCopy())
		metav1.SetMetaDataAnnotation(&server.ObjectMeta, "test", "extra-write")
		Expect(mgrClient.Patch(ctx, server, patch)).To(Succeed())
		Expect(s.unexpectedWrites(seedWrites.Recorded())).To(ConsistOf(ContainSubstring("/secrets/" + server.Name)))
	})

	It("rolls the cloud-controller-manager when the metal kubeconfig changes", func(ctx SpecContext) {
		s := newShoot(ctx, "")
		s.expectSucceeded(ctx)
		before := s.ccmAnnotations(ctx)
		// A metal API outside the seed is reached through the public and private networks.
		Expect(s.ccmPodTemplate(ctx).Labels).To(And(
			HaveKeyWithValue("networking.gardener.cloud/to-public-networks", "allowed"),
			HaveKeyWithValue("networking.gardener.cloud/to-private-networks", "allowed"),
			Not(HaveKey("networking.gardener.cloud/to-runtime-apiserver")),
		))

		credentials := &corev1.Secret{}
		Expect(seedClient.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: v1beta1constants.SecretNameCloudProvider}, credentials)).To(Succeed())
		// The metal API moves into the runtime cluster: the CCM needs the egress to the runtime API server instead.
		credentials.Data[metal.KubeconfigKey] = metalKubeconfig("https://kubernetes.default.svc", "rotated")
		Expect(seedClient.Update(ctx, credentials)).To(Succeed())
		s.reconcile(ctx)
		s.expectSucceeded(ctx)

		after := s.ccmAnnotations(ctx)
		Expect(after["checksum/secret-cloudprovider-kubeconfig"]).NotTo(Equal(before["checksum/secret-cloudprovider-kubeconfig"]))
		Expect(after["checksum/configmap-cloud-provider-config"]).To(Equal(before["checksum/configmap-cloud-provider-config"]))
		Expect(s.ccmPodTemplate(ctx).Labels).To(And(
			HaveKeyWithValue("networking.gardener.cloud/to-runtime-apiserver", "allowed"),
			Not(HaveKey("networking.gardener.cloud/to-public-networks")),
		))
	})

	It("rejects an invalid providerConfig with its field path before deploying anything", func(ctx SpecContext) {
		s := newShoot(ctx, `{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"ControlPlaneConfig",
"loadBalancer":{"metalLoadBalancer":{"vni":0,"metalBondServer":"[::1]:4711"}}}`)
		lastError := s.expectError(ctx, gardencorev1beta1.ErrorConfigurationProblem)
		Expect(lastError.Description).To(ContainSubstring("spec.providerConfig.loadBalancer.metalLoadBalancer.vni"))
		Expect(s.secretsWithPrefix(ctx, "cloud-controller-manager-server-")).To(BeEmpty())
		managedResources := &resourcesv1alpha1.ManagedResourceList{}
		Expect(seedClient.List(ctx, managedResources, client.InNamespace(s.namespace))).To(Succeed())
		Expect(managedResources.Items).To(BeEmpty())
	})
})

// unexpectedWrites returns the writes in the shoot's namespace other than Gardener's contract bookkeeping on the
// ControlPlane: removing the operation annotation and updating status.lastOperation.
func (s *shoot) unexpectedWrites(recorded []requests.Request) []string {
	cpPath := fmt.Sprintf("/apis/extensions.gardener.cloud/v1alpha1/namespaces/%s/controlplanes/%s", s.namespace, s.cp.Name)
	var unexpected []string
	for _, req := range recorded {
		if !req.IsWrite() || !strings.Contains(req.Path, "/namespaces/"+s.namespace+"/") {
			continue
		}
		switch {
		case req.Path == cpPath && strings.Contains(req.Body, `"annotations"`) && !strings.Contains(req.Body, `"spec"`):
		case req.Path == cpPath+"/status" && strings.Contains(req.Body, "lastOperation"):
		default:
			unexpected = append(unexpected, req.Method+" "+req.Path+" "+req.Body)
		}
	}
	return unexpected
}

func newShoot(ctx SpecContext, providerConfig string) *shoot {
	s := &shoot{namespace: "shoot--test--" + rand.String(6)}
	Expect(seedClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.namespace}})).To(Succeed())

	// The cloudprovider secret as gardenlet creates it and the cloudprovider webhook completes it.
	Expect(seedClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: v1beta1constants.SecretNameCloudProvider},
		Data: map[string][]byte{
			metal.NamespaceKey:  []byte("metal-" + s.namespace),
			metal.TokenKey:      []byte("token"),
			metal.KubeconfigKey: metalKubeconfig("https://metal.example.com", "token"),
		},
	})).To(Succeed())

	cloudProfile := &gardencorev1beta1.CloudProfile{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "CloudProfile"},
		ObjectMeta: metav1.ObjectMeta{Name: "metal"},
		Spec: gardencorev1beta1.CloudProfileSpec{Type: metal.Type, ProviderConfig: &runtime.RawExtension{Raw: encode(&v1alpha1.CloudProfileConfig{
			TypeMeta:      metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "CloudProfileConfig"},
			RegionConfigs: []v1alpha1.RegionConfig{{Name: region, Server: "https://metal.example.com"}},
		})}},
	}
	shootObj := &gardencorev1beta1.Shoot{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Shoot"},
		ObjectMeta: metav1.ObjectMeta{Name: "shoot", Namespace: "garden-test"},
		Spec: gardencorev1beta1.ShootSpec{
			Region:     region,
			Kubernetes: gardencorev1beta1.Kubernetes{Version: "1.33.2"},
			Provider:   gardencorev1beta1.Provider{Type: metal.Type, Workers: []gardencorev1beta1.Worker{{Name: "pool"}}},
			Networking: &gardencorev1beta1.Networking{
				Type: ptr.To("cilium"), Pods: ptr.To("100.96.0.0/11"), Services: ptr.To("100.64.0.0/13"),
				IPFamilies: []gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv4},
			},
		},
		Status: gardencorev1beta1.ShootStatus{TechnicalID: s.namespace},
	}
	seed := &gardencorev1beta1.Seed{TypeMeta: metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Seed"}}
	Expect(seedClient.Create(ctx, &extensionsv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: s.namespace},
		Spec: extensionsv1alpha1.ClusterSpec{
			CloudProfile: runtime.RawExtension{Raw: encode(cloudProfile)},
			Seed:         &runtime.RawExtension{Raw: encode(seed)},
			Shoot:        runtime.RawExtension{Raw: encode(shootObj)},
		},
	})).To(Succeed())

	s.cp = &extensionsv1alpha1.ControlPlane{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   s.namespace,
			Name:        "shoot",
			Annotations: map[string]string{v1beta1constants.GardenerOperation: v1beta1constants.GardenerOperationReconcile},
		},
		Spec: extensionsv1alpha1.ControlPlaneSpec{
			DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: metal.Type},
			Region:      region,
			SecretRef:   corev1.SecretReference{Namespace: s.namespace, Name: v1beta1constants.SecretNameCloudProvider},
		},
	}
	if providerConfig != "" {
		s.cp.Spec.ProviderConfig = &runtime.RawExtension{Raw: []byte(strings.ReplaceAll(providerConfig, "\n", ""))}
	}
	Expect(seedClient.Create(ctx, s.cp)).To(Succeed())
	return s
}

// reconcile asks for a reconcile the way gardenlet does and waits until the controller reported its end in the
// status, so that every write of that reconcile has been recorded.
func (s *shoot) reconcile(ctx SpecContext) {
	before := len(seedWrites.Recorded())
	Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.cp), s.cp)).To(Succeed())
	patch := client.MergeFrom(s.cp.DeepCopy())
	metav1.SetMetaDataAnnotation(&s.cp.ObjectMeta, v1beta1constants.GardenerOperation, v1beta1constants.GardenerOperationReconcile)
	Expect(seedClient.Patch(ctx, s.cp, patch)).To(Succeed())
	statusPath := fmt.Sprintf("/apis/extensions.gardener.cloud/v1alpha1/namespaces/%s/controlplanes/%s/status", s.namespace, s.cp.Name)
	Eventually(func(g Gomega) {
		var finished bool
		for _, req := range seedWrites.Recorded()[before:] {
			if req.Path == statusPath && strings.Contains(req.Body, `"Succeeded"`) {
				finished = true
			}
		}
		g.Expect(finished).To(BeTrue(), "the reconcile has not reported success yet")
	}).WithTimeout(time.Minute).Should(Succeed())
}

func (s *shoot) expectSucceeded(ctx SpecContext) {
	Eventually(func(g Gomega) {
		g.Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.cp), s.cp)).To(Succeed())
		g.Expect(s.cp.Annotations).NotTo(HaveKey(v1beta1constants.GardenerOperation))
		g.Expect(s.cp.Status.LastOperation).NotTo(BeNil())
		g.Expect(s.cp.Status.LastError).To(BeNil())
		g.Expect(s.cp.Status.LastOperation.State).To(Equal(gardencorev1beta1.LastOperationStateSucceeded))
		g.Expect(s.cp.Status.ObservedGeneration).To(Equal(s.cp.Generation))
	}).WithTimeout(time.Minute).Should(Succeed())
}

func (s *shoot) expectError(ctx SpecContext, code gardencorev1beta1.ErrorCode) *gardencorev1beta1.LastError {
	Eventually(func(g Gomega) {
		g.Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.cp), s.cp)).To(Succeed())
		g.Expect(s.cp.Status.LastError).NotTo(BeNil())
		g.Expect(s.cp.Status.LastError.Codes).To(ContainElement(code), s.cp.Status.LastError.Description)
	}).WithTimeout(time.Minute).Should(Succeed())
	return s.cp.Status.LastError
}

// secretsWithPrefix returns the secrets of the shoot's namespace whose names start with prefix, without the
// bundles the secrets manager adds to every certificate it does not sign with a CA of its own.
func (s *shoot) secretsWithPrefix(ctx SpecContext, prefix string) []corev1.Secret {
	secrets := &corev1.SecretList{}
	Expect(seedClient.List(ctx, secrets, client.InNamespace(s.namespace))).To(Succeed())
	var result []corev1.Secret
	for _, secret := range secrets.Items {
		if strings.HasPrefix(secret.Name, prefix) && secret.Labels[secretsmanager.LabelKeyBundleFor] == "" {
			result = append(result, secret)
		}
	}
	return result
}

func (s *shoot) secretWithPrefix(ctx SpecContext, prefix string) *corev1.Secret {
	secrets := s.secretsWithPrefix(ctx, prefix)
	Expect(secrets).To(HaveLen(1), prefix)
	return &secrets[0]
}

func (s *shoot) managedResource(ctx SpecContext, name string) *resourcesv1alpha1.ManagedResource {
	mr := &resourcesv1alpha1.ManagedResource{}
	Expect(seedClient.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, mr)).To(Succeed())
	return mr
}

// managedResourceObjects decodes the objects of a ManagedResource from its secrets, as gardener-resource-manager
// would apply them.
func (s *shoot) managedResourceObjects(ctx SpecContext, mr *resourcesv1alpha1.ManagedResource) []*unstructured.Unstructured {
	var objects []*unstructured.Unstructured
	Expect(mr.Spec.SecretRefs).NotTo(BeEmpty())
	for _, ref := range mr.Spec.SecretRefs {
		secret := &corev1.Secret{}
		Expect(seedClient.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: ref.Name}, secret)).To(Succeed())
		for _, data := range secret.Data {
			// Gardener's manifest reader, as gardener-resource-manager decodes a ManagedResource's secrets.
			reader := kubernetes.NewManifestReader(data)
			for {
				obj, err := reader.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				Expect(err).NotTo(HaveOccurred())
				objects = append(objects, obj)
			}
		}
	}
	return objects
}

func (s *shoot) ccmAnnotations(ctx SpecContext) map[string]string {
	return s.ccmPodTemplate(ctx).Annotations
}

func (s *shoot) ccmPodTemplate(ctx SpecContext) corev1.PodTemplateSpec {
	deployment := &appsv1.Deployment{}
	fromUnstructured(find(s.managedResourceObjects(ctx, s.managedResource(ctx, genericactuator.ControlPlaneSeedChartResourceName)), "Deployment", "cloud-controller-manager"), deployment)
	return deployment.Spec.Template
}

// metalKubeconfig is a kubeconfig as the cloudprovider webhook composes it, for a metal API at server.
func metalKubeconfig(server, token string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
current-context: metal
contexts:
- name: metal
  context: {cluster: metal, user: metal}
clusters:
- name: metal
  cluster: {server: %q}
users:
- name: metal
  user: {token: %q}
`, server, token)
}

func find(objects []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, obj := range objects {
		if obj.GetKind() == kind && obj.GetName() == name {
			return obj
		}
	}
	Fail(fmt.Sprintf("%s %s not found", kind, name))
	return nil
}

func fromUnstructured(u *unstructured.Unstructured, into any) {
	Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into)).To(Succeed())
}

func encode(obj any) []byte {
	data, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())
	return data
}

// expectSelfSignedServingCertificate checks that the secret holds a self-signed serving certificate for the DNS
// name with a 3072-bit RSA key, as strong as the keys Gardener's secrets manager gives CA-signed certificates.
func expectSelfSignedServingCertificate(secret *corev1.Secret, dnsName string) {
	GinkgoHelper()
	block, _ := pem.Decode(secret.Data["tls.crt"])
	Expect(block).NotTo(BeNil())
	cert, err := x509.ParseCertificate(block.Bytes)
	Expect(err).NotTo(HaveOccurred())
	Expect(cert.DNSNames).To(ContainElement(dnsName))
	Expect(cert.ExtKeyUsage).To(ConsistOf(x509.ExtKeyUsageServerAuth))
	Expect(cert.IsCA).To(BeFalse())
	// Self-signed: its own key signed it (CheckSignatureFrom would insist on a CA as the parent).
	Expect(cert.RawIssuer).To(Equal(cert.RawSubject))
	Expect(cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature)).To(Succeed())
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	Expect(ok).To(BeTrue())
	Expect(key.N.BitLen()).To(Equal(3072))
	Expect(secret.Data).To(HaveKey("tls.key"))
}
