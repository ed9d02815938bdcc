package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
)

// kinds are the extension objects of a shoot, in the order they are reported.
var kinds = []string{"Infrastructure", "ControlPlane", "Worker"}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *extensionsv1alpha1.Infrastructure:
		return "Infrastructure"
	case *extensionsv1alpha1.ControlPlane:
		return "ControlPlane"
	case *extensionsv1alpha1.Worker:
		return "Worker"
	}
	return fmt.Sprintf("%T", obj)
}

// tracker measures, from the benchmark's watch of the extension objects, how long each armed object takes from
// the request that asks for a reconcile (its creation, or the reconcile annotation) to the moment its status
// reports that reconcile succeeded.
type tracker struct {
	mu      sync.Mutex
	armed   map[string]armedObject
	pending int
	// errors counts objects that reported an error while armed: the happy path shows none.
	errors  map[string]bool
	allDone chan struct{}
}

type armedObject struct {
	start time.Time
	// after is the last operation's update time before the reconcile was asked for; the reconcile's success
	// carries a later one.
	after metav1.Time
	done  time.Time
}

func newTracker(ctx context.Context, c cache.Cache) (*tracker, error) {
	t := &tracker{armed: map[string]armedObject{}, errors: map[string]bool{}}
	for _, obj := range []client.Object{&extensionsv1alpha1.Infrastructure{}, &extensionsv1alpha1.ControlPlane{}, &extensionsv1alpha1.Worker{}} {
		informer, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, err
		}
		if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    t.observe,
			UpdateFunc: func(_, obj any) { t.observe(obj) },
		}); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func key(obj client.Object) string { return kindOf(obj) + "/" + obj.GetNamespace() }

// start begins a phase of n objects.
func (t *tracker) start(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.armed = map[string]armedObject{}
	t.errors = map[string]bool{}
	t.pending = n
	t.allDone = make(chan struct{})
}

// arm records that a reconcile of the object is asked for now; call it right before the request.
func (t *tracker) arm(obj client.Object, after metav1.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.armed[key(obj)] = armedObject{start: time.Now(), after: after}
}

func (t *tracker) observe(o any) {
	obj, ok := o.(extensionsv1alpha1.Object)
	if !ok {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	k := key(obj)
	a, ok := t.armed[k]
	if !ok || !a.done.IsZero() {
		return
	}
	status := obj.GetExtensionStatus()
	if status.GetLastError() != nil {
		t.errors[k] = true
	}
	last := status.GetLastOperation()
	if _, annotated := obj.GetAnnotations()[v1beta1constants.GardenerOperation]; annotated || last == nil ||
		last.State != gardencorev1beta1.LastOperationStateSucceeded || status.GetObservedGeneration() != obj.GetGeneration() ||
		!last.LastUpdateTime.After(a.after.Time) {
		return
	}
	a.done = now
	t.armed[k] = a
	t.pending--
	if t.pending == 0 {
		close(t.allDone)
	}
}

// wait waits until every object of the phase is done or the timeout passes; it names the ones not done.
func (t *tracker) wait(timeout time.Duration) error {
	t.mu.Lock()
	done := t.allDone
	t.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var missing []string
	for k, a := range t.armed {
		if a.done.IsZero() {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 5 {
		missing = append(missing[:5], "...")
	}
	return fmt.Errorf("%d objects did not report success within %s: %s", t.pending, timeout, strings.Join(missing, ", "))
}

// latencies returns the seconds from request to success of the phase's objects by kind.
func (t *tracker) latencies() map[string][]float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	result := map[string][]float64{}
	for k, a := range t.armed {
		kind := strings.SplitN(k, "/", 2)[0]
		result[kind] = append(result[kind], a.done.Sub(a.start).Seconds())
	}
	return result
}

// errorCount is the number of objects that reported an error in the phase.
func (t *tracker) errorCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.errors)
}
