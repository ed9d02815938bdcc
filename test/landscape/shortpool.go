package landscape

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
)

const (
	// shortPool is the pool the short-pool phase adds: its machines select a Server label no Server carries.
	shortPool = "short"
	// shortPoolZone is the zone of the short pool.
	shortPoolZone = "zone-a"
	// shortPoolLabel is the extra Server label of the short pool, which no Server of the landscape carries.
	shortPoolLabel = "landscape.local/pool"
)

// addShortPool adds a pool of ShortPool machines to the running shoot, in zone-a, whose Servers must carry a
// label that no Server has: a pool larger than its zone's free Servers. It changes the Shoot in the Cluster (what
// the Infrastructure counts) and the Worker, as gardenlet does, and asks both to reconcile.
func (l *landscape) addShortPool(ctx context.Context) error {
	extra := map[string]any{shortPoolLabel: shortPool}
	cluster := &unstructured.Unstructured{}
	cluster.SetAPIVersion(extensionsv1alpha1.SchemeGroupVersion.String())
	cluster.SetKind("Cluster")
	if err := l.seed.Get(ctx, client.ObjectKey{Name: seedNamespace}, cluster); err != nil {
		return err
	}
	if err := appendToSlice(cluster.Object, map[string]any{
		"name":    shortPool,
		"machine": map[string]any{"type": machineType, "image": map[string]any{"name": "gardenlinux", "version": "1877.0.0"}, "architecture": "amd64"},
		"minimum": int64(l.opts.ShortPool),
		"maximum": int64(l.opts.ShortPool),
		"zones":   []any{shortPoolZone},
		"providerConfig": map[string]any{
			"apiVersion": "metal.provider.extensions.gardener.cloud/v1alpha1", "kind": "WorkerConfig", "extraServerLabels": extra,
		},
	}, "spec", "shoot", "spec", "provider", "workers"); err != nil {
		return err
	}
	if err := l.seed.Update(ctx, cluster); err != nil {
		return err
	}

	worker := &unstructured.Unstructured{}
	worker.SetAPIVersion(extensionsv1alpha1.SchemeGroupVersion.String())
	worker.SetKind("Worker")
	if err := l.seed.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: "metal"}, worker); err != nil {
		return err
	}
	if err := appendToSlice(worker.Object, map[string]any{
		"name":                shortPool,
		"machineType":         machineType,
		"machineImage":        map[string]any{"name": "gardenlinux", "version": "1877.0.0"},
		"architecture":        "amd64",
		"minimum":             int64(l.opts.ShortPool),
		"maximum":             int64(l.opts.ShortPool),
		"maxSurge":            int64(1),
		"maxUnavailable":      int64(0),
		"zones":               []any{shortPoolZone},
		"userDataSecretRef":   map[string]any{"name": "worker-userdata", "key": "userData"},
		"nodeAgentSecretName": "gardener-node-agent-worker",
		"providerConfig": map[string]any{
			"apiVersion": "metal.provider.extensions.gardener.cloud/v1alpha1", "kind": "WorkerConfig", "extraServerLabels": extra,
		},
	}, "spec", "pools"); err != nil {
		return err
	}
	setReconcile(worker)
	if err := l.seed.Update(ctx, worker); err != nil {
		return err
	}
	infra := &extensionsv1alpha1.Infrastructure{}
	if err := l.seed.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: "metal"}, infra); err != nil {
		return err
	}
	setReconcile(infra)
	if err := l.seed.Update(ctx, infra); err != nil {
		return err
	}
	l.step(fmt.Sprintf("added pool %q: %d machines in %s selecting %s=%s, which no Server carries", shortPool, l.opts.ShortPool, shortPoolZone, shortPoolLabel, shortPool))
	return nil
}

func appendToSlice(obj map[string]any, item any, fields ...string) error {
	items, _, err := unstructured.NestedSlice(obj, fields...)
	if err != nil {
		return err
	}
	return unstructured.SetNestedSlice(obj, append(items, item), fields...)
}

func setReconcile(obj client.Object) {
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[v1beta1constants.GardenerOperation] = v1beta1constants.GardenerOperationReconcile
	obj.SetAnnotations(annotations)
}

// waitShortPool waits until the short pool's machines report ResourceExhausted naming the pool's selector, every
// machine of the other pool still runs, and the Infrastructure, reconciled again, succeeded with the short pool's
// shortage in its status. It prints what the machines and the Infrastructure say.
func (l *landscape) waitShortPool(ctx context.Context) error {
	want := l.opts.MachinesPerZone * len(zones)
	var exhausted, capacity string
	err := l.watch(ctx, "the short pool is reported, the other pool runs", func(s snapshot) bool {
		var err error
		if exhausted, err = l.shortPoolMessage(ctx); err != nil || exhausted == "" {
			return false
		}
		if capacity, err = l.shortPoolCapacity(ctx); err != nil || capacity == "" {
			return false
		}
		return s.machines[machinev1alpha1.MachineRunning] == want && s.nodesReady == want && s.exhausted == l.opts.ShortPool &&
			s.extensions["infrastructure"] == "Succeeded"
	})
	if err != nil {
		return err
	}
	l.step("short pool machines: " + exhausted)
	l.step("infrastructure status: " + capacity)
	return nil
}

// shortPoolMessage returns the lastOperation of a short pool machine once it says ResourceExhausted and names the
// pool's selector.
func (l *landscape) shortPoolMessage(ctx context.Context) (string, error) {
	machines := &machinev1alpha1.MachineList{}
	if err := l.seed.List(ctx, machines, client.InNamespace(seedNamespace)); err != nil {
		return "", err
	}
	for _, m := range machines.Items {
		op := m.Status.LastOperation
		if strings.Contains(m.Name, "-"+shortPool+"-") && op.ErrorCode == "ResourceExhausted" &&
			strings.Contains(op.Description, shortPoolLabel+"="+shortPool) && strings.Contains(op.Description, "zone "+shortPoolZone) {
			return fmt.Sprintf("%s %s: %s", m.Status.CurrentStatus.Phase, op.ErrorCode, op.Description), nil
		}
	}
	return "", nil
}

// shortPoolCapacity returns the short pool's entry of the Infrastructure's serverCapacity once the Infrastructure
// reconciled after the pool was added and reports it short.
func (l *landscape) shortPoolCapacity(ctx context.Context) (string, error) {
	infra := &extensionsv1alpha1.Infrastructure{}
	if err := l.seed.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: "metal"}, infra); err != nil {
		return "", err
	}
	if infra.Annotations[v1beta1constants.GardenerOperation] != "" || infra.Status.ProviderStatus == nil {
		return "", nil
	}
	return shortPoolIn(infra, func(c v1alpha1.ServerCapacity) bool { return c.Pool == shortPool && c.Zone == shortPoolZone })
}

// shortPoolIn describes the first pool and zone of the Infrastructure's reported Server capacity that match and
// have fewer Servers available than their minimum, or returns "".
func shortPoolIn(infra *extensionsv1alpha1.Infrastructure, match func(v1alpha1.ServerCapacity) bool) (string, error) {
	status := &v1alpha1.InfrastructureStatus{}
	if err := json.Unmarshal(infra.Status.ProviderStatus.Raw, status); err != nil {
		return "", fmt.Errorf("provider status of Infrastructure %s/%s: %w", infra.Namespace, infra.Name, err)
	}
	for _, c := range status.ServerCapacity {
		if match(c) && c.Available < c.Minimum {
			return fmt.Sprintf("pool %s zone %s: %d of %d available", c.Pool, c.Zone, c.Available, c.Minimum), nil
		}
	}
	return "", nil
}
