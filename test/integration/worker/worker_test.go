package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/openkcm/gardener-extension-provider-metal/test/utils/requests"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const (
	region     = "region-1"
	amd64Image = "registry.example.com/gardenlinux:1.0-amd64"
	arm64Image = "registry.example.com/gardenlinux:1.0-arm64"
	newImage   = "registry.example.com/gardenlinux:1.1-amd64"
)

var _ = Describe("Worker controller", func() {
	Describe("a Worker with three pools in two zones each", Ordered, func() {
		var s *shoot

		BeforeAll(func(ctx SpecContext) {
			s = newShoot(ctx)
			s.createWorker(ctx, generalPool(), gpuPool(), armPool())
			s.expectSucceeded(ctx)
		})

		It("deploys a MachineClass per pool and zone that selects Servers of the machine type in the zone", func(ctx SpecContext) {
			classes := s.machineClasses(ctx)
			Expect(classes).To(HaveLen(6))
			for deployment, class := range classes {
				Expect(class.Name).To(MatchRegexp("^" + regexp.QuoteMeta(deployment) + "-[0-9a-f]{5}$"))
				Expect(class.Provider).To(Equal("metal"))
				Expect(class.SecretRef).To(Equal(&corev1.SecretReference{Namespace: s.namespace, Name: class.Name}))
				Expect(class.CredentialsSecretRef).To(Equal(&corev1.SecretReference{Namespace: s.namespace, Name: v1beta1constants.SecretNameCloudProvider}))

				secret := &corev1.Secret{}
				Expect(seedClient.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: class.Name}, secret)).To(Succeed())
				Expect(secret.Labels).To(HaveKeyWithValue(v1beta1constants.GardenerPurpose, v1beta1constants.GardenPurposeMachineClass))
				pool := strings.Split(strings.TrimPrefix(deployment, s.namespace+"-"), "-z")[0]
				Expect(secret.Data).To(HaveKeyWithValue("userData", []byte("#!/bin/bash\necho "+pool+"\n")))
				Expect(secret.Data).To(HaveKey(metal.ExtraIgnitionSecretKey), "every pool gets the CloudProfile's Ignition")
			}

			general := s.providerSpec(classes[s.namespace+"-general-z1"])
			Expect(general).To(Equal(&apis.ProviderSpec{
				Image:          amd64Image,
				ServerSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"machine-type": "small", metal.ZoneLabel: "z1", metal.RegionLabel: region}},
				ExtraIgnition:  &apis.ExtraIgnition{},
				DNSServers:     []string{"10.0.0.53"},
				Labels:         map[string]string{metal.ShootLabel: s.namespace},
			}))
			Expect(s.classSecret(ctx, classes[s.namespace+"-general-z1"]).Data).To(HaveKeyWithValue(metal.ExtraIgnitionSecretKey, []byte(profileIgnitionJSON)))
			Expect(s.providerSpec(classes[s.namespace+"-general-z2"]).ServerSelector.MatchLabels).To(HaveKeyWithValue(metal.ZoneLabel, "z2"))
			Expect(classes[s.namespace+"-general-z1"].NodeTemplate).To(Equal(&machinev1alpha1.NodeTemplate{
				Capacity:     corev1.ResourceList{"cpu": resource.MustParse("8"), "gpu": resource.MustParse("0"), "memory": resource.MustParse("32Gi")},
				InstanceType: "small", Region: region, Zone: "z1", Architecture: ptr.To("amd64"),
			}))

			gpu := s.providerSpec(classes[s.namespace+"-gpu-z2"])
			Expect(gpu.Image).To(Equal(amd64Image))
			Expect(gpu.ServerSelector.MatchLabels).To(Equal(map[string]string{"machine-type": "gpu", "accelerator": "a100", metal.ZoneLabel: "z2", metal.RegionLabel: region}))
			Expect(gpu.ServerTolerations).To(Equal([]apis.Toleration{{Key: "dedicated", Operator: "Equal", Value: "gpu", Effect: "NoBind"}}))
			Expect(gpu.IPAMConfig).To(Equal([]apis.IPAMConfig{{MetadataKey: "node", IPAMRef: apis.IPAMObjectReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "nodes-pool"}}}))
			Expect(gpu.Metadata).To(Equal(map[string]string{"role": "gpu"}))
			Expect(gpu.DNSServers).To(Equal([]string{"192.168.1.1"}))
			Expect(gpu.Labels).To(Equal(map[string]string{metal.ShootLabel: s.namespace}))
			Expect(classes[s.namespace+"-gpu-z2"].NodeTemplate.Capacity).To(Equal(corev1.ResourceList{
				"cpu": resource.MustParse("64"), "gpu": resource.MustParse("4"), "memory": resource.MustParse("512Gi"),
			}))

			// The arm pool lists its zones the other way round: z2 is its first zone.
			arm := s.providerSpec(classes[s.namespace+"-arm-z1"])
			Expect(arm.Image).To(Equal(arm64Image))
			Expect(arm.ServerSelector.MatchLabels).To(Equal(map[string]string{"machine-type": "arm", metal.ZoneLabel: "z2", metal.RegionLabel: region}))
			Expect(arm.ExtraIgnition).To(Equal(&apis.ExtraIgnition{Override: true}))
			// The pool's Ignition comes from a Secret: it goes into the MachineClass secret, never into the class.
			Expect(string(classes[s.namespace+"-arm-z1"].ProviderSpec.Raw)).NotTo(ContainSubstring("/etc/from-secret"))
			Expect(string(s.classSecret(ctx, classes[s.namespace+"-arm-z1"]).Data[metal.ExtraIgnitionSecretKey])).To(
				And(ContainSubstring("/etc/profile-file"), ContainSubstring("/etc/from-secret")))
			Expect(classes[s.namespace+"-arm-z1"].NodeTemplate.Architecture).To(Equal(ptr.To("arm64")))
			Expect(classes[s.namespace+"-arm-z1"].NodeTemplate.Zone).To(Equal("z2"))
		})

		It("deploys a MachineDeployment per pool and zone with the pool's sizes spread over the zones", func(ctx SpecContext) {
			classes := s.machineClasses(ctx)
			deployments := s.machineDeployments(ctx)
			Expect(deployments).To(HaveLen(6))
			replicas := map[string]int32{}
			for name, deployment := range deployments {
				replicas[strings.TrimPrefix(name, s.namespace+"-")] = deployment.Spec.Replicas
				Expect(deployment.Spec.Template.Spec.Class).To(Equal(machinev1alpha1.ClassSpec{Kind: "MachineClass", Name: classes[name].Name}))
			}
			// 3 machines over two zones: the first zone gets the extra one.
			Expect(replicas).To(Equal(map[string]int32{"general-z1": 2, "general-z2": 1, "gpu-z1": 1, "gpu-z2": 0, "arm-z1": 1, "arm-z2": 1}))

			general := deployments[s.namespace+"-general-z1"]
			Expect(general.Labels).To(HaveKeyWithValue(v1beta1constants.LabelWorkerPool, "general"))
			Expect(general.Spec.Template.Spec.NodeTemplateSpec.Labels).To(Equal(map[string]string{"pool": "general"}))
			Expect(general.Spec.Strategy.Type).To(Equal(machinev1alpha1.RollingUpdateMachineDeploymentStrategyType))
			Expect(*general.Spec.Strategy.RollingUpdate.MaxSurge).To(Equal(intstr.FromInt32(1)))
			// A surge of 1 over two zones: the first zone may surge, as Gardener's DistributeOverZones spreads it.
			Expect(*deployments[s.namespace+"-general-z2"].Spec.Strategy.RollingUpdate.MaxSurge).To(Equal(intstr.FromInt32(0)))

			gpu := deployments[s.namespace+"-gpu-z1"]
			Expect(gpu.Spec.Template.Spec.NodeTemplateSpec.Spec.Taints).To(Equal([]corev1.Taint{{Key: "nvidia.com/gpu", Value: "present", Effect: corev1.TaintEffectNoSchedule}}))
			Expect(gpu.Spec.Template.Spec.NodeTemplateSpec.Annotations).To(Equal(map[string]string{"team": "ml"}))
			Expect(gpu.Spec.Template.Spec.MachineConfiguration.MachineDrainTimeout).To(Equal(&metav1.Duration{Duration: 30 * time.Minute}))
			// Bare metal takes longer to boot than MCM's default of 20 minutes allows; a pool may set its own.
			Expect(general.Spec.Template.Spec.MachineConfiguration.MachineCreationTimeout).To(Equal(&metav1.Duration{Duration: time.Hour}))
			Expect(gpu.Spec.Template.Spec.MachineConfiguration.MachineCreationTimeout).To(Equal(&metav1.Duration{Duration: 90 * time.Minute}))
			Expect(gpu.Annotations).To(HaveKeyWithValue("autoscaler.gardener.cloud/scale-down-utilization-threshold", "0.4"))

			arm := deployments[s.namespace+"-arm-z1"]
			Expect(arm.Spec.Strategy.Type).To(Equal(machinev1alpha1.InPlaceUpdateMachineDeploymentStrategyType))
			Expect(arm.Spec.Strategy.InPlaceUpdate.OrchestrationType).To(Equal(machinev1alpha1.OrchestrationTypeAuto))
		})

		It("records the images in use and the deployments in the Worker's status", func(ctx SpecContext) {
			Expect(s.workerStatus(ctx).MachineImages).To(ConsistOf(
				v1alpha1.MachineImage{Name: "gardenlinux", Version: "1.0", Image: amd64Image, Architecture: ptr.To("amd64")},
				v1alpha1.MachineImage{Name: "gardenlinux", Version: "1.0", Image: arm64Image, Architecture: ptr.To("arm64")},
			))
			Expect(s.worker.Status.MachineDeployments).To(HaveLen(6))
			Expect(s.worker.Status.MachineDeploymentsLastUpdateTime).NotTo(BeNil())
		})

		It("writes nothing but the Worker's bookkeeping when reconciling the unchanged Worker", func(ctx SpecContext) {
			seedRequests.Reset()
			s.reconcile(ctx)

			writes := s.ownWrites(seedRequests.Recorded())
			Expect(writesByResource(writes)).To(HaveKey("PATCH workers/status"), "the reconcile must have run")
			Expect(unexpectedWrites(writes, s.namespace, s.worker.Name)).To(BeEmpty())
			AddReportEntry("writes of an unchanged reconcile", writesByResource(writes))
		})

		It("keeps class names when only sizes and node labels change", func(ctx SpecContext) {
			before := s.machineClasses(ctx)
			Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.worker), s.worker)).To(Succeed())
			s.worker.Spec.Pools[0].Minimum, s.worker.Spec.Pools[0].Maximum = 4, 8
			s.worker.Spec.Pools[0].Labels = map[string]string{"pool": "general", "team": "x"}
			Expect(seedClient.Update(ctx, s.worker)).To(Succeed())
			s.reconcile(ctx)

			after := s.machineClasses(ctx)
			for name := range before {
				Expect(after[name].Name).To(Equal(before[name].Name))
			}
			deployments := s.machineDeployments(ctx)
			Expect(deployments[s.namespace+"-general-z1"].Spec.Replicas).To(Equal(int32(2)), "within the new bounds the replicas stay")
			Expect(deployments[s.namespace+"-general-z2"].Spec.Replicas).To(Equal(int32(2)), "raised to the new minimum")
			Expect(deployments[s.namespace+"-general-z1"].Spec.Template.Spec.NodeTemplateSpec.Labels).To(HaveKeyWithValue("team", "x"))
		})

		It("removes the MachineClasses, their secrets and the MachineDeployments when the Worker is deleted", func(ctx SpecContext) {
			Expect(seedClient.Delete(ctx, s.worker)).To(Succeed())
			Eventually(func() bool {
				return apierrors.IsNotFound(seedClient.Get(ctx, client.ObjectKeyFromObject(s.worker), &extensionsv1alpha1.Worker{}))
			}).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(BeTrue())

			Expect(s.machineClasses(ctx)).To(BeEmpty())
			Expect(s.machineDeployments(ctx)).To(BeEmpty())
			secrets := &corev1.SecretList{}
			Expect(seedClient.List(ctx, secrets, client.InNamespace(s.namespace), client.MatchingLabels{v1beta1constants.GardenerPurpose: v1beta1constants.GardenPurposeMachineClass})).To(Succeed())
			Expect(secrets.Items).To(BeEmpty())
			credentials := &corev1.Secret{}
			Expect(seedClient.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: v1beta1constants.SecretNameCloudProvider}, credentials)).To(Succeed())
			Expect(credentials.Finalizers).To(BeEmpty(), "machine-controller-manager released the credentials")
		})
	})

	It("keeps reconciling a pool whose image version was removed from the CloudProfile, from the Worker's status", func(ctx SpecContext) {
		s := newShoot(ctx)
		pool := generalPool()
		pool.MachineImage.Version = "1.1"
		s.createWorker(ctx, pool)
		s.expectSucceeded(ctx)
		before := s.machineClasses(ctx)
		Expect(s.providerSpec(before[s.namespace+"-general-z1"]).Image).To(Equal(newImage))

		By("removing version 1.1 from the CloudProfile")
		versions := s.profileConfig.MachineImages[0].Versions
		s.profileConfig.MachineImages[0].Versions = slices.DeleteFunc(versions, func(v v1alpha1.MachineImageVersion) bool { return v.Version == "1.1" })
		s.writeCluster(ctx)
		s.reconcile(ctx)

		after := s.machineClasses(ctx)
		Expect(after).To(HaveLen(2))
		for name, class := range after {
			Expect(class.Name).To(Equal(before[name].Name), "the machines are not replaced")
			Expect(s.providerSpec(class).Image).To(Equal(newImage))
		}
		Expect(s.workerStatus(ctx).MachineImages).To(ConsistOf(
			v1alpha1.MachineImage{Name: "gardenlinux", Version: "1.1", Image: newImage, Architecture: ptr.To("amd64")},
		))
	})

	It("rejects an invalid pool configuration with its field path and creates nothing", func(ctx SpecContext) {
		s := newShoot(ctx)
		broken := gpuPool()
		broken.ProviderConfig = workerConfig(&v1alpha1.WorkerConfig{DNSServers: []string{"not-an-ip"}})
		s.createWorker(ctx, generalPool(), broken)

		lastError := s.expectError(ctx, gardencorev1beta1.ErrorConfigurationProblem)
		Expect(lastError.Description).To(ContainSubstring("spec.pools[1].providerConfig.dnsServers[0]"))
		Expect(s.machineClasses(ctx)).To(BeEmpty(), "the valid pool is not deployed half-way either")
		Expect(s.machineDeployments(ctx)).To(BeEmpty())
	})

	It("reports extra writes of an unchanged reconcile", func() {
		// The check of the no-op test must fail for any write beyond the bookkeeping, even an empty patch.
		const ns, name = "shoot--p--s", "worker"
		base := "/apis/extensions.gardener.cloud/v1alpha1/namespaces/" + ns + "/workers/" + name
		bookkeeping := []requests.Request{
			{Method: "PATCH", Path: base, Body: `{"metadata":{"annotations":{"gardener.cloud/operation":null}}}`},
			{Method: "PATCH", Path: base + "/status", Body: `{"status":{"lastOperation":{"state":"Succeeded"},"observedGeneration":1}}`},
			{Method: "PATCH", Path: base + "/status", Body: `{"status":{"machineDeploymentsLastUpdateTime":"2025-01-01T00:00:00Z"}}`},
		}
		Expect(unexpectedWrites(bookkeeping, ns, name)).To(BeEmpty())
		for _, extra := range []requests.Request{
			{Method: "PATCH", Path: "/apis/machine.sapcloud.io/v1alpha1/namespaces/" + ns + "/machineclasses/c", Body: `{}`},
			{Method: "PATCH", Path: "/api/v1/namespaces/" + ns + "/secrets/c", Body: `{"data":{}}`},
			{Method: "PATCH", Path: base + "/status", Body: `{"status":{"providerStatus":{}}}`},
			{Method: "PATCH", Path: base + "/status", Body: `{"status":{"machineDeployments":[]}}`},
			{Method: "PATCH", Path: base, Body: `{"spec":{}}`},
			{Method: "PUT", Path: base, Body: `{}`},
		} {
			Expect(unexpectedWrites(append(bookkeeping, extra), ns, name)).To(HaveLen(1), "%s %s %s", extra.Method, extra.Path, extra.Body)
		}
	})
})

// ownWrites are the recorded writes to the shoot's namespace.
func (s *shoot) ownWrites(recorded []requests.Request) []requests.Request {
	var writes []requests.Request
	for _, req := range recorded {
		if req.IsWrite() && strings.Contains(req.Path, "/namespaces/"+s.namespace+"/") {
			writes = append(writes, req)
		}
	}
	return writes
}

// writesByResource counts writes by resource (and subresource), e.g. "workers/status".
func writesByResource(writes []requests.Request) map[string]int {
	counts := map[string]int{}
	for _, req := range writes {
		parts := strings.Split(strings.SplitN(req.Path, "/namespaces/", 2)[1], "/")
		resource := parts[1]
		if len(parts) > 3 {
			resource += "/" + parts[3]
		}
		counts[req.Method+" "+resource]++
	}
	return counts
}

// bookkeepingStatusFields are the status fields Gardener's contract makes every Worker reconcile write: the
// last operation (by the extension library's reconciler) and machineDeploymentsLastUpdateTime (by the generic
// actuator), which gardenlet waits for to tell that the reconcile it triggered has deployed the machines.
var bookkeepingStatusFields = []string{"lastOperation", "lastError", "observedGeneration", "machineDeploymentsLastUpdateTime"}

// unexpectedWrites returns the writes beyond the Worker's bookkeeping: removing the operation annotation and
// the bookkeeping status fields.
func unexpectedWrites(writes []requests.Request, namespace, worker string) []string {
	workerPath := "/apis/extensions.gardener.cloud/v1alpha1/namespaces/" + namespace + "/workers/" + worker
	var unexpected []string
	for _, req := range writes {
		var body map[string]map[string]json.RawMessage
		ok := req.Method == "PATCH" && json.Unmarshal([]byte(req.Body), &body) == nil
		switch {
		case ok && req.Path == workerPath && len(body) == 1 && len(body["metadata"]) == 1 && body["metadata"]["annotations"] != nil:
		case ok && req.Path == workerPath+"/status" && len(body) == 1 && onlyKeys(body["status"], bookkeepingStatusFields):
		default:
			unexpected = append(unexpected, fmt.Sprintf("%s %s %s", req.Method, req.Path, req.Body))
		}
	}
	return unexpected
}

func onlyKeys(m map[string]json.RawMessage, allowed []string) bool {
	if len(m) == 0 {
		return false
	}
	for key := range m {
		if !slices.Contains(allowed, key) {
			return false
		}
	}
	return true
}

// shoot is one shoot's control plane namespace in the seed with its Cluster and Worker.
type shoot struct {
	namespace     string
	profileConfig *v1alpha1.CloudProfileConfig
	worker        *extensionsv1alpha1.Worker
}

const profileIgnition = `{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/profile-file","contents":{"source":"data:,profile"}}]}}`

// profileIgnitionJSON is profileIgnition as the controller passes it on: Ignition 3.5.
const profileIgnitionJSON = `{"ignition":{"config":{"replace":{"verification":{}}},"proxy":{},"security":{"tls":{}},"timeouts":{},"version":"3.5.0"},"kernelArguments":{},"passwd":{},"storage":{"files":[{"group":{},"path":"/etc/profile-file","user":{},"contents":{"source":"data:,profile","verification":{}}}]},"systemd":{}}`

func newShoot(ctx context.Context) *shoot {
	s := &shoot{
		namespace: "shoot--test--" + rand.String(6),
		profileConfig: &v1alpha1.CloudProfileConfig{
			TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "CloudProfileConfig"},
			MachineImages: []v1alpha1.MachineImages{{Name: "gardenlinux", Versions: []v1alpha1.MachineImageVersion{
				{Version: "1.0", Image: amd64Image, Architecture: ptr.To("amd64")},
				{Version: "1.0", Image: arm64Image, Architecture: ptr.To("arm64")},
				{Version: "1.1", Image: newImage, Architecture: ptr.To("amd64")},
			}}},
			MachineTypes: []v1alpha1.MachineType{
				{Name: "small", ServerLabels: map[string]string{"machine-type": "small"}},
				{Name: "gpu", ServerLabels: map[string]string{"machine-type": "gpu"}},
				{Name: "arm", ServerLabels: map[string]string{"machine-type": "arm"}},
			},
			RegionConfigs: []v1alpha1.RegionConfig{{Name: region, Server: "https://metal.example.com"}},
			DNSServers:    []string{"10.0.0.53"},
			Ignition:      ptr.To(profileIgnition),
		},
	}
	Expect(seedClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.namespace}})).To(Succeed())
	Expect(seedClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: v1beta1constants.SecretNameCloudProvider},
		Data:       map[string][]byte{metal.NamespaceKey: []byte("metal-ns"), metal.TokenKey: []byte("token")},
	})).To(Succeed())
	for _, pool := range []string{"general", "gpu", "arm"} {
		Expect(seedClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: "osc-" + pool},
			Data:       map[string][]byte{extensionsv1alpha1.OperatingSystemConfigSecretDataKey: []byte("#!/bin/bash\necho " + pool + "\n")},
		})).To(Succeed())
	}
	// Gardener copies the Secrets a shoot references in spec.resources into the seed with the prefix ref-.
	Expect(seedClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: "ref-arm-ignition"},
		Data:       map[string][]byte{"ignition": []byte("ignition:\n  version: 3.3.0\nstorage:\n  files:\n  - path: /etc/from-secret\n")},
	})).To(Succeed())
	s.writeCluster(ctx)
	return s
}

// writeCluster creates or updates the Cluster resource with the shoot and the CloudProfile.
func (s *shoot) writeCluster(ctx context.Context) {
	cloudProfile := &gardencorev1beta1.CloudProfile{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "CloudProfile"},
		ObjectMeta: metav1.ObjectMeta{Name: "metal"},
		Spec: gardencorev1beta1.CloudProfileSpec{
			Type:           metal.Type,
			ProviderConfig: &runtime.RawExtension{Raw: encode(s.profileConfig)},
			MachineTypes: []gardencorev1beta1.MachineType{
				{Name: "small", CPU: resource.MustParse("8"), GPU: resource.MustParse("0"), Memory: resource.MustParse("32Gi")},
				{Name: "gpu", CPU: resource.MustParse("64"), GPU: resource.MustParse("4"), Memory: resource.MustParse("512Gi")},
				{Name: "arm", CPU: resource.MustParse("80"), GPU: resource.MustParse("0"), Memory: resource.MustParse("256Gi"), Architecture: ptr.To("arm64")},
			},
		},
	}
	infraConfig := &v1alpha1.InfrastructureConfig{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "InfrastructureConfig"},
		Networks: []v1alpha1.Network{{
			Name: "nodes", CIDR: "10.250.0.0/16",
			IPAMPoolRef: &v1alpha1.IPAMPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "nodes-pool"},
		}},
	}
	shootObj := &gardencorev1beta1.Shoot{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Shoot"},
		ObjectMeta: metav1.ObjectMeta{Name: "shoot", Namespace: "garden-test"},
		Spec: gardencorev1beta1.ShootSpec{
			Region: region,
			Provider: gardencorev1beta1.Provider{
				Type:                 metal.Type,
				InfrastructureConfig: &runtime.RawExtension{Raw: encode(infraConfig)},
			},
			Resources: []gardencorev1beta1.NamedResourceReference{{
				Name:        "arm-ignition",
				ResourceRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "v1", Kind: "Secret", Name: "arm-ignition"},
			}},
		},
		Status: gardencorev1beta1.ShootStatus{TechnicalID: s.namespace},
	}
	seed := &gardencorev1beta1.Seed{TypeMeta: metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Seed"}}
	cluster := &extensionsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: s.namespace}}
	spec := extensionsv1alpha1.ClusterSpec{
		CloudProfile: runtime.RawExtension{Raw: encode(cloudProfile)},
		Seed:         &runtime.RawExtension{Raw: encode(seed)},
		Shoot:        runtime.RawExtension{Raw: encode(shootObj)},
	}
	if err := seedClient.Get(ctx, client.ObjectKeyFromObject(cluster), cluster); apierrors.IsNotFound(err) {
		cluster.Spec = spec
		Expect(seedClient.Create(ctx, cluster)).To(Succeed())
		return
	}
	cluster.Spec = spec
	Expect(seedClient.Update(ctx, cluster)).To(Succeed())
}

func basePool(name, machineType string, minimum, maximum int32, zones ...string) extensionsv1alpha1.WorkerPool {
	return extensionsv1alpha1.WorkerPool{
		Name:                name,
		Minimum:             minimum,
		Maximum:             maximum,
		MaxSurge:            intstr.FromInt32(1),
		MaxUnavailable:      intstr.FromInt32(0),
		MachineType:         machineType,
		MachineImage:        extensionsv1alpha1.MachineImage{Name: "gardenlinux", Version: "1.0"},
		NodeAgentSecretName: ptr.To("gardener-node-agent-" + name + "-1a2b3"),
		UserDataSecretRef: corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "osc-" + name},
			Key:                  extensionsv1alpha1.OperatingSystemConfigSecretDataKey,
		},
		KubernetesVersion: ptr.To("1.33.1"),
		Zones:             zones,
		Labels:            map[string]string{"pool": name},
	}
}

func generalPool() extensionsv1alpha1.WorkerPool {
	return basePool("general", "small", 3, 6, "z1", "z2")
}

func gpuPool() extensionsv1alpha1.WorkerPool {
	pool := basePool("gpu", "gpu", 1, 2, "z1", "z2")
	pool.ProviderConfig = workerConfig(&v1alpha1.WorkerConfig{
		ExtraServerLabels: map[string]string{"accelerator": "a100"},
		ServerTolerations: []v1alpha1.ServerToleration{{Key: "dedicated", Value: "gpu", Effect: "NoBind"}},
		IPAMConfig:        []v1alpha1.IPAMConfig{{MetadataKey: "node", IPAMRef: v1alpha1.IPAMReference{Network: "nodes"}}},
		Metadata:          map[string]string{"role": "gpu"},
		DNSServers:        []string{"192.168.1.1"},
	})
	pool.Taints = []corev1.Taint{{Key: "nvidia.com/gpu", Value: "present", Effect: corev1.TaintEffectNoSchedule}}
	pool.Annotations = map[string]string{"team": "ml"}
	pool.MachineControllerManagerSettings = &gardencorev1beta1.MachineControllerManagerSettings{
		MachineDrainTimeout:    &metav1.Duration{Duration: 30 * time.Minute},
		MachineCreationTimeout: &metav1.Duration{Duration: 90 * time.Minute},
	}
	pool.ClusterAutoscaler = &extensionsv1alpha1.ClusterAutoscalerOptions{ScaleDownUtilizationThreshold: ptr.To("0.4")}
	return pool
}

func armPool() extensionsv1alpha1.WorkerPool {
	pool := basePool("arm", "arm", 2, 2, "z2", "z1")
	pool.Architecture = ptr.To("arm64")
	pool.UpdateStrategy = ptr.To(gardencorev1beta1.AutoInPlaceUpdate)
	pool.ProviderConfig = workerConfig(&v1alpha1.WorkerConfig{
		ExtraIgnition: &v1alpha1.IgnitionConfig{SecretRef: "arm-ignition", Override: true},
	})
	return pool
}

func workerConfig(cfg *v1alpha1.WorkerConfig) *runtime.RawExtension {
	cfg.TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "WorkerConfig"}
	return &runtime.RawExtension{Raw: encode(cfg)}
}

func (s *shoot) createWorker(ctx context.Context, pools ...extensionsv1alpha1.WorkerPool) {
	s.worker = &extensionsv1alpha1.Worker{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   s.namespace,
			Name:        "worker",
			Annotations: map[string]string{v1beta1constants.GardenerOperation: v1beta1constants.GardenerOperationReconcile},
		},
		Spec: extensionsv1alpha1.WorkerSpec{
			DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: metal.Type},
			Region:      region,
			SecretRef:   corev1.SecretReference{Namespace: s.namespace, Name: v1beta1constants.SecretNameCloudProvider},
			Pools:       pools,
		},
	}
	Expect(seedClient.Create(ctx, s.worker)).To(Succeed())
}

// reconcile asks for a reconcile the way gardenlet does and waits until it succeeded.
func (s *shoot) reconcile(ctx context.Context) {
	Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.worker), s.worker)).To(Succeed())
	last := s.worker.Status.LastOperation.LastUpdateTime
	// The time stamps have a resolution of a second: wait for the next one, so that the new operation is told
	// apart from the last one.
	time.Sleep(time.Until(last.Add(1100 * time.Millisecond)))
	patch := client.MergeFrom(s.worker.DeepCopy())
	metav1.SetMetaDataAnnotation(&s.worker.ObjectMeta, v1beta1constants.GardenerOperation, v1beta1constants.GardenerOperationReconcile)
	Expect(seedClient.Patch(ctx, s.worker, patch)).To(Succeed())
	s.expectSucceededAfter(ctx, last)
}

func (s *shoot) expectSucceeded(ctx context.Context) {
	s.expectSucceededAfter(ctx, metav1.Time{})
}

// expectSucceededAfter waits for a successful operation that ended after the given time.
func (s *shoot) expectSucceededAfter(ctx context.Context, after metav1.Time) {
	Eventually(func(g Gomega) {
		g.Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.worker), s.worker)).To(Succeed())
		g.Expect(s.worker.Annotations).NotTo(HaveKey(v1beta1constants.GardenerOperation))
		g.Expect(s.worker.Status.LastOperation).NotTo(BeNil())
		g.Expect(s.worker.Status.LastOperation.LastUpdateTime.After(after.Time)).To(BeTrue())
		g.Expect(s.worker.Status.LastError).To(BeNil())
		g.Expect(s.worker.Status.LastOperation.State).To(Equal(gardencorev1beta1.LastOperationStateSucceeded))
		g.Expect(s.worker.Status.ObservedGeneration).To(Equal(s.worker.Generation))
	}).WithTimeout(2 * time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
}

func (s *shoot) expectError(ctx context.Context, code gardencorev1beta1.ErrorCode) *gardencorev1beta1.LastError {
	Eventually(func(g Gomega) {
		g.Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.worker), s.worker)).To(Succeed())
		g.Expect(s.worker.Status.LastError).NotTo(BeNil())
		g.Expect(s.worker.Status.LastError.Codes).To(ContainElement(code), s.worker.Status.LastError.Description)
	}).WithTimeout(time.Minute).Should(Succeed())
	return s.worker.Status.LastError
}

// machineClasses returns the shoot's MachineClasses by the name of their MachineDeployment.
func (s *shoot) machineClasses(ctx context.Context) map[string]machinev1alpha1.MachineClass {
	list := &machinev1alpha1.MachineClassList{}
	Expect(seedClient.List(ctx, list, client.InNamespace(s.namespace))).To(Succeed())
	classes := map[string]machinev1alpha1.MachineClass{}
	for _, class := range list.Items {
		classes[class.Name[:strings.LastIndex(class.Name, "-")]] = class
	}
	return classes
}

func (s *shoot) machineDeployments(ctx context.Context) map[string]machinev1alpha1.MachineDeployment {
	list := &machinev1alpha1.MachineDeploymentList{}
	Expect(seedClient.List(ctx, list, client.InNamespace(s.namespace))).To(Succeed())
	deployments := map[string]machinev1alpha1.MachineDeployment{}
	for _, deployment := range list.Items {
		deployments[deployment.Name] = deployment
	}
	return deployments
}

func (s *shoot) providerSpec(class machinev1alpha1.MachineClass) *apis.ProviderSpec {
	spec, err := apis.Decode(class.ProviderSpec.Raw)
	Expect(err).NotTo(HaveOccurred())
	return spec
}

// classSecret returns the secret of a MachineClass, which MCM passes to the driver.
func (s *shoot) classSecret(ctx context.Context, class machinev1alpha1.MachineClass) *corev1.Secret {
	secret := &corev1.Secret{}
	Expect(seedClient.Get(ctx, client.ObjectKey{Namespace: class.SecretRef.Namespace, Name: class.SecretRef.Name}, secret)).To(Succeed())
	return secret
}

func (s *shoot) workerStatus(ctx context.Context) *v1alpha1.WorkerStatus {
	Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.worker), s.worker)).To(Succeed())
	Expect(s.worker.Status.ProviderStatus).NotTo(BeNil())
	status := &v1alpha1.WorkerStatus{}
	Expect(json.Unmarshal(s.worker.Status.ProviderStatus.Raw, status)).To(Succeed())
	Expect(status.Kind).To(Equal("WorkerStatus"))
	return status
}

func encode(obj any) []byte {
	data, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())
	return data
}
