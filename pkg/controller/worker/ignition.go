package worker

import (
	"context"
	"encoding/json"
	"fmt"

	v35 "github.com/coreos/ignition/v2/config/v3_5"
	"github.com/coreos/ignition/v2/config/v3_5/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/ignition"
)

// IgnitionSecretKey is the key of a Secret referenced by a pool's extraIgnition.secretRef that holds the
// Ignition content (JSON or YAML).
const IgnitionSecretKey = "ignition"

// poolIgnition is the extra Ignition of a pool's machines.
type poolIgnition struct {
	// merged is the CloudProfile's Ignition with the pool's merged over it, as Ignition 3.5 JSON. It goes into the
	// MachineClass secret, never into the providerSpec: the pool's part may come from a Secret and carry
	// credentials, while a MachineClass is a plain resource in the seed.
	merged string
	// own is the pool's own Ignition as JSON, without the CloudProfile's: it is part of the class hash, so that the
	// shoot owner's change replaces the machines and an operator's CloudProfile change does not.
	own string
	// override replaces the generated Ignition instead of merging into it.
	override bool
}

// poolIgnition returns the extra Ignition of a pool's machines: the CloudProfile's Ignition with the pool's
// (inline, or from the Secret its secretRef names) merged over it; nil when there is neither. The precedence, from
// low to high, is: what the driver generates (hostname, user data, DNS, metadata), the CloudProfile's Ignition, the
// pool's Ignition. With the pool's override the generated part is replaced, but the CloudProfile's Ignition, the
// operator's baseline, still applies.
func (w *workerDelegate) poolIgnition(ctx context.Context, config *api.WorkerConfig, configPath *field.Path) (*poolIgnition, error) {
	var pool string
	override := false
	if extra := config.ExtraIgnition; extra != nil {
		override = extra.Override
		pool = extra.Raw
		if extra.SecretRef != "" {
			content, err := w.ignitionFromSecret(ctx, extra.SecretRef, configPath.Child("extraIgnition", "secretRef"))
			if err != nil {
				return nil, err
			}
			pool = content
		}
	}
	var profile string
	if w.cloudProfileConfig.Ignition != nil {
		profile = *w.cloudProfileConfig.Ignition
	}
	merged, err := mergeIgnition(profile, pool, override)
	if err != nil {
		return nil, configurationProblem(fmt.Errorf("%s: %w", configPath.Child("extraIgnition"), err))
	}
	return merged, nil
}

// ignitionFromSecret reads the Ignition of the Secret that the shoot's resource `name` references. Gardener
// copies referenced resources into the shoot's seed namespace with the prefix `ref-`.
func (w *workerDelegate) ignitionFromSecret(ctx context.Context, name string, fldPath *field.Path) (string, error) {
	for _, resource := range w.cluster.Shoot.Spec.Resources {
		if resource.Name != name {
			continue
		}
		secret := &corev1.Secret{}
		if err := extensionscontroller.GetObjectByReference(ctx, w.client, &resource.ResourceRef, w.worker.Namespace, secret); err != nil {
			return "", fmt.Errorf("%s: reading the copy of Secret %q in the seed: %w", fldPath, resource.ResourceRef.Name, err)
		}
		content, ok := secret.Data[IgnitionSecretKey]
		if !ok || len(content) == 0 {
			return "", configurationProblem(field.Invalid(fldPath, name, fmt.Sprintf("Secret %q has no key %q", resource.ResourceRef.Name, IgnitionSecretKey)))
		}
		return string(content), nil
	}
	return "", configurationProblem(field.NotFound(fldPath, name))
}

// mergeIgnition merges the pool's Ignition over the CloudProfile's, so that the pool's entries win for the same
// path or unit. The result is Ignition 3.5 JSON, the form the driver expects; nil when there is neither.
func mergeIgnition(profile, pool string, override bool) (*poolIgnition, error) {
	if profile == "" && pool == "" {
		return nil, nil
	}
	result := &poolIgnition{override: override}
	var merged types.Config
	for i, content := range []string{profile, pool} {
		if content == "" {
			continue
		}
		cfg, err := parseIgnition(content)
		if err != nil {
			return nil, fmt.Errorf("%s Ignition: %w", []string{"CloudProfile", "pool"}[i], err)
		}
		if i == 1 {
			if result.own, err = encodeIgnition(cfg); err != nil {
				return nil, err
			}
		}
		merged = v35.Merge(merged, cfg)
	}
	merged.Ignition.Version = types.MaxVersion.String()
	raw, err := encodeIgnition(merged)
	if err != nil {
		return nil, err
	}
	result.merged = raw
	return result, nil
}

func encodeIgnition(cfg types.Config) (string, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("encoding Ignition: %w", err)
	}
	return string(raw), nil
}

// parseIgnition accepts YAML as well as JSON, as the provider configs do; the driver reads only JSON.
func parseIgnition(content string) (types.Config, error) {
	data, err := yaml.YAMLToJSON([]byte(content))
	if err != nil {
		return types.Config{}, fmt.Errorf("invalid Ignition: %w", err)
	}
	return ignition.ParseExtra(string(data))
}
