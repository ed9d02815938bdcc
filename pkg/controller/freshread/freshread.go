// Package freshread gives Gardener's generic extension reconcilers a manager whose client reads an extension object
// that lacks the reconciler's finalizer from the API server instead of the manager's cache.
//
// Gardener's OperationAnnotationWrapper (pkg/controllerutils/reconciler of gardener/gardener) removes the
// gardener.cloud/operation annotation with a patch and then hands over to the reconciler, which reads the object
// again and, on the first reconcile, adds its finalizer with optimistic locking (controllerutils.AddFinalizers).
// Read from the cache, that object mostly predates the wrapper's patch, so the first reconcile of a new object
// (gardenlet creates them with the annotation) failed with a conflict and was requeued behind every other queued
// object: in the scale benchmark 32 to 49 of 50 Infrastructures, ControlPlanes and Workers each. Read from the API
// server, the object is the patched one. Objects that carry the finalizer, i.e. every later reconcile, are read
// from the cache as before.
package freshread

import (
	"context"
	"reflect"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Manager returns mgr with a client that reads an object of kind's type from the API server when the cached copy
// lacks finalizer; every other read goes to mgr's client. Pass it to a Gardener controller's Add function only.
func Manager(mgr manager.Manager, kind client.Object, finalizer string) manager.Manager {
	return &freshManager{Manager: mgr, client: &freshClient{
		Client:    mgr.GetClient(),
		apiReader: mgr.GetAPIReader(),
		kind:      reflect.TypeOf(kind),
		finalizer: finalizer,
	}}
}

type freshManager struct {
	manager.Manager
	client client.Client
}

// GetClient returns the client that reads objects still without the finalizer from the API server.
func (m *freshManager) GetClient() client.Client { return m.client }

type freshClient struct {
	client.Client
	apiReader client.Reader
	kind      reflect.Type
	finalizer string
}

// Get reads from the cache and, for an object of the kind without the finalizer, once more from the API server.
func (c *freshClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := c.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	if reflect.TypeOf(obj) != c.kind || controllerutil.ContainsFinalizer(obj, c.finalizer) {
		return nil
	}
	return c.apiReader.Get(ctx, key, obj, opts...)
}
