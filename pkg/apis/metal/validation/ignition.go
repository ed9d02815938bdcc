package validation

import (
	"fmt"
	"strings"

	"github.com/coreos/ignition/v2/config/v3_5/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/ignition"
)

// IgnitionSecretDataKey is the key of the Secret a pool's extraIgnition.secretRef references that holds the
// Ignition. It is the key the Worker controller reads (pkg/controller/worker.IgnitionSecretKey).
const IgnitionSecretDataKey = "ignition"

// reservedIgnitionFiles are the files the driver writes into every Server's Ignition
// (pkg/driver/ignition.Build). Extra Ignition that is merged into the generated config wins for the same path, so
// writing one of them would replace the hostname, the Node's bootstrap or the machine's metadata and leave a
// Server that never joins the shoot. Only an override, which replaces the generated config on purpose, may.
var reservedIgnitionFiles = []string{
	ignition.HostnamePath,
	ignition.UserDataPath,
	ignition.UserDataDonePath,
	ignition.MetadataPath,
	ignition.ResolvedDropInPath,
}

// ParseIgnition parses Ignition content the way the Worker controller does before it hands it to the driver
// (pkg/controller/worker/ignition.go: YAML or JSON, converted to JSON, then pkg/driver/ignition.ParseExtra): spec
// versions 3.0 to 3.5, with Ignition's own validation of the config (for example absolute paths, known
// filesystems, valid sources). The error does not contain the content, which often carries credentials.
func ParseIgnition(content string) (types.Config, error) {
	data, err := yaml.YAMLToJSON([]byte(content))
	if err != nil {
		return types.Config{}, fmt.Errorf("invalid Ignition: %w", err)
	}
	return ignition.ParseExtra(string(data))
}

// validateIgnition checks Ignition content as the Worker controller and the driver will parse it. When merged is
// true the content is merged into the generated config, and it must not write the files the driver generates.
// The content is never echoed in the error.
func validateIgnition(content string, merged bool, fldPath *field.Path) field.ErrorList {
	if strings.TrimSpace(content) == "" {
		return field.ErrorList{field.Required(fldPath, "must not be empty")}
	}
	cfg, err := ParseIgnition(content)
	if err != nil {
		return field.ErrorList{field.Invalid(fldPath, field.OmitValueType{}, fmt.Sprintf("must be an Ignition config of spec version 3.0 to 3.5 in JSON or YAML: %v", err))}
	}
	if !merged {
		return nil
	}
	allErrs := field.ErrorList{}
	for _, file := range cfg.Storage.Files {
		for _, reserved := range reservedIgnitionFiles {
			if file.Path == reserved {
				allErrs = append(allErrs, field.Forbidden(fldPath, fmt.Sprintf("must not write %s: the driver writes it for every machine (use metadata, dnsServers or override instead)", file.Path)))
			}
		}
	}
	for _, unit := range cfg.Systemd.Units {
		if unit.Name == ignition.UserDataUnitName {
			allErrs = append(allErrs, field.Forbidden(fldPath, fmt.Sprintf("must not define unit %s: it bootstraps the Node", unit.Name)))
		}
	}
	return allErrs
}

// ValidateIgnitionContent validates Ignition content from outside the provider config, the Secret a pool's
// extraIgnition.secretRef references. merged is false when the pool overrides the generated config.
func ValidateIgnitionContent(content string, merged bool, fldPath *field.Path) field.ErrorList {
	return validateIgnition(content, merged, fldPath)
}
