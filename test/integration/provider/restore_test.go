package provider_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	"github.com/gardener/gardener/pkg/utils/gardener/shootstate"

	"github.com/openkcm/gardener-extension-provider-metal/cmd/gardener-extension-provider-metal/app"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/test/utils/gardencrds"
)

// The Worker's generic actuator restores machines from the Worker's status and, when that holds no state, from the
// ShootState in the garden cluster; the latter needs the garden cluster the command builds from GARDEN_KUBECONFIG.
var _ = Describe("restoring a Worker without state in its status", func() {
	const (
		namespace   = "shoot--p--s"
		deployment  = namespace + "-general-z1"
		machineName = deployment + "-abcde-xyz12"
	)

	It("restores the machines from the ShootState in the garden cluster", func(ctx SpecContext) {
		seed, seedKubeconfig := startCluster(func(env *envtest.Environment) {
			crdDirs, err := filepath.Glob(filepath.Join(repoRoot, "example", "crds", "*"))
			Expect(err).NotTo(HaveOccurred())
			env.CRDDirectoryPaths = crdDirs
		})
		garden, gardenKubeconfig := startCluster(func(env *envtest.Environment) {
			env.CRDs = []*apiextensionsv1.CustomResourceDefinition{gardencrds.ShootStateCRD()}
		})

		By("storing the machine state in the ShootState, as gardenlet does before a migration")
		Expect(garden.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "garden-p"}})).To(Succeed())
		state, err := shootstate.MarshalMachineState(&shootstate.MachineState{MachineDeployments: map[string]*shootstate.MachineDeploymentState{
			deployment: {
				Replicas:    1,
				MachineSets: []machinev1alpha1.MachineSet{{ObjectMeta: metav1.ObjectMeta{Name: deployment + "-abcde", Namespace: namespace, Labels: map[string]string{"name": deployment}}}},
				Machines:    []machinev1alpha1.Machine{{ObjectMeta: metav1.ObjectMeta{Name: machineName, Namespace: namespace, Labels: map[string]string{"name": deployment}}}},
			},
		}})
		Expect(err).NotTo(HaveOccurred())
		shootState := &gardencorev1beta1.ShootState{
			TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "ShootState"},
			ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "garden-p"},
			Spec: gardencorev1beta1.ShootStateSpec{Gardener: []gardencorev1beta1.GardenerResourceData{{
				Name: v1beta1constants.DataTypeMachineState, Type: v1beta1constants.DataTypeMachineState, Data: runtime.RawExtension{Raw: state},
			}}},
		}
		// Written as JSON: the typed client would send Gardener's types as protobuf, which a CRD does not serve.
		unstructuredState := &unstructured.Unstructured{}
		Expect(json.Unmarshal(encode(shootState), &unstructuredState.Object)).To(Succeed())
		Expect(garden.Create(ctx, unstructuredState)).To(Succeed())

		By("creating the restored shoot's Worker in the new seed")
		createRestoredWorker(ctx, seed, namespace)

		session := startExtension(seedKubeconfig, gardenKubeconfig)
		DeferCleanup(func() { session.Kill().Wait() })

		Eventually(func(g Gomega) {
			worker := &extensionsv1alpha1.Worker{}
			g.Expect(seed.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "worker"}, worker)).To(Succeed())
			if worker.Status.LastError != nil {
				// Shows why the restore failed, e.g. "garden client is missing" without the garden cluster.
				GinkgoWriter.Printf("Worker last error: %s\n", worker.Status.LastError.Description)
			}
			g.Expect(seed.Get(ctx, client.ObjectKey{Namespace: namespace, Name: machineName}, &machinev1alpha1.Machine{})).To(Succeed())
		}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
	})
})

// startCluster starts an envtest API server and returns an admin client and a kubeconfig file for it.
func startCluster(configure func(*envtest.Environment)) (client.Client, string) {
	env := &envtest.Environment{ErrorIfCRDPathMissing: true}
	configure(env)
	cfg, err := env.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)

	user, err := env.AddUser(envtest.User{Name: "extension", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	data, err := user.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	kubeconfig := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(os.WriteFile(kubeconfig, data, 0o600)).To(Succeed())
	return newClient(cfg), kubeconfig
}

func newClient(cfg *rest.Config) client.Client {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, extensionscontroller.AddToScheme, machinev1alpha1.AddToScheme, gardencorev1beta1.AddToScheme} {
		Expect(add(scheme)).To(Succeed())
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return c
}

// startExtension runs the extension's Worker controller against the seed, with the garden kubeconfig as gardenlet
// injects it.
func startExtension(seedKubeconfig, gardenKubeconfig string) *gexec.Session {
	webhookPort := freePort()
	cmd := exec.Command(extensionBinary,
		"--kubeconfig="+seedKubeconfig,
		"--config-file="+filepath.Join(repoRoot, "example", "component-config.yaml"),
		"--leader-election=false",
		"--heartbeat-namespace=default",
		"--metrics-bind-address=0",
		fmt.Sprintf("--health-bind-address=127.0.0.1:%d", freePort()),
		"--webhook-config-mode=url",
		fmt.Sprintf("--webhook-config-url=127.0.0.1:%d", webhookPort),
		"--webhook-config-server-host=127.0.0.1",
		fmt.Sprintf("--webhook-config-server-port=%d", webhookPort),
		"--webhook-config-cert-dir="+GinkgoT().TempDir(),
	)
	cmd.Env = append(os.Environ(), app.GardenKubeconfigEnv+"="+gardenKubeconfig)
	session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	return session
}

// createRestoredWorker creates the Cluster, the credentials and user data secrets and a Worker with gardenlet's
// restore annotation and an empty status, as after a control plane migration.
func createRestoredWorker(ctx SpecContext, seed client.Client, namespace string) {
	Expect(seed.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
	Expect(seed.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: v1beta1constants.SecretNameCloudProvider},
		Data:       map[string][]byte{metal.NamespaceKey: []byte("metal-ns"), metal.TokenKey: []byte("token")},
	})).To(Succeed())
	Expect(seed.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "osc-general"},
		Data:       map[string][]byte{extensionsv1alpha1.OperatingSystemConfigSecretDataKey: []byte("#!/bin/bash\n")},
	})).To(Succeed())

	profileConfig := &v1alpha1.CloudProfileConfig{
		TypeMeta:      metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "CloudProfileConfig"},
		MachineImages: []v1alpha1.MachineImages{{Name: "gardenlinux", Versions: []v1alpha1.MachineImageVersion{{Version: "1.0", Image: "registry.example.com/gl:1.0", Architecture: ptr.To("amd64")}}}},
		MachineTypes:  []v1alpha1.MachineType{{Name: "small", ServerLabels: map[string]string{"machine-type": "small"}}},
		RegionConfigs: []v1alpha1.RegionConfig{{Name: "region-1", Server: "https://metal.example.com"}},
	}
	cloudProfile := &gardencorev1beta1.CloudProfile{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "CloudProfile"},
		ObjectMeta: metav1.ObjectMeta{Name: "metal"},
		Spec:       gardencorev1beta1.CloudProfileSpec{Type: metal.Type, ProviderConfig: &runtime.RawExtension{Raw: encode(profileConfig)}},
	}
	shoot := &gardencorev1beta1.Shoot{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Shoot"},
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "garden-p"},
		Spec:       gardencorev1beta1.ShootSpec{Region: "region-1", Provider: gardencorev1beta1.Provider{Type: metal.Type}},
		Status:     gardencorev1beta1.ShootStatus{TechnicalID: namespace},
	}
	seedObj := &gardencorev1beta1.Seed{TypeMeta: metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Seed"}}
	Expect(seed.Create(ctx, &extensionsv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: namespace},
		Spec: extensionsv1alpha1.ClusterSpec{
			CloudProfile: runtime.RawExtension{Raw: encode(cloudProfile)},
			Seed:         &runtime.RawExtension{Raw: encode(seedObj)},
			Shoot:        runtime.RawExtension{Raw: encode(shoot)},
		},
	})).To(Succeed())

	Expect(seed.Create(ctx, &extensionsv1alpha1.Worker{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   namespace,
			Name:        "worker",
			Annotations: map[string]string{v1beta1constants.GardenerOperation: v1beta1constants.GardenerOperationRestore},
		},
		Spec: extensionsv1alpha1.WorkerSpec{
			DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: metal.Type},
			Region:      "region-1",
			SecretRef:   corev1.SecretReference{Namespace: namespace, Name: v1beta1constants.SecretNameCloudProvider},
			Pools: []extensionsv1alpha1.WorkerPool{{
				Name:                "general",
				Minimum:             1,
				Maximum:             1,
				MachineType:         "small",
				MachineImage:        extensionsv1alpha1.MachineImage{Name: "gardenlinux", Version: "1.0"},
				NodeAgentSecretName: ptr.To("gardener-node-agent-general-1a2b3"),
				UserDataSecretRef: corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "osc-general"},
					Key:                  extensionsv1alpha1.OperatingSystemConfigSecretDataKey,
				},
				Zones: []string{"z1"},
			}},
		},
	})).To(Succeed())
}

func encode(obj any) []byte {
	data, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())
	return data
}
