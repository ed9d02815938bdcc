package worker

import (
	"context"
	"encoding/json"
	"time"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var _ = Describe("Machine configuration", func() {
	const namespace = "shoot--p--s"
	var (
		ctx      = context.Background()
		delegate *workerDelegate
		pool     extensionsv1alpha1.WorkerPool
	)

	newDelegate := func(pools ...extensionsv1alpha1.WorkerPool) *workerDelegate {
		scheme := runtime.NewScheme()
		Expect(corev1.AddToScheme(scheme)).To(Succeed())
		c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "osc-init"},
			Data:       map[string][]byte{"cloud_config": []byte("#!/bin/bash\n")},
		}).Build()
		return &workerDelegate{
			client: c,
			worker: &extensionsv1alpha1.Worker{
				ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "worker"},
				Spec: extensionsv1alpha1.WorkerSpec{
					Region:    "r1",
					SecretRef: corev1.SecretReference{Namespace: namespace, Name: "cloudprovider"},
					Pools:     pools,
				},
			},
			cluster: &extensionscontroller.Cluster{
				CloudProfile: &gardencorev1beta1.CloudProfile{Spec: gardencorev1beta1.CloudProfileSpec{MachineTypes: []gardencorev1beta1.MachineType{{
					Name: "m1", CPU: resource.MustParse("64"), GPU: resource.MustParse("0"), Memory: resource.MustParse("512Gi"),
				}}}},
				Shoot: &gardencorev1beta1.Shoot{},
			},
			cloudProfileConfig: &api.CloudProfileConfig{
				MachineImages: []api.MachineImages{{Name: "gl", Versions: []api.MachineImageVersion{
					{Version: "1.0", Image: "r.io/gl:1.0", Architecture: ptr.To("amd64")},
					{Version: "1.1", Image: "r.io/gl:1.1", Architecture: ptr.To("amd64")},
				}}},
				MachineTypes: []api.MachineType{{Name: "m1", ServerLabels: map[string]string{"type": "m1"}}},
			},
			infraConfig: &api.InfrastructureConfig{},
		}
	}

	withProviderConfig := func(pool extensionsv1alpha1.WorkerPool, cfg *v1alpha1.WorkerConfig) extensionsv1alpha1.WorkerPool {
		cfg.TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "WorkerConfig"}
		raw, err := json.Marshal(cfg)
		Expect(err).NotTo(HaveOccurred())
		pool.ProviderConfig = &runtime.RawExtension{Raw: raw}
		return pool
	}

	classNames := func(pools ...extensionsv1alpha1.WorkerPool) []string {
		generated, err := newDelegate(pools...).machineConfig(ctx)
		Expect(err).NotTo(HaveOccurred())
		var names []string
		for _, class := range generated.classes {
			names = append(names, class.Name)
		}
		return names
	}

	BeforeEach(func() {
		pool = extensionsv1alpha1.WorkerPool{
			Name:                "a",
			Minimum:             3,
			Maximum:             5,
			MaxSurge:            intstr.FromInt32(1),
			MaxUnavailable:      intstr.FromString("50%"),
			MachineType:         "m1",
			MachineImage:        extensionsv1alpha1.MachineImage{Name: "gl", Version: "1.0"},
			NodeAgentSecretName: ptr.To("gardener-node-agent-a-1234"),
			UserDataSecretRef:   corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "osc-init"}, Key: "cloud_config"},
			Zones:               []string{"z1", "z2"},
			Labels:              map[string]string{"pool": "a"},
		}
		delegate = newDelegate(pool)
	})

	It("generates a class, secret and deployment per zone", func() {
		generated, err := delegate.machineConfig(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(generated.classes).To(HaveLen(2))
		Expect(generated.secrets).To(HaveLen(2))

		class := generated.classes[1]
		Expect(class.Name).To(HavePrefix(namespace + "-a-z2-"))
		Expect(class.Provider).To(Equal("metal"))
		Expect(class.SecretRef).To(Equal(&corev1.SecretReference{Namespace: namespace, Name: class.Name}))
		Expect(class.CredentialsSecretRef).To(Equal(&corev1.SecretReference{Namespace: namespace, Name: "cloudprovider"}))
		Expect(class.NodeTemplate).To(Equal(&machinev1alpha1.NodeTemplate{
			Capacity:     corev1.ResourceList{"cpu": resource.MustParse("64"), "gpu": resource.MustParse("0"), "memory": resource.MustParse("512Gi")},
			InstanceType: "m1", Region: "r1", Zone: "z2", Architecture: ptr.To("amd64"),
		}))
		spec, err := apis.Decode(class.ProviderSpec.Raw)
		Expect(err).NotTo(HaveOccurred())
		Expect(spec.ServerSelector.MatchLabels).To(Equal(map[string]string{"type": "m1", metal.ZoneLabel: "z2", metal.RegionLabel: "r1"}))
		Expect(spec.Image).To(Equal("r.io/gl:1.0"))

		Expect(generated.secrets[1].Name).To(Equal(class.Name))
		Expect(generated.secrets[1].Labels).To(HaveKeyWithValue("gardener.cloud/purpose", "machineclass"))
		Expect(generated.secrets[1].Data).To(Equal(map[string][]byte{"userData": []byte("#!/bin/bash\n")}))

		first, second := generated.deployments[0], generated.deployments[1]
		Expect([]int32{first.Minimum, first.Maximum, second.Minimum, second.Maximum}).To(Equal([]int32{2, 3, 1, 2}))
		Expect(first.Strategy.Type).To(Equal(machinev1alpha1.RollingUpdateMachineDeploymentStrategyType))
		Expect(*first.Strategy.RollingUpdate.MaxSurge).To(Equal(intstr.FromInt32(1)))
		Expect(*second.Strategy.RollingUpdate.MaxSurge).To(Equal(intstr.FromInt32(0)))
		Expect(second.ClassName).To(Equal(class.Name))
		Expect(second.Labels).To(Equal(map[string]string{"pool": "a"}))
		Expect(second.MachineConfiguration).To(Equal(&machinev1alpha1.MachineConfiguration{MachineCreationTimeout: &metav1.Duration{Duration: time.Hour}}))
		Expect(generated.images).To(Equal([]api.MachineImage{{Name: "gl", Version: "1.0", Image: "r.io/gl:1.0", Architecture: ptr.To("amd64")}}))
	})

	It("generates in-place strategies when the pool asks", func() {
		pool.UpdateStrategy = ptr.To(gardencorev1beta1.AutoInPlaceUpdate)
		pool.KubernetesVersion = ptr.To("1.33.0")
		d := newDelegate(pool)
		d.cluster.Shoot.Status.Credentials = &gardencorev1beta1.ShootCredentials{}
		generated, err := d.machineConfig(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(generated.deployments[0].Strategy.Type).To(Equal(machinev1alpha1.InPlaceUpdateMachineDeploymentStrategyType))
		Expect(generated.deployments[0].Strategy.InPlaceUpdate.OrchestrationType).To(Equal(machinev1alpha1.OrchestrationTypeAuto))
	})

	It("keeps a creation timeout the pool sets and the pool's other machine-controller-manager settings", func() {
		pool.MachineControllerManagerSettings = &gardencorev1beta1.MachineControllerManagerSettings{
			MachineCreationTimeout: &metav1.Duration{Duration: 15 * time.Minute},
			MachineDrainTimeout:    &metav1.Duration{Duration: 2 * time.Hour},
		}
		generated, err := newDelegate(pool).machineConfig(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(generated.deployments[0].MachineConfiguration).To(Equal(&machinev1alpha1.MachineConfiguration{
			MachineCreationTimeout: &metav1.Duration{Duration: 15 * time.Minute},
			MachineDrainTimeout:    &metav1.Duration{Duration: 2 * time.Hour},
		}))
	})

	Describe("class names", func() {
		// generatedNames generates the class names of the pool with the delegate changed by mutate.
		generatedNames := func(p extensionsv1alpha1.WorkerPool, mutate func(*workerDelegate)) []string {
			d := newDelegate(p)
			mutate(d)
			generated, err := d.machineConfig(ctx)
			Expect(err).NotTo(HaveOccurred())
			var names []string
			for _, class := range generated.classes {
				names = append(names, class.Name)
			}
			return names
		}

		It("are stable", func() {
			Expect(classNames(pool)).To(Equal(classNames(pool)))
		})

		It("do not change for a zone added at the end", func() {
			changed := pool
			changed.Zones = []string{"z1", "z2", "z3"}
			Expect(classNames(changed)[:2]).To(Equal(classNames(pool)))
		})

		// Every input that is not a hash input (docs/usage/usage.md lists them) leaves the names alone: a change
		// applies to machines created from then on and replaces no running machine.
		DescribeTable("do not change with what does not need new machines",
			func(mutatePool func(*extensionsv1alpha1.WorkerPool), mutateDelegate func(*workerDelegate)) {
				changed := pool
				mutatePool(&changed)
				Expect(generatedNames(changed, mutateDelegate)).To(Equal(classNames(pool)))
			},
			Entry("sizes", func(p *extensionsv1alpha1.WorkerPool) {
				p.Minimum, p.Maximum, p.MaxSurge, p.MaxUnavailable = 4, 10, intstr.FromString("100%"), intstr.FromInt32(2)
			}, func(*workerDelegate) {}),
			Entry("node labels, annotations and taints", func(p *extensionsv1alpha1.WorkerPool) {
				p.Labels = map[string]string{"pool": "a", "team": "x"}
				p.Annotations = map[string]string{"a": "b"}
				p.Taints = []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}}
			}, func(*workerDelegate) {}),
			Entry("the autoscaler's node template and priority", func(p *extensionsv1alpha1.WorkerPool) {
				p.NodeTemplate = &extensionsv1alpha1.NodeTemplate{Capacity: corev1.ResourceList{"cpu": resource.MustParse("32")}}
				p.Priority = ptr.To[int32](10)
			}, func(*workerDelegate) {}),
			Entry("machine-controller-manager settings", func(p *extensionsv1alpha1.WorkerPool) {
				p.MachineControllerManagerSettings = &gardencorev1beta1.MachineControllerManagerSettings{MachineCreationTimeout: &metav1.Duration{Duration: 3 * time.Hour}}
			}, func(*workerDelegate) {}),
			Entry("the CloudProfile's image reference of the same version", func(*extensionsv1alpha1.WorkerPool) {}, func(d *workerDelegate) {
				d.cloudProfileConfig.MachineImages[0].Versions[0].Image = "r.io/gl:1.0-rebuilt"
			}),
			Entry("the CloudProfile's Server labels of the machine type", func(*extensionsv1alpha1.WorkerPool) {}, func(d *workerDelegate) {
				d.cloudProfileConfig.MachineTypes[0].ServerLabels = map[string]string{"type": "m1", "generation": "2"}
			}),
			Entry("the CloudProfile's DNS servers", func(*extensionsv1alpha1.WorkerPool) {}, func(d *workerDelegate) {
				d.cloudProfileConfig.DNSServers = []string{"10.9.9.9"}
			}),
			Entry("the CloudProfile's Ignition", func(*extensionsv1alpha1.WorkerPool) {}, func(d *workerDelegate) {
				d.cloudProfileConfig.Ignition = ptr.To(`{"ignition":{"version":"3.5.0"},"storage":{"files":[{"path":"/etc/profile"}]}}`)
			}),
			Entry("the CloudProfile's capacity of the machine type", func(*extensionsv1alpha1.WorkerPool) {}, func(d *workerDelegate) {
				d.cluster.CloudProfile.Spec.MachineTypes[0].CPU = resource.MustParse("128")
			}),
		)

		It("do not change when the CloudProfile's Ignition changes under the pool's own", func() {
			p := withProviderConfig(pool, &v1alpha1.WorkerConfig{ExtraIgnition: &v1alpha1.IgnitionConfig{Raw: `{"ignition":{"version":"3.5.0"}}`}})
			before := generatedNames(p, func(*workerDelegate) {})
			after := generatedNames(p, func(d *workerDelegate) {
				d.cloudProfileConfig.Ignition = ptr.To(`{"ignition":{"version":"3.5.0"},"storage":{"files":[{"path":"/etc/profile"}]}}`)
			})
			Expect(after).To(Equal(before))
		})

		DescribeTable("change when the machines must be replaced",
			func(mutate func(extensionsv1alpha1.WorkerPool) extensionsv1alpha1.WorkerPool) {
				before := classNames(pool)
				after := classNames(mutate(pool))
				Expect(after).To(HaveLen(len(before)))
				for i := range before {
					Expect(after[i]).NotTo(Equal(before[i]))
				}
			},
			// Gardener names the node agent secret after the machine type, image name and version, Kubernetes version,
			// kubelet configuration and CRI (operatingsystemconfig.Key), so it changes with each of them.
			Entry("node agent secret (machine type, image version, Kubernetes version, kubelet config, ...)", func(p extensionsv1alpha1.WorkerPool) extensionsv1alpha1.WorkerPool {
				p.NodeAgentSecretName = ptr.To("gardener-node-agent-a-5678")
				return p
			}),
			Entry("zones", func(p extensionsv1alpha1.WorkerPool) extensionsv1alpha1.WorkerPool {
				p.Zones = []string{"z3", "z4"}
				return p
			}),
			Entry("extra Server labels", func(p extensionsv1alpha1.WorkerPool) extensionsv1alpha1.WorkerPool {
				return withProviderConfig(p, &v1alpha1.WorkerConfig{ExtraServerLabels: map[string]string{"rack": "r1"}})
			}),
			Entry("tolerations", func(p extensionsv1alpha1.WorkerPool) extensionsv1alpha1.WorkerPool {
				return withProviderConfig(p, &v1alpha1.WorkerConfig{ServerTolerations: []v1alpha1.ServerToleration{{Key: "k", Operator: "Exists"}}})
			}),
			Entry("IPAM pools", func(p extensionsv1alpha1.WorkerPool) extensionsv1alpha1.WorkerPool {
				return withProviderConfig(p, &v1alpha1.WorkerConfig{IPAMConfig: []v1alpha1.IPAMConfig{{MetadataKey: "node", IPAMRef: v1alpha1.IPAMReference{
					Pool: &v1alpha1.IPAMPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "p"},
				}}}})
			}),
			Entry("the pool's Ignition", func(p extensionsv1alpha1.WorkerPool) extensionsv1alpha1.WorkerPool {
				return withProviderConfig(p, &v1alpha1.WorkerConfig{ExtraIgnition: &v1alpha1.IgnitionConfig{Raw: `{"ignition":{"version":"3.5.0"}}`}})
			}),
			Entry("metadata", func(p extensionsv1alpha1.WorkerPool) extensionsv1alpha1.WorkerPool {
				return withProviderConfig(p, &v1alpha1.WorkerConfig{Metadata: map[string]string{"k": "v"}})
			}),
			Entry("the pool's DNS servers", func(p extensionsv1alpha1.WorkerPool) extensionsv1alpha1.WorkerPool {
				return withProviderConfig(p, &v1alpha1.WorkerConfig{DNSServers: []string{"10.0.0.1"}})
			}),
		)
	})

	It("rejects an invalid providerConfig with its field path before generating anything", func() {
		other := pool
		other.Name = "b"
		broken := withProviderConfig(other, &v1alpha1.WorkerConfig{DNSServers: []string{"not-an-ip"}})
		_, err := newDelegate(pool, broken).machineConfig(ctx)
		Expect(err).To(MatchError(ContainSubstring("spec.pools[1].providerConfig.dnsServers[0]")))
	})

	It("reads the pool's Ignition from the referenced Secret's copy in the seed", func() {
		p := withProviderConfig(pool, &v1alpha1.WorkerConfig{ExtraIgnition: &v1alpha1.IgnitionConfig{SecretRef: "my-ignition"}})
		d := newDelegate(p)
		d.cluster.Shoot.Spec.Resources = []gardencorev1beta1.NamedResourceReference{{
			Name: "my-ignition", ResourceRef: autoscalingRef("ignition-secret"),
		}}
		Expect(d.client.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "ref-ignition-secret"},
			Data:       map[string][]byte{"ignition": []byte(`{"ignition":{"version":"3.5.0"},"storage":{"files":[{"path":"/etc/x"}]}}`)},
		})).To(Succeed())
		generated, err := d.machineConfig(ctx)
		Expect(err).NotTo(HaveOccurred())
		spec, err := apis.Decode(generated.classes[0].ProviderSpec.Raw)
		Expect(err).NotTo(HaveOccurred())
		Expect(spec.ExtraIgnition).To(Equal(&apis.ExtraIgnition{}))
		Expect(string(generated.classes[0].ProviderSpec.Raw)).NotTo(ContainSubstring("/etc/x"), "the Secret's content stays out of the MachineClass")
		Expect(string(generated.secrets[0].Data[metal.ExtraIgnitionSecretKey])).To(ContainSubstring("/etc/x"))
	})
})

func autoscalingRef(name string) autoscalingv1.CrossVersionObjectReference {
	return autoscalingv1.CrossVersionObjectReference{APIVersion: "v1", Kind: "Secret", Name: name}
}
