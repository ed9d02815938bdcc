package driver_test

import (
	"context"
	"path/filepath"

	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/metalclient"
)

var _ = Describe("the driver against a metal API without cluster-api IPAM", Ordered, func() {
	var (
		ctx    = context.Background()
		c      client.Client
		d      *driver.Driver
		ns     string
		binder testBinder
	)

	BeforeAll(func() {
		env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join(crds, "metal")}, ErrorIfCRDPathMissing: true}
		config, err := env.Start()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(env.Stop)
		c = newAdminClient(config)
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "metal-"}}
		Expect(c.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
		driverClient, err := client.New(config, client.Options{Scheme: driver.NewScheme()})
		Expect(err).NotTo(HaveOccurred())
		d = driver.New(metalclient.Static{C: driverClient, Namespace: ns}, driver.NodeNameServerClaimName)
		binder = testBinder{c: c}
	})

	noIPAM := machineClass(specJSON(func(s map[string]any) { delete(s, "ipamConfig") }))
	withIPAM := machineClass(specJSON(nil))

	It("runs and deletes a machine without IPAM", func() {
		_, err := d.CreateMachine(ctx, &mcmdriver.CreateMachineRequest{Machine: machine("m1"), MachineClass: noIPAM, Secret: userDataSecret()})
		Expect(err).NotTo(HaveOccurred())
		binder.bind(ctx, ns, "m1", ns+"-s1")
		_, err = d.InitializeMachine(ctx, &mcmdriver.InitializeMachineRequest{Machine: machine("m1"), MachineClass: noIPAM, Secret: userDataSecret()})
		Expect(err).NotTo(HaveOccurred())
		_, err = d.GetMachineStatus(ctx, &mcmdriver.GetMachineStatusRequest{Machine: machine("m1"), MachineClass: noIPAM, Secret: userDataSecret()})
		Expect(err).NotTo(HaveOccurred())

		_, err = d.DeleteMachine(ctx, &mcmdriver.DeleteMachineRequest{Machine: machine("m1"), MachineClass: noIPAM, Secret: userDataSecret()})
		Expect(err).NotTo(HaveOccurred())
		Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1"}, &metalv1alpha1.ServerClaim{}))).To(BeTrue())
		Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1-ignition"}, &corev1.Secret{}))).To(BeTrue())
	})

	It("says that ipamConfig needs cluster-api IPAM, and still deletes the machine", func() {
		_, err := d.CreateMachine(ctx, &mcmdriver.CreateMachineRequest{Machine: machine("m2"), MachineClass: withIPAM, Secret: userDataSecret()})
		Expect(err).NotTo(HaveOccurred())
		binder.bind(ctx, ns, "m2", ns+"-s2")
		_, err = d.InitializeMachine(ctx, &mcmdriver.InitializeMachineRequest{Machine: machine("m2"), MachineClass: withIPAM, Secret: userDataSecret()})
		Expect(err).To(haveCode(codes.FailedPrecondition, "serves no cluster-api IPAM"))

		_, err = d.DeleteMachine(ctx, &mcmdriver.DeleteMachineRequest{Machine: machine("m2"), MachineClass: withIPAM, Secret: userDataSecret()})
		Expect(err).NotTo(HaveOccurred())
		Expect(apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m2"}, &metalv1alpha1.ServerClaim{}))).To(BeTrue())
	})
})
