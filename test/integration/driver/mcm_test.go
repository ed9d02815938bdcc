package driver_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	machineclientset "github.com/gardener/machine-controller-manager/pkg/client/clientset/versioned"
	machineinformers "github.com/gardener/machine-controller-manager/pkg/client/informers/externalversions"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/app/options"
	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	machinecontroller "github.com/gardener/machine-controller-manager/pkg/util/provider/machinecontroller"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machineutils"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
)

// startMachineController runs MCM's machine controller (the one the provider app runs) for namespace ns of the
// control cluster, with config serving as control and target cluster. It stops when ctx ends.
func startMachineController(ctx context.Context, config *rest.Config, ns string, d mcmdriver.Driver) error {
	machineClient, err := machineclientset.NewForConfig(config)
	if err != nil {
		return err
	}
	coreClient, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	version, err := coreClient.Discovery().ServerVersion()
	if err != nil {
		return err
	}
	targetVersion, err := semver.NewVersion(version.GitVersion)
	if err != nil {
		return err
	}
	machineInformers := machineinformers.NewFilteredSharedInformerFactory(machineClient, 0, ns, nil)
	controlInformers := kubeinformers.NewSharedInformerFactoryWithOptions(coreClient, 0, kubeinformers.WithNamespace(ns))
	targetInformers := kubeinformers.NewSharedInformerFactory(coreClient, 0)
	server := options.NewMCServer()
	// Run registers the controller as a Prometheus collector; a fresh registry lets a test process start more
	// than one controller.
	prometheus.DefaultRegisterer = prometheus.NewRegistry()
	controller, err := machinecontroller.NewController(
		ns,
		machineClient.MachineV1alpha1(),
		coreClient,
		coreClient,
		d,
		targetInformers,
		controlInformers.Core().V1().Secrets(),
		machineInformers.Machine().V1alpha1().MachineClasses(),
		machineInformers.Machine().V1alpha1().Machines(),
		&record.FakeRecorder{},
		server.SafetyOptions,
		server.NodeConditions,
		server.BootstrapTokenAuthExtraGroups,
		targetVersion,
		machineutils.LongRetry,
	)
	if err != nil {
		return err
	}
	stop := ctx.Done()
	machineInformers.Start(stop)
	controlInformers.Start(stop)
	targetInformers.Start(stop)
	go controller.Run(2, stop)
	return nil
}

// createMachineObjects creates the userData Secret, the MachineClass and a Machine of it in ns.
func createMachineObjects(ctx context.Context, c client.Client, ns, name string) error {
	if err := createMachineClass(ctx, c, ns); err != nil {
		return err
	}
	m := &machinev1alpha1.Machine{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       machinev1alpha1.MachineSpec{Class: machinev1alpha1.ClassSpec{Kind: "MachineClass", Name: "pool-z1"}},
	}
	return c.Create(ctx, m)
}

// createMachineClass creates the userData Secret and the MachineClass pool-z1 in ns, unless they exist.
func createMachineClass(ctx context.Context, c client.Client, ns string) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "pool-z1-userdata", Namespace: ns},
		Data:       map[string][]byte{"userData": []byte(userData)},
	}
	if err := c.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	class := &machinev1alpha1.MachineClass{
		ObjectMeta:   metav1.ObjectMeta{Name: "pool-z1", Namespace: ns},
		Provider:     "metal",
		ProviderSpec: runtime.RawExtension{Raw: specJSON(nil)},
		SecretRef:    &corev1.SecretReference{Name: secret.Name, Namespace: ns},
	}
	if err := c.Create(ctx, class); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// machineHistory records every state a Machine of a namespace shows, through a watch, so that a test sees also
// states that last only a moment.
type machineHistory struct {
	mu     sync.Mutex
	states map[string][]string
}

// record watches the Machines of ns until ctx ends.
func (h *machineHistory) record(ctx context.Context, config *rest.Config, ns string) error {
	c, err := client.NewWithWatch(config, client.Options{Scheme: testScheme()})
	if err != nil {
		return err
	}
	w, err := c.Watch(ctx, &machinev1alpha1.MachineList{}, client.InNamespace(ns))
	if err != nil {
		return err
	}
	h.states = map[string][]string{}
	go func() {
		defer w.Stop()
		for event := range w.ResultChan() {
			m, ok := event.Object.(*machinev1alpha1.Machine)
			if !ok {
				continue
			}
			state := fmt.Sprintf("phase=%q lastOperation=%s/%s", m.Status.CurrentStatus.Phase, m.Status.LastOperation.State, m.Status.LastOperation.ErrorCode)
			h.mu.Lock()
			if states := h.states[m.Name]; len(states) == 0 || states[len(states)-1] != state {
				h.states[m.Name] = append(states, state)
			}
			h.mu.Unlock()
		}
	}()
	return nil
}

func (h *machineHistory) of(name string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.states[name])
}

var _ = Describe("the real MCM machine controller with the metal driver", Ordered, func() {
	var (
		ctx       context.Context
		controlNS string
		metalNS   string
		binder    *loopingTestBinder
		history   machineHistory
	)

	BeforeAll(func() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(context.Background())
		DeferCleanup(cancel)
		controlNS = newNamespace(ctx, "shoot")
		metalNS = newNamespace(ctx, "metal")
		Expect(history.record(ctx, cfg, controlNS)).To(Succeed())
		Expect(startMachineController(ctx, cfg, controlNS, newDriver(metalNS, driver.NodeNameServerClaimName))).To(Succeed())
		// A Server takes about two seconds to power off, so DeleteMachine has to wait for it.
		binder = &loopingTestBinder{c: admin, ns: metalNS, powerOffRounds: 20}
		// Servers are cluster-scoped: those of other specs would match the selector.
		Expect(admin.DeleteAllOf(ctx, &metalv1alpha1.Server{})).To(Succeed())
		Expect(binder.freeServers(ctx, metalNS, 1)).To(Succeed())
		go binder.run(ctx, 100*time.Millisecond, func(format string, args ...any) { GinkgoWriter.Printf(format, args...) })
	})

	getMachine := func(name string) *machinev1alpha1.Machine {
		m := &machinev1alpha1.Machine{}
		ExpectWithOffset(1, admin.Get(ctx, client.ObjectKey{Namespace: controlNS, Name: name}, m)).To(Succeed())
		return m
	}
	running := func(name string) {
		EventuallyWithOffset(1, func(g Gomega) {
			m := &machinev1alpha1.Machine{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: controlNS, Name: name}, m)).To(Succeed())
			g.Expect(m.Status.CurrentStatus.Phase).To(Equal(machinev1alpha1.MachineRunning))
		}).WithTimeout(90 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	}

	It("runs a Machine Pending to Running with no error phase while a Server is free", func() {
		Expect(createMachineObjects(ctx, admin, controlNS, "worker-1")).To(Succeed())
		running("worker-1")
		Expect(history.of("worker-1")).To(HaveEach(And(
			Not(ContainSubstring(string(machinev1alpha1.MachineCrashLoopBackOff))),
			Not(ContainSubstring(string(machinev1alpha1.MachineFailed))),
		)))
		Expect(history.of("worker-1")).To(ContainElement(ContainSubstring(`phase="Pending"`)))
		m := getMachine("worker-1")
		Expect(m.Labels).To(HaveKeyWithValue("node", "worker-1"))
		claim := &metalv1alpha1.ServerClaim{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: metalNS, Name: "worker-1"}, claim)).To(Succeed())
		Expect(claim.Spec.Power).To(Equal(metalv1alpha1.PowerOn))
		Expect(claim.Spec.IgnitionSecretRef).NotTo(BeNil())
		Expect(leftovers(ctx, metalNS)).To(ConsistOf("ServerClaim worker-1", "Secret worker-1-ignition", "IPAddressClaim worker-1-node"))
	})

	It("reports a Machine without a free Server as ResourceExhausted with the selector and zone", func() {
		Expect(createMachineObjects(ctx, admin, controlNS, "worker-2")).To(Succeed())
		Eventually(func(g Gomega) {
			m := &machinev1alpha1.Machine{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: controlNS, Name: "worker-2"}, m)).To(Succeed())
			g.Expect(m.Spec.ProviderID).To(Equal(driver.ProviderID(metalNS, "worker-2")))
			g.Expect(m.Status.LastOperation.Description).To(ContainSubstring("no free Server in zone z1 matches selector machine-type=m1,topology.kubernetes.io/zone=z1"))
			g.Expect(m.Status.LastOperation.ErrorCode).To(Equal(codes.ResourceExhausted.String()))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(getMachine("worker-2").Status.CurrentStatus.Phase).To(Equal(machinev1alpha1.MachineCrashLoopBackOff))
		claim := &metalv1alpha1.ServerClaim{}
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: metalNS, Name: "worker-2"}, claim)).To(Succeed())
		Expect(claim.Spec.Power).To(Equal(metalv1alpha1.PowerOff))
	})

	It("removes claim, Secret, IP claims and Node when the Machine is deleted, and the freed Server serves the waiting Machine", func() {
		Expect(admin.Delete(ctx, getMachine("worker-1"))).To(Succeed())
		Eventually(func(g Gomega) {
			err := admin.Get(ctx, client.ObjectKey{Namespace: controlNS, Name: "worker-1"}, &machinev1alpha1.Machine{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Machine still exists")
		}).WithTimeout(120 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		By("showing no failed operation while the Server powered off: waiting is not failing")
		Expect(history.of("worker-1")).To(ContainElement(ContainSubstring(`phase="Terminating"`)))
		Expect(history.of("worker-1")).To(HaveEach(And(
			Not(ContainSubstring(string(machinev1alpha1.MachineCrashLoopBackOff))),
			Not(ContainSubstring(string(machinev1alpha1.MachineFailed))),
		)))
		Expect(apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Name: "worker-1"}, &corev1.Node{}))).To(BeTrue())
		running("worker-2")
		Expect(leftovers(ctx, metalNS)).To(ConsistOf("ServerClaim worker-2", "Secret worker-2-ignition", "IPAddressClaim worker-2-node"))
	})
})
