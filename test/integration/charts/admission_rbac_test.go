package charts_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/openkcm/gardener-extension-provider-metal/test/utils/manifests"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	extensionscmdwebhook "github.com/gardener/gardener/extensions/pkg/webhook/cmd"
	gardencoreinstall "github.com/gardener/gardener/pkg/apis/core/install"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	securityinstall "github.com/gardener/gardener/pkg/apis/security/install"

	admissionapp "github.com/openkcm/gardener-extension-provider-metal/cmd/gardener-extension-admission-metal/app"
	metalinstall "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/install"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// The admission component runs as two identities, as with gardener-operator and a virtual garden: towards the garden
// as the application chart's ServiceAccount, towards the runtime cluster (leader election, webhook certificates)
// as the runtime chart's. Both have only what the charts grant them. The component is assembled in-process as
// its command does: the command reads its runtime access from the in-cluster configuration, which a test process
// does not have.
var _ = Describe("gardener-extension-admission-metal with the charts' RBAC", Ordered, func() {
	const (
		runtimeNamespace   = v1beta1constants.GardenNamespace
		virtualNamespace   = "extension-admission-provider-metal"
		gardenIdentityName = "extension-admission-provider-metal"
		projectNamespace   = "garden-dev"
	)
	var (
		log         = gbytes.NewBuffer()
		webhookPort int
	)

	BeforeAll(func(ctx SpecContext) {
		for _, ns := range []string{runtimeNamespace, virtualNamespace, projectNamespace, "kube-system"} {
			Expect(client.IgnoreAlreadyExists(testClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))).To(Succeed())
		}

		By("installing both charts' RBAC and the application chart's webhook configurations")
		webhookPort = freePort()
		url := fmt.Sprintf("127.0.0.1:%d", webhookPort)
		runtimeObjects := mustRender(renderHelmV3, admissionRuntime, runtimeNamespace, map[string]any{
			"gardener":      map[string]any{"virtualCluster": map[string]any{"enabled": true, "namespace": virtualNamespace}},
			"webhookConfig": map[string]any{"mode": "url", "url": url},
		})
		applicationObjects := mustRender(renderHelmV3, admissionApplication, virtualNamespace, map[string]any{
			"gardener":      map[string]any{"virtualCluster": map[string]any{"serviceAccount": map[string]any{"name": gardenIdentityName, "namespace": "kube-system"}}},
			"webhookConfig": map[string]any{"mode": "url", "url": url},
		})
		for _, obj := range append(slices.Clone(runtimeObjects), applicationObjects...) {
			switch obj.(type) {
			// The webhooks fail closed; they must not outlive this container in the shared API server.
			case *corev1.ServiceAccount, *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding, *rbacv1.Role, *rbacv1.RoleBinding,
				*admissionregistrationv1.ValidatingWebhookConfiguration, *admissionregistrationv1.MutatingWebhookConfiguration:
				createForContainer(ctx, obj)
			}
		}
		Expect(testClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: gardenIdentityName}})).To(Succeed())

		runtimeServiceAccount := only[*corev1.ServiceAccount](runtimeObjects)
		runtimeConfig := impersonating(runtimeServiceAccount.Namespace, runtimeServiceAccount.Name)
		gardenConfig := impersonating("kube-system", gardenIdentityName)

		By("starting the admission component with the runtime chart's arguments")
		container := only[*appsv1.Deployment](runtimeObjects).Spec.Template.Spec.Containers[0]
		Expect(container.Args).To(ContainElements("--webhook-config-mode=url", "--webhook-config-url="+url,
			"--webhook-config-namespace="+runtimeNamespace, "--webhook-config-owner-namespace="+virtualNamespace,
			"--leader-election-id=admission-metal-leader-election"))
		startAdmission(gardenConfig, runtimeConfig, runtimeNamespace, virtualNamespace, url, webhookPort, log)
	})

	It("keeps the chart's webhook configurations, with the CA of the certificates it manages in the runtime cluster", func(ctx SpecContext) {
		Eventually(func(g Gomega) {
			validating := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			g.Expect(testClient.Get(ctx, client.ObjectKey{Name: "gardener-extension-admission-metal"}, validating)).To(Succeed())
			g.Expect(validating.OwnerReferences).To(ContainElement(HaveField("Name", virtualNamespace)))
			for _, webhook := range validating.Webhooks {
				g.Expect(webhook.ClientConfig.CABundle).NotTo(BeEmpty(), webhook.Name)
			}
			mutating := &admissionregistrationv1.MutatingWebhookConfiguration{}
			g.Expect(testClient.Get(ctx, client.ObjectKey{Name: "gardener-extension-admission-metal"}, mutating)).To(Succeed())
			g.Expect(mutating.Webhooks[0].ClientConfig.CABundle).NotTo(BeEmpty())
		}).WithTimeout(time.Minute).Should(Succeed())
	})

	It("admits the examples in example/garden, which makes it read what they reference", func(ctx SpecContext) {
		files, err := filepath.Glob(filepath.Join(repoRoot, "example", "garden", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		slices.Sort(files)
		for _, file := range files {
			for _, obj := range mustReadManifests(file) {
				manifests.LabelAsGardener(obj)
				Eventually(func() error {
					return testClient.Create(ctx, obj.DeepCopy())
				}).WithTimeout(30*time.Second).Should(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
			}
		}
	})

	It("rejects an invalid object, so the webhooks are in the request path", func(ctx SpecContext) {
		cloudProfile := &unstructured.Unstructured{}
		cloudProfile.SetAPIVersion("core.gardener.cloud/v1beta1")
		cloudProfile.SetKind("CloudProfile")
		cloudProfile.SetName("metal-without-config")
		manifests.LabelAsGardener(cloudProfile)
		Expect(unstructured.SetNestedField(cloudProfile.Object, metal.Type, "spec", "type")).To(Succeed())
		Expect(testClient.Create(ctx, cloudProfile)).To(MatchError(ContainSubstring("spec.providerConfig: Required value")))
	})

	It("was never forbidden anything", func() {
		var denied []string
		for line := range strings.SplitSeq(string(log.Contents()), "\n") {
			if forbidden.MatchString(line) {
				denied = append(denied, line)
			}
		}
		Expect(denied).To(BeEmpty(), "the charts' RBAC lacks a permission the admission component uses")
		Expect(string(log.Contents())).To(ContainSubstring("became leader"), "the log is the component's")
	})
})

// impersonating returns a configuration of this API server's administrator that acts as the ServiceAccount.
func impersonating(namespace, name string) *rest.Config {
	config := rest.CopyConfig(restConfig)
	config.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + namespace + ":" + name,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
	}
	return config
}

// startAdmission assembles the admission component as its command does, with the garden and runtime
// configurations, and runs it until the container ends.
func startAdmission(gardenConfig, runtimeConfig *rest.Config, runtimeNamespace, ownerNamespace, url string, port int, log io.Writer) {
	logger := zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter, log)), zap.UseDevMode(true))
	admissionScheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(admissionScheme))
	gardencoreinstall.Install(admissionScheme)
	securityinstall.Install(admissionScheme)
	utilruntime.Must(metalinstall.AddToScheme(admissionScheme))

	mgr, err := manager.New(gardenConfig, manager.Options{
		Scheme:                  admissionScheme,
		Logger:                  logger,
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		LeaderElection:          true,
		LeaderElectionID:        "admission-metal-leader-election",
		LeaderElectionNamespace: runtimeNamespace,
		LeaderElectionConfig:    runtimeConfig,
		WebhookServer:           webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: GinkgoT().TempDir()}),
	})
	Expect(err).NotTo(HaveOccurred())

	sourceCluster, err := cluster.New(runtimeConfig, func(opts *cluster.Options) {
		opts.Logger = logger
		opts.Scheme = admissionScheme
		opts.Cache.DefaultNamespaces = map[string]cache.Config{runtimeNamespace: {}}
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(mgr.Add(sourceCluster)).To(Succeed())

	options := extensionscmdwebhook.NewAddToManagerOptions(admissionapp.AdmissionName, "", nil, nil,
		&extensionscmdwebhook.ServerOptions{Mode: extensionswebhook.ModeURL, URL: url, Namespace: runtimeNamespace, OwnerNamespace: ownerNamespace},
		admissionapp.WebhookSwitchOptions())
	Expect(options.Complete()).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	_, err = options.Completed().AddToManager(ctx, mgr, sourceCluster)
	Expect(err).NotTo(HaveOccurred())

	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	DeferCleanup(func() {
		cancel()
		<-done
	})
}

func mustReadManifests(file string) []*unstructured.Unstructured {
	objs, err := manifests.Read(file, nil)
	Expect(err).NotTo(HaveOccurred())
	return objs
}
