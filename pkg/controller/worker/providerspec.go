package worker

import (
	"fmt"
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis"
	drivervalidation "github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis/validation"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// providerSpecInput is everything the providerSpec of one pool and zone is made of, already resolved.
type providerSpecInput struct {
	// shootID is the shoot's technical ID (its namespace in the seed), the value of the shoot label.
	shootID string
	// shootUID is the Shoot's UID in the garden; with shootID it makes the scope labels unique across gardens.
	shootUID    string
	image       string
	region      string
	zone        string
	machineType *api.MachineType
	config      *api.WorkerConfig
	infra       *api.InfrastructureConfig
	profile     *api.CloudProfileConfig
	ignition    *poolIgnition
}

// buildProviderSpec builds the driver's providerSpec for one pool and zone. configPath is the path of the pool's
// providerConfig; errors in the user's configuration carry paths below it. The result is validated with the
// driver's own rules, so that nothing the driver would reject reaches a MachineClass.
func buildProviderSpec(in providerSpecInput, configPath *field.Path) (*apis.ProviderSpec, error) {
	selector, err := serverSelector(in.machineType, in.config.ExtraServerLabels, in.region, in.zone, configPath.Child("extraServerLabels"))
	if err != nil {
		return nil, err
	}
	ipam, err := ipamConfig(in.config.IPAMConfig, in.infra, configPath.Child("ipamConfig"))
	if err != nil {
		return nil, err
	}
	spec := &apis.ProviderSpec{
		Image:             in.image,
		ServerSelector:    selector,
		ServerTolerations: tolerations(in.config.ServerTolerations),
		ExtraIgnition:     extraIgnition(in.ignition),
		IPAMConfig:        ipam,
		Metadata:          maps.Clone(in.config.Metadata),
		DNSServers:        dnsServers(in.config, in.profile),
		Labels:            metal.ScopeLabels(in.shootID, in.shootUID),
	}
	if errs := drivervalidation.ValidateProviderSpec(spec, field.NewPath("providerSpec")); len(errs) > 0 {
		return nil, configurationProblem(fmt.Errorf("%s: the resulting machine class is invalid: %w", configPath, errs.ToAggregate()))
	}
	return spec, nil
}

// serverSelector selects Servers by the labels helper.ServerSelectorLabels requires for the pool in this zone
// and region; the Infrastructure controller counts the matching Servers with the same labels.
func serverSelector(machineType *api.MachineType, extra map[string]string, region, zone string, extraPath *field.Path) (*metav1.LabelSelector, error) {
	labels, err := helper.ServerSelectorLabels(machineType, extra, region, zone, extraPath)
	if err != nil {
		return nil, configurationProblem(err)
	}
	return &metav1.LabelSelector{MatchLabels: labels}, nil
}

// extraIgnition tells the driver that the MachineClass secret holds extra Ignition, and how to apply it; the
// content itself stays in the secret.
func extraIgnition(ignition *poolIgnition) *apis.ExtraIgnition {
	if ignition == nil {
		return nil
	}
	return &apis.ExtraIgnition{Override: ignition.override}
}

func tolerations(in []api.ServerToleration) []apis.Toleration {
	if len(in) == 0 {
		return nil
	}
	out := make([]apis.Toleration, 0, len(in))
	for _, t := range in {
		out = append(out, apis.Toleration{Key: t.Key, Operator: t.Operator, Value: t.Value, Effect: t.Effect})
	}
	return out
}

// ipamConfig resolves network references to the IPAM pool of the InfrastructureConfig's network.
func ipamConfig(in []api.IPAMConfig, infra *api.InfrastructureConfig, fldPath *field.Path) ([]apis.IPAMConfig, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]apis.IPAMConfig, 0, len(in))
	for i, entry := range in {
		pool := entry.IPAMRef.Pool
		if entry.IPAMRef.Network != "" {
			pool = networkPool(infra, entry.IPAMRef.Network)
		}
		if pool == nil {
			return nil, configurationProblem(field.NotFound(fldPath.Index(i).Child("ipamRef", "network"), entry.IPAMRef.Network))
		}
		out = append(out, apis.IPAMConfig{
			MetadataKey: entry.MetadataKey,
			IPAMRef:     apis.IPAMObjectReference{APIGroup: pool.APIGroup, Kind: pool.Kind, Name: pool.Name},
		})
	}
	return out, nil
}

func networkPool(infra *api.InfrastructureConfig, name string) *api.IPAMPoolReference {
	if infra == nil {
		return nil
	}
	for _, network := range infra.Networks {
		if network.Name == name {
			return network.IPAMPoolRef
		}
	}
	return nil
}

// dnsServers are the pool's DNS servers or, when it has none, the CloudProfile's.
func dnsServers(config *api.WorkerConfig, profile *api.CloudProfileConfig) []string {
	if len(config.DNSServers) > 0 {
		return config.DNSServers
	}
	if profile != nil {
		return profile.DNSServers
	}
	return nil
}
