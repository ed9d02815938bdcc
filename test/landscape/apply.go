package landscape

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/openkcm/gardener-extension-provider-metal/test/utils/manifests"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// applyFiles creates the objects of the given files, in order.
func applyFiles(ctx context.Context, c client.Client, files []string, vars map[string]string) ([]*unstructured.Unstructured, error) {
	var created []*unstructured.Unstructured
	for _, file := range files {
		objs, err := manifests.Read(file, vars)
		if err != nil {
			return created, err
		}
		for _, obj := range objs {
			if err := c.Create(ctx, obj); err != nil {
				return created, fmt.Errorf("creating %s %s from %s: %w", obj.GetKind(), client.ObjectKeyFromObject(obj), filepath.Base(file), err)
			}
			created = append(created, obj)
		}
	}
	return created, nil
}

// manifestFiles lists the YAML files of dir in name order.
func manifestFiles(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	return files, nil
}
