package worker

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

var _ = Describe("emptyPatchSkippingClient", func() {
	var (
		ctx     = context.Background()
		c       client.Client
		patches int
		secret  *corev1.Secret
	)

	BeforeEach(func() {
		patches = 0
		secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"}, Data: map[string][]byte{"k": []byte("v")}}
		c = emptyPatchSkippingClient{Client: fake.NewClientBuilder().WithObjects(secret.DeepCopy()).WithInterceptorFuncs(interceptor.Funcs{
			Patch: func(ctx context.Context, cl client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
				patches++
				return cl.Patch(ctx, obj, patch, opts...)
			},
		}).Build()}
		Expect(c.Get(ctx, client.ObjectKeyFromObject(secret), secret)).To(Succeed())
	})

	It("does not send an empty merge patch", func() {
		Expect(c.Patch(ctx, secret, client.MergeFrom(secret.DeepCopy()))).To(Succeed())
		Expect(patches).To(BeZero())
	})

	It("sends a merge patch with content", func() {
		before := secret.DeepCopy()
		secret.Data["k"] = []byte("w")
		Expect(c.Patch(ctx, secret, client.MergeFrom(before))).To(Succeed())
		Expect(patches).To(Equal(1))
		stored := &corev1.Secret{}
		Expect(c.Get(ctx, client.ObjectKeyFromObject(secret), stored)).To(Succeed())
		Expect(stored.Data["k"]).To(Equal([]byte("w")))
	})

	It("passes other patch types on", func() {
		Expect(c.Patch(ctx, secret, client.RawPatch("application/strategic-merge-patch+json", []byte("{}")))).To(Succeed())
		Expect(patches).To(Equal(1))
	})
})
