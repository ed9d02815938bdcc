package driver_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
)

// setUpBenchmark starts an API server for a benchmark (the ginkgo suite's BeforeSuite does not run for
// benchmarks) and sets the package's clients to it.
func setUpBenchmark(b *testing.B) {
	b.Helper()
	RegisterFailHandler(func(message string, _ ...int) { b.Fatal(message) })
	var stop func() error
	cfg, stop = startAPIServer()
	b.Cleanup(func() { _ = stop() })
	driverConfig = countingConfig(cfg, &requests)
	admin = newAdminClient(cfg)
}

// BenchmarkGetMachineStatus reports the metal API requests of one GetMachineStatus of an initialized, running
// machine with one IPAM entry.
func BenchmarkGetMachineStatus(b *testing.B) {
	setUpBenchmark(b)
	ctx := context.Background()
	ns := newNamespace(ctx, "bench")
	d := newDriver(ns, driver.NodeNameServerClaimName)
	class, secret, binder := machineClass(specJSON(nil)), userDataSecret(), testBinder{c: admin}
	if _, err := d.CreateMachine(ctx, &mcmdriver.CreateMachineRequest{Machine: machine("m1"), MachineClass: class, Secret: secret}); err != nil {
		b.Fatal(err)
	}
	binder.bind(ctx, ns, "m1", "bench-s1")
	initialize := &mcmdriver.InitializeMachineRequest{Machine: machine("m1"), MachineClass: class, Secret: secret}
	_, _ = d.InitializeMachine(ctx, initialize)
	binder.assignAddress(ctx, ns, "m1-node", "10.2.0.10")
	if _, err := d.InitializeMachine(ctx, initialize); err != nil {
		b.Fatal(err)
	}
	binder.powerServer(ctx, "bench-s1", metalv1alpha1.ServerOnPowerState)

	req := &mcmdriver.GetMachineStatusRequest{Machine: machine("m1"), MachineClass: class, Secret: secret}
	requests.Store(0)
	calls := 0
	for b.Loop() {
		if _, err := d.GetMachineStatus(ctx, req); err != nil {
			b.Fatal(err)
		}
		calls++
	}
	b.ReportMetric(float64(requests.Load())/float64(calls), "metal-requests/op")
}

// BenchmarkReconcileRunningMachine reports the API requests of the real MCM machine controller per reconcile of
// a Running machine: metal API requests of the driver and control/target cluster requests of MCM. Each
// iteration flips a Node condition, which makes MCM reconcile the Machine and copy the conditions to its status.
func BenchmarkReconcileRunningMachine(b *testing.B) {
	setUpBenchmark(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	controlNS, metalNS := newNamespace(ctx, "shoot"), newNamespace(ctx, "metal")
	var mcmRequests atomic.Int64
	if err := startMachineController(ctx, countingConfig(cfg, &mcmRequests), controlNS, newDriver(metalNS, driver.NodeNameServerClaimName)); err != nil {
		b.Fatal(err)
	}
	binder := &loopingTestBinder{c: admin, ns: metalNS}
	if err := binder.freeServers(ctx, metalNS, 1); err != nil {
		b.Fatal(err)
	}
	go binder.run(ctx, 100*time.Millisecond, b.Logf)
	if err := createMachineObjects(ctx, admin, controlNS, "worker-1"); err != nil {
		b.Fatal(err)
	}
	key := client.ObjectKey{Namespace: controlNS, Name: "worker-1"}
	waitFor(ctx, b, 90*time.Second, func(m *machinev1alpha1.Machine) bool {
		return m.Status.CurrentStatus.Phase == machinev1alpha1.MachineRunning
	}, key)
	// Let the creation flow's last requeues pass, so that only the benchmark's reconciles are counted.
	time.Sleep(6 * time.Second)

	requests.Store(0)
	mcmRequests.Store(0)
	reconciles := 0
	for b.Loop() {
		reconciles++
		probe := corev1.ConditionTrue
		if reconciles%2 == 0 {
			probe = corev1.ConditionFalse
		}
		setNodeProbe(ctx, b, "worker-1", probe)
		waitFor(ctx, b, 30*time.Second, func(m *machinev1alpha1.Machine) bool {
			for _, c := range m.Status.Conditions {
				if c.Type == "BenchmarkProbe" {
					return c.Status == probe
				}
			}
			return false
		}, key)
	}
	b.ReportMetric(float64(requests.Load())/float64(reconciles), "metal-requests/reconcile")
	b.ReportMetric(float64(mcmRequests.Load())/float64(reconciles), "mcm-requests/reconcile")
}

// setNodeProbe sets the BenchmarkProbe condition of a Node, a condition MCM copies without judging health.
func setNodeProbe(ctx context.Context, b *testing.B, name string, status corev1.ConditionStatus) {
	node := &corev1.Node{}
	if err := admin.Get(ctx, client.ObjectKey{Name: name}, node); err != nil {
		b.Fatal(err)
	}
	conditions := []corev1.NodeCondition{}
	for _, c := range node.Status.Conditions {
		if c.Type != "BenchmarkProbe" {
			conditions = append(conditions, c)
		}
	}
	node.Status.Conditions = append(conditions, corev1.NodeCondition{Type: "BenchmarkProbe", Status: status, Reason: "Benchmark"})
	if err := admin.Status().Update(ctx, node); err != nil {
		b.Fatal(err)
	}
}

// waitFor polls the Machine until done holds.
func waitFor(ctx context.Context, b *testing.B, timeout time.Duration, done func(*machinev1alpha1.Machine) bool, key client.ObjectKey) {
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		m := &machinev1alpha1.Machine{}
		if err := admin.Get(ctx, key, m); err != nil {
			return false, err
		}
		return done(m), nil
	})
	if err != nil {
		b.Fatal(fmt.Errorf("waiting for Machine %s: %w", key, err))
	}
}
