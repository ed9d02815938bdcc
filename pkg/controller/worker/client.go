package worker

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// emptyPatchSkippingClient does not send merge patches without content. Gardener's generic actuator patches
// every MachineDeployment on every reconcile (controllerutils.GetAndCreateOrMergePatch without the
// SkipEmptyPatch option), so an unchanged Worker would cost one request per pool and zone that the API server
// answers without changing anything. Skipping them changes no object; only the object passed in is not
// refreshed from the server, which none of the generic actuator's callers read afterwards.
type emptyPatchSkippingClient struct {
	client.Client
}

// Patch sends the patch unless it is an empty merge patch.
func (c emptyPatchSkippingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	if patch.Type() != types.MergePatchType {
		return c.Client.Patch(ctx, obj, patch, opts...)
	}
	data, err := patch.Data(obj)
	if err != nil {
		return err
	}
	if string(data) == "{}" {
		return nil
	}
	// The data is computed already; sending it raw saves computing the diff a second time.
	return c.Client.Patch(ctx, obj, client.RawPatch(patch.Type(), data), opts...)
}

// actuatorManager hands the generic actuator a client that skips empty patches.
type actuatorManager struct {
	manager.Manager
	client client.Client
}

// GetClient returns the client that skips empty merge patches.
func (m actuatorManager) GetClient() client.Client {
	return m.client
}
