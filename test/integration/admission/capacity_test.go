package admission_test

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"sync"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	"github.com/gardener/gardener/pkg/client/kubernetes"

	metalclient "github.com/openkcm/gardener-extension-provider-metal/pkg/metal/client"
)

// warnings collects the warnings the API server sends to a client.
type warnings struct {
	mu   sync.Mutex
	seen []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := w.seen
	w.seen = nil
	return seen
}

// capacityShoot is a valid Shoot on the given CloudProfile with the credentials "metal-capacity" whose pool needs
// minimum machines in zone-a.
func capacityShoot(name, cloudProfileName string, minimum int32) *gardencorev1beta1.Shoot {
	s := validShoot(name)
	s.Spec.CloudProfile.Name = cloudProfileName
	s.Spec.CredentialsBindingName = new("metal-capacity")
	s.Spec.Provider.Workers[0].Minimum = minimum
	s.Spec.Provider.Workers[0].Maximum = minimum + 1
	return s
}

// The capacity warning runs against a metal API of its own, an envtest kube-apiserver serving metal-operator's
// CRDs, with a shoot's ServiceAccount token that may list Servers and its ServerClaims, as real credentials do.
var _ = Describe("Admission warnings about Server capacity", Ordered, func() {
	const metalNamespace = "shoot-capacity"
	var (
		collected   = &warnings{}
		warnClient  client.Client
		metalAdmin  client.Client
		metalConfig *rest.Config
	)

	BeforeAll(func() {
		By("starting the metal API")
		metalEnv := &envtest.Environment{
			CRDDirectoryPaths:     []string{filepath.Join("..", "..", "..", "example", "crds", "metal")},
			ErrorIfCRDPathMissing: true,
		}
		var err error
		metalConfig, err = metalEnv.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(metalEnv.Stop)
		metalAdmin, err = client.New(metalConfig, client.Options{Scheme: metalclient.Scheme})
		Expect(err).NotTo(HaveOccurred())

		By("giving the shoot's ServiceAccount in the metal API what the capacity count reads")
		Expect(metalAdmin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: metalNamespace}})).To(Succeed())
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: metalNamespace, Name: "shoot"}}
		Expect(metalAdmin.Create(ctx, sa)).To(Succeed())
		subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: metalNamespace, Name: sa.Name}
		Expect(metalAdmin.Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "servers-reader"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"servers"}, Verbs: []string{"list"}}},
		})).To(Succeed())
		Expect(metalAdmin.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "servers-reader"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "servers-reader"},
			Subjects:   []rbacv1.Subject{subject},
		})).To(Succeed())
		Expect(metalAdmin.Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: metalNamespace, Name: "claims-reader"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"serverclaims"}, Verbs: []string{"list"}}},
		})).To(Succeed())
		Expect(metalAdmin.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: metalNamespace, Name: "claims-reader"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "claims-reader"},
			Subjects:   []rbacv1.Subject{subject},
		})).To(Succeed())
		tokenRequest := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))}}
		Expect(metalAdmin.SubResource("token").Create(ctx, sa, tokenRequest)).To(Succeed())

		By("creating the shoot's credentials in the garden and CloudProfiles for the metal API and an unreachable one")
		secret := credentialsSecret("metal-capacity")
		secret.Data = map[string][]byte{"namespace": []byte(metalNamespace), "token": []byte(tokenRequest.Status.Token)}
		Expect(testClient.Create(ctx, secret)).To(Succeed())
		Expect(testClient.Create(ctx, credentialsBinding("metal-capacity", "v1", "Secret", secret.Name))).To(Succeed())
		reachable := fmt.Sprintf(`"regionConfigs":[{"name":"region-a","server":%q,"certificateAuthorityData":%q}]`,
			metalConfig.Host, base64.StdEncoding.EncodeToString(metalConfig.CAData))
		Expect(testClient.Create(ctx, cloudProfile("metal-capacity", cloudProfileConfig(validImages+","+validMachineTypes+","+reachable)))).To(Succeed())
		// Nothing listens on port 1: connecting fails at once.
		unreachable := `"regionConfigs":[{"name":"region-a","server":"https://127.0.0.1:1"}]`
		Expect(testClient.Create(ctx, cloudProfile("metal-unreachable", cloudProfileConfig(validImages+","+validMachineTypes+","+unreachable)))).To(Succeed())

		By("creating one Available Server of the machine type in zone-a, and Servers the pool cannot have")
		server := func(name string, labels map[string]string, state metalv1alpha1.ServerState) {
			s := &metalv1alpha1.Server{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: metalv1alpha1.ServerSpec{SystemUUID: name}}
			Expect(metalAdmin.Create(ctx, s)).To(Succeed())
			s.Status.State = state
			Expect(metalAdmin.Status().Update(ctx, s)).To(Succeed())
		}
		standard := map[string]string{"metal.example.com/size": "standard", "topology.kubernetes.io/zone": "zone-a", "topology.kubernetes.io/region": "region-a"}
		server("free", standard, metalv1alpha1.ServerStateAvailable)
		server("in-maintenance", standard, metalv1alpha1.ServerStateMaintenance)
		server("other-region", map[string]string{"metal.example.com/size": "standard", "topology.kubernetes.io/zone": "zone-a", "topology.kubernetes.io/region": "region-b"}, metalv1alpha1.ServerStateAvailable)

		config := rest.CopyConfig(gardenConfig)
		config.WarningHandler = collected
		warnClient, err = client.New(config, client.Options{Scheme: kubernetes.GardenScheme})
		Expect(err).NotTo(HaveOccurred())

		// gardener-apiserver's Shoot admission reads CloudProfiles from its informer cache, which may not hold the
		// ones created a moment ago ("not found").
		for _, profile := range []string{"metal-capacity", "metal-unreachable"} {
			Eventually(func() error {
				return testClient.Create(ctx, capacityShoot("cap-probe", profile, 1), client.DryRunAll)
			}).Should(Succeed())
		}
	})

	It("warns on create when a pool's zone has fewer available Servers than its minimum, and admits the Shoot", func() {
		collected.take()
		Expect(warnClient.Create(ctx, capacityShoot("cap-short", "metal-capacity", 3))).To(Succeed())
		Expect(collected.take()).To(ContainElement(
			`spec.provider.workers[0].zones[0]: 1 of 3 Servers of machine type "standard" in zone "zone-a" are available now; the other machines will wait (ResourceExhausted)`))
	})

	It("warns on an update that raises the minimum beyond the Servers, and not on one that changes nothing it counts", func() {
		s := capacityShoot("cap-update", "metal-capacity", 1)
		Expect(warnClient.Create(ctx, s)).To(Succeed())
		Expect(collected.take()).NotTo(ContainElement(ContainSubstring("Servers of machine type")))

		s.Spec.Provider.Workers[0].Minimum, s.Spec.Provider.Workers[0].Maximum = 2, 3
		Expect(warnClient.Update(ctx, s)).To(Succeed())
		Expect(collected.take()).To(ContainElement(ContainSubstring(`spec.provider.workers[0].zones[0]: 1 of 2 Servers of machine type "standard"`)))

		metav1.SetMetaDataLabel(&s.ObjectMeta, "team", "a")
		Expect(warnClient.Update(ctx, s)).To(Succeed())
		Expect(collected.take()).NotTo(ContainElement(ContainSubstring("Servers of machine type")))
	})

	It("does not warn when the zone has enough Servers", func() {
		Expect(warnClient.Create(ctx, capacityShoot("cap-enough", "metal-capacity", 1))).To(Succeed())
		Expect(collected.take()).NotTo(ContainElement(ContainSubstring("Servers of machine type")))
	})

	It("admits the Shoot without warning when the metal API cannot be reached", func() {
		Expect(warnClient.Create(ctx, capacityShoot("cap-unreach", "metal-unreachable", 3))).To(Succeed())
		Expect(collected.take()).NotTo(ContainElement(ContainSubstring("Servers of machine type")))
	})
})
