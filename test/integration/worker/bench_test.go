package worker_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	extensionsworker "github.com/gardener/gardener/extensions/pkg/controller/worker"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/worker"
)

// BenchmarkReconcileUnchangedWorker reports the cost of reconciling an unchanged Worker of three pools in two
// zones each, through the same reconciler the controller runs (operation bookkeeping included): client reads
// (answered by the cache or the API server), reads that reach the API server, writes, and allocations. The
// ginkgo suite's BeforeSuite does not run for benchmarks, so it starts its own seed.
func BenchmarkReconcileUnchangedWorker(b *testing.B) {
	RegisterFailHandler(func(message string, _ ...int) { b.Fatal(message) })
	env, err := startEnvironment(false)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(env.stop)
	seedClient, seedRequests = env.client, env.requests

	ctx := context.Background()
	s := newShoot(ctx)
	s.createWorker(ctx, generalPool(), gpuPool(), armPool())
	reconciler := extensionsworker.NewReconciler(env.manager, worker.NewActuator(env.manager, nil))
	request := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(s.worker)}
	// The first reconcile deploys everything and waits for the stand-in to report the deployments available.
	if _, err := reconciler.Reconcile(ctx, request); err != nil {
		b.Fatal(err)
	}
	Expect(seedClient.Get(ctx, request.NamespacedName, s.worker)).To(Succeed())
	Expect(s.worker.Status.LastOperation.State).To(Equal(gardencorev1beta1.LastOperationStateSucceeded))
	env.stopMachineControllerManager()

	env.requests.Reset()
	env.cacheReads.reads.Store(0)
	reconciles := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reconciler.Reconcile(ctx, request); err != nil {
			b.Fatal(err)
		}
		reconciles++
	}
	var apiReads, writes int
	for _, req := range env.requests.Recorded() {
		switch {
		case req.IsWrite():
			writes++
		case req.IsRead():
			apiReads++
		}
	}
	b.ReportMetric(float64(env.cacheReads.reads.Load())/float64(reconciles), "client-reads/op")
	b.ReportMetric(float64(apiReads)/float64(reconciles), "api-reads/op")
	b.ReportMetric(float64(writes)/float64(reconciles), "writes/op")
}
