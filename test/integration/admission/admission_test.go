package admission_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	securityv1alpha1 "github.com/gardener/gardener/pkg/apis/security/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
)

const providerAPIVersion = "metal.provider.extensions.gardener.cloud/v1alpha1"

// providerConfig builds a providerConfig document of the given kind from the JSON members in body.
func providerConfig(kind, body string) *runtime.RawExtension {
	if body != "" {
		body = "," + body
	}
	return &runtime.RawExtension{Raw: fmt.Appendf(nil, `{"apiVersion":%q,"kind":%q%s}`, providerAPIVersion, kind, body)}
}

const (
	validImages        = `"machineImages":[{"name":"gardenlinux","versions":[{"version":"1.0.0","image":"registry.example.com/gardenlinux:1.0.0"}]}]`
	validMachineTypes  = `"machineTypes":[{"name":"standard","serverLabels":{"metal.example.com/size":"standard"}}]`
	validRegionConfigs = `"regionConfigs":[{"name":"region-a","server":"https://metal.region-a.example.com"}]`
	validCloudProfile  = validImages + "," + validMachineTypes + "," + validRegionConfigs

	validNetworks = `"networks":[{"name":"nodes","cidr":"10.250.0.0/16","ipamPoolRef":{"apiGroup":"ipam.cluster.x-k8s.io","kind":"InClusterIPPool","name":"nodes"}}]`
	validIPAM     = `"ipamConfig":[{"metadataKey":"node-ip","ipamRef":{"network":"nodes"}}]`
)

func cloudProfileConfig(body string) *runtime.RawExtension {
	return providerConfig("CloudProfileConfig", body)
}
func infrastructureConfig(body string) *runtime.RawExtension {
	return providerConfig("InfrastructureConfig", body)
}
func controlPlaneConfig(body string) *runtime.RawExtension {
	return providerConfig("ControlPlaneConfig", body)
}
func workerConfig(body string) *runtime.RawExtension { return providerConfig("WorkerConfig", body) }

// cloudProfile is a CloudProfile of type metal with one image version, machine type and region.
func cloudProfile(name string, config *runtime.RawExtension) *gardencorev1beta1.CloudProfile {
	return &gardencorev1beta1.CloudProfile{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: gardencorev1beta1.CloudProfileSpec{
			Type:       "metal",
			Kubernetes: gardencorev1beta1.KubernetesSettings{Versions: []gardencorev1beta1.ExpirableVersion{{Version: "1.34.0"}}},
			MachineImages: []gardencorev1beta1.MachineImage{{
				Name: "gardenlinux",
				Versions: []gardencorev1beta1.MachineImageVersion{{
					ExpirableVersion: gardencorev1beta1.ExpirableVersion{Version: "1.0.0"},
					CRI:              []gardencorev1beta1.CRI{{Name: gardencorev1beta1.CRINameContainerD}},
					Architectures:    []string{"amd64"},
				}},
			}},
			MachineTypes: []gardencorev1beta1.MachineType{{
				Name:         "standard",
				CPU:          resource.MustParse("8"),
				GPU:          resource.MustParse("0"),
				Memory:       resource.MustParse("32Gi"),
				Usable:       new(true),
				Architecture: new("amd64"),
			}},
			Regions:        []gardencorev1beta1.Region{{Name: "region-a", Zones: []gardencorev1beta1.AvailabilityZone{{Name: "zone-a"}}}},
			ProviderConfig: config,
		},
	}
}

// namespacedCloudProfile is a NamespacedCloudProfile below the CloudProfile "metal" that adds image version 2.0.0.
func namespacedCloudProfile(name string, config *runtime.RawExtension) *gardencorev1beta1.NamespacedCloudProfile {
	return &gardencorev1beta1.NamespacedCloudProfile{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: projectNamespace},
		Spec: gardencorev1beta1.NamespacedCloudProfileSpec{
			Parent: gardencorev1beta1.CloudProfileReference{Kind: "CloudProfile", Name: "metal"},
			MachineImages: []gardencorev1beta1.MachineImage{{
				Name: "gardenlinux",
				Versions: []gardencorev1beta1.MachineImageVersion{{
					ExpirableVersion: gardencorev1beta1.ExpirableVersion{Version: "2.0.0"},
					CRI:              []gardencorev1beta1.CRI{{Name: gardencorev1beta1.CRINameContainerD}},
					Architectures:    []string{"amd64"},
				}},
			}},
			ProviderConfig: config,
		},
	}
}

// shoot is a Shoot of the metal provider on the CloudProfile "metal" with one worker pool.
func shoot(name string, infra, controlPlane, worker *runtime.RawExtension) *gardencorev1beta1.Shoot {
	return &gardencorev1beta1.Shoot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: projectNamespace},
		Spec: gardencorev1beta1.ShootSpec{
			CloudProfile:           &gardencorev1beta1.CloudProfileReference{Kind: "CloudProfile", Name: "metal"},
			CredentialsBindingName: new("metal-credentials"),
			Region:                 "region-a",
			Kubernetes:             gardencorev1beta1.Kubernetes{Version: "1.34.0"},
			Networking: &gardencorev1beta1.Networking{
				Type:     new("calico"),
				Nodes:    new("10.250.0.0/16"),
				Pods:     new("100.64.0.0/12"),
				Services: new("100.80.0.0/13"),
			},
			Resources: []gardencorev1beta1.NamedResourceReference{{
				Name:        "ignition",
				ResourceRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "v1", Kind: "Secret", Name: "extra-ignition"},
			}},
			Provider: gardencorev1beta1.Provider{
				Type:                 "metal",
				InfrastructureConfig: infra,
				ControlPlaneConfig:   controlPlane,
				Workers: []gardencorev1beta1.Worker{{
					Name: "pool-a",
					Machine: gardencorev1beta1.Machine{
						Type:         "standard",
						Image:        &gardencorev1beta1.ShootMachineImage{Name: "gardenlinux", Version: new("1.0.0")},
						Architecture: new("amd64"),
					},
					Minimum:        1,
					Maximum:        2,
					Zones:          []string{"zone-a"},
					ProviderConfig: worker,
				}},
			},
		},
	}
}

func validShoot(name string) *gardencorev1beta1.Shoot {
	return shoot(name, infrastructureConfig(validNetworks), controlPlaneConfig(`"nodeNamePolicy":"ServerName"`), workerConfig(validIPAM))
}

// credentialsSecret is a metal credentials Secret with the label that Gardener's controllers put on Secrets a
// binding of the metal provider references (the gardener-controller-manager does not run here).
func credentialsSecret(name string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: projectNamespace, Labels: map[string]string{"provider.shoot.gardener.cloud/metal": "true"}},
		Data:       map[string][]byte{"namespace": []byte("shoot-dev"), "token": []byte("not-a-real-token")},
	}
}

var _ = Describe("Admission of valid objects", Ordered, func() {
	It("accepts a CloudProfile", func() {
		// The suite creates the CloudProfile "metal" that the other specs use; this one only shows acceptance.
		Expect(testClient.Create(ctx, cloudProfile("metal-accepted", cloudProfileConfig(validCloudProfile)))).To(Succeed())
	})

	It("accepts a NamespacedCloudProfile and merges its images into the status as capability flavors", func() {
		capabilityProfile := cloudProfile("metal-capabilities", cloudProfileConfig(
			`"machineImages":[{"name":"gardenlinux","versions":[{"version":"1.0.0","capabilityFlavors":[{"image":"registry.example.com/gardenlinux:1.0.0","capabilities":{"architecture":["amd64"]}}]}]}],`+
				validMachineTypes+","+validRegionConfigs))
		capabilityProfile.Spec.MachineCapabilities = []gardencorev1beta1.CapabilityDefinition{{Name: "architecture", Values: []string{"amd64"}}}
		capabilityProfile.Spec.MachineImages[0].Versions[0].Architectures = nil
		capabilityProfile.Spec.MachineTypes[0].Architecture = nil
		capabilityProfile.Spec.MachineTypes[0].Capabilities = gardencorev1beta1.Capabilities{"architecture": []string{"amd64"}}
		Expect(testClient.Create(ctx, capabilityProfile)).To(Succeed())

		profile := namespacedCloudProfile("custom", cloudProfileConfig(
			`"machineImages":[{"name":"gardenlinux","versions":[{"version":"2.0.0","image":"registry.example.com/gardenlinux:2.0.0","architecture":"amd64"}]}]`))
		profile.Spec.Parent.Name = capabilityProfile.Name
		profile.Spec.MachineImages[0].Versions[0].Architectures = nil
		// gardener-apiserver's NamespacedCloudProfile admission reads the parent from its informer cache, which may
		// not hold the CloudProfile created a moment ago ("not found"); the create succeeds once it does.
		Eventually(func() error { return testClient.Create(ctx, profile.DeepCopy()) }).Should(Succeed())

		By("waiting for Gardener's controller to merge the status and our mutator to merge the providerConfig")
		Eventually(func(g Gomega) []v1alpha1.MachineImageVersion {
			g.Expect(testClient.Get(ctx, client.ObjectKeyFromObject(profile), profile)).To(Succeed())
			g.Expect(profile.Status.CloudProfileSpec.ProviderConfig).NotTo(BeNil())
			config := &v1alpha1.CloudProfileConfig{}
			g.Expect(json.Unmarshal(profile.Status.CloudProfileSpec.ProviderConfig.Raw, config)).To(Succeed())
			g.Expect(config.MachineImages).To(HaveLen(1))
			return config.MachineImages[0].Versions
		}).WithTimeout(30 * time.Second).Should(ConsistOf(
			v1alpha1.MachineImageVersion{Version: "2.0.0", CapabilityFlavors: []v1alpha1.MachineImageFlavor{{
				Image: "registry.example.com/gardenlinux:2.0.0", Capabilities: gardencorev1beta1.Capabilities{"architecture": []string{"amd64"}},
			}}},
			v1alpha1.MachineImageVersion{Version: "1.0.0", CapabilityFlavors: []v1alpha1.MachineImageFlavor{{
				Image: "registry.example.com/gardenlinux:1.0.0", Capabilities: gardencorev1beta1.Capabilities{"architecture": []string{"amd64"}},
			}}},
		))
	})

	It("accepts a credentials Secret", func() {
		// The suite creates "metal-credentials" and its CredentialsBinding, which the Shoots reference.
		Expect(testClient.Create(ctx, credentialsSecret("metal-credentials-2"))).To(Succeed())
	})

	It("accepts a SecretBinding", func() {
		Expect(testClient.Create(ctx, &gardencorev1beta1.SecretBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "metal-secret", Namespace: projectNamespace},
			SecretRef:  corev1.SecretReference{Namespace: projectNamespace, Name: "metal-credentials-2"},
			Provider:   &gardencorev1beta1.SecretBindingProvider{Type: "metal"},
		})).To(Succeed())
	})

	It("accepts a CredentialsBinding referencing a Secret", func() {
		Expect(testClient.Create(ctx, credentialsBinding("metal-credentials-2", "v1", "Secret", "metal-credentials-2"))).To(Succeed())
	})

	It("accepts a CredentialsBinding referencing a WorkloadIdentity for the metal provider", func() {
		Expect(testClient.Create(ctx, &securityv1alpha1.WorkloadIdentity{
			ObjectMeta: metav1.ObjectMeta{Name: "metal-identity", Namespace: projectNamespace},
			Spec: securityv1alpha1.WorkloadIdentitySpec{
				Audiences:    []string{"metal"},
				TargetSystem: securityv1alpha1.TargetSystem{Type: "metal"},
			},
		})).To(Succeed())
		Expect(testClient.Create(ctx, credentialsBinding("metal-identity", "security.gardener.cloud/v1alpha1", "WorkloadIdentity", "metal-identity"))).To(Succeed())
	})

	It("accepts a Shoot and an update that adds a network", func() {
		s := validShoot("valid")
		s.Spec.Provider.InfrastructureConfig = infrastructureConfig(replace(validNetworks, `10.250.0.0/16`, `10.250.0.0/17`))
		Expect(testClient.Create(ctx, s)).To(Succeed())

		s.Spec.Provider.InfrastructureConfig = infrastructureConfig(`"networks":[` +
			`{"name":"nodes","cidr":"10.250.0.0/17","ipamPoolRef":{"apiGroup":"ipam.cluster.x-k8s.io","kind":"InClusterIPPool","name":"nodes"}},` +
			`{"name":"rack-2","cidr":"10.250.128.0/17"}]`)
		Expect(testClient.Update(ctx, s)).To(Succeed())
	})

	It("rejects an update of the Shoot that changes a network's CIDR", func() {
		s := &gardencorev1beta1.Shoot{}
		Expect(testClient.Get(ctx, client.ObjectKey{Namespace: projectNamespace, Name: "valid"}, s)).To(Succeed())
		s.Spec.Provider.InfrastructureConfig = infrastructureConfig(`"networks":[` +
			`{"name":"nodes","cidr":"10.250.0.0/18","ipamPoolRef":{"apiGroup":"ipam.cluster.x-k8s.io","kind":"InClusterIPPool","name":"nodes"}},` +
			`{"name":"rack-2","cidr":"10.250.128.0/17"}]`)
		Expect(testClient.Update(ctx, s)).To(MatchError(ContainSubstring("spec.provider.infrastructureConfig.networks[0].cidr: Invalid value: \"10.250.0.0/18\": field is immutable")))
	})

	It("rejects a Shoot on a NamespacedCloudProfile with an image version missing in its providerConfig", func() {
		// The status of "custom" carries the merged providerConfig, which has no image for 3.0.0.
		s := validShoot("on-custom")
		s.Spec.CloudProfile = &gardencorev1beta1.CloudProfileReference{Kind: "NamespacedCloudProfile", Name: "custom"}
		s.Spec.Provider.Workers[0].Machine.Image.Version = new("3.0.0")
		Expect(testClient.Create(ctx, s, client.DryRunAll)).To(MatchError(ContainSubstring("spec.provider.workers[0].machine.image")))
	})
})

func credentialsBinding(name, apiVersion, kind, refName string) *securityv1alpha1.CredentialsBinding {
	return &securityv1alpha1.CredentialsBinding{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: projectNamespace},
		Provider:       securityv1alpha1.CredentialsBindingProvider{Type: "metal"},
		CredentialsRef: corev1.ObjectReference{APIVersion: apiVersion, Kind: kind, Namespace: projectNamespace, Name: refName},
	}
}

var _ = Describe("Admission of invalid references", func() {
	It("rejects a SecretBinding whose Secret does not exist", func() {
		// Gardener's ResourceReferenceManager refuses it before our webhook is asked.
		Expect(testClient.Create(ctx, &gardencorev1beta1.SecretBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "missing-secret", Namespace: projectNamespace},
			SecretRef:  corev1.SecretReference{Namespace: projectNamespace, Name: "does-not-exist"},
			Provider:   &gardencorev1beta1.SecretBindingProvider{Type: "metal"},
		}, client.DryRunAll)).To(MatchError(ContainSubstring(`"does-not-exist" not found`)))
	})

	It("rejects a CredentialsBinding whose WorkloadIdentity targets another provider", func() {
		// Gardener's ResourceReferenceManager refuses it before our webhook is asked, which a suite without the
		// gardener-apiserver could not show; our webhook's own check is covered by the validator's unit tests.
		Expect(testClient.Create(ctx, &securityv1alpha1.WorkloadIdentity{
			ObjectMeta: metav1.ObjectMeta{Name: "aws-identity", Namespace: projectNamespace},
			Spec:       securityv1alpha1.WorkloadIdentitySpec{Audiences: []string{"aws"}, TargetSystem: securityv1alpha1.TargetSystem{Type: "aws"}},
		})).To(Succeed())
		Expect(testClient.Create(ctx, credentialsBinding("aws-identity", "security.gardener.cloud/v1alpha1", "WorkloadIdentity", "aws-identity"), client.DryRunAll)).
			To(MatchError(ContainSubstring(`CredentialsBinding provider type ([metal]) does not match with WorkloadIdentity provider type aws`)))
	})

	It("rejects a credentials Secret without token and does not echo its values", func() {
		secret := credentialsSecret("incomplete")
		delete(secret.Data, "token")
		secret.Data["namespace"] = []byte("Not_A_Namespace")
		err := testClient.Create(ctx, secret, client.DryRunAll)
		Expect(err).To(MatchError(ContainSubstring("data[token]: Required value")))
		Expect(err).To(MatchError(ContainSubstring("data[namespace]")))
		Expect(err.Error()).NotTo(ContainSubstring("Not_A_Namespace"))
	})
})

// replace returns s with old replaced by new exactly once; it fails the test when old does not occur, so that a
// table entry cannot silently test the valid object.
func replace(s, old, with string) string {
	ExpectWithOffset(1, strings.Count(s, old)).To(Equal(1), "%q must occur once in %q", old, s)
	return strings.Replace(s, old, with, 1)
}

var notPEM = base64.StdEncoding.EncodeToString([]byte("not a certificate"))

var _ = Describe("Admission of invalid provider configs", func() {
	// Gardener's own validation runs first; each entry passes it, and our webhook rejects the object.
	DescribeTable("rejects the object with the offending field's path in the error",
		func(obj func() client.Object, path string) {
			err := testClient.Create(ctx, obj(), client.DryRunAll)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(`admission webhook "validator.`))
			Expect(err.Error()).To(ContainSubstring(path))
		},

		// CloudProfileConfig of a CloudProfile
		Entry("CloudProfile without providerConfig",
			func() client.Object { return cloudProfile("bad", nil) }, "spec.providerConfig: Required value"),
		Entry("CloudProfileConfig with an unknown field",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(validCloudProfile+`,"regions":[]`))
			}, "spec.providerConfig.regions: Invalid value"),
		Entry("CloudProfileConfig with a wrong apiVersion",
			func() client.Object {
				return cloudProfile("bad", &runtime.RawExtension{Raw: []byte(`{"apiVersion":"metal.provider.extensions.gardener.cloud/v1","kind":"CloudProfileConfig"}`)})
			}, "spec.providerConfig.apiVersion: Invalid value"),
		Entry("CloudProfileConfig of the wrong kind",
			func() client.Object { return cloudProfile("bad", providerConfig("WorkerConfig", "")) }, "spec.providerConfig.kind: Invalid value"),
		Entry("region CA that is no base64",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"server":"https://metal.region-a.example.com"`,
					`"server":"https://metal.region-a.example.com","certificateAuthorityData":"not base64!"`)))
			}, "spec.providerConfig.regionConfigs[0].certificateAuthorityData: Invalid value"),
		Entry("image version without image",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `,"image":"registry.example.com/gardenlinux:1.0.0"`, "")))
			}, "spec.providerConfig.machineImages[0].versions[0].image"),
		Entry("image version with an invalid image reference",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `registry.example.com/gardenlinux:1.0.0`, `UPPER CASE:image`)))
			}, "spec.providerConfig.machineImages[0].versions[0].image"),
		Entry("image version with an unsupported architecture",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"version":"1.0.0",`, `"version":"1.0.0","architecture":"s390x",`)))
			}, "spec.providerConfig.machineImages[0].versions[0].architecture"),
		Entry("image version with capability flavors in a profile without capabilities",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"version":"1.0.0",`, `"version":"1.0.0","capabilityFlavors":[{"image":"registry.example.com/gl:1"}],`)))
			}, "spec.providerConfig.machineImages[0].versions[0].capabilityFlavors"),
		Entry("duplicate machine image",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"machineImages":[`,
					`"machineImages":[{"name":"gardenlinux","versions":[{"version":"0.9.0","image":"registry.example.com/gardenlinux:0.9.0"}]},`)))
			}, "spec.providerConfig.machineImages[1].name: Duplicate value"),
		Entry("machine image without versions",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"machineImages":[`, `"machineImages":[{"name":"other","versions":[]},`)))
			}, "spec.providerConfig.machineImages[0].versions: Required value"),
		Entry("no image mapping for a version of the CloudProfile",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"version":"1.0.0"`, `"version":"1.0.1"`)))
			}, "spec.providerConfig.machineImages: Required value"),
		Entry("machine type without Server labels",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"serverLabels":{"metal.example.com/size":"standard"}`, `"serverLabels":{}`)))
			}, "spec.providerConfig.machineTypes[0].serverLabels: Required value"),
		Entry("machine type selecting the zone",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"metal.example.com/size":"standard"`,
					`"metal.example.com/size":"standard","topology.kubernetes.io/zone":"zone-a"`)))
			}, "spec.providerConfig.machineTypes[0].serverLabels[topology.kubernetes.io/zone]"),
		Entry("machine type with an invalid label key",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"metal.example.com/size"`, `"-bad key-"`)))
			}, "spec.providerConfig.machineTypes[0].serverLabels"),
		Entry("duplicate machine type",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"machineTypes":[`, `"machineTypes":[{"name":"standard","serverLabels":{"a":"b"}},`)))
			}, "spec.providerConfig.machineTypes[1].name: Duplicate value"),
		Entry("no machine type mapping for a machine type of the CloudProfile",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"name":"standard"`, `"name":"other"`)))
			}, "spec.providerConfig.machineTypes: Required value"),
		Entry("region server with http",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `https://metal.region-a`, `http://metal.region-a`)))
			}, "spec.providerConfig.regionConfigs[0].server: Invalid value"),
		Entry("region without server",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `,"server":"https://metal.region-a.example.com"`, ``)))
			}, "spec.providerConfig.regionConfigs[0].server: Required value"),
		Entry("region server with user info",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `https://metal.region-a`, `https://user:pass@metal.region-a`)))
			}, "spec.providerConfig.regionConfigs[0].server: Invalid value"),
		Entry("region CA that is no PEM",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"server":"https://metal.region-a.example.com"`,
					`"server":"https://metal.region-a.example.com","certificateAuthorityData":"`+notPEM+`"`)))
			}, "spec.providerConfig.regionConfigs[0].certificateAuthorityData"),
		Entry("no regionConfig for a region of the CloudProfile",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(replace(validCloudProfile, `"name":"region-a"`, `"name":"region-b"`)))
			}, "spec.providerConfig.regionConfigs: Required value"),
		Entry("DNS server that is no IP",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(validCloudProfile+`,"dnsServers":["dns.example.com"]`))
			},
			"spec.providerConfig.dnsServers[0]"),
		Entry("ignition that is no JSON or YAML object",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(validCloudProfile+`,"ignition":"{not: [valid"`))
			},
			"spec.providerConfig.ignition"),
		Entry("ignition without a spec version",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(validCloudProfile+`,"ignition":"storage: {files: []}"`))
			},
			"spec.providerConfig.ignition: Invalid value"),
		Entry("ignition that replaces the generated hostname",
			func() client.Object {
				return cloudProfile("bad", cloudProfileConfig(validCloudProfile+`,"ignition":"{\"ignition\":{\"version\":\"3.4.0\"},\"storage\":{\"files\":[{\"path\":\"/etc/hostname\"}]}}"`))
			},
			"spec.providerConfig.ignition: Forbidden"),

		// CloudProfileConfig of a NamespacedCloudProfile
		Entry("NamespacedCloudProfile providerConfig with an unknown field",
			func() client.Object {
				return namespacedCloudProfile("bad", cloudProfileConfig(`"machineImages":[{"name":"gardenlinux","versionz":[]}]`))
			}, "spec.providerConfig.machineImages[0].versionz: Invalid value"),
		Entry("NamespacedCloudProfile setting regionConfigs",
			func() client.Object {
				return namespacedCloudProfile("bad", cloudProfileConfig(validImages+`,"regionConfigs":[{"name":"region-a","server":"https://other.example.com"}]`))
			}, "spec.providerConfig.regionConfigs: Forbidden"),
		Entry("NamespacedCloudProfile without an image for its added version",
			func() client.Object { return namespacedCloudProfile("bad", nil) }, "spec.providerConfig.machineImages: Required value"),
		Entry("NamespacedCloudProfile with an invalid image reference for its added version",
			func() client.Object {
				return namespacedCloudProfile("bad", cloudProfileConfig(`"machineImages":[{"name":"gardenlinux","versions":[{"version":"2.0.0","image":"not a reference"}]}]`))
			}, "spec.providerConfig.machineImages[0].versions[0].image"),

		// InfrastructureConfig of a Shoot
		Entry("InfrastructureConfig with an unknown field",
			func() client.Object {
				return shoot("bad", infrastructureConfig(`"netwerks":[]`), nil, nil)
			}, "spec.provider.infrastructureConfig.netwerks: Invalid value"),
		Entry("network outside spec.networking.nodes",
			func() client.Object {
				return shoot("bad", infrastructureConfig(replace(validNetworks, `10.250.0.0/16`, `10.251.0.0/16`)), nil, nil)
			}, "spec.provider.infrastructureConfig.networks[0].cidr: Invalid value: \"10.251.0.0/16\": must lie within spec.networking.nodes"),
		Entry("network wider than spec.networking.nodes",
			func() client.Object {
				return shoot("bad", infrastructureConfig(replace(validNetworks, `10.250.0.0/16`, `10.248.0.0/14`)), nil, nil)
			}, "spec.provider.infrastructureConfig.networks[0].cidr"),
		Entry("network with an invalid name",
			func() client.Object {
				return shoot("bad", infrastructureConfig(replace(validNetworks, `"name":"nodes","cidr"`, `"name":"Nodes_1","cidr"`)), nil, nil)
			}, "spec.provider.infrastructureConfig.networks[0].name"),
		Entry("duplicate network",
			func() client.Object {
				return shoot("bad", infrastructureConfig(replace(validNetworks, `"networks":[`, `"networks":[{"name":"nodes","cidr":"10.1.0.0/16"},`)), nil, nil)
			}, "spec.provider.infrastructureConfig.networks[1].name: Duplicate value"),
		Entry("network without CIDR",
			func() client.Object {
				return shoot("bad", infrastructureConfig(replace(validNetworks, `"cidr":"10.250.0.0/16",`, ``)), nil, nil)
			}, "spec.provider.infrastructureConfig.networks[0].cidr: Required value"),
		Entry("network with an invalid CIDR",
			func() client.Object {
				return shoot("bad", infrastructureConfig(replace(validNetworks, `10.250.0.0/16`, `10.250.0.0/33`)), nil, nil)
			}, "spec.provider.infrastructureConfig.networks[0].cidr"),
		Entry("overlapping networks",
			func() client.Object {
				return shoot("bad", infrastructureConfig(replace(validNetworks, `"networks":[`, `"networks":[{"name":"wide","cidr":"10.0.0.0/8"},`)), nil, nil)
			}, "spec.provider.infrastructureConfig.networks[1].cidr"),
		Entry("network overlapping the pod network",
			func() client.Object {
				return shoot("bad", infrastructureConfig(replace(validNetworks, `10.250.0.0/16`, `100.64.0.0/16`)), nil, nil)
			}, "spec.provider.infrastructureConfig.networks[0].cidr"),
		Entry("IPAM pool of an unsupported API group",
			func() client.Object {
				return shoot("bad", infrastructureConfig(replace(validNetworks, `ipam.cluster.x-k8s.io`, `ipam.example.com`)), nil, nil)
			}, "spec.provider.infrastructureConfig.networks[0].ipamPoolRef.apiGroup"),

		// ControlPlaneConfig of a Shoot
		Entry("ControlPlaneConfig of the wrong apiVersion",
			func() client.Object {
				return shoot("bad", nil, &runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ControlPlaneConfig"}`)}, nil)
			}, "spec.provider.controlPlaneConfig.apiVersion: Invalid value"),
		Entry("MetalLB IPv6 pool on an IPv4 shoot",
			func() client.Object {
				return shoot("bad", nil, controlPlaneConfig(`"loadBalancer":{"metallb":{"ipAddressPools":[{"name":"v6","addresses":["2001:db8::/120"]}]}}`), nil)
			}, "spec.provider.controlPlaneConfig.loadBalancer.metallb.ipAddressPools[0].addresses[0]: Invalid value: \"2001:db8::/120\": is an IPv6 address"),
		Entry("MetalLB pools overlapping each other",
			func() client.Object {
				return shoot("bad", nil, controlPlaneConfig(`"loadBalancer":{"metallb":{"ipAddressPools":[`+
					`{"name":"a","addresses":["192.0.2.0/28"]},{"name":"b","addresses":["192.0.2.10-192.0.2.20"]}]}}`), nil)
			}, "spec.provider.controlPlaneConfig.loadBalancer.metallb.ipAddressPools[1].addresses[0]: Invalid value: \"192.0.2.10-192.0.2.20\": must not overlap with spec.provider.controlPlaneConfig.loadBalancer.metallb.ipAddressPools[0].addresses[0]"),
		Entry("MetalLB pool in the nodes network",
			func() client.Object {
				return shoot("bad", nil, controlPlaneConfig(`"loadBalancer":{"metallb":{"ipAddressPools":[{"name":"a","addresses":["10.250.255.0/24"]}]}}`), nil)
			}, "spec.provider.controlPlaneConfig.loadBalancer.metallb.ipAddressPools[0].addresses[0]: Invalid value: \"10.250.255.0/24\": must not overlap with spec.networking.nodes"),
		Entry("MetalLB pool in the service network",
			func() client.Object {
				return shoot("bad", nil, controlPlaneConfig(`"loadBalancer":{"metallb":{"ipAddressPools":[{"name":"a","addresses":["100.80.0.10-100.80.0.20"]}]}}`), nil)
			}, "must not overlap with spec.networking.services"),
		Entry("unsupported node name policy",
			func() client.Object { return shoot("bad", nil, controlPlaneConfig(`"nodeNamePolicy":"Hostname"`), nil) },
			"spec.provider.controlPlaneConfig.nodeNamePolicy: Unsupported value"),
		Entry("metal load balancer together with MetalLB",
			func() client.Object {
				return shoot("bad", nil, controlPlaneConfig(`"loadBalancer":{"metalLoadBalancer":{"vni":100,"metalBondServer":"[2001:db8::1]:4711"},`+
					`"metallb":{"ipAddressPools":[{"name":"pool","addresses":["192.0.2.0/28"]}]}}`), nil)
			}, "spec.provider.controlPlaneConfig.loadBalancer.metallb: Forbidden"),
		Entry("MetalLB pool with an invalid address",
			func() client.Object {
				return shoot("bad", nil, controlPlaneConfig(`"loadBalancer":{"metallb":{"ipAddressPools":[{"name":"pool","addresses":["192.0.2.20-192.0.2.10"]}]}}`), nil)
			}, "spec.provider.controlPlaneConfig.loadBalancer.metallb.ipAddressPools[0].addresses[0]"),
		Entry("MetalLB without address pools",
			func() client.Object {
				return shoot("bad", nil, controlPlaneConfig(`"loadBalancer":{"metallb":{}}`), nil)
			},
			"spec.provider.controlPlaneConfig.loadBalancer.metallb.ipAddressPools: Required value"),
		Entry("metal load balancer with a server without port",
			func() client.Object {
				return shoot("bad", nil, controlPlaneConfig(`"loadBalancer":{"metalLoadBalancer":{"vni":100,"metalBondServer":"metalbond.example.com"}}`), nil)
			}, "spec.provider.controlPlaneConfig.loadBalancer.metalLoadBalancer.metalBondServer"),
		Entry("Calico BGP with an invalid AS number",
			func() client.Object {
				return shoot("bad", nil, controlPlaneConfig(`"loadBalancer":{"calicoBgp":{"asNumber":0}}`), nil)
			},
			"spec.provider.controlPlaneConfig.loadBalancer.calicoBgp.asNumber"),
		Entry("Calico BGP peer with an invalid IP",
			func() client.Object {
				return shoot("bad", nil, controlPlaneConfig(`"loadBalancer":{"calicoBgp":{"asNumber":64512,"peers":[{"peerIP":"router","asNumber":64513}]}}`), nil)
			}, "spec.provider.controlPlaneConfig.loadBalancer.calicoBgp.peers[0].peerIP"),
		Entry("cloud-controller-manager pod prefix size beyond IPv4",
			func() client.Object {
				return shoot("bad", nil, controlPlaneConfig(`"cloudControllerManager":{"podPrefixSize":40}`), nil)
			}, "spec.provider.controlPlaneConfig.cloudControllerManager.podPrefixSize"),
		Entry("cloud-controller-manager IPAM kind without kind",
			func() client.Object {
				return shoot("bad", nil, controlPlaneConfig(`"cloudControllerManager":{"networking":{"ipamKind":{"apiGroup":"ipam.cluster.x-k8s.io"}}}`), nil)
			}, "spec.provider.controlPlaneConfig.cloudControllerManager.networking.ipamKind.kind: Required value"),

		// WorkerConfig of a Shoot's worker pool
		Entry("WorkerConfig with an unknown field",
			func() client.Object { return shoot("bad", nil, nil, workerConfig(`"extraLabels":{}`)) },
			"spec.provider.workers[0].providerConfig.extraLabels: Invalid value"),
		Entry("WorkerConfig metadata value of the wrong type",
			func() client.Object { return shoot("bad", nil, nil, workerConfig(`"metadata":{"rack":7}`)) },
			"spec.provider.workers[0].providerConfig.metadata[rack]: Invalid value"),
		Entry("extra ignition without a spec version",
			func() client.Object {
				return shoot("bad", nil, nil, workerConfig(`"extraIgnition":{"raw":"storage:\n  files: []\n"}`))
			}, "spec.provider.workers[0].providerConfig.extraIgnition.raw: Invalid value"),
		Entry("extra ignition with a relative path",
			func() client.Object {
				return shoot("bad", nil, nil, workerConfig(`"extraIgnition":{"raw":"{\"ignition\":{\"version\":\"3.4.0\"},\"storage\":{\"files\":[{\"path\":\"etc/motd\"}]}}"}`))
			}, "spec.provider.workers[0].providerConfig.extraIgnition.raw: Invalid value"),
		Entry("extra ignition replacing the user data unit",
			func() client.Object {
				return shoot("bad", nil, nil, workerConfig(`"extraIgnition":{"raw":"{\"ignition\":{\"version\":\"3.4.0\"},\"systemd\":{\"units\":[{\"name\":\"metal-user-data.service\",\"mask\":true}]}}"}`))
			}, "spec.provider.workers[0].providerConfig.extraIgnition.raw: Forbidden"),
		Entry("extra ignition that does not fit into the machines' ignition Secret",
			func() client.Object {
				big := `{\"ignition\":{\"version\":\"3.4.0\"},\"storage\":{\"files\":[{\"path\":\"/etc/big\",\"contents\":{\"source\":\"data:,` + strings.Repeat("x", 600*1024) + `\"}}]}}`
				return shoot("bad", nil, nil, workerConfig(`"extraIgnition":{"raw":"`+big+`"}`))
			}, "spec.provider.workers[0].providerConfig: Too long"),
		Entry("extra Server labels selecting the zone",
			func() client.Object {
				return shoot("bad", nil, nil, workerConfig(`"extraServerLabels":{"topology.kubernetes.io/zone":"zone-a"}`))
			}, "spec.provider.workers[0].providerConfig.extraServerLabels[topology.kubernetes.io/zone]: Forbidden"),
		Entry("Server toleration with an unsupported operator",
			func() client.Object {
				return shoot("bad", nil, nil, workerConfig(`"serverTolerations":[{"key":"maintenance","operator":"Matches"}]`))
			}, "spec.provider.workers[0].providerConfig.serverTolerations[0].operator: Unsupported value"),
		Entry("Server toleration with Exists and a value",
			func() client.Object {
				return shoot("bad", nil, nil, workerConfig(`"serverTolerations":[{"key":"maintenance","operator":"Exists","value":"yes"}]`))
			}, "spec.provider.workers[0].providerConfig.serverTolerations[0].value"),
		Entry("IPAM config without metadata key",
			func() client.Object {
				return shoot("bad", infrastructureConfig(validNetworks), nil, workerConfig(`"ipamConfig":[{"ipamRef":{"network":"nodes"}}]`))
			}, "spec.provider.workers[0].providerConfig.ipamConfig[0].metadataKey: Required value"),
		Entry("IPAM config naming an unknown network",
			func() client.Object {
				return shoot("bad", infrastructureConfig(validNetworks), nil, workerConfig(replace(validIPAM, `"network":"nodes"`, `"network":"storage"`)))
			}, "spec.provider.workers[0].providerConfig.ipamConfig[0].ipamRef.network"),
		Entry("IPAM config with network and pool",
			func() client.Object {
				return shoot("bad", infrastructureConfig(validNetworks), nil, workerConfig(replace(validIPAM, `"network":"nodes"`,
					`"network":"nodes","pool":{"apiGroup":"ipam.cluster.x-k8s.io","kind":"InClusterIPPool","name":"nodes"}`)))
			}, "spec.provider.workers[0].providerConfig.ipamConfig[0].ipamRef.pool: Forbidden"),
		Entry("extra ignition with raw and secretRef",
			func() client.Object {
				return shoot("bad", nil, nil, workerConfig(`"extraIgnition":{"raw":"{}","secretRef":"ignition"}`))
			}, "spec.provider.workers[0].providerConfig.extraIgnition.secretRef: Forbidden"),
		Entry("extra ignition referencing an unknown resource",
			func() client.Object {
				return shoot("bad", nil, nil, workerConfig(`"extraIgnition":{"secretRef":"missing"}`))
			},
			"spec.provider.workers[0].providerConfig.extraIgnition.secretRef: Not found"),
		Entry("worker DNS server that is no IP",
			func() client.Object { return shoot("bad", nil, nil, workerConfig(`"dnsServers":["10.0.0.300"]`)) },
			"spec.provider.workers[0].providerConfig.dnsServers[0]"),
	)

	// Before, the suite served Gardener's kinds as schemaless CRDs and such Shoots reached our webhook; Gardener's
	// ShootValidator refuses them first, on the same paths.
	DescribeTable("leaves to Gardener what Gardener validates",
		func(mutate func(*gardencorev1beta1.Shoot), path string) {
			s := validShoot("bad")
			mutate(s)
			err := testClient.Create(ctx, s, client.DryRunAll)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).NotTo(ContainSubstring(`admission webhook "validator.`))
			Expect(err.Error()).To(ContainSubstring(path))
		},
		Entry("a machine type the CloudProfile does not offer",
			func(s *gardencorev1beta1.Shoot) { s.Spec.Provider.Workers[0].Machine.Type = "unknown" }, "spec.provider.workers[0].machine.type"),
		Entry("a zone the CloudProfile's region does not have",
			func(s *gardencorev1beta1.Shoot) { s.Spec.Provider.Workers[0].Zones = []string{"zone-x"} }, "spec.provider.workers[0].zones[0]"),
		Entry("a resource reference to a Secret that does not exist",
			func(s *gardencorev1beta1.Shoot) { s.Spec.Resources[0].ResourceRef.Name = "does-not-exist" }, "does-not-exist"),
	)
})

var _ = Describe("Admission of DNS provider Secrets", func() {
	dnsSecret := func(name string, data map[string]string) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: projectNamespace, Labels: map[string]string{"provider.shoot.gardener.cloud/rfc2136": "true"}},
			StringData: data,
		}
	}
	valid := func() map[string]string {
		return map[string]string{
			"Server": "192.0.2.53:53", "Zone": "example.com.", "TSIGKeyName": "gardener.",
			"TSIGSecret": "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", "TSIGSecretAlgorithm": "hmac-sha256",
		}
	}

	It("accepts a complete rfc2136 Secret", func() {
		Expect(testClient.Create(ctx, dnsSecret("dns-valid", valid()))).To(Succeed())
	})

	It("rejects an unsupported TSIG algorithm with the key's path and without the secret", func() {
		data := valid()
		data["TSIGSecretAlgorithm"] = "hmac-md5"
		err := testClient.Create(ctx, dnsSecret("dns-md5", data))
		Expect(err).To(MatchError(ContainSubstring("TSIGSecretAlgorithm")))
		Expect(err.Error()).NotTo(ContainSubstring(data["TSIGSecret"]))
	})

	It("rejects a Secret without the TSIG secret", func() {
		data := valid()
		delete(data, "TSIGSecret")
		Expect(testClient.Create(ctx, dnsSecret("dns-incomplete", data))).To(MatchError(ContainSubstring("TSIGSecret")))
	})
})
