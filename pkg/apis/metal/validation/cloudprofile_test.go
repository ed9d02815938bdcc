package validation_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/gardener/gardener/pkg/apis/core"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	. "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
)

func generateCA() []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "metal-ca"},
		NotBefore:             time.Now(),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred())
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

var _ = Describe("CloudProfileConfig", func() {
	fldPath := field.NewPath("spec", "providerConfig")
	ca := generateCA()

	newSpec := func() *core.CloudProfileSpec {
		return &core.CloudProfileSpec{
			MachineImages: []core.MachineImage{{
				Name: "gardenlinux",
				Versions: []core.MachineImageVersion{
					{ExpirableVersion: core.ExpirableVersion{Version: "1.0"}, Architectures: []string{"amd64", "arm64"}},
					{ExpirableVersion: core.ExpirableVersion{Version: "2.0"}},
				},
			}},
			MachineTypes: []core.MachineType{{Name: "m1"}, {Name: "m2"}},
			Regions:      []core.Region{{Name: "r1"}},
		}
	}
	newConfig := func() *metal.CloudProfileConfig {
		return &metal.CloudProfileConfig{
			MachineImages: []metal.MachineImages{{
				Name: "gardenlinux",
				Versions: []metal.MachineImageVersion{
					{Version: "1.0", Image: "ghcr.io/ironcore-dev/os-images/gardenlinux:1.0", Architecture: ptr.To("amd64")},
					{Version: "1.0", Image: "ghcr.io/ironcore-dev/os-images/gardenlinux:1.0-arm64", Architecture: ptr.To("arm64")},
					{Version: "2.0", Image: "registry.example.com:5000/gl@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
				},
			}},
			MachineTypes: []metal.MachineType{
				{Name: "m1", ServerLabels: map[string]string{"metal.ironcore.dev/size": "m1"}},
				{Name: "m2", ServerLabels: map[string]string{"metal.ironcore.dev/size": "m2", "gpu": "true"}},
			},
			RegionConfigs: []metal.RegionConfig{{Name: "r1", Server: "https://metal.r1.example.com:6443", CertificateAuthorityData: ca}},
			DNSServers:    []string{"10.0.0.53", "2001:db8::53"},
			Ignition:      ptr.To(`{"ignition":{"version":"3.4.0"}}`),
		}
	}

	It("should require a config", func() {
		expectErrors(ValidateCloudProfileConfig(nil, newSpec(), fldPath), []types.GomegaMatcher{fieldErr(required, "spec.providerConfig")})
	})

	DescribeTable("without capabilities",
		func(mutateSpec func(*core.CloudProfileSpec), mutate func(*metal.CloudProfileConfig), expected ...types.GomegaMatcher) {
			spec, cfg := newSpec(), newConfig()
			if mutateSpec != nil {
				mutateSpec(spec)
			}
			if mutate != nil {
				mutate(cfg)
			}
			expectErrors(ValidateCloudProfileConfig(cfg, spec, fldPath), expected)
		},
		Entry("valid config", nil, nil),
		Entry("valid YAML ignition, no CA, nil architecture", nil, func(c *metal.CloudProfileConfig) {
			c.Ignition = ptr.To("ignition:\n  version: 3.4.0\n")
			c.RegionConfigs[0].CertificateAuthorityData = nil
			c.MachineImages[0].Versions[2].Architecture = nil
		}),
		Entry("image version without mapping", func(s *core.CloudProfileSpec) {
			s.MachineImages[0].Versions = append(s.MachineImages[0].Versions, core.MachineImageVersion{ExpirableVersion: core.ExpirableVersion{Version: "3.0"}})
		}, nil, fieldErr(required, "spec.providerConfig.machineImages")),
		Entry("image without mapping", func(s *core.CloudProfileSpec) {
			s.MachineImages = append(s.MachineImages, core.MachineImage{Name: "flatcar", Versions: []core.MachineImageVersion{{ExpirableVersion: core.ExpirableVersion{Version: "1"}}}})
		}, nil, fieldErr(required, "spec.providerConfig.machineImages")),
		Entry("architecture without mapping", nil, func(c *metal.CloudProfileConfig) {
			c.MachineImages[0].Versions = append(c.MachineImages[0].Versions[:1], c.MachineImages[0].Versions[2])
		}, fieldErr(required, "spec.providerConfig.machineImages")),
		Entry("unsupported architecture", nil, func(c *metal.CloudProfileConfig) {
			c.MachineImages[0].Versions[1].Architecture = ptr.To("riscv64")
		}, fieldErr(notSupported, "spec.providerConfig.machineImages[0].versions[1].architecture"), fieldErr(required, "spec.providerConfig.machineImages")),
		Entry("image without registry", nil, func(c *metal.CloudProfileConfig) {
			c.MachineImages[0].Versions[0].Image = "gardenlinux:1.0"
		}, fieldErr(invalid, "spec.providerConfig.machineImages[0].versions[0].image")),
		Entry("image without tag or digest", nil, func(c *metal.CloudProfileConfig) {
			c.MachineImages[0].Versions[0].Image = "ghcr.io/ironcore-dev/gardenlinux"
		}, fieldErr(invalid, "spec.providerConfig.machineImages[0].versions[0].image")),
		Entry("image with upper case repository", nil, func(c *metal.CloudProfileConfig) {
			c.MachineImages[0].Versions[0].Image = "ghcr.io/IronCore/gardenlinux:1.0"
		}, fieldErr(invalid, "spec.providerConfig.machineImages[0].versions[0].image")),
		Entry("image with a bad digest", nil, func(c *metal.CloudProfileConfig) {
			c.MachineImages[0].Versions[0].Image = "ghcr.io/a/gl@sha256:xyz"
		}, fieldErr(invalid, "spec.providerConfig.machineImages[0].versions[0].image")),
		Entry("missing image", nil, func(c *metal.CloudProfileConfig) {
			c.MachineImages[0].Versions[0].Image = ""
		}, fieldErr(required, "spec.providerConfig.machineImages[0].versions[0].image")),
		Entry("flavors without capabilities in the profile", nil, func(c *metal.CloudProfileConfig) {
			c.MachineImages[0].Versions[2].CapabilityFlavors = []metal.MachineImageFlavor{{Image: "ghcr.io/a/b:1"}}
		}, fieldErr(forbidden, "spec.providerConfig.machineImages[0].versions[2].capabilityFlavors"), fieldErr(required, "spec.providerConfig.machineImages")),
		Entry("duplicate image name", nil, func(c *metal.CloudProfileConfig) {
			c.MachineImages = append(c.MachineImages, metal.MachineImages{Name: "gardenlinux", Versions: []metal.MachineImageVersion{{Version: "9", Image: "ghcr.io/a/b:9"}}})
		}, fieldErr(duplicate, "spec.providerConfig.machineImages[1].name")),
		Entry("duplicate version and architecture", nil, func(c *metal.CloudProfileConfig) {
			c.MachineImages[0].Versions[1].Architecture = ptr.To("amd64")
		}, fieldErr(duplicate, "spec.providerConfig.machineImages[0].versions[1].version"), fieldErr(required, "spec.providerConfig.machineImages")),
		Entry("image without name and versions", nil, func(c *metal.CloudProfileConfig) {
			c.MachineImages = append(c.MachineImages, metal.MachineImages{})
		}, fieldErr(required, "spec.providerConfig.machineImages[1].name"), fieldErr(required, "spec.providerConfig.machineImages[1].versions")),
		Entry("version without version", nil, func(c *metal.CloudProfileConfig) {
			c.MachineImages[0].Versions[2].Version = ""
		}, fieldErr(required, "spec.providerConfig.machineImages[0].versions[2].version"), fieldErr(required, "spec.providerConfig.machineImages")),
		Entry("machine type without mapping", func(s *core.CloudProfileSpec) {
			s.MachineTypes = append(s.MachineTypes, core.MachineType{Name: "m3"})
		}, nil, fieldErr(required, "spec.providerConfig.machineTypes")),
		Entry("machine type without labels", nil, func(c *metal.CloudProfileConfig) {
			c.MachineTypes[0].ServerLabels = nil
		}, fieldErr(required, "spec.providerConfig.machineTypes[0].serverLabels")),
		Entry("machine type with invalid label key", nil, func(c *metal.CloudProfileConfig) {
			c.MachineTypes[1].ServerLabels["not a key"] = "x"
		}, fieldErr(invalid, "spec.providerConfig.machineTypes[1].serverLabels[not a key]")),
		Entry("machine type with invalid label value", nil, func(c *metal.CloudProfileConfig) {
			c.MachineTypes[1].ServerLabels["gpu"] = "yes please"
		}, fieldErr(invalid, "spec.providerConfig.machineTypes[1].serverLabels[gpu]")),
		Entry("machine type selecting the zone", nil, func(c *metal.CloudProfileConfig) {
			c.MachineTypes[0].ServerLabels["topology.kubernetes.io/zone"] = "z1"
		}, fieldErr(forbidden, "spec.providerConfig.machineTypes[0].serverLabels[topology.kubernetes.io/zone]")),
		Entry("duplicate machine type", nil, func(c *metal.CloudProfileConfig) {
			c.MachineTypes[1].Name = "m1"
		}, fieldErr(duplicate, "spec.providerConfig.machineTypes[1].name"), fieldErr(required, "spec.providerConfig.machineTypes")),
		Entry("region without regionConfig", func(s *core.CloudProfileSpec) {
			s.Regions = append(s.Regions, core.Region{Name: "r2"})
		}, nil, fieldErr(required, "spec.providerConfig.regionConfigs")),
		Entry("duplicate regionConfig", nil, func(c *metal.CloudProfileConfig) {
			c.RegionConfigs = append(c.RegionConfigs, metal.RegionConfig{Name: "r1", Server: "https://other"})
		}, fieldErr(duplicate, "spec.providerConfig.regionConfigs[1].name")),
		Entry("http server", nil, func(c *metal.CloudProfileConfig) {
			c.RegionConfigs[0].Server = "http://metal.example.com"
		}, fieldErr(invalid, "spec.providerConfig.regionConfigs[0].server")),
		Entry("server without host", nil, func(c *metal.CloudProfileConfig) {
			c.RegionConfigs[0].Server = "https:///api"
		}, fieldErr(invalid, "spec.providerConfig.regionConfigs[0].server")),
		Entry("server that is no URL", nil, func(c *metal.CloudProfileConfig) {
			c.RegionConfigs[0].Server = "https://[::1"
		}, fieldErr(invalid, "spec.providerConfig.regionConfigs[0].server")),
		Entry("missing server", nil, func(c *metal.CloudProfileConfig) {
			c.RegionConfigs[0].Server = ""
		}, fieldErr(required, "spec.providerConfig.regionConfigs[0].server")),
		Entry("CA that is no PEM", nil, func(c *metal.CloudProfileConfig) {
			c.RegionConfigs[0].CertificateAuthorityData = []byte("not a certificate")
		}, fieldErr(invalid, "spec.providerConfig.regionConfigs[0].certificateAuthorityData")),
		Entry("CA with a private key", nil, func(c *metal.CloudProfileConfig) {
			c.RegionConfigs[0].CertificateAuthorityData = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})
		}, fieldErr(invalid, "spec.providerConfig.regionConfigs[0].certificateAuthorityData")),
		Entry("CA with a broken certificate", nil, func(c *metal.CloudProfileConfig) {
			c.RegionConfigs[0].CertificateAuthorityData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})
		}, fieldErr(invalid, "spec.providerConfig.regionConfigs[0].certificateAuthorityData")),
		Entry("CA with trailing data", nil, func(c *metal.CloudProfileConfig) {
			c.RegionConfigs[0].CertificateAuthorityData = append(append([]byte{}, ca...), []byte("garbage")...)
		}, fieldErr(invalid, "spec.providerConfig.regionConfigs[0].certificateAuthorityData")),
		Entry("DNS server that is no IP", nil, func(c *metal.CloudProfileConfig) {
			c.DNSServers[1] = "dns.example.com"
		}, fieldErr(invalid, "spec.providerConfig.dnsServers[1]")),
		Entry("duplicate DNS server", nil, func(c *metal.CloudProfileConfig) {
			c.DNSServers = append(c.DNSServers, "10.0.0.53")
		}, fieldErr(duplicate, "spec.providerConfig.dnsServers[2]")),
		Entry("empty ignition", nil, func(c *metal.CloudProfileConfig) {
			c.Ignition = ptr.To("  ")
		}, fieldErr(required, "spec.providerConfig.ignition")),
		Entry("ignition that is no object", nil, func(c *metal.CloudProfileConfig) {
			c.Ignition = ptr.To("[1, 2]")
		}, fieldErr(invalid, "spec.providerConfig.ignition")),
		Entry("ignition that does not parse", nil, func(c *metal.CloudProfileConfig) {
			c.Ignition = ptr.To(`{"ignition":`)
		}, fieldErr(invalid, "spec.providerConfig.ignition")),
	)

	Describe("with capabilities", func() {
		capabilities := []core.CapabilityDefinition{
			{Name: "architecture", Values: []string{"amd64", "arm64"}},
			{Name: "secureBoot", Values: []string{"true", "false"}},
		}
		newCapabilitySpec := func() *core.CloudProfileSpec {
			spec := newSpec()
			spec.MachineCapabilities = capabilities
			spec.MachineImages[0].Versions = []core.MachineImageVersion{{
				ExpirableVersion: core.ExpirableVersion{Version: "1.0"},
				CapabilityFlavors: []core.MachineImageFlavor{
					{Capabilities: core.Capabilities{"architecture": {"amd64"}}},
					{Capabilities: core.Capabilities{"architecture": {"arm64"}, "secureBoot": {"false"}}},
				},
			}}
			return spec
		}
		newCapabilityConfig := func() *metal.CloudProfileConfig {
			cfg := newConfig()
			cfg.MachineImages[0].Versions = []metal.MachineImageVersion{{
				Version: "1.0",
				CapabilityFlavors: []metal.MachineImageFlavor{
					{Image: "ghcr.io/a/gl:1.0-amd64", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"amd64"}, "secureBoot": {"true", "false"}}},
					{Image: "ghcr.io/a/gl:1.0-arm64", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"arm64"}, "secureBoot": {"false"}}},
				},
			}}
			return cfg
		}

		DescribeTable("flavors",
			func(mutateSpec func(*core.CloudProfileSpec), mutate func(*metal.CloudProfileConfig), expected ...types.GomegaMatcher) {
				spec, cfg := newCapabilitySpec(), newCapabilityConfig()
				if mutateSpec != nil {
					mutateSpec(spec)
				}
				if mutate != nil {
					mutate(cfg)
				}
				expectErrors(ValidateCloudProfileConfig(cfg, spec, fldPath), expected)
			},
			Entry("valid flavors", nil, nil),
			Entry("image set directly", nil, func(c *metal.CloudProfileConfig) {
				c.MachineImages[0].Versions[0].Image = "ghcr.io/a/gl:1.0"
			}, fieldErr(forbidden, "spec.providerConfig.machineImages[0].versions[0].image")),
			Entry("architecture set directly", nil, func(c *metal.CloudProfileConfig) {
				c.MachineImages[0].Versions[0].Architecture = ptr.To("amd64")
			}, fieldErr(forbidden, "spec.providerConfig.machineImages[0].versions[0].architecture")),
			Entry("no flavors", nil, func(c *metal.CloudProfileConfig) {
				c.MachineImages[0].Versions[0].CapabilityFlavors = nil
				c.MachineImages[0].Versions[0].Image = ""
			}, fieldErr(required, "spec.providerConfig.machineImages[0].versions[0].capabilityFlavors"),
				fieldErr(required, "spec.providerConfig.machineImages[0].versions[0].capabilityFlavors"),
				fieldErr(required, "spec.providerConfig.machineImages[0].versions[0].capabilityFlavors")),
			Entry("flavor of the profile without mapping", func(s *core.CloudProfileSpec) {
				s.MachineImages[0].Versions[0].CapabilityFlavors[1].Capabilities["secureBoot"] = []string{"true"}
			}, nil, fieldErr(required, "spec.providerConfig.machineImages[0].versions[0].capabilityFlavors")),
			Entry("unknown capability", nil, func(c *metal.CloudProfileConfig) {
				c.MachineImages[0].Versions[0].CapabilityFlavors[0].Capabilities["gpu"] = []string{"true"}
			}, fieldErr(notSupported, "spec.providerConfig.machineImages[0].versions[0].capabilityFlavors[0].capabilities")),
			Entry("unknown capability value", nil, func(c *metal.CloudProfileConfig) {
				c.MachineImages[0].Versions[0].CapabilityFlavors[1].Capabilities["architecture"] = []string{"riscv64"}
			}, fieldErr(notSupported, "spec.providerConfig.machineImages[0].versions[0].capabilityFlavors[1].capabilities.architecture[0]"),
				fieldErr(required, "spec.providerConfig.machineImages[0].versions[0].capabilityFlavors")),
			Entry("flavor without architecture in a multi-architecture profile", nil, func(c *metal.CloudProfileConfig) {
				delete(c.MachineImages[0].Versions[0].CapabilityFlavors[0].Capabilities, "architecture")
			}, fieldErr(invalid, "spec.providerConfig.machineImages[0].versions[0].capabilityFlavors[0].capabilities.architecture"),
				fieldErr(required, "spec.providerConfig.machineImages[0].versions[0].capabilityFlavors")),
			Entry("flavor with invalid image", nil, func(c *metal.CloudProfileConfig) {
				c.MachineImages[0].Versions[0].CapabilityFlavors[1].Image = "latest"
			}, fieldErr(invalid, "spec.providerConfig.machineImages[0].versions[0].capabilityFlavors[1].image")),
			Entry("duplicate flavor", nil, func(c *metal.CloudProfileConfig) {
				c.MachineImages[0].Versions[0].CapabilityFlavors = append(c.MachineImages[0].Versions[0].CapabilityFlavors,
					metal.MachineImageFlavor{Image: "ghcr.io/a/gl:1.0-arm64-2", Capabilities: gardencorev1beta1.Capabilities{"architecture": {"arm64"}, "secureBoot": {"false"}}})
			}, fieldErr(duplicate, "spec.providerConfig.machineImages[0].versions[0].capabilityFlavors[2].capabilities")),
			Entry("version listed twice", nil, func(c *metal.CloudProfileConfig) {
				c.MachineImages[0].Versions = append(c.MachineImages[0].Versions, c.MachineImages[0].Versions[0])
			}, fieldErr(duplicate, "spec.providerConfig.machineImages[0].versions[1].version")),
		)
	})
})
