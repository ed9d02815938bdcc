// Package charts embeds the Helm charts the metal extension renders into ManagedResources. The `all:` prefix keeps
// the `_helpers.tpl` partials, which go:embed would skip otherwise.
package charts

import "embed"

// InternalChart holds the charts under internal/.
//
//go:embed all:internal
var InternalChart embed.FS

const (
	// InternalChartsPath is the directory of the charts inside InternalChart.
	InternalChartsPath = "internal"
	// SeedControlPlaneChartPath is the umbrella chart of the components in the shoot's control plane namespace.
	SeedControlPlaneChartPath = InternalChartsPath + "/seed-controlplane"
	// ShootSystemComponentsChartPath is the umbrella chart of the components and RBAC in the shoot.
	ShootSystemComponentsChartPath = InternalChartsPath + "/shoot-system-components"
	// ShootCRDsChartPath is the chart of the CustomResourceDefinitions the shoot components need.
	ShootCRDsChartPath = InternalChartsPath + "/shoot-crds"
	// ShootStorageClassesChartPath is the chart of the shoot's StorageClasses.
	ShootStorageClassesChartPath = InternalChartsPath + "/shoot-storageclasses"
)
