package infrastructure

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

// checkIPAMPools makes sure every IPAM pool the networks reference exists in the metal API. Pools are
// cluster-api IPAM provider objects of any kind, so they are read as unstructured objects.
func (m *metalAPI) checkIPAMPools(ctx context.Context, networks []api.Network, fldPath *field.Path) error {
	for i, network := range networks {
		ref := network.IPAMPoolRef
		if ref == nil {
			continue
		}
		refPath := fldPath.Index(i).Child("ipamPoolRef")
		mapping, err := m.RESTMapper().RESTMapping(schema.GroupKind{Group: ref.APIGroup, Kind: ref.Kind})
		if err != nil {
			if meta.IsNoMatchError(err) {
				return configurationProblem(fmt.Errorf("%s: the metal API does not serve kind %s of group %s", refPath, ref.Kind, ref.APIGroup))
			}
			return fmt.Errorf("%s: looking up kind %s of group %s in the metal API: %w", refPath, ref.Kind, ref.APIGroup, err)
		}
		pool := &unstructured.Unstructured{}
		pool.SetGroupVersionKind(mapping.GroupVersionKind)
		key := client.ObjectKey{Name: ref.Name}
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			key.Namespace = m.namespace
		}
		if err := m.Get(ctx, key, pool); err != nil {
			if apierrors.IsNotFound(err) {
				return configurationProblem(fmt.Errorf("%s: %s %q does not exist in the metal API", refPath, ref.Kind, key))
			}
			return accessError(fmt.Errorf("%s: reading %s %q: %w", refPath, ref.Kind, key, err))
		}
	}
	return nil
}
