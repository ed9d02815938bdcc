package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// imageMap maps container images to the host binaries that stand in for them.
type imageMap map[string]string

// Set parses IMAGE=PATH (a repeated --image flag).
func (m imageMap) Set(v string) error {
	image, path, ok := strings.Cut(v, "=")
	if !ok || image == "" || path == "" {
		return fmt.Errorf("want IMAGE=PATH, got %q", v)
	}
	return m.add(image, path)
}

func (m imageMap) add(image, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	m[image] = abs
	return nil
}

func (m imageMap) String() string { return fmt.Sprint(map[string]string(m)) }

// Type names the flag's value in the help text.
func (m imageMap) Type() string { return "IMAGE=PATH" }

// load adds the entries of a YAML or JSON file that maps images to paths; relative paths are relative to the file.
func (m imageMap) load(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading image map: %w", err)
	}
	entries := map[string]string{}
	if err := yaml.Unmarshal(data, &entries); err != nil {
		return fmt.Errorf("parsing image map %s: %w", file, err)
	}
	for image, path := range entries {
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(file), path)
		}
		if err := m.add(image, path); err != nil {
			return err
		}
	}
	return nil
}

// lookup finds the binary for image: the full reference first, then the repository without digest and tag.
func (m imageMap) lookup(image string) (string, bool) {
	if path, ok := m[image]; ok {
		return path, true
	}
	path, ok := m[imageRepository(image)]
	return path, ok
}

// imageRepository strips the digest (@sha256:...) and the tag (a colon after the last slash) of a reference.
func imageRepository(image string) string {
	repo, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo
}

// entrypointNames are the command[0] values that mean "the image's entrypoint" for a mapped binary: the
// binary's file name and the last element of the image repository.
func entrypointNames(image, binary string) []string {
	repo := imageRepository(image)
	return []string{filepath.Base(binary), repo[strings.LastIndex(repo, "/")+1:]}
}
