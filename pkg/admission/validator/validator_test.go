package validator_test

import (
	"context"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	"github.com/gardener/gardener/pkg/apis/core"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	"github.com/gardener/gardener/pkg/apis/security"
	securityv1alpha1 "github.com/gardener/gardener/pkg/apis/security/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/admission/validator"
)

const apiVersion = `"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1"`

func raw(s string) *runtime.RawExtension {
	return &runtime.RawExtension{Raw: []byte(s)}
}

// fakeManager provides the only part of a manager the validators use: the API reader.
type fakeManager struct {
	manager.Manager
	reader client.Reader
}

func (m fakeManager) GetAPIReader() client.Reader { return m.reader }

var _ = Describe("Validators", func() {
	var (
		ctx    = context.Background()
		reader client.Client
		mgr    manager.Manager
	)

	BeforeEach(func() {
		scheme := runtime.NewScheme()
		utilruntime.Must(corev1.AddToScheme(scheme))
		utilruntime.Must(gardencorev1beta1.AddToScheme(scheme))
		utilruntime.Must(securityv1alpha1.AddToScheme(scheme))
		reader = fakeclient.NewClientBuilder().WithScheme(scheme).Build()
		mgr = fakeManager{reader: reader}
	})

	Describe("Shoot", func() {
		var (
			val   extensionswebhook.Validator
			shoot *core.Shoot
		)

		BeforeEach(func() {
			val = validator.NewShootValidator(mgr)
			shoot = &core.Shoot{
				ObjectMeta: metav1.ObjectMeta{Name: "shoot", Namespace: "garden-dev"},
				Spec: core.ShootSpec{
					CloudProfile: &core.CloudProfileReference{Kind: "CloudProfile", Name: "metal"},
					Region:       "region-a",
					Provider: core.Provider{
						Type: "metal",
						Workers: []core.Worker{
							{Name: "pool-a"},
							{Name: "pool-b"},
						},
					},
				},
			}
		})

		DescribeTable("reports a providerConfig that cannot be decoded on its path",
			func(change func(), path string) {
				change()
				err := val.Validate(ctx, shoot, nil)
				Expect(err).To(MatchError(ContainSubstring(path + ": Invalid value")))
				Expect(err).To(MatchError(ContainSubstring("could not decode providerConfig")))
			},
			Entry("infrastructureConfig with an unknown field", func() {
				shoot.Spec.Provider.InfrastructureConfig = raw(`{` + apiVersion + `,"kind":"InfrastructureConfig","netwerks":[]}`)
			}, "spec.provider.infrastructureConfig.netwerks"),
			Entry("infrastructureConfig with a CIDR of the wrong type in its second network", func() {
				shoot.Spec.Provider.InfrastructureConfig = raw(`{` + apiVersion + `,"kind":"InfrastructureConfig","networks":[{"name":"a","cidr":"10.0.0.0/24"},{"name":"b","cidr":24}]}`)
			}, "spec.provider.infrastructureConfig.networks[1].cidr"),
			Entry("controlPlaneConfig of the wrong kind", func() {
				shoot.Spec.Provider.ControlPlaneConfig = raw(`{` + apiVersion + `,"kind":"WorkerConfig"}`)
			}, "spec.provider.controlPlaneConfig.kind"),
			Entry("worker's metadata value of the wrong type", func() {
				shoot.Spec.Provider.Workers[0].ProviderConfig = raw(`{` + apiVersion + `,"kind":"WorkerConfig","metadata":{"rack":7}}`)
			}, "spec.provider.workers[0].providerConfig.metadata[rack]"),
			Entry("second worker's providerConfig that is no JSON", func() {
				shoot.Spec.Provider.Workers[1].ProviderConfig = raw(`{not json`)
			}, "spec.provider.workers[1].providerConfig"),
		)

		It("reports a missing CloudProfile on the reference", func() {
			Expect(val.Validate(ctx, shoot, nil)).To(MatchError(ContainSubstring(`spec.cloudProfile.name: Not found: "metal"`)))
		})

		It("reports a missing CloudProfile on the deprecated cloudProfileName", func() {
			shoot.Spec.CloudProfile, shoot.Spec.CloudProfileName = nil, new("metal") //nolint:staticcheck // the deprecated field is what this case is about
			Expect(val.Validate(ctx, shoot, nil)).To(MatchError(ContainSubstring(`spec.cloudProfileName: Not found: "metal"`)))
		})

		It("reports a missing NamespacedCloudProfile on the reference", func() {
			shoot.Spec.CloudProfile = &core.CloudProfileReference{Kind: "NamespacedCloudProfile", Name: "custom"}
			Expect(val.Validate(ctx, shoot, nil)).To(MatchError(ContainSubstring(`spec.cloudProfile.name: Not found: "custom"`)))
		})

		It("reports a CloudProfile whose providerConfig cannot be decoded on the reference", func() {
			Expect(reader.Create(ctx, &gardencorev1beta1.CloudProfile{
				ObjectMeta: metav1.ObjectMeta{Name: "metal"},
				Spec:       gardencorev1beta1.CloudProfileSpec{Type: "metal", ProviderConfig: raw(`{` + apiVersion + `,"kind":"CloudProfileConfig","regionConfigs":[{"name":"r","server":"https://m","certificateAuthorityData":"%%%"}]}`)},
			})).To(Succeed())
			err := val.Validate(ctx, shoot, nil)
			Expect(err).To(MatchError(ContainSubstring(`spec.cloudProfile.name: Invalid value`)))
			Expect(err).To(MatchError(ContainSubstring(`regionConfigs[0].certificateAuthorityData`)))
		})

		It("refuses a NamespacedCloudProfile that has not been reconciled yet", func() {
			Expect(reader.Create(ctx, &gardencorev1beta1.NamespacedCloudProfile{ObjectMeta: metav1.ObjectMeta{Name: "custom", Namespace: "garden-dev"}})).To(Succeed())
			shoot.Spec.CloudProfile = &core.CloudProfileReference{Kind: "NamespacedCloudProfile", Name: "custom"}
			Expect(val.Validate(ctx, shoot, nil)).To(MatchError(ContainSubstring("has not been reconciled yet")))
		})

		Describe("what the pools put into the ignition Secret", func() {
			const profileConfig = `{` + apiVersion + `,"kind":"CloudProfileConfig",` +
				`"machineImages":[{"name":"gardenlinux","versions":[{"version":"1.0.0","image":"registry.example.com/gardenlinux:1.0.0"}]}],` +
				`"machineTypes":[{"name":"standard","serverLabels":{"size":"standard"}}],` +
				`"regionConfigs":[{"name":"region-a","server":"https://metal.example.com"}]}`

			BeforeEach(func() {
				Expect(reader.Create(ctx, &gardencorev1beta1.CloudProfile{
					ObjectMeta: metav1.ObjectMeta{Name: "metal"},
					Spec: gardencorev1beta1.CloudProfileSpec{
						Type:           "metal",
						Regions:        []gardencorev1beta1.Region{{Name: "region-a", Zones: []gardencorev1beta1.AvailabilityZone{{Name: "zone-a"}}}},
						ProviderConfig: raw(profileConfig),
					},
				})).To(Succeed())
				shoot.Spec.Resources = []core.NamedResourceReference{{
					Name:        "ignition",
					ResourceRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "v1", Kind: "Secret", Name: "pool-ignition"},
				}}
				shoot.Spec.Provider.Workers = []core.Worker{{
					Name:           "pool-a",
					Machine:        core.Machine{Type: "standard"},
					Zones:          []string{"zone-a"},
					ProviderConfig: raw(`{` + apiVersion + `,"kind":"WorkerConfig","extraIgnition":{"secretRef":"ignition"}}`),
				}}
			})

			ignitionSecret := func(data map[string][]byte) *corev1.Secret {
				return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pool-ignition", Namespace: "garden-dev"}, Data: data}
			}

			It("accepts valid Ignition in the referenced Secret", func() {
				Expect(reader.Create(ctx, ignitionSecret(map[string][]byte{"ignition": []byte(`{"ignition":{"version":"3.4.0"}}`)}))).To(Succeed())
				Expect(val.Validate(ctx, shoot, nil)).To(Succeed())
			})

			It("reports a missing Secret on the Shoot's resource reference", func() {
				Expect(val.Validate(ctx, shoot, nil)).To(MatchError(ContainSubstring(`spec.resources[0].resourceRef.name: Not found: "pool-ignition"`)))
			})

			It("reports a Secret without the ignition key on the secretRef", func() {
				Expect(reader.Create(ctx, ignitionSecret(map[string][]byte{"config": []byte("{}")}))).To(Succeed())
				Expect(val.Validate(ctx, shoot, nil)).To(MatchError(ContainSubstring(`spec.provider.workers[0].providerConfig.extraIgnition.secretRef: Invalid value: "ignition": Secret "pool-ignition" has no key "ignition"`)))
			})

			It("reports Ignition in the Secret the Worker controller would refuse, without its content", func() {
				Expect(reader.Create(ctx, ignitionSecret(map[string][]byte{"ignition": []byte(`{"passwd":{"users":[{"name":"core","passwordHash":"s3cr3t"}]}}`)}))).To(Succeed())
				err := val.Validate(ctx, shoot, nil)
				Expect(err).To(MatchError(ContainSubstring(`spec.provider.workers[0].providerConfig.extraIgnition.secretRef: Invalid value`)))
				Expect(err.Error()).NotTo(ContainSubstring("s3cr3t"))
			})

			It("reports Ignition in the Secret that does not fit into the machines' ignition Secret", func() {
				big := `{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/big","contents":{"source":"data:,` + strings.Repeat("x", 600*1024) + `"}}]}}`
				Expect(reader.Create(ctx, ignitionSecret(map[string][]byte{"ignition": []byte(big)}))).To(Succeed())
				Expect(val.Validate(ctx, shoot, nil)).To(MatchError(ContainSubstring(`spec.provider.workers[0].providerConfig: Too long`)))
			})

			It("reports a zone that the CloudProfile's region does not have", func() {
				Expect(reader.Create(ctx, ignitionSecret(map[string][]byte{"ignition": []byte(`{"ignition":{"version":"3.4.0"}}`)}))).To(Succeed())
				shoot.Spec.Provider.Workers[0].Zones = []string{"zone-a", "zone-x"}
				Expect(val.Validate(ctx, shoot, nil)).To(MatchError(ContainSubstring(`spec.provider.workers[0].zones[1]: Unsupported value: "zone-x"`)))
			})
		})

		DescribeTable("ignores shoots it is not responsible for",
			func(change func()) {
				shoot.Spec.Provider.InfrastructureConfig = raw(`{broken`)
				change()
				Expect(val.Validate(ctx, shoot, nil)).To(Succeed())
			},
			Entry("of another provider", func() { shoot.Spec.Provider.Type = "aws" }),
			Entry("being deleted", func() { shoot.DeletionTimestamp = &metav1.Time{} }),
			Entry("without workers", func() { shoot.Spec.Provider.Workers = nil }),
		)
	})

	Describe("CloudProfile", func() {
		var (
			val          extensionswebhook.Validator
			cloudProfile *core.CloudProfile
		)

		BeforeEach(func() {
			val = validator.NewCloudProfileValidator()
			cloudProfile = &core.CloudProfile{ObjectMeta: metav1.ObjectMeta{Name: "metal"}, Spec: core.CloudProfileSpec{Type: "metal"}}
		})

		It("requires a providerConfig", func() {
			Expect(val.Validate(ctx, cloudProfile, nil)).To(MatchError(ContainSubstring("spec.providerConfig: Required value")))
		})

		It("reports a providerConfig that cannot be decoded on its path", func() {
			cloudProfile.Spec.ProviderConfig = raw(`{` + apiVersion + `,"kind":"CloudProfileConfig","machineImagez":[]}`)
			Expect(val.Validate(ctx, cloudProfile, nil)).To(MatchError(ContainSubstring("spec.providerConfig.machineImagez: Invalid value")))
		})

		It("reports bad base64 in a CA bundle on the bundle's path", func() {
			cloudProfile.Spec.ProviderConfig = raw(`{` + apiVersion + `,"kind":"CloudProfileConfig","regionConfigs":[` +
				`{"name":"a","server":"https://metal-a"},{"name":"b","server":"https://metal-b","certificateAuthorityData":"not base64!"}]}`)
			err := val.Validate(ctx, cloudProfile, nil)
			Expect(err).To(MatchError(ContainSubstring("spec.providerConfig.regionConfigs[1].certificateAuthorityData: Invalid value")))
			Expect(err).To(MatchError(ContainSubstring("illegal base64 data")))
		})

		It("ignores CloudProfiles of other providers", func() {
			cloudProfile.Spec.Type = "aws"
			Expect(val.Validate(ctx, cloudProfile, nil)).To(Succeed())
		})
	})

	Describe("NamespacedCloudProfile", func() {
		var (
			val     extensionswebhook.Validator
			profile *core.NamespacedCloudProfile
		)

		BeforeEach(func() {
			val = validator.NewNamespacedCloudProfileValidator(mgr)
			profile = &core.NamespacedCloudProfile{
				ObjectMeta: metav1.ObjectMeta{Name: "custom", Namespace: "garden-dev"},
				Spec:       core.NamespacedCloudProfileSpec{Parent: core.CloudProfileReference{Kind: "CloudProfile", Name: "metal"}},
			}
		})

		It("reports a missing parent on the parent reference", func() {
			Expect(val.Validate(ctx, profile, nil)).To(MatchError(ContainSubstring(`spec.parent.name: Not found: "metal"`)))
		})

		It("reports a providerConfig that cannot be decoded on its path", func() {
			Expect(reader.Create(ctx, &gardencorev1beta1.CloudProfile{
				ObjectMeta: metav1.ObjectMeta{Name: "metal"},
				Spec: gardencorev1beta1.CloudProfileSpec{Type: "metal", ProviderConfig: raw(`{` + apiVersion + `,"kind":"CloudProfileConfig",` +
					`"machineImages":[],"machineTypes":[],"regionConfigs":[]}`)},
			})).To(Succeed())
			profile.Spec.ProviderConfig = raw(`{` + apiVersion + `,"kind":"CloudProfileConfig","machineTypez":[]}`)

			Expect(val.Validate(ctx, profile, nil)).To(MatchError(ContainSubstring("spec.providerConfig.machineTypez: Invalid value")))
		})
	})

	Describe("SecretBinding", func() {
		It("says which referenced Secret is missing", func() {
			secretBinding := &core.SecretBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "binding", Namespace: "garden-dev"},
				SecretRef:  corev1.SecretReference{Namespace: "garden-dev", Name: "credentials"},
				Provider:   &core.SecretBindingProvider{Type: "metal"},
			}
			Expect(validator.NewSecretBindingValidator(mgr).Validate(ctx, secretBinding, nil)).To(MatchError(
				ContainSubstring(`secretRef: Invalid value: "garden-dev/credentials": referenced Secret does not exist`)))
		})
	})

	Describe("CredentialsBinding", func() {
		var (
			val     extensionswebhook.Validator
			binding *security.CredentialsBinding
		)

		BeforeEach(func() {
			val = validator.NewCredentialsBindingValidator(mgr)
			binding = &security.CredentialsBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "binding", Namespace: "garden-dev"},
				Provider:   security.CredentialsBindingProvider{Type: "metal"},
				CredentialsRef: corev1.ObjectReference{
					APIVersion: "security.gardener.cloud/v1alpha1", Kind: "WorkloadIdentity", Namespace: "garden-dev", Name: "identity",
				},
			}
		})

		It("says which referenced WorkloadIdentity is missing", func() {
			Expect(val.Validate(ctx, binding, nil)).To(MatchError(
				ContainSubstring(`credentialsRef: Invalid value: "garden-dev/identity": referenced WorkloadIdentity does not exist`)))
		})

		It("refuses a WorkloadIdentity for another target system", func() {
			Expect(reader.Create(ctx, &securityv1alpha1.WorkloadIdentity{
				ObjectMeta: metav1.ObjectMeta{Name: "identity", Namespace: "garden-dev"},
				Spec:       securityv1alpha1.WorkloadIdentitySpec{TargetSystem: securityv1alpha1.TargetSystem{Type: "aws"}},
			})).To(Succeed())

			Expect(val.Validate(ctx, binding, nil)).To(MatchError(ContainSubstring(`spec.targetSystem.type "aws", but it must be "metal"`)))
		})

		It("accepts a WorkloadIdentity for the metal provider", func() {
			Expect(reader.Create(ctx, &securityv1alpha1.WorkloadIdentity{
				ObjectMeta: metav1.ObjectMeta{Name: "identity", Namespace: "garden-dev"},
				Spec:       securityv1alpha1.WorkloadIdentitySpec{TargetSystem: securityv1alpha1.TargetSystem{Type: "metal"}},
			})).To(Succeed())

			Expect(val.Validate(ctx, binding, nil)).To(Succeed())
		})

		It("refuses other kinds of credentials", func() {
			binding.CredentialsRef = corev1.ObjectReference{APIVersion: "core.gardener.cloud/v1beta1", Kind: "InternalSecret", Namespace: "garden-dev", Name: "x"}
			Expect(val.Validate(ctx, binding, nil)).To(MatchError(ContainSubstring("credentialsRef: Unsupported value")))
		})
	})
})
