package metallb_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/gardener/gardener/extensions/pkg/controller/controlplane/genericactuator"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	resourcesv1alpha1 "github.com/gardener/gardener/pkg/apis/resources/v1alpha1"
	"github.com/gardener/gardener/pkg/client/kubernetes"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/controlplane"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const (
	region = "region-1"
	// seedNamespace is the shoot's control plane namespace in the seed.
	seedNamespace = "shoot--test--metallb"
)

var (
	seedConfig *rest.Config
	seedClient client.Client
	extension  *extensionProcess
)

// extensionProcess is the ControlPlane controller in a manager of its own, which the test stops and starts again
// as the extension's pod would restart.
type extensionProcess struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startSeed() {
	seedEnv := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "..", "example", "crds", "gardener")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	seedConfig, err = seedEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(seedEnv.Stop)
	seedClient, err = client.New(seedConfig, client.Options{Scheme: kubernetes.SeedScheme})
	Expect(err).NotTo(HaveOccurred())
	extension = startExtension(false)
	DeferCleanup(func() { extension.stop() })
}

// startExtension runs the ControlPlane controller as the extension does; again skips the check for a controller
// name that an earlier manager of this process registered.
func startExtension(again bool) *extensionProcess {
	mgr, err := manager.New(seedConfig, manager.Options{Scheme: kubernetes.SeedScheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	opts := controlplane.AddOptions{}
	if again {
		opts.Controller = controller.Options{SkipNameValidation: ptr.To(true)}
	}
	Expect(controlplane.AddToManagerWithOptions(context.Background(), mgr, opts)).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	p := &extensionProcess{cancel: cancel}
	p.wg.Add(1)
	go func() {
		defer GinkgoRecover()
		defer p.wg.Done()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	return p
}

func (p *extensionProcess) stop() {
	p.cancel()
	p.wg.Wait()
}

// restartExtension stops the ControlPlane controller and starts a new one.
func restartExtension() {
	extension.stop()
	extension = startExtension(true)
}

// createControlPlane creates the shoot's control plane namespace in the seed with what gardenlet puts there (the
// cloudprovider secret, the Cluster) and the ControlPlane with the given provider config.
func createControlPlane(ctx context.Context, providerConfig *v1alpha1.ControlPlaneConfig, shootVersion string) *extensionsv1alpha1.ControlPlane {
	Expect(seedClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: seedNamespace}})).To(Succeed())
	// The cloudprovider secret as gardenlet creates it and the cloudprovider webhook completes it; the ControlPlane
	// does not call the metal API.
	Expect(seedClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: seedNamespace, Name: v1beta1constants.SecretNameCloudProvider},
		Data: map[string][]byte{
			metal.NamespaceKey:  []byte("metal-" + seedNamespace),
			metal.TokenKey:      []byte("token"),
			metal.KubeconfigKey: []byte("apiVersion: v1\nkind: Config\ncurrent-context: metal\ncontexts:\n- name: metal\n  context: {cluster: metal, user: metal}\nclusters:\n- name: metal\n  cluster: {server: \"https://metal.example.com\"}\nusers:\n- name: metal\n  user: {token: token}\n"),
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
		ObjectMeta: metav1.ObjectMeta{Name: "metallb", Namespace: "garden-test"},
		Spec: gardencorev1beta1.ShootSpec{
			Region:     region,
			Kubernetes: gardencorev1beta1.Kubernetes{Version: shootVersion},
			Provider:   gardencorev1beta1.Provider{Type: metal.Type, Workers: []gardencorev1beta1.Worker{{Name: "pool"}}},
			Networking: &gardencorev1beta1.Networking{
				Type: ptr.To("cilium"), Pods: ptr.To("100.96.0.0/11"), Services: ptr.To("100.64.0.0/13"),
				IPFamilies: []gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv4},
			},
		},
		Status: gardencorev1beta1.ShootStatus{TechnicalID: seedNamespace},
	}
	seed := &gardencorev1beta1.Seed{TypeMeta: metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Seed"}}
	Expect(seedClient.Create(ctx, &extensionsv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: seedNamespace},
		Spec: extensionsv1alpha1.ClusterSpec{
			CloudProfile: runtime.RawExtension{Raw: encode(cloudProfile)},
			Seed:         &runtime.RawExtension{Raw: encode(seed)},
			Shoot:        runtime.RawExtension{Raw: encode(shoot)},
		},
	})).To(Succeed())

	providerConfig.TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "ControlPlaneConfig"}
	cp := &extensionsv1alpha1.ControlPlane{
		ObjectMeta: metav1.ObjectMeta{Namespace: seedNamespace, Name: "metallb"},
		Spec: extensionsv1alpha1.ControlPlaneSpec{
			DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: metal.Type, ProviderConfig: &runtime.RawExtension{Raw: encode(providerConfig)}},
			Region:      region,
			SecretRef:   corev1.SecretReference{Namespace: seedNamespace, Name: v1beta1constants.SecretNameCloudProvider},
		},
	}
	Expect(seedClient.Create(ctx, cp)).To(Succeed())
	return cp
}

// reconcileControlPlane asks for a reconcile as gardenlet does and waits until it succeeded.
func reconcileControlPlane(ctx context.Context, cp *extensionsv1alpha1.ControlPlane) {
	Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(cp), cp)).To(Succeed())
	patch := client.MergeFrom(cp.DeepCopy())
	metav1.SetMetaDataAnnotation(&cp.ObjectMeta, v1beta1constants.GardenerOperation, v1beta1constants.GardenerOperationReconcile)
	Expect(seedClient.Patch(ctx, cp, patch)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(cp), cp)).To(Succeed())
		g.Expect(cp.Annotations).NotTo(HaveKey(v1beta1constants.GardenerOperation))
		g.Expect(cp.Status.LastError).To(BeNil())
		g.Expect(cp.Status.LastOperation).To(HaveField("State", gardencorev1beta1.LastOperationStateSucceeded))
	}).WithTimeout(time.Minute).Should(Succeed())
}

// applyShootResources applies what the ControlPlane's shoot ManagedResources hold to the shoot, as
// gardener-resource-manager does: the CRDs first, then the shoot chart. It uses server-side apply, so that applying
// the same content again changes nothing; that is stricter than gardener-resource-manager's updates (a null where
// the schema wants an object fails instead of being pruned).
func applyShootResources(ctx context.Context) {
	crds := managedResourceObjects(ctx, genericactuator.ControlPlaneShootCRDsChartResourceName)
	Expect(crds).NotTo(BeEmpty())
	apply(ctx, crds)
	for _, crd := range crds {
		Eventually(func(g Gomega) {
			current := &unstructured.Unstructured{}
			current.SetGroupVersionKind(crd.GroupVersionKind())
			g.Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(crd), current)).To(Succeed())
			conditions, _, _ := unstructured.NestedSlice(current.Object, "status", "conditions")
			g.Expect(conditions).To(ContainElement(And(HaveKeyWithValue("type", "Established"), HaveKeyWithValue("status", "True"))), crd.GetName())
		}).WithTimeout(30 * time.Second).Should(Succeed())
	}
	objects := managedResourceObjects(ctx, genericactuator.ControlPlaneShootChartResourceName)
	// Namespaces first, as gardener-resource-manager orders them.
	var namespaces, rest []*unstructured.Unstructured
	for _, obj := range objects {
		if obj.GetKind() == "Namespace" {
			namespaces = append(namespaces, obj)
		} else {
			rest = append(rest, obj)
		}
	}
	apply(ctx, namespaces)
	apply(ctx, rest)
}

func apply(ctx context.Context, objects []*unstructured.Unstructured) {
	for _, obj := range objects {
		Eventually(func() error {
			return shootClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj.DeepCopy()), client.FieldOwner("gardener-resource-manager"), client.ForceOwnership)
		}).WithTimeout(30*time.Second).Should(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
	}
}

// managedResourceObjects decodes the objects of a ManagedResource of the ControlPlane from its secrets.
func managedResourceObjects(ctx context.Context, name string) []*unstructured.Unstructured {
	mr := &resourcesv1alpha1.ManagedResource{}
	Expect(seedClient.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: name}, mr)).To(Succeed())
	Expect(mr.Spec.SecretRefs).NotTo(BeEmpty())
	var objects []*unstructured.Unstructured
	for _, ref := range mr.Spec.SecretRefs {
		secret := &corev1.Secret{}
		Expect(seedClient.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: ref.Name}, secret)).To(Succeed())
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

func encode(obj any) []byte {
	data, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())
	return data
}
