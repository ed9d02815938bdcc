package landscape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// readManifests reads the YAML documents of file, replacing ${NAME} with vars[NAME]; an unknown variable is an
// error, so that a typo in an example cannot produce an object with an empty field.
func readManifests(file string, vars map[string]string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var missing []string
	expanded := os.Expand(string(data), func(name string) string {
		value, ok := vars[name]
		if !ok {
			missing = append(missing, name)
		}
		return value
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s uses unknown variables %s", file, strings.Join(missing, ", "))
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(expanded)), 4096)
	var objs []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("decoding %s: %w", file, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

// applyFiles creates the objects of the given files, in order.
func applyFiles(ctx context.Context, c client.Client, files []string, vars map[string]string) ([]*unstructured.Unstructured, error) {
	var created []*unstructured.Unstructured
	for _, file := range files {
		objs, err := readManifests(file, vars)
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
