package helper

import (
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

// FindMachineType returns the mapping of the machine type with the given name.
func FindMachineType(cfg *metal.CloudProfileConfig, name string) (*metal.MachineType, bool) {
	if cfg == nil {
		return nil, false
	}
	for i := range cfg.MachineTypes {
		if cfg.MachineTypes[i].Name == name {
			return &cfg.MachineTypes[i], true
		}
	}
	return nil, false
}

// FindRegionConfig returns the metal API configuration of the given region.
func FindRegionConfig(cfg *metal.CloudProfileConfig, region string) (*metal.RegionConfig, bool) {
	if cfg == nil {
		return nil, false
	}
	for i := range cfg.RegionConfigs {
		if cfg.RegionConfigs[i].Name == region {
			return &cfg.RegionConfigs[i], true
		}
	}
	return nil, false
}

// FindMachineImageVersion returns the first mapping of the machine image with the given name and version.
// Without capabilities a version may be listed once per architecture; callers that care about the
// architecture must look at all entries of the version.
func FindMachineImageVersion(cfg *metal.CloudProfileConfig, name, version string) (*metal.MachineImageVersion, bool) {
	if cfg == nil {
		return nil, false
	}
	for i := range cfg.MachineImages {
		if cfg.MachineImages[i].Name != name {
			continue
		}
		versions := cfg.MachineImages[i].Versions
		for j := range versions {
			if versions[j].Version == version {
				return &versions[j], true
			}
		}
	}
	return nil, false
}

// LocalStorageEnabled tells whether the `local` StorageClass is deployed. It is unless switched off explicitly,
// because bare metal has no CSI driver and node-local volumes are the only storage a shoot gets.
func LocalStorageEnabled(cfg *metal.ControlPlaneConfig) bool {
	if cfg == nil || cfg.Storage == nil || cfg.Storage.Local == nil || cfg.Storage.Local.Enabled == nil {
		return true
	}
	return *cfg.Storage.Local.Enabled
}

// ConfigureNodeAddresses tells whether the cloud-controller-manager sets the Nodes' addresses. It does unless
// switched off explicitly (also when the config has no networking section), because a kubelet started with
// --cloud-provider=external and no --node-ip publishes only its hostname.
func ConfigureNodeAddresses(cfg *metal.ControlPlaneConfig) bool {
	if cfg == nil || cfg.CloudControllerManager == nil || cfg.CloudControllerManager.Networking == nil ||
		cfg.CloudControllerManager.Networking.ConfigureNodeAddresses == nil {
		return true
	}
	return *cfg.CloudControllerManager.Networking.ConfigureNodeAddresses
}
