package cloudprovider

import (
	"context"
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	extensionscontextwebhook "github.com/gardener/gardener/extensions/pkg/webhook/context"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
)

const (
	namespace = "shoot--project--name"
	server    = "https://metal.region-1.example.com"
)

var caData = []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")

func gardenContext(secret *corev1.Secret, region string) extensionscontextwebhook.GardenContext {
	encode := func(obj any) []byte {
		data, err := json.Marshal(obj)
		Expect(err).NotTo(HaveOccurred())
		return data
	}
	cloudProfile := &gardencorev1beta1.CloudProfile{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "CloudProfile"},
		ObjectMeta: metav1.ObjectMeta{Name: "metal"},
		Spec: gardencorev1beta1.CloudProfileSpec{ProviderConfig: &runtime.RawExtension{Raw: encode(&v1alpha1.CloudProfileConfig{
			TypeMeta:      metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "CloudProfileConfig"},
			RegionConfigs: []v1alpha1.RegionConfig{{Name: "region-1", Server: server, CertificateAuthorityData: caData}},
		})}},
	}
	shoot := &gardencorev1beta1.Shoot{
		TypeMeta: metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Shoot"},
		Spec:     gardencorev1beta1.ShootSpec{Region: region},
	}
	scheme := runtime.NewScheme()
	Expect(extensionscontroller.AddToScheme(scheme)).To(Succeed())
	c := fakeclient.NewClientBuilder().WithScheme(scheme).WithObjects(&extensionsv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: namespace},
		Spec: extensionsv1alpha1.ClusterSpec{
			CloudProfile: runtime.RawExtension{Raw: encode(cloudProfile)},
			Shoot:        runtime.RawExtension{Raw: encode(shoot)},
			Seed:         &runtime.RawExtension{Raw: []byte(`{"apiVersion":"core.gardener.cloud/v1beta1","kind":"Seed"}`)},
		},
	}).Build()
	return extensionscontextwebhook.NewGardenContext(c, secret)
}

func staticSecret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: v1beta1constants.SecretNameCloudProvider},
		Data:       map[string][]byte{"namespace": []byte("metal-ns"), "token": []byte("s3cr3t-token")},
	}
}

func workloadIdentitySecret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, Name: v1beta1constants.SecretNameCloudProvider,
			Labels: map[string]string{"security.gardener.cloud/purpose": "workload-identity-token-requestor"},
		},
		Data: map[string][]byte{
			"config": []byte(`{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"WorkloadIdentityConfig","namespace":"metal-wi"}`),
			"token":  []byte("rotating-token"),
		},
	}
}

// ensureTwice admits the secret and then its result again and checks that the second admission changes nothing.
func ensureTwice(secret *corev1.Secret, region string) *corev1.Secret {
	e := NewEnsurer()
	Expect(e.EnsureCloudProviderSecret(context.Background(), gardenContext(secret, region), secret, nil)).To(Succeed())
	once := secret.DeepCopy()
	Expect(e.EnsureCloudProviderSecret(context.Background(), gardenContext(secret, region), secret, once)).To(Succeed())
	Expect(secret).To(Equal(once), "a repeated admission changed the secret")
	return secret
}

var _ = Describe("Ensurer", func() {
	It("composes the metal kubeconfig from the region and the static credentials", func() {
		secret := ensureTwice(staticSecret(), "region-1")
		Expect(secret.Data).To(HaveKeyWithValue("namespace", []byte("metal-ns")))
		Expect(secret.Data).To(HaveKeyWithValue("token", []byte("s3cr3t-token")))

		config, err := clientcmd.Load(secret.Data["kubeconfig"])
		Expect(err).NotTo(HaveOccurred())
		current := config.Contexts[config.CurrentContext]
		Expect(current.Namespace).To(Equal("metal-ns"))
		Expect(config.Clusters[current.Cluster].Server).To(Equal(server))
		Expect(config.Clusters[current.Cluster].CertificateAuthorityData).To(Equal(caData))
		Expect(config.AuthInfos[current.AuthInfo].Token).To(Equal("s3cr3t-token"))
		Expect(config.AuthInfos[current.AuthInfo].TokenFile).To(BeEmpty())
	})

	It("follows a change of the credentials", func() {
		secret := ensureTwice(staticSecret(), "region-1")
		secret.Data["token"] = []byte("new-token")
		secret = ensureTwice(secret, "region-1")
		config, err := clientcmd.Load(secret.Data["kubeconfig"])
		Expect(err).NotTo(HaveOccurred())
		Expect(config.AuthInfos[config.Contexts[config.CurrentContext].AuthInfo].Token).To(Equal("new-token"))
	})

	It("composes a kubeconfig reading the workload identity token from its file", func() {
		secret := ensureTwice(workloadIdentitySecret(), "region-1")
		config, err := clientcmd.Load(secret.Data["kubeconfig"])
		Expect(err).NotTo(HaveOccurred())
		current := config.Contexts[config.CurrentContext]
		Expect(current.Namespace).To(Equal("metal-wi"))
		Expect(config.Clusters[current.Cluster].Server).To(Equal(server))
		user := config.AuthInfos[current.AuthInfo]
		Expect(user.TokenFile).To(Equal("/var/run/secrets/gardener.cloud/workload-identity/token"))
		Expect(user.Token).To(BeEmpty())
		Expect(string(secret.Data["kubeconfig"])).NotTo(ContainSubstring("rotating-token"))

		By("a renewed token does not change the kubeconfig")
		before := secret.Data["kubeconfig"]
		secret.Data["token"] = []byte("renewed-token")
		Expect(ensureTwice(secret, "region-1").Data["kubeconfig"]).To(Equal(before))
	})

	It("fails for a workload identity without a namespace in its config", func() {
		secret := workloadIdentitySecret()
		secret.Data["config"] = []byte(`{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"WorkloadIdentityConfig"}`)
		err := NewEnsurer().EnsureCloudProviderSecret(context.Background(), gardenContext(secret, "region-1"), secret, nil)
		Expect(err).To(MatchError(ContainSubstring("names no namespace")))
	})

	It("names the missing key without revealing the credentials", func() {
		secret := staticSecret()
		delete(secret.Data, "namespace")
		err := NewEnsurer().EnsureCloudProviderSecret(context.Background(), gardenContext(secret, "region-1"), secret, nil)
		Expect(err).To(MatchError(ContainSubstring("namespace")))
		Expect(err.Error()).NotTo(ContainSubstring("s3cr3t-token"))
	})

	It("fails for a region the CloudProfile does not configure", func() {
		secret := staticSecret()
		err := NewEnsurer().EnsureCloudProviderSecret(context.Background(), gardenContext(secret, "region-2"), secret, nil)
		Expect(err).To(MatchError(ContainSubstring(`no regionConfig for region "region-2"`)))
		Expect(secret.Data).NotTo(HaveKey("kubeconfig"))
	})
})
