// Command generate-registration writes example/controller-registration.yaml (ControllerRegistration and
// ControllerDeployment with the packed deployment chart) and example/extension.yaml (gardener-operator
// Extension) from the resources listed in its registration package.
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/openkcm/gardener-extension-provider-metal/hack/generate-registration/registration"
)

func main() {
	root := flag.String("root", ".", "root of the repository")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(root string) error {
	files, err := registration.Generate(root)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(root, name), files[name], 0o644); err != nil { //nolint:gosec // manifests are meant to be read by everyone
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}
