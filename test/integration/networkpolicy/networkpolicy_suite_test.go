// Package networkpolicy_test checks that the flows a seed needs pass Gardener's NetworkPolicies: the policies come from
// Gardener's own controllers (gardenlet's and gardener-resource-manager's), running against a real kube-apiserver,
// for the objects this extension's charts render; a NetworkPolicy engine evaluates the flows.
package networkpolicy_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/gardener/gardener/pkg/api/indexer"
	gardenletconfigv1alpha1 "github.com/gardener/gardener/pkg/apis/config/gardenlet/v1alpha1"
	resourcemanagerconfigv1alpha1 "github.com/gardener/gardener/pkg/apis/config/resourcemanager/v1alpha1"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	"github.com/gardener/gardener/pkg/client/kubernetes"
	gardenletnetworkpolicy "github.com/gardener/gardener/pkg/gardenlet/controller/networkpolicy"
	grmnetworkpolicy "github.com/gardener/gardener/pkg/resourcemanager/controller/networkpolicy"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/controlplane"
)

func TestNetworkPolicy(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "NetworkPolicy Integration Suite")
}

// The seed's networks; the shoot's (in the ControlPlane's Cluster) and the metal API's addresses are disjoint from
// them, as Gardener's validation requires for the shoot.
var seedNetworks = gardencorev1beta1.SeedNetworks{
	Nodes:      new("10.250.0.0/16"),
	Pods:       "10.1.0.0/16",
	Services:   "10.2.0.0/16",
	IPFamilies: []gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv4},
}

var (
	repoRoot   = filepath.Join("..", "..", "..")
	testClient client.Client
)

var _ = BeforeSuite(func() {
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS is not set: run the tests with `make test` or export KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))

	By("starting the seed")
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "example", "crds", "gardener")},
		ErrorIfCRDPathMissing: true,
	}
	config, err := env.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	testClient, err = client.New(config, client.Options{Scheme: kubernetes.SeedScheme})
	Expect(err).NotTo(HaveOccurred())
	// The garden namespace exists in every seed; gardenlet runs there.
	Expect(testClient.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: v1beta1constants.GardenNamespace}})).To(Succeed())
	// The priority classes Gardener defines in seeds and the garden runtime cluster, which the pods name.
	for name, value := range map[string]int32{
		v1beta1constants.PriorityClassNameSeedSystem900:        999998900,
		v1beta1constants.PriorityClassNameGardenSystem400:      999998400,
		v1beta1constants.PriorityClassNameShootControlPlane300: 999998300,
	} {
		Expect(testClient.Create(context.Background(), &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value})).To(Succeed())
	}

	// Each component runs in a manager of its own, as in the seed.
	By("running gardenlet's NetworkPolicy controller")
	startManager(config, func(ctx context.Context, mgr manager.Manager) error {
		// As gardenlet adds it (pkg/gardenlet/controller/add.go): its default configuration, the Seed's networks, and
		// the resolver it creates for the runtime cluster's API server.
		return gardenletnetworkpolicy.AddToManager(ctx, mgr, func() {}, mgr,
			gardenletconfigv1alpha1.NetworkPolicyControllerConfiguration{ConcurrentSyncs: new(5)}, seedNetworks, nil)
	})

	By("running gardener-resource-manager's NetworkPolicy controller")
	startManager(config, func(ctx context.Context, mgr manager.Manager) error {
		// gardener-resource-manager indexes Services by this annotation for the controller (cmd/gardener-resource-manager/app).
		if err := indexer.AddServiceNamespaceSelectors(ctx, mgr.GetFieldIndexer()); err != nil {
			return err
		}
		return (&grmnetworkpolicy.Reconciler{Config: seedResourceManagerNetworkPolicyConfig()}).AddToManager(ctx, mgr, mgr)
	})

	By("running the extension's ControlPlane controller")
	startManager(config, func(ctx context.Context, mgr manager.Manager) error {
		return controlplane.AddToManagerWithOptions(ctx, mgr, controlplane.AddOptions{})
	})
})

// seedResourceManagerNetworkPolicyConfig is the configuration gardenlet gives the seed's gardener-resource-manager
// (pkg/component/gardener/resourcemanager/resource_manager.go, ForSource/ForTarget responsibility; the ingress controller
// from pkg/component/shared/resourcemanager.go).
func seedResourceManagerNetworkPolicyConfig() resourcemanagerconfigv1alpha1.NetworkPolicyControllerConfig {
	return resourcemanagerconfigv1alpha1.NetworkPolicyControllerConfig{
		Enabled:         true,
		ConcurrentSyncs: new(5),
		NamespaceSelectors: []metav1.LabelSelector{
			{MatchLabels: map[string]string{v1beta1constants.GardenRole: v1beta1constants.GardenRoleShoot}},
			{MatchLabels: map[string]string{v1beta1constants.GardenRole: v1beta1constants.GardenRoleExtension}},
			{MatchLabels: map[string]string{v1beta1constants.GardenRole: v1beta1constants.GardenRoleIstioSystem}},
			{MatchLabels: map[string]string{v1beta1constants.GardenRole: v1beta1constants.GardenRoleIstioIngress}},
			{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: v1beta1constants.LabelExposureClassHandlerName, Operator: metav1.LabelSelectorOpExists}}},
			{MatchLabels: map[string]string{corev1.LabelMetadataName: v1beta1constants.GardenNamespace}},
		},
		IngressControllerSelector: &resourcemanagerconfigv1alpha1.IngressControllerSelector{
			Namespace:   v1beta1constants.GardenNamespace,
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx-ingress", "component": "controller"}},
		},
	}
}

func startManager(config *rest.Config, add func(context.Context, manager.Manager) error) {
	mgr, err := manager.New(config, manager.Options{
		Scheme:  kubernetes.SeedScheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		// Both of Gardener's controllers are named "networkpolicy"; in one process their (unserved) metrics would share
		// a name, which controller-runtime refuses unless told otherwise.
		Controller: ctrlconfig.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	Expect(add(ctx, mgr)).To(Succeed())

	var wg sync.WaitGroup
	wg.Go(func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	})
	DeferCleanup(func() {
		cancel()
		wg.Wait()
	})
}
