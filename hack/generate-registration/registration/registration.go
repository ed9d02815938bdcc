// Package registration builds the manifests that register gardener-extension-provider-metal with Gardener: the
// ControllerRegistration and ControllerDeployment for gardenlet, and the Extension for gardener-operator. The
// extension resources the binary serves are listed here once; hack/generate-registration writes the manifests
// and test/integration/charts checks that the binary reconciles exactly these resources.
package registration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	gardencorev1 "github.com/gardener/gardener/pkg/apis/core/v1"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	operatorv1alpha1 "github.com/gardener/gardener/pkg/apis/operator/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const (
	// Name is the name of the ControllerRegistration, ControllerDeployment and Extension.
	Name = metal.Name
	// ProviderChartPath is the extension's deployment chart, relative to the repository root.
	ProviderChartPath = "charts/gardener-extension-provider-metal"
	// AdmissionRuntimeChartPath is the admission component's chart for the runtime cluster.
	AdmissionRuntimeChartPath = "charts/gardener-extension-admission-metal/charts/runtime"
	// AdmissionApplicationChartPath is the admission component's chart for the (virtual) garden cluster.
	AdmissionApplicationChartPath = "charts/gardener-extension-admission-metal/charts/application"
	// ChartRepository is the OCI repository the charts are published to, one chart per sub-path.
	ChartRepository = "ghcr.io/openkcm/charts"
	// ControllerRegistrationPath is where the ControllerRegistration and ControllerDeployment are written.
	ControllerRegistrationPath = "example/controller-registration.yaml"
	// ExtensionPath is where the operator Extension is written.
	ExtensionPath = "example/extension.yaml"
)

// Resources are the extension resources (kind and type) gardener-extension-provider-metal reconciles.
var Resources = []gardencorev1beta1.ControllerResource{
	{Kind: extensionsv1alpha1.InfrastructureResource, Type: metal.Type},
	{Kind: extensionsv1alpha1.ControlPlaneResource, Type: metal.Type},
	{Kind: extensionsv1alpha1.WorkerResource, Type: metal.Type},
	{Kind: extensionsv1alpha1.DNSRecordResource, Type: metal.DNSType},
	{Kind: extensionsv1alpha1.BackupBucketResource, Type: metal.Type},
	{Kind: extensionsv1alpha1.BackupEntryResource, Type: metal.Type},
}

// Generate renders the registration manifests from the repository at root, keyed by their path relative to root.
func Generate(root string) (map[string][]byte, error) {
	version, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		return nil, fmt.Errorf("reading the version: %w", err)
	}
	v := strings.TrimSpace(string(version))

	chart, err := ChartArchive(filepath.Join(root, ProviderChartPath))
	if err != nil {
		return nil, err
	}
	image, err := chartImage(filepath.Join(root, ProviderChartPath), v)
	if err != nil {
		return nil, err
	}

	registration, err := controllerRegistration(chart, image)
	if err != nil {
		return nil, err
	}
	extension, err := extension(root, v, image)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{ControllerRegistrationPath: registration, ExtensionPath: extension}, nil
}

func controllerRegistration(chart []byte, image string) ([]byte, error) {
	values, err := imageValues(image)
	if err != nil {
		return nil, err
	}
	deployment := &gardencorev1.ControllerDeployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1.SchemeGroupVersion.String(), Kind: "ControllerDeployment"},
		ObjectMeta: metav1.ObjectMeta{Name: Name},
		Helm:       &gardencorev1.HelmControllerDeployment{RawChart: chart, Values: values},
		// gardenlet then mounts a garden kubeconfig (GARDEN_KUBECONFIG), which the Worker controller needs to restore
		// machines from the ShootState.
		InjectGardenKubeconfig: ptr.To(true),
	}
	registration := &gardencorev1beta1.ControllerRegistration{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "ControllerRegistration"},
		ObjectMeta: metav1.ObjectMeta{Name: Name},
		Spec: gardencorev1beta1.ControllerRegistrationSpec{
			Resources: slices.Clone(Resources),
			Deployment: &gardencorev1beta1.ControllerRegistrationDeployment{
				DeploymentRefs: []gardencorev1beta1.DeploymentRef{{Name: Name}},
			},
		},
	}
	return documents(deployment, registration)
}

func extension(root, version, image string) ([]byte, error) {
	values, err := imageValues(image)
	if err != nil {
		return nil, err
	}
	charts := map[string]*operatorv1alpha1.DeploymentSpec{}
	for _, chartPath := range []string{ProviderChartPath, AdmissionRuntimeChartPath, AdmissionApplicationChartPath} {
		name, err := chartName(filepath.Join(root, chartPath))
		if err != nil {
			return nil, err
		}
		charts[chartPath] = &operatorv1alpha1.DeploymentSpec{Helm: &operatorv1alpha1.ExtensionHelm{OCIRepository: &gardencorev1.OCIRepository{
			Repository: new(ChartRepository + "/" + name),
			Tag:        new(version),
		}}}
	}
	admissionImage, err := chartImage(filepath.Join(root, AdmissionRuntimeChartPath), version)
	if err != nil {
		return nil, err
	}
	// gardener-operator runs the admission component in the runtime cluster and calls it from the virtual
	// garden's kube-apiserver by URL.
	admissionValues, err := jsonValues(map[string]any{
		"image":         admissionImage,
		"webhookConfig": map[string]any{"mode": "url"},
	})
	if err != nil {
		return nil, err
	}
	ext := &operatorv1alpha1.Extension{
		TypeMeta:   metav1.TypeMeta{APIVersion: operatorv1alpha1.SchemeGroupVersion.String(), Kind: "Extension"},
		ObjectMeta: metav1.ObjectMeta{Name: Name},
		Spec: operatorv1alpha1.ExtensionSpec{
			Resources: slices.Clone(Resources),
			Deployment: &operatorv1alpha1.Deployment{
				ExtensionDeployment: &operatorv1alpha1.ExtensionDeploymentSpec{
					DeploymentSpec:         *charts[ProviderChartPath],
					Values:                 values,
					InjectGardenKubeconfig: ptr.To(true),
				},
				AdmissionDeployment: &operatorv1alpha1.AdmissionDeploymentSpec{
					RuntimeCluster: charts[AdmissionRuntimeChartPath],
					VirtualCluster: charts[AdmissionApplicationChartPath],
					Values:         admissionValues,
				},
			},
		},
	}
	return documents(ext)
}

// chartName is the name in the chart's Chart.yaml, under which it is published.
func chartName(chartDir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return "", fmt.Errorf("reading the chart metadata: %w", err)
	}
	var chart struct {
		Name string `json:"name"`
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		return "", fmt.Errorf("decoding %s/Chart.yaml: %w", chartDir, err)
	}
	if chart.Name == "" {
		return "", fmt.Errorf("%s/Chart.yaml has no name", chartDir)
	}
	return chart.Name, nil
}

// chartImage is the chart's default image with the tag set to version.
func chartImage(chartDir, version string) (string, error) {
	data, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return "", fmt.Errorf("reading the chart values: %w", err)
	}
	var values struct {
		Image string `json:"image"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		return "", fmt.Errorf("decoding the chart values: %w", err)
	}
	repository, _, found := strings.Cut(values.Image, ":")
	if !found || repository == "" {
		return "", fmt.Errorf("chart value image %q is not <repository>:<tag>", values.Image)
	}
	return repository + ":" + version, nil
}

func imageValues(image string) (*apiextensionsv1.JSON, error) {
	return jsonValues(map[string]any{"image": image})
}

func jsonValues(values map[string]any) (*apiextensionsv1.JSON, error) {
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("encoding values: %w", err)
	}
	return &apiextensionsv1.JSON{Raw: raw}, nil
}

// documents renders the objects as one YAML stream, without the empty creation timestamps.
func documents(objects ...any) ([]byte, error) {
	var out bytes.Buffer
	out.WriteString("# Generated by hack/generate-registration (make generate); do not edit.\n")
	for _, obj := range objects {
		data, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("encoding %T: %w", obj, err)
		}
		out.WriteString("---\n")
		data = bytes.ReplaceAll(data, []byte("  creationTimestamp: null\n"), nil)
		out.Write(bytes.TrimSuffix(data, []byte("status: {}\n")))
	}
	return out.Bytes(), nil
}

// ChartArchive packs the chart directory as a Helm chart archive (gzipped tar with the chart name as top
// directory). Files are sorted and carry no times or owners, so the archive only changes with the chart.
func ChartArchive(chartDir string) ([]byte, error) {
	var files []string
	if err := filepath.WalkDir(chartDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(chartDir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("listing the chart %s: %w", chartDir, err)
	}
	slices.Sort(files)

	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, file := range files {
		data, err := os.ReadFile(filepath.Join(chartDir, filepath.FromSlash(file)))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", file, err)
		}
		header := &tar.Header{
			Name:     path.Join(filepath.Base(chartDir), file),
			Mode:     0o644,
			Size:     int64(len(data)),
			Typeflag: tar.TypeReg,
			Format:   tar.FormatPAX,
		}
		if err := tw.WriteHeader(header); err != nil {
			return nil, fmt.Errorf("packing %s: %w", file, err)
		}
		if _, err := tw.Write(data); err != nil {
			return nil, fmt.Errorf("packing %s: %w", file, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("packing the chart: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("compressing the chart: %w", err)
	}
	return buf.Bytes(), nil
}
