package driver_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	machineclientset "github.com/gardener/machine-controller-manager/pkg/client/clientset/versioned"
	machineinformers "github.com/gardener/machine-controller-manager/pkg/client/informers/externalversions"
	mcmcontroller "github.com/gardener/machine-controller-manager/pkg/controller"
	mcmoptions "github.com/gardener/machine-controller-manager/pkg/options"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	gardenerutils "github.com/gardener/gardener/pkg/utils/gardener"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
)

// ignoringRegisterer accepts every collector and registers none: the machine controller and MCM's controller
// both register themselves with Prometheus' default registerer, and this test process runs several of them.
type ignoringRegisterer struct{}

func (ignoringRegisterer) Register(prometheus.Collector) error  { return nil }
func (ignoringRegisterer) MustRegister(...prometheus.Collector) {}
func (ignoringRegisterer) Unregister(prometheus.Collector) bool { return true }

// startMachineSetController runs MCM's MachineSet and MachineDeployment controllers (machine-controller-manager's
// own, next to the provider's machine controller) for namespace ns until ctx ends.
func startMachineSetController(ctx context.Context, config *rest.Config, ns string) error {
	machineClient, err := machineclientset.NewForConfig(config)
	if err != nil {
		return err
	}
	coreClient, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	machineInformers := machineinformers.NewFilteredSharedInformerFactory(machineClient, 0, ns, nil)
	targetInformers := kubeinformers.NewSharedInformerFactory(coreClient, 0)
	controller, err := mcmcontroller.NewController(
		ns,
		machineClient.MachineV1alpha1(),
		coreClient,
		coreClient,
		targetInformers,
		machineInformers.Machine().V1alpha1().Machines(),
		machineInformers.Machine().V1alpha1().MachineSets(),
		machineInformers.Machine().V1alpha1().MachineDeployments(),
		&record.FakeRecorder{},
		// machine-controller-manager's defaults (cmd/machine-controller-manager/app/options/options.go, NewMCMServer).
		mcmoptions.SafetyOptions{SafetyUp: 2, SafetyDown: 1, MachineSafetyOvershootingPeriod: metav1.Duration{Duration: time.Minute}},
		false,
	)
	if err != nil {
		return err
	}
	machineInformers.Start(ctx.Done())
	targetInformers.Start(ctx.Done())
	go controller.Run(2, ctx.Done())
	return nil
}

// failedMachinesHistory records, through a watch, every machine a MachineDeployment of a namespace reported as
// failed: Gardener's Worker reports those as errors.
type failedMachinesHistory struct {
	mu     sync.Mutex
	failed []string
}

func (h *failedMachinesHistory) record(ctx context.Context, config *rest.Config, ns string) error {
	c, err := client.NewWithWatch(config, client.Options{Scheme: testScheme()})
	if err != nil {
		return err
	}
	w, err := c.Watch(ctx, &machinev1alpha1.MachineDeploymentList{}, client.InNamespace(ns))
	if err != nil {
		return err
	}
	go func() {
		defer w.Stop()
		for event := range w.ResultChan() {
			deployment, ok := event.Object.(*machinev1alpha1.MachineDeployment)
			if !ok {
				continue
			}
			h.mu.Lock()
			for _, m := range deployment.Status.FailedMachines {
				h.failed = append(h.failed, fmt.Sprintf("%s: %s", m.Name, m.LastOperation.Description))
			}
			h.mu.Unlock()
		}
	}()
	return nil
}

func (h *failedMachinesHistory) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.failed)
}

var _ = Describe("MCM's MachineDeployment with the metal driver, deleted as Gardener's Worker deletion does", Ordered, func() {
	var (
		ctx       context.Context
		controlNS string
		metalNS   string
		failed    failedMachinesHistory
	)

	BeforeAll(func() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(context.Background())
		DeferCleanup(cancel)
		controlNS = newNamespace(ctx, "shoot")
		metalNS = newNamespace(ctx, "metal")
		Expect(failed.record(ctx, cfg, controlNS)).To(Succeed())
		Expect(startMachineController(ctx, cfg, controlNS, newDriver(metalNS, driver.NodeNameServerClaimName))).To(Succeed())
		prometheus.DefaultRegisterer = ignoringRegisterer{}
		Expect(startMachineSetController(ctx, cfg, controlNS)).To(Succeed())
		// A Server takes about five seconds to power off once its claim is gone.
		binder := &loopingTestBinder{c: admin, ns: metalNS, powerOffRounds: 50}
		// Servers are cluster-scoped: those of other specs would match the selector.
		Expect(admin.DeleteAllOf(ctx, &metalv1alpha1.Server{})).To(Succeed())
		Expect(binder.freeServers(ctx, metalNS, 1)).To(Succeed())
		go binder.run(ctx, 100*time.Millisecond, func(format string, args ...any) { GinkgoWriter.Printf(format, args...) })
	})

	It("reports no failed machine while the Server powers off, and Gardener's wait for the machine resources succeeds", func() {
		Expect(createMachineClass(ctx, admin, controlNS)).To(Succeed())
		deployment := &machinev1alpha1.MachineDeployment{
			ObjectMeta: metav1.ObjectMeta{Name: "pool-z1", Namespace: controlNS},
			Spec: machinev1alpha1.MachineDeploymentSpec{
				Replicas: 1,
				Strategy: machinev1alpha1.MachineDeploymentStrategy{Type: machinev1alpha1.RecreateMachineDeploymentStrategyType},
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"name": "pool-z1"}},
				Template: machinev1alpha1.MachineTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"name": "pool-z1"}},
					Spec:       machinev1alpha1.MachineSpec{Class: machinev1alpha1.ClassSpec{Kind: "MachineClass", Name: "pool-z1"}},
				},
			},
		}
		Expect(admin.Create(ctx, deployment)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(admin.Get(ctx, client.ObjectKeyFromObject(deployment), deployment)).To(Succeed())
			g.Expect(deployment.Status.AvailableReplicas).To(Equal(int32(1)))
		}).WithTimeout(90 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())

		By("deleting the MachineDeployment and the MachineClass, and waiting as Gardener's Worker deletion does")
		// genericactuator's Delete (extensions/pkg/controller/worker/genericactuator/actuator_delete.go) deletes all
		// MachineDeployments and MachineClasses, then waits with WaitUntilMachineResourcesDeleted, which fails on
		// the first failed machine a MachineDeployment reports.
		Expect(admin.Delete(ctx, deployment)).To(Succeed())
		Expect(admin.Delete(ctx, &machinev1alpha1.MachineClass{ObjectMeta: metav1.ObjectMeta{Name: "pool-z1", Namespace: controlNS}})).To(Succeed())
		Expect(gardenerutils.WaitUntilMachineResourcesDeleted(ctx, zap.New(zap.WriteTo(GinkgoWriter)), admin, controlNS)).To(Succeed())
		Expect(failed.all()).To(BeEmpty())
		Expect(leftovers(ctx, metalNS)).To(BeEmpty())
	})
})
