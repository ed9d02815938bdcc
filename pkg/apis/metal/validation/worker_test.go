package validation_test

import (
	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega/types"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/gardener/gardener/pkg/apis/core"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
)

var _ = Describe("Workers", func() {
	const cfgPath = "spec.provider.workers[0].providerConfig"
	fldPath := field.NewPath("spec", "provider", "workers").Index(0).Child("providerConfig")

	infra := &metal.InfrastructureConfig{Networks: []metal.Network{
		{Name: "nodes", CIDR: "10.250.0.0/16", IPAMPoolRef: &metal.IPAMPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "nodes"}},
		{Name: "unmanaged", CIDR: "10.251.0.0/16"},
	}}
	resources := []core.NamedResourceReference{
		{Name: "ignition", ResourceRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "v1", Kind: "Secret", Name: "pool-ignition"}},
		{Name: "config", ResourceRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "v1", Kind: "ConfigMap", Name: "cm"}},
	}

	newConfig := func() *metal.WorkerConfig {
		return &metal.WorkerConfig{
			ExtraIgnition:     &metal.IgnitionConfig{Raw: "ignition:\n  version: 3.4.0\nstorage:\n  files: []\n"},
			ExtraServerLabels: map[string]string{"metal.ironcore.dev/rack": "a1"},
			ServerTolerations: []metal.ServerToleration{
				{Key: "metal.ironcore.dev/maintenance", Operator: "Exists", Effect: "NoBind"},
				{Key: "dedicated", Operator: "Equal", Value: "team-a"},
				{Key: "reserved", Value: "x", Effect: "Evict"},
			},
			IPAMConfig: []metal.IPAMConfig{
				{MetadataKey: "node-ip", IPAMRef: metal.IPAMReference{Network: "nodes"}},
				{MetadataKey: "storage-ip", IPAMRef: metal.IPAMReference{Pool: &metal.IPAMPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "GlobalInClusterIPPool", Name: "storage"}}},
			},
			Metadata:   map[string]string{"role": "worker"},
			DNSServers: []string{"10.0.0.53"},
		}
	}

	DescribeTable("#ValidateWorkerConfig",
		func(mutate func(*metal.WorkerConfig), expected ...types.GomegaMatcher) {
			cfg := newConfig()
			mutate(cfg)
			expectErrors(ValidateWorkerConfig(cfg, infra, resources, fldPath), expected)
		},
		Entry("valid config", func(*metal.WorkerConfig) {}),
		Entry("empty config", func(c *metal.WorkerConfig) { *c = metal.WorkerConfig{} }),
		Entry("valid ignition secret", func(c *metal.WorkerConfig) {
			c.ExtraIgnition = &metal.IgnitionConfig{SecretRef: "ignition", Override: true}
		}),
		Entry("ignition without raw and secretRef", func(c *metal.WorkerConfig) { c.ExtraIgnition = &metal.IgnitionConfig{} },
			fieldErr(required, cfgPath+".extraIgnition")),
		Entry("ignition with raw and secretRef", func(c *metal.WorkerConfig) { c.ExtraIgnition.SecretRef = "ignition" },
			fieldErr(forbidden, cfgPath+".extraIgnition.secretRef")),
		Entry("raw ignition that does not parse", func(c *metal.WorkerConfig) { c.ExtraIgnition.Raw = "storage: [" },
			fieldErr(invalid, cfgPath+".extraIgnition.raw")),
		Entry("raw ignition that is no object", func(c *metal.WorkerConfig) { c.ExtraIgnition.Raw = `"just a string"` },
			fieldErr(invalid, cfgPath+".extraIgnition.raw")),
		Entry("ignition secret not in resources", func(c *metal.WorkerConfig) { c.ExtraIgnition = &metal.IgnitionConfig{SecretRef: "missing"} },
			fieldErr(notFound, cfgPath+".extraIgnition.secretRef")),
		Entry("ignition secret referencing a ConfigMap", func(c *metal.WorkerConfig) { c.ExtraIgnition = &metal.IgnitionConfig{SecretRef: "config"} },
			fieldErr(invalid, cfgPath+".extraIgnition.secretRef")),
		Entry("extra label with an invalid key", func(c *metal.WorkerConfig) { c.ExtraServerLabels["-bad"] = "x" },
			fieldErr(invalid, cfgPath+".extraServerLabels[-bad]")),
		Entry("extra label with an invalid value", func(c *metal.WorkerConfig) { c.ExtraServerLabels["metal.ironcore.dev/rack"] = "a/1" },
			fieldErr(invalid, cfgPath+".extraServerLabels[metal.ironcore.dev/rack]")),
		Entry("extra label selecting the zone", func(c *metal.WorkerConfig) { c.ExtraServerLabels["topology.kubernetes.io/zone"] = "z1" },
			fieldErr(forbidden, cfgPath+".extraServerLabels[topology.kubernetes.io/zone]")),
		Entry("extra label selecting the region", func(c *metal.WorkerConfig) { c.ExtraServerLabels["topology.kubernetes.io/region"] = "r1" },
			fieldErr(forbidden, cfgPath+".extraServerLabels[topology.kubernetes.io/region]")),
		Entry("toleration without key", func(c *metal.WorkerConfig) { c.ServerTolerations[0].Key = "" },
			fieldErr(required, cfgPath+".serverTolerations[0].key")),
		Entry("toleration with an invalid key", func(c *metal.WorkerConfig) { c.ServerTolerations[0].Key = "a b" },
			fieldErr(invalid, cfgPath+".serverTolerations[0].key")),
		Entry("toleration with an unknown operator", func(c *metal.WorkerConfig) { c.ServerTolerations[1].Operator = "In" },
			fieldErr(notSupported, cfgPath+".serverTolerations[1].operator")),
		Entry("Exists toleration with a value", func(c *metal.WorkerConfig) { c.ServerTolerations[0].Value = "x" },
			fieldErr(invalid, cfgPath+".serverTolerations[0].value")),
		Entry("Equal toleration with an invalid value", func(c *metal.WorkerConfig) { c.ServerTolerations[1].Value = "team a" },
			fieldErr(invalid, cfgPath+".serverTolerations[1].value")),
		Entry("toleration with an unknown effect", func(c *metal.WorkerConfig) { c.ServerTolerations[1].Effect = "NoSchedule" },
			fieldErr(notSupported, cfgPath+".serverTolerations[1].effect")),
		Entry("IPAM without metadata key", func(c *metal.WorkerConfig) { c.IPAMConfig[0].MetadataKey = "" },
			fieldErr(required, cfgPath+".ipamConfig[0].metadataKey")),
		Entry("duplicate IPAM metadata key", func(c *metal.WorkerConfig) { c.IPAMConfig[1].MetadataKey = "node-ip" },
			fieldErr(duplicate, cfgPath+".ipamConfig[1].metadataKey")),
		Entry("IPAM metadata key that cannot be part of an object name", func(c *metal.WorkerConfig) { c.IPAMConfig[0].MetadataKey = "Node_IP" },
			fieldErr(invalid, cfgPath+".ipamConfig[0].metadataKey")),
		Entry("IPAM metadata key also in metadata", func(c *metal.WorkerConfig) { c.Metadata["node-ip"] = "1.2.3.4" },
			fieldErr(invalid, cfgPath+".ipamConfig[0].metadataKey")),
		Entry("IPAM without reference", func(c *metal.WorkerConfig) { c.IPAMConfig[0].IPAMRef = metal.IPAMReference{} },
			fieldErr(required, cfgPath+".ipamConfig[0].ipamRef")),
		Entry("IPAM with network and pool", func(c *metal.WorkerConfig) { c.IPAMConfig[1].IPAMRef.Network = "nodes" },
			fieldErr(forbidden, cfgPath+".ipamConfig[1].ipamRef.pool")),
		Entry("IPAM naming an unknown network", func(c *metal.WorkerConfig) { c.IPAMConfig[0].IPAMRef.Network = "storage" },
			fieldErr(notFound, cfgPath+".ipamConfig[0].ipamRef.network")),
		Entry("IPAM naming a network without pool", func(c *metal.WorkerConfig) { c.IPAMConfig[0].IPAMRef.Network = "unmanaged" },
			fieldErr(invalid, cfgPath+".ipamConfig[0].ipamRef.network")),
		Entry("IPAM pool with a wrong API group and no kind", func(c *metal.WorkerConfig) {
			c.IPAMConfig[1].IPAMRef.Pool.APIGroup = "ipam.example.com"
			c.IPAMConfig[1].IPAMRef.Pool.Kind = ""
		}, fieldErr(notSupported, cfgPath+".ipamConfig[1].ipamRef.pool.apiGroup"), fieldErr(required, cfgPath+".ipamConfig[1].ipamRef.pool.kind")),
		Entry("IPAM pool with an invalid name", func(c *metal.WorkerConfig) { c.IPAMConfig[1].IPAMRef.Pool.Name = "Storage Pool" },
			fieldErr(invalid, cfgPath+".ipamConfig[1].ipamRef.pool.name")),
		Entry("empty metadata key", func(c *metal.WorkerConfig) { c.Metadata[""] = "x" },
			fieldErr(invalid, cfgPath+".metadata[]")),
		Entry("DNS server that is no IP", func(c *metal.WorkerConfig) { c.DNSServers = append(c.DNSServers, "10.0.0.256") },
			fieldErr(invalid, cfgPath+".dnsServers[1]")),
	)

	It("should report an unknown network without infrastructure config", func() {
		cfg := &metal.WorkerConfig{IPAMConfig: []metal.IPAMConfig{{MetadataKey: "ip", IPAMRef: metal.IPAMReference{Network: "nodes"}}}}
		expectErrors(ValidateWorkerConfig(cfg, nil, nil, fldPath), []types.GomegaMatcher{fieldErr(notFound, cfgPath+".ipamConfig[0].ipamRef.network")})
	})

	Describe("#ValidateWorkers", func() {
		workersPath := field.NewPath("spec", "provider", "workers")
		cloudProfileConfig := &metal.CloudProfileConfig{
			MachineImages: []metal.MachineImages{{Name: "gardenlinux", Versions: []metal.MachineImageVersion{
				{Version: "1.0", Image: "ghcr.io/a/gl:1.0", Architecture: ptr.To("amd64")},
				{Version: "2.0", CapabilityFlavors: []metal.MachineImageFlavor{{Image: "ghcr.io/a/gl:2.0"}}},
			}}},
			MachineTypes:  []metal.MachineType{{Name: "m1", ServerLabels: map[string]string{"size": "m1"}}},
			RegionConfigs: []metal.RegionConfig{{Name: "r1", Server: "https://metal"}},
		}
		newWorker := func() core.Worker {
			return core.Worker{
				Name: "pool",
				Machine: core.Machine{
					Type:         "m1",
					Image:        &core.ShootMachineImage{Name: "gardenlinux", Version: "1.0"},
					Architecture: ptr.To("amd64"),
				},
				Zones: []string{"z1", "z2"},
			}
		}

		DescribeTable("pools",
			func(mutate func(*core.Worker), region string, expected ...types.GomegaMatcher) {
				other, worker := newWorker(), newWorker()
				mutate(&worker)
				expectErrors(ValidateWorkers([]core.Worker{other, worker}, cloudProfileConfig, region, workersPath), expected)
			},
			Entry("valid pool", func(*core.Worker) {}, "r1"),
			Entry("valid pool without image", func(w *core.Worker) { w.Machine.Image = nil }, "r1"),
			Entry("valid pool with image flavors for arm64", func(w *core.Worker) {
				w.Machine.Image.Version = "2.0"
				w.Machine.Architecture = ptr.To("arm64")
			}, "r1"),
			Entry("region without regionConfig", func(*core.Worker) {}, "r2",
				fieldErr(invalid, "spec.region")),
			Entry("machine type without mapping", func(w *core.Worker) { w.Machine.Type = "m2" }, "r1",
				fieldErr(invalid, "spec.provider.workers[1].machine.type")),
			Entry("image version without mapping", func(w *core.Worker) { w.Machine.Image.Version = "3.0" }, "r1",
				fieldErr(invalid, "spec.provider.workers[1].machine.image")),
			Entry("image without mapping", func(w *core.Worker) { w.Machine.Image.Name = "flatcar" }, "r1",
				fieldErr(invalid, "spec.provider.workers[1].machine.image")),
			Entry("image without mapping for the architecture", func(w *core.Worker) { w.Machine.Architecture = ptr.To("arm64") }, "r1",
				fieldErr(invalid, "spec.provider.workers[1].machine.image")),
			Entry("no zones", func(w *core.Worker) { w.Zones = nil }, "r1",
				fieldErr(required, "spec.provider.workers[1].zones")),
			Entry("volume", func(w *core.Worker) { w.Volume = &core.Volume{VolumeSize: "50Gi"} }, "r1",
				fieldErr(forbidden, "spec.provider.workers[1].volume")),
			Entry("data volumes", func(w *core.Worker) { w.DataVolumes = []core.DataVolume{{Name: "data", VolumeSize: "10Gi"}} }, "r1",
				fieldErr(forbidden, "spec.provider.workers[1].dataVolumes")),
		)

		It("should report a missing cloud profile config", func() {
			expectErrors(ValidateWorkers([]core.Worker{newWorker()}, nil, "r1", workersPath), []types.GomegaMatcher{fieldErr(internal, "spec.provider.workers")})
		})
	})

	DescribeTable("#ValidateWorkersUpdate",
		func(oldZones, newZones []string, expected ...types.GomegaMatcher) {
			oldWorkers := []core.Worker{{Name: "a", Zones: []string{"z1"}}, {Name: "b", Zones: oldZones}}
			newWorkers := []core.Worker{{Name: "new", Zones: []string{"z2", "z1"}}, {Name: "b", Zones: newZones}, {Name: "a", Zones: []string{"z1"}}}
			expectErrors(ValidateWorkersUpdate(oldWorkers, newWorkers, field.NewPath("spec", "provider", "workers")), expected)
		},
		Entry("unchanged", []string{"z1", "z2"}, []string{"z1", "z2"}),
		Entry("zone appended", []string{"z1", "z2"}, []string{"z1", "z2", "z3"}),
		Entry("last zone removed", []string{"z1", "z2"}, []string{"z1"}),
		Entry("zones swapped", []string{"z1", "z2"}, []string{"z2", "z1"},
			fieldErr(forbidden, "spec.provider.workers[1].zones[0]"), fieldErr(forbidden, "spec.provider.workers[1].zones[1]")),
		Entry("first zone removed", []string{"z1", "z2"}, []string{"z2"},
			fieldErr(forbidden, "spec.provider.workers[1].zones[0]")),
		Entry("zone inserted in front", []string{"z1"}, []string{"z0", "z1"},
			fieldErr(forbidden, "spec.provider.workers[1].zones[1]")),
	)
})
