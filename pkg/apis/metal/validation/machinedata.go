package validation

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/gardener/gardener/pkg/apis/core"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

// MaxMachineDataSize is how many bytes of a Server's ignition Secret the provider's own data may take: the
// CloudProfile's and the pool's Ignition and the machine metadata. A Secret holds at most 1 MiB
// (corev1.MaxSecretSize); the other half stays for the operating system's user data, which Gardener generates
// per pool and which the driver embeds base64-encoded, and for the generated files.
const MaxMachineDataSize = corev1.MaxSecretSize / 2

// addressPlaceholder stands for the address the driver writes under each IPAM metadata key (pkg/driver/ignition
// Address), at its longest: an IPv6 address with prefix and gateway.
var addressPlaceholder = map[string]any{
	"ip":      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	"prefix":  128,
	"gateway": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
}

// MachineData is what a pool puts into each of its machines' ignition Secret besides the operating system's
// user data.
type MachineData struct {
	// ProfileIgnition is the CloudProfile's Ignition.
	ProfileIgnition string
	// PoolIgnition is the pool's Ignition, inline or from its Secret.
	PoolIgnition string
	// Config is the pool's providerConfig (may be nil).
	Config *metal.WorkerConfig
}

// ValidateMachineDataSize checks that a pool's Ignition and metadata fit into its machines' ignition Secret next
// to the operating system's user data. fldPath is the path of the pool's providerConfig.
func ValidateMachineDataSize(data MachineData, fldPath *field.Path) field.ErrorList {
	metadataSize, err := metadataSize(data.Config)
	if err != nil {
		return field.ErrorList{field.Invalid(fldPath.Child("metadata"), field.OmitValueType{}, fmt.Sprintf("cannot be encoded: %v", err))}
	}
	total := len(data.ProfileIgnition) + len(data.PoolIgnition) + metadataSize
	if total <= MaxMachineDataSize {
		return nil
	}
	tooLong := field.TooLong(fldPath, field.OmitValueType{}, MaxMachineDataSize)
	tooLong.Detail = fmt.Sprintf("the CloudProfile's Ignition (%d bytes), the pool's Ignition (%d bytes) and the metadata (%d bytes, base64-encoded) take %d bytes; at most %d fit into the machine's ignition Secret next to the operating system's user data (a Secret holds at most %d bytes)",
		len(data.ProfileIgnition), len(data.PoolIgnition), metadataSize, total, MaxMachineDataSize, corev1.MaxSecretSize)
	return field.ErrorList{tooLong}
}

// metadataSize is the size of the metadata file as the driver embeds it into the Ignition: the metadata and an
// address per IPAM key as JSON, base64-encoded in a data URL.
func metadataSize(cfg *metal.WorkerConfig) (int, error) {
	if cfg == nil {
		return 0, nil
	}
	doc := make(map[string]any, len(cfg.Metadata)+len(cfg.IPAMConfig))
	for key, value := range cfg.Metadata {
		doc[key] = value
	}
	for _, ipam := range cfg.IPAMConfig {
		doc[ipam.MetadataKey] = addressPlaceholder
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return 0, err
	}
	return base64.StdEncoding.EncodedLen(len(raw)), nil
}

// ValidateWorkerZones checks that the zones of the worker pools are zones of the shoot's region in the
// CloudProfile: Servers are selected by their zone label, and a zone the CloudProfile does not offer has no
// Servers that the landscape operator set up for the shoot. fldPath is the path of the workers list.
func ValidateWorkerZones(workers []core.Worker, regionZones []string, fldPath *field.Path) field.ErrorList {
	allErrs := field.ErrorList{}
	for i, worker := range workers {
		for j, zone := range worker.Zones {
			if !slices.Contains(regionZones, zone) {
				allErrs = append(allErrs, field.NotSupported(fldPath.Index(i).Child("zones").Index(j), zone, regionZones))
			}
		}
	}
	return allErrs
}
