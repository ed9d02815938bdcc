package freshread

import (
	"context"
	"reflect"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
)

var _ = Describe("Client", func() {
	const finalizer = "extensions.gardener.cloud/infrastructure"

	var (
		scheme *runtime.Scheme
		key    = client.ObjectKey{Namespace: "shoot--foo--bar", Name: "bar"}
	)

	BeforeEach(func() {
		scheme = runtime.NewScheme()
		Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
		Expect(extensionsv1alpha1.AddToScheme(scheme)).To(Succeed())
	})

	// newClient returns the client over a cache holding cached and an API server holding current.
	newClient := func(cached, current client.Object) client.Client {
		return &freshClient{
			Client:    fake.NewClientBuilder().WithScheme(scheme).WithObjects(cached).Build(),
			apiReader: fake.NewClientBuilder().WithScheme(scheme).WithObjects(current).Build(),
			kind:      reflect.TypeFor[*extensionsv1alpha1.Infrastructure](),
			finalizer: finalizer,
		}
	}
	infrastructure := func(annotations map[string]string, finalizers ...string) *extensionsv1alpha1.Infrastructure {
		return &extensionsv1alpha1.Infrastructure{ObjectMeta: metav1.ObjectMeta{
			Namespace: key.Namespace, Name: key.Name, Annotations: annotations, Finalizers: finalizers,
		}}
	}
	annotated := map[string]string{"gardener.cloud/operation": "reconcile"}

	It("reads an object without the finalizer from the API server, where the annotation is already removed", func() {
		c := newClient(infrastructure(annotated), infrastructure(nil))
		infra := &extensionsv1alpha1.Infrastructure{}
		Expect(c.Get(context.Background(), key, infra)).To(Succeed())
		Expect(infra.Annotations).NotTo(HaveKey("gardener.cloud/operation"))
	})

	It("reads an object with the finalizer from the cache", func() {
		c := newClient(infrastructure(annotated, finalizer), infrastructure(nil, finalizer))
		infra := &extensionsv1alpha1.Infrastructure{}
		Expect(c.Get(context.Background(), key, infra)).To(Succeed())
		Expect(infra.Annotations).To(HaveKey("gardener.cloud/operation"))
	})

	It("reads other kinds from the cache", func() {
		cached := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Labels: map[string]string{"cached": "true"}}}
		c := newClient(cached, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}})
		secret := &corev1.Secret{}
		Expect(c.Get(context.Background(), key, secret)).To(Succeed())
		Expect(secret.Labels).To(HaveKey("cached"))
	})
})
