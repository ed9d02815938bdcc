package driver_test

import (
	"context"

	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/metalclient"
)

var _ = Describe("access to the metal API", func() {
	// A metal API server that has just started denies requests until its RBAC caches are synced, as a Role that is
	// missing does: MCM must retry such a deletion shortly (Unavailable), not after its ten-minute long retry
	// (PermissionDenied), or a deleted machine keeps its Server that long after a metal API restart.
	It("reports denied requests as Unavailable and deletes the machine once the access is granted", func(ctx SpecContext) {
		ns := newNamespace(ctx, "access")
		claim := &metalv1alpha1.ServerClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "m1", Labels: shootLabels},
			Spec:       metalv1alpha1.ServerClaimSpec{Power: metalv1alpha1.PowerOff, Image: "example.invalid/image:1"},
		}
		Expect(admin.Create(ctx, claim)).To(Succeed())
		d := driver.New(metalclient.Static{C: serviceAccountClient(ctx, ns), Namespace: ns}, driver.NodeNameServerClaimName)
		deleteMachine := func(ctx context.Context) error {
			_, err := d.DeleteMachine(ctx, &mcmdriver.DeleteMachineRequest{Machine: machine("m1"), MachineClass: machineClass(specJSON(nil)), Secret: userDataSecret()})
			return err
		}

		Expect(deleteMachine(ctx)).To(haveCode(codes.Unavailable, "forbidden", "serverclaims"))

		grantDriverAccess(ctx, ns)
		Eventually(deleteMachine).WithContext(ctx).Should(Succeed())
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(claim), claim)).NotTo(Succeed())
	})
})

var _ = Describe("a metal API whose discovery does not list the metal group yet", func() {
	// A metal API server that has just started serves its CRDs a moment after it accepts connections: a driver whose
	// discovery ran then must retry shortly (Unavailable), not after MCM's ten-minute retry of Internal errors.
	It("reports the missing API as Unavailable", func(ctx SpecContext) {
		ns := newNamespace(ctx, "discovery")
		// The mapper of a client whose discovery found only the core group.
		mapper := meta.NewDefaultRESTMapper(nil)
		mapper.Add(corev1.SchemeGroupVersion.WithKind("Secret"), meta.RESTScopeNamespace)
		c, err := client.New(cfg, client.Options{Scheme: driver.NewScheme(), Mapper: mapper})
		Expect(err).NotTo(HaveOccurred())
		d := driver.New(metalclient.Static{C: c, Namespace: ns}, driver.NodeNameServerClaimName)

		_, err = d.DeleteMachine(ctx, &mcmdriver.DeleteMachineRequest{Machine: machine("m1"), MachineClass: machineClass(specJSON(nil)), Secret: userDataSecret()})
		Expect(err).To(haveCode(codes.Unavailable, "cannot read ServerClaim", "no matches for kind"))
	})
})

// serviceAccountClient returns a client of the metal API authenticated as a new ServiceAccount of ns that has no
// Role yet.
func serviceAccountClient(ctx context.Context, ns string) client.Client {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shoot"}}
	ExpectWithOffset(1, admin.Create(ctx, sa)).To(Succeed())
	token := &authenticationv1.TokenRequest{}
	ExpectWithOffset(1, admin.SubResource("token").Create(ctx, sa, token)).To(Succeed())
	config := rest.AnonymousClientConfig(cfg)
	config.BearerToken = token.Status.Token
	c, err := client.New(config, client.Options{Scheme: driver.NewScheme()})
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return c
}

// grantDriverAccess binds the ServiceAccount of ns to what the driver needs in its namespace (the example Role of
// example/landscape/metal).
func grantDriverAccess(ctx context.Context, ns string) {
	verbs := []string{"get", "list", "watch", "create", "patch", "delete"}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shoot"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{metalv1alpha1.GroupVersion.Group}, Resources: []string{"serverclaims"}, Verbs: verbs},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: verbs},
			{APIGroups: []string{"ipam.cluster.x-k8s.io"}, Resources: []string{"ipaddressclaims"}, Verbs: verbs},
		},
	}
	ExpectWithOffset(1, admin.Create(ctx, role)).To(Succeed())
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shoot"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "shoot"}},
	}
	ExpectWithOffset(1, admin.Create(ctx, binding)).To(Succeed())
}
