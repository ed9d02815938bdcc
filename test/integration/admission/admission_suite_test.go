package admission_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	"github.com/gardener/gardener/pkg/api/indexer"
	controllermanagerconfigv1alpha1 "github.com/gardener/gardener/pkg/apis/config/controllermanager/v1alpha1"
	gardencoreinstall "github.com/gardener/gardener/pkg/apis/core/install"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	securityinstall "github.com/gardener/gardener/pkg/apis/security/install"
	"github.com/gardener/gardener/pkg/client/kubernetes"
	"github.com/gardener/gardener/pkg/controllermanager/controller/namespacedcloudprofile"
	"github.com/gardener/gardener/pkg/logger"
	gardenerenvtest "github.com/gardener/gardener/test/envtest"

	"github.com/openkcm/gardener-extension-provider-metal/cmd/gardener-extension-admission-metal/app"
	metalinstall "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/install"
	"github.com/openkcm/gardener-extension-provider-metal/test/utils/manifests"
)

func TestAdmission(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Integration Admission Suite")
}

const (
	projectName      = "dev"
	projectNamespace = "garden-dev"
)

var (
	ctx        = context.Background()
	testClient client.Client
	// gardenConfig is the configuration of testClient; specs derive clients from it (e.g. to collect warnings).
	gardenConfig *rest.Config
)

var _ = BeforeSuite(func() {
	// The suite must not pass by testing nothing: without the envtest binaries it fails and says how to get them.
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(),
		"KUBEBUILDER_ASSETS is not set: run the suite with KUBEBUILDER_ASSETS=$(hack/envtest.sh) (or via hack/test.sh), which prints the directory of the kube-apiserver and etcd binaries")

	logf.SetLogger(logger.MustNewZapLogger(logger.InfoLevel, logger.FormatJSON, zap.WriteTo(GinkgoWriter)))

	By("Starting kube-apiserver, etcd and the in-process gardener-apiserver")
	// The gardener-apiserver runs with all of its default admission plugins, so Gardener's own validation
	// (ShootValidator, ResourceReferenceManager, ExtensionValidator, ExtensionLabels, ...) runs before our
	// webhooks exactly as in a landscape. It calls the webhooks registered in the kube-apiserver below through
	// its MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins.
	testEnv := &gardenerenvtest.GardenerTestEnvironment{
		Environment:       &envtest.Environment{},
		GardenerAPIServer: &gardenerenvtest.GardenerAPIServer{},
	}
	restConfig, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		By("Stopping the test environment")
		Expect(testEnv.Stop()).To(Succeed())
	})

	gardenConfig = restConfig
	testClient, err = client.New(restConfig, client.Options{Scheme: kubernetes.GardenScheme})
	Expect(err).NotTo(HaveOccurred())

	startAdmission(restConfig, &testEnv.WebhookInstallOptions)

	By("Registering the extensions a metal Shoot needs")
	registerExtensions()

	By("Creating the project")
	createProject(projectName, projectNamespace)

	By("Waiting until the gardener-apiserver calls our webhooks")
	Eventually(func() error {
		return testClient.Create(ctx, cloudProfile("probe", nil), client.DryRunAll)
	}).WithTimeout(time.Minute).Should(MatchError(ContainSubstring("spec.providerConfig: Required value")))

	By("Creating the CloudProfile, credentials and referenced Secret the Shoots use")
	Expect(testClient.Create(ctx, cloudProfile("metal", cloudProfileConfig(validCloudProfile)))).To(Succeed())
	Expect(testClient.Create(ctx, credentialsSecret("metal-credentials"))).To(Succeed())
	Expect(testClient.Create(ctx, credentialsBinding("metal-credentials", "v1", "Secret", "metal-credentials"))).To(Succeed())
	Expect(testClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "extra-ignition", Namespace: projectNamespace},
		Data:       map[string][]byte{"ignition": []byte(`{"ignition":{"version":"3.4.0"}}`)},
	})).To(Succeed())
})

// startAdmission runs our webhooks in a manager against the test environment, registers them in the
// kube-apiserver with envtest's webhook install options (URL and CA of the local webhook server), and runs
// Gardener's NamespacedCloudProfile controller, which writes the status our mutator acts on. The validators read
// CloudProfiles, Secrets and WorkloadIdentities through the manager's API reader.
func startAdmission(restConfig *rest.Config, installOptions *envtest.WebhookInstallOptions) {
	By("Setting up the manager with the admission webhooks")
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	gardencoreinstall.Install(scheme)
	securityinstall.Install(scheme)
	utilruntime.Must(metalinstall.AddToScheme(scheme))

	mgr, err := manager.New(restConfig, manager.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(webhook.Options{
			Host:    installOptions.LocalServingHost,
			Port:    installOptions.LocalServingPort,
			CertDir: installOptions.LocalServingCertDir,
		}),
	})
	Expect(err).NotTo(HaveOccurred())

	// The webhooks are those the admission command switches on, so the test covers exactly what it serves.
	switches := app.WebhookSwitchOptions()
	Expect(switches.Complete()).To(Succeed())
	webhooks, err := switches.Completed().WebhooksFactory(mgr)
	Expect(err).NotTo(HaveOccurred())
	for _, wh := range webhooks {
		mgr.GetWebhookServer().Register(wh.Path, wh.Webhook)
	}

	By("Registering the webhook configurations")
	// The rules come from Gardener's own registration code, so they match what the component registers in a
	// real landscape; envtest replaces the service reference by the URL of the local server and adds its CA.
	seedConfigs, _, err := extensionswebhook.BuildWebhookConfigs(webhooks, mgr.GetClient(), "garden", "admission-metal", false,
		installOptions.LocalServingPort, extensionswebhook.ModeService, "", nil, false)
	Expect(err).NotTo(HaveOccurred())
	Expect(seedConfigs.ValidatingWebhookConfig).NotTo(BeNil())
	Expect(seedConfigs.MutatingWebhookConfig).NotTo(BeNil())
	// envtest joins host and service path with a slash of its own; a doubled slash would be redirected by the
	// webhook server's mux, which the API server does not follow.
	for i := range seedConfigs.ValidatingWebhookConfig.Webhooks {
		trimServicePath(&seedConfigs.ValidatingWebhookConfig.Webhooks[i].ClientConfig)
	}
	for i := range seedConfigs.MutatingWebhookConfig.Webhooks {
		trimServicePath(&seedConfigs.MutatingWebhookConfig.Webhooks[i].ClientConfig)
	}
	installOptions.ValidatingWebhooks = []*admissionregistrationv1.ValidatingWebhookConfiguration{seedConfigs.ValidatingWebhookConfig}
	installOptions.MutatingWebhooks = []*admissionregistrationv1.MutatingWebhookConfiguration{seedConfigs.MutatingWebhookConfig}
	Expect(installOptions.ModifyWebhookDefinitions()).To(Succeed())
	Expect(installOptions.Install(restConfig)).To(Succeed())

	By("Adding Gardener's NamespacedCloudProfile controller")
	Expect(indexer.AddNamespacedCloudProfileParentRefName(ctx, mgr.GetFieldIndexer())).To(Succeed())
	Expect((&namespacedcloudprofile.Reconciler{
		Config: controllermanagerconfigv1alpha1.NamespacedCloudProfileControllerConfiguration{ConcurrentSyncs: new(1)},
	}).AddToManager(mgr)).To(Succeed())

	By("Starting the manager")
	mgrCtx, cancel := context.WithCancel(ctx)
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
	DeferCleanup(cancel)

	Eventually(func() error {
		return mgr.GetWebhookServer().StartedChecker()(nil)
	}).Should(Succeed())
}

func trimServicePath(clientConfig *admissionregistrationv1.WebhookClientConfig) {
	if clientConfig.Service != nil && clientConfig.Service.Path != nil {
		clientConfig.Service.Path = new(strings.TrimPrefix(*clientConfig.Service.Path, "/"))
	}
}

// registerExtensions applies our ControllerRegistration as `make generate` writes it, so the ExtensionValidator
// admits metal Shoots only if it declares the metal kinds, and stands in for the registrations of the networking
// and operating system extensions a Shoot of the examples uses (networking-calico, os-gardenlinux), which are not
// ours to ship.
func registerExtensions() {
	objs, err := manifests.Read(filepath.Join("..", "..", "..", "example", "controller-registration.yaml"), nil)
	Expect(err).NotTo(HaveOccurred())
	for _, obj := range objs {
		Expect(testClient.Create(ctx, obj)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
	}
	Expect(testClient.Create(ctx, &gardencorev1beta1.ControllerRegistration{
		ObjectMeta: metav1.ObjectMeta{Name: "stand-in-networking-and-os"},
		Spec: gardencorev1beta1.ControllerRegistrationSpec{Resources: []gardencorev1beta1.ControllerResource{
			{Kind: "Network", Type: "calico"},
			{Kind: "OperatingSystemConfig", Type: "gardenlinux"},
		}},
	})).To(Succeed())
}

// createProject creates a project namespace and its Project: the gardener-apiserver admits Shoots, bindings and
// NamespacedCloudProfiles only in the namespace of a Project. Without the gardener-controller-manager the test
// creates the namespace itself.
func createProject(name, namespace string) {
	Expect(testClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   namespace,
		Labels: map[string]string{"gardener.cloud/role": "project", "project.gardener.cloud/name": name},
	}})).To(Succeed())
	Expect(testClient.Create(ctx, &gardencorev1beta1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       gardencorev1beta1.ProjectSpec{Namespace: new(namespace)},
	})).To(Succeed())
}
