package networkpolicy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gardener/gardener/extensions/pkg/controller/controlplane/genericactuator"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	resourcesv1alpha1 "github.com/gardener/gardener/pkg/apis/resources/v1alpha1"
	"github.com/gardener/gardener/pkg/chartrenderer"
	"github.com/gardener/gardener/pkg/client/kubernetes"
	kubeapiserver "github.com/gardener/gardener/pkg/component/kubernetes/apiserver"
	"github.com/gardener/gardener/pkg/component/kubernetes/apiserverexposure"
	gardenerutils "github.com/gardener/gardener/pkg/utils/gardener"

	"github.com/openkcm/gardener-extension-provider-metal/hack/generate-registration/registration"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const region = "region-1"

// controlPlaneConfig enables the metal load balancer, so that the seed chart holds the LB controller manager next to
// the cloud-controller-manager.
const controlPlaneConfig = `{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"ControlPlaneConfig",` +
	`"loadBalancer":{"metalLoadBalancer":{"vni":100,"metalBondServer":"[2001:db8::1]:4711"}}}`

// endpoint is a source or destination of a flow: a pod (labels in a namespace) or an address outside the cluster.
type endpoint struct {
	namespace *corev1.Namespace
	pod       *corev1.Pod
	ip        string
	// port is the port a flow reaches when it names none (an API server's endpoint).
	port int
}

// seed holds the endpoints of the landscape the specs evaluate flows between, by name.
type seed struct {
	endpoints map[string]*endpoint
	nextIP    int
	// namespaces whose policies the flows depend on.
	extensionNamespace, shootNamespace, otherNamespace string
	// shootNamespaces are all shoot namespaces.
	shootNamespaces []string
}

func (s *seed) external(name, ip string) {
	s.endpoints[name] = &endpoint{ip: ip}
}

// runPod creates a pod as a Deployment's ReplicaSet would, with an address of the seed's pod network.
func (s *seed) runPod(ctx SpecContext, name string, namespace *corev1.Namespace, template corev1.PodTemplateSpec) {
	s.nextIP++
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace.Name, GenerateName: "pod-", Labels: template.Labels, Annotations: template.Annotations},
		Spec:       template.Spec,
	}
	if len(pod.Spec.Containers) == 0 {
		pod.Spec.Containers = []corev1.Container{{Name: "main", Image: "registry.example.com/main:v1"}}
	}
	ExpectWithOffset(1, testClient.Create(ctx, pod)).To(Succeed(), name)
	s.endpoints[name] = &endpoint{namespace: namespace, pod: pod, ip: fmt.Sprintf("10.1.0.%d", s.nextIP)}
}

func (s *seed) namespace(ctx SpecContext, name string, labels map[string]string) *corev1.Namespace {
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	ExpectWithOffset(1, client.IgnoreAlreadyExists(testClient.Create(ctx, namespace))).To(Succeed())
	// The API server adds kubernetes.io/metadata.name, which the policies select on.
	ExpectWithOffset(1, testClient.Get(ctx, client.ObjectKeyFromObject(namespace), namespace)).To(Succeed())
	return namespace
}

// deploySeed brings up what the flows run between: the extension as gardenlet installs it, its admission component in
// the garden runtime namespace, a shoot's control plane with the components our ControlPlane renders and the
// kube-apiserver Service as Gardener deploys it, the seed's and the shoot's Prometheus and DNS.
func deploySeed(ctx SpecContext) *seed {
	s := &seed{endpoints: map[string]*endpoint{}}
	garden := s.namespace(ctx, v1beta1constants.GardenNamespace, nil)
	kubeSystem := s.namespace(ctx, metav1.NamespaceSystem, nil)

	By("deploying the extension chart into its namespace as gardenlet's ControllerInstallation controller does")
	// The namespace and its labels: pkg/gardenlet/controller/controllerinstallation/controllerinstallation/reconciler.go
	// (name from gardenerutils.NamespaceNameForControllerInstallation).
	s.extensionNamespace = "extension-provider-metal-" + rand.String(5)
	extensionNamespace := s.namespace(ctx, s.extensionNamespace, map[string]string{
		v1beta1constants.GardenRole:                      v1beta1constants.GardenRoleExtension,
		v1beta1constants.LabelControllerRegistrationName: "provider-metal",
		resourcesv1alpha1.HighAvailabilityConfigConsider: "true",
	})
	s.deployChart(ctx, "extension", extensionNamespace, filepath.Join(repoRoot, registration.ProviderChartPath), nil)

	By("deploying the admission chart's runtime part into the garden namespace as gardener-operator does")
	s.deployChart(ctx, "admission", garden, filepath.Join(repoRoot, registration.AdmissionRuntimeChartPath), map[string]any{
		"gardener": map[string]any{"virtualCluster": map[string]any{"enabled": true, "namespace": "extension-provider-metal"}},
	})

	By("reconciling a ControlPlane and deploying its seed chart into the shoot namespace")
	shootNamespace := s.deployShoot(ctx, "", "https://metal.example.com")
	s.shootNamespace = shootNamespace.Name

	By("deploying the shoot's kube-apiserver Service and pod as Gardener does")
	Expect(apiserverexposure.NewService(GinkgoLogr, testClient, s.shootNamespace, &apiserverexposure.ServiceValues{}, nil, nil, nil, nil,
		func() []string { return nil }).Deploy(ctx)).To(Succeed())
	s.runPod(ctx, "shoot kube-apiserver", shootNamespace, corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: kubeAPIServerPodLabels("")}})
	// The virtual garden's kube-apiserver, which calls the admission webhooks in URL mode, runs next to it.
	s.runPod(ctx, "virtual-garden kube-apiserver", garden, corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: kubeAPIServerPodLabels("virtual-garden-")}})

	By("running the Prometheus instances as gardenlet labels them")
	// The seed's Prometheus: pkg/gardenlet/controller/seed/seed/components.go (newSeedPrometheus) on top of the labels
	// every Prometheus gets (pkg/component/observability/monitoring/prometheus/prometheus.go).
	s.runPod(ctx, "seed prometheus", garden, corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: prometheusPodLabels("seed", map[string]string{
		"networking.resources.gardener.cloud/to-" + v1beta1constants.LabelNetworkPolicySeedScrapeTargets:                  v1beta1constants.LabelNetworkPolicyAllowed,
		"networking.resources.gardener.cloud/to-extensions-" + v1beta1constants.LabelNetworkPolicySeedScrapeTargets:       v1beta1constants.LabelNetworkPolicyAllowed,
		gardenerutils.NetworkPolicyLabel(v1beta1constants.LabelNetworkPolicyShootNamespaceAlias+"-vpa-recommender", 8942): v1beta1constants.LabelNetworkPolicyAllowed,
	})}})
	// The shoot's Prometheus in its control plane namespace: pkg/gardenlet/operation/botanist/monitoring.go.
	s.runPod(ctx, "shoot prometheus", shootNamespace, corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: prometheusPodLabels("shoot", map[string]string{
		"networking.resources.gardener.cloud/to-" + v1beta1constants.LabelNetworkPolicyScrapeTargets:  v1beta1constants.LabelNetworkPolicyAllowed,
		gardenerutils.NetworkPolicyLabel(v1beta1constants.GardenNamespace+"-prometheus-cache", 9090):  v1beta1constants.LabelNetworkPolicyAllowed,
		gardenerutils.NetworkPolicyLabel(v1beta1constants.GardenNamespace+"-alertmanager-seed", 9093): v1beta1constants.LabelNetworkPolicyAllowed,
	})}})

	By("running the seed's DNS and a pod of an unrelated namespace")
	// CoreDNS as gardenlet's allow-to-dns policy selects it (k8s-app=kube-dns in kube-system).
	s.runPod(ctx, "coredns", kubeSystem, corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"k8s-app": "kube-dns"}}})
	s.otherNamespace = "other-" + rand.String(5)
	s.runPod(ctx, "random pod", s.namespace(ctx, s.otherNamespace, nil), corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "random"}}})

	By("running shoots whose metal API is in the seed, in each way the CCM's egress label supports")
	// The runtime cluster's own API server: allow-to-runtime-apiserver allows the endpoints of default/kubernetes.
	s.deployShoot(ctx, " (metal API = runtime kube-apiserver)", "https://kubernetes.default.svc")
	// gardenlet's allow-to-runtime-apiserver is built from these Endpoints (pkg/controller/networkpolicy/reconciler.go).
	endpoints := &corev1.Endpoints{} //nolint:staticcheck // what gardenlet reads
	Expect(testClient.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceDefault, Name: "kubernetes"}, endpoints)).To(Succeed())
	Expect(endpoints.Subsets).NotTo(BeEmpty())
	s.endpoints["runtime kube-apiserver"] = &endpoint{ip: endpoints.Subsets[0].Addresses[0].IP, port: int(endpoints.Subsets[0].Ports[0].Port)}
	// A Service of the seed, annotated as docs/operations/operations.md says, in the garden namespace (which the seed's
	// gardener-resource-manager handles) and in a namespace it does not handle.
	s.runMetalAPIService(ctx, "metal API (seed Service)", garden)
	s.deployShoot(ctx, " (metal API = seed Service)", "https://metal-api.garden.svc")
	s.runMetalAPIService(ctx, "metal API (Service in an unhandled namespace)", s.namespace(ctx, "metal-system", nil))
	s.deployShoot(ctx, " (metal API = Service in an unhandled namespace)", "https://metal-api.metal-system.svc.cluster.local")

	// Addresses outside the cluster. The seed's (or garden's) kube-apiserver is not a pod of the seed: it calls the
	// webhooks from an address of its own.
	s.external("seed kube-apiserver", "203.0.113.50")
	s.external("garden kube-apiserver", "198.51.100.20")
	s.external("node-local-dns", "169.254.20.10")
	s.external("metal API (public)", "203.0.113.10")
	s.external("metal API (private)", "10.20.30.40")
	return s
}

// runMetalAPIService runs a metal API behind the Service metal-api in a namespace of the seed, annotated so that
// gardener-resource-manager allows the shoot namespaces to reach it.
func (s *seed) runMetalAPIService(ctx SpecContext, name string, namespace *corev1.Namespace) {
	labels := map[string]string{"app": "metal-api"}
	Expect(testClient.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace.Name, Name: "metal-api", Annotations: map[string]string{
			resourcesv1alpha1.NetworkingNamespaceSelectors: `[{"matchLabels":{"gardener.cloud/role":"shoot"}}]`,
		}},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(443), Protocol: corev1.ProtocolTCP}}},
	})).To(Succeed())
	s.runPod(ctx, name, namespace, corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "apiserver", Image: "registry.example.com/metal-apiserver:v1", Ports: []corev1.ContainerPort{{Name: "https", ContainerPort: 443, Protocol: corev1.ProtocolTCP}},
	}}}})
}

// kubeAPIServerPodLabels are the labels of a kube-apiserver pod (pkg/component/kubernetes/apiserver/deployment.go).
func kubeAPIServerPodLabels(namePrefix string) map[string]string {
	labels := kubeapiserver.GetLabels()
	for _, key := range []string{
		v1beta1constants.LabelNetworkPolicyToDNS,
		v1beta1constants.LabelNetworkPolicyToPublicNetworks,
		v1beta1constants.LabelNetworkPolicyToPrivateNetworks,
		"networking.resources.gardener.cloud/to-" + v1beta1constants.LabelNetworkPolicyWebhookTargets,
		"networking.resources.gardener.cloud/to-" + v1beta1constants.LabelNetworkPolicyExtensionsNamespaceAlias + "-" + v1beta1constants.LabelNetworkPolicyWebhookTargets,
		gardenerutils.NetworkPolicyLabel(namePrefix+"etcd-main-client", 2379),
		gardenerutils.NetworkPolicyLabel(namePrefix+"etcd-events-client", 2379),
	} {
		labels[key] = v1beta1constants.LabelNetworkPolicyAllowed
	}
	return labels
}

func prometheusPodLabels(name string, additional map[string]string) map[string]string {
	labels := map[string]string{
		// prometheus-operator's labels of the pods of a Prometheus.
		"app.kubernetes.io/name": "prometheus",
		"prometheus":             name,
		v1beta1constants.LabelObservabilityApplication:        "prometheus-" + name,
		v1beta1constants.LabelNetworkPolicyToDNS:              v1beta1constants.LabelNetworkPolicyAllowed,
		v1beta1constants.LabelNetworkPolicyToRuntimeAPIServer: v1beta1constants.LabelNetworkPolicyAllowed,
	}
	for key, value := range additional {
		labels[key] = value
	}
	return labels
}

// deployChart renders a deployment chart with Gardener's chart renderer (as gardenlet and gardener-operator do),
// creates its Services and runs one pod of its Deployment.
func (s *seed) deployChart(ctx SpecContext, name string, namespace *corev1.Namespace, chartDir string, values map[string]any) {
	archive, err := registration.ChartArchive(chartDir)
	Expect(err).NotTo(HaveOccurred())
	rendered, err := chartrenderer.NewWithServerVersion(&version.Info{GitVersion: "v1.36.4", Major: "1", Minor: "36"}).
		RenderArchive(archive, "provider-metal", namespace.Name, values)
	Expect(err).NotTo(HaveOccurred())
	for _, obj := range decodeManifests(rendered.Manifest()) {
		switch obj.GetKind() {
		case "Deployment":
			deployment := &appsv1.Deployment{}
			fromUnstructured(obj, deployment)
			s.runPod(ctx, name, namespace, deployment.Spec.Template)
		case "Service":
			service := &corev1.Service{}
			fromUnstructured(obj, service)
			Expect(testClient.Create(ctx, service)).To(Succeed())
		}
	}
}

// deployShoot creates a shoot namespace, reconciles a ControlPlane whose metal API is at metalServer and deploys its
// seed chart there. The pods are named after their Deployments, followed by suffix.
func (s *seed) deployShoot(ctx SpecContext, suffix, metalServer string) *corev1.Namespace {
	// The shoot namespace's labels: pkg/gardenlet/operation/botanist/namespaces.go.
	namespace := s.namespace(ctx, "shoot--test--"+rand.String(5), map[string]string{
		v1beta1constants.GardenRole:                      v1beta1constants.GardenRoleShoot,
		v1beta1constants.LabelSeedProvider:               metal.Type,
		v1beta1constants.LabelShootProvider:              metal.Type,
		v1beta1constants.LabelNetworkingProvider:         "cilium",
		v1beta1constants.LabelExtensionPrefix + "metal":  "true",
		v1beta1constants.LabelBackupProvider:             metal.Type,
		resourcesv1alpha1.HighAvailabilityConfigConsider: "true",
	})
	s.shootNamespaces = append(s.shootNamespaces, namespace.Name)
	for _, workload := range reconcileControlPlane(ctx, namespace.Name, metalServer) {
		switch obj := workload.(type) {
		case *appsv1.Deployment:
			s.runPod(ctx, obj.Name+suffix, namespace, obj.Spec.Template)
		case *corev1.Service:
			Expect(testClient.Create(ctx, obj)).To(Succeed(), obj.Name)
		}
	}
	return namespace
}

// reconcileControlPlane reconciles a ControlPlane of a shoot whose metal API is at metalServer and returns the
// Deployments and Services of its seed ManagedResource, which gardener-resource-manager would apply.
func reconcileControlPlane(ctx SpecContext, shootNamespace, metalServer string) []client.Object {
	// The cloudprovider secret as gardenlet creates it and the cloudprovider webhook completes it.
	Expect(testClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: shootNamespace, Name: v1beta1constants.SecretNameCloudProvider},
		Data: map[string][]byte{
			metal.NamespaceKey:  []byte("metal-" + shootNamespace),
			metal.TokenKey:      []byte("token"),
			metal.KubeconfigKey: metalKubeconfig(metalServer),
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
	shoot := &gardencorev1beta1.Shoot{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Shoot"},
		ObjectMeta: metav1.ObjectMeta{Name: "shoot", Namespace: "garden-test"},
		Spec: gardencorev1beta1.ShootSpec{
			Region:     region,
			Kubernetes: gardencorev1beta1.Kubernetes{Version: "1.33.2"},
			Provider:   gardencorev1beta1.Provider{Type: metal.Type, Workers: []gardencorev1beta1.Worker{{Name: "pool"}}},
			Networking: &gardencorev1beta1.Networking{
				// The metal load balancer serves IPv6 shoots only.
				Type: ptr.To("cilium"), Nodes: ptr.To("2001:db8:10::/64"), Pods: ptr.To("2001:db8:20::/56"), Services: ptr.To("2001:db8:30::/112"),
				IPFamilies: []gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv6},
			},
		},
		Status: gardencorev1beta1.ShootStatus{TechnicalID: shootNamespace},
	}
	seedObj := &gardencorev1beta1.Seed{TypeMeta: metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Seed"}}
	Expect(testClient.Create(ctx, &extensionsv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: shootNamespace},
		Spec: extensionsv1alpha1.ClusterSpec{
			CloudProfile: runtime.RawExtension{Raw: encode(cloudProfile)},
			Seed:         &runtime.RawExtension{Raw: encode(seedObj)},
			Shoot:        runtime.RawExtension{Raw: encode(shoot)},
		},
	})).To(Succeed())

	cp := &extensionsv1alpha1.ControlPlane{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   shootNamespace,
			Name:        "shoot",
			Annotations: map[string]string{v1beta1constants.GardenerOperation: v1beta1constants.GardenerOperationReconcile},
		},
		Spec: extensionsv1alpha1.ControlPlaneSpec{
			DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: metal.Type, ProviderConfig: &runtime.RawExtension{Raw: []byte(controlPlaneConfig)}},
			Region:      region,
			SecretRef:   corev1.SecretReference{Namespace: shootNamespace, Name: v1beta1constants.SecretNameCloudProvider},
		},
	}
	Expect(testClient.Create(ctx, cp)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(testClient.Get(ctx, client.ObjectKeyFromObject(cp), cp)).To(Succeed())
		g.Expect(cp.Status.LastError).To(BeNil())
		g.Expect(cp.Status.LastOperation).NotTo(BeNil())
		g.Expect(cp.Status.LastOperation.State).To(Equal(gardencorev1beta1.LastOperationStateSucceeded))
	}).WithTimeout(2 * time.Minute).Should(Succeed())

	mr := &resourcesv1alpha1.ManagedResource{}
	Expect(testClient.Get(ctx, client.ObjectKey{Namespace: shootNamespace, Name: genericactuator.ControlPlaneSeedChartResourceName}, mr)).To(Succeed())
	var workloads []client.Object
	for _, ref := range mr.Spec.SecretRefs {
		secret := &corev1.Secret{}
		Expect(testClient.Get(ctx, client.ObjectKey{Namespace: shootNamespace, Name: ref.Name}, secret)).To(Succeed())
		for _, data := range secret.Data {
			for _, obj := range decodeManifests(data) {
				switch obj.GetKind() {
				case "Deployment":
					deployment := &appsv1.Deployment{}
					fromUnstructured(obj, deployment)
					workloads = append(workloads, deployment)
				case "Service":
					service := &corev1.Service{}
					fromUnstructured(obj, service)
					workloads = append(workloads, service)
				}
			}
		}
	}
	return workloads
}

// metalKubeconfig is a kubeconfig as the cloudprovider webhook composes it, for a metal API at server.
func metalKubeconfig(server string) []byte {
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
  user: {token: token}
`, server)
}

func decodeManifests(data []byte) []*unstructured.Unstructured {
	var objects []*unstructured.Unstructured
	// Gardener's manifest reader, as gardener-resource-manager decodes a ManagedResource's secrets.
	reader := kubernetes.NewManifestReader(data)
	for {
		obj, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objects
		}
		Expect(err).NotTo(HaveOccurred())
		objects = append(objects, obj)
	}
}

func fromUnstructured(u *unstructured.Unstructured, into any) {
	ExpectWithOffset(1, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into)).To(Succeed())
}

func encode(obj any) []byte {
	data, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())
	return data
}
