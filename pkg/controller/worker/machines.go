package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	"github.com/gardener/gardener/extensions/pkg/controller/worker"
	"github.com/gardener/gardener/extensions/pkg/controller/worker/genericactuator"
	extensionsv1alpha1helper "github.com/gardener/gardener/pkg/api/extensions/v1alpha1/helper"
	"github.com/gardener/gardener/pkg/apis/core"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	"github.com/gardener/gardener/pkg/controllerutils"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/validation"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// DefaultMachineCreationTimeout is how long machine-controller-manager waits for a new machine's Node before it
// declares the creation failed and replaces the machine, unless the pool (the Shoot's
// workers[].machineControllerManager.machineCreationTimeout) or the CloudProfile's machine type
// (machineTypes[].machineControllerManager.machineCreationTimeout, which Gardener copies into pools that set none)
// sets one. MCM's own default, 20 minutes (gardenlet runs it with --machine-creation-timeout=20m), is too short
// for a Server that powers on, runs POST and firmware initialisation, boots over the network and installs its
// operating system before the kubelet starts. The timeout also bounds the Machine's bootstrap token: MCM sets the
// token's expiration to the effective creation timeout (machine-controller-manager v0.62.1,
// pkg/util/provider/machinecontroller/userdata.go).
const DefaultMachineCreationTimeout = 60 * time.Minute

// machineConfig is the generated machine configuration of a Worker.
type machineConfig struct {
	secrets     []*corev1.Secret
	classes     []*machinev1alpha1.MachineClass
	deployments worker.MachineDeployments
	images      []api.MachineImage
}

// DeployMachineClasses creates or updates the MachineClasses and their user data secrets. Each object is compared
// with the cached one first and written only when it differs, so that an unchanged Worker costs no writes.
func (w *workerDelegate) DeployMachineClasses(ctx context.Context) error {
	generated, err := w.machineConfig(ctx)
	if err != nil {
		return err
	}
	for _, desired := range generated.secrets {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: desired.Name, Namespace: desired.Namespace}}
		if _, err := controllerutils.GetAndCreateOrMergePatch(ctx, w.client, secret, func() error {
			metav1.SetMetaDataLabel(&secret.ObjectMeta, v1beta1constants.GardenerPurpose, v1beta1constants.GardenPurposeMachineClass)
			secret.Type = desired.Type
			secret.Data = desired.Data
			return nil
		}, controllerutils.SkipEmptyPatch{}); err != nil {
			return fmt.Errorf("deploying machine class secret %s: %w", client.ObjectKeyFromObject(secret), err)
		}
	}
	for _, desired := range generated.classes {
		class := &machinev1alpha1.MachineClass{ObjectMeta: metav1.ObjectMeta{Name: desired.Name, Namespace: desired.Namespace}}
		if _, err := controllerutils.GetAndCreateOrMergePatch(ctx, w.client, class, func() error {
			class.NodeTemplate = desired.NodeTemplate
			class.CredentialsSecretRef = desired.CredentialsSecretRef
			class.SecretRef = desired.SecretRef
			class.Provider = desired.Provider
			class.ProviderSpec = desired.ProviderSpec
			return nil
		}, controllerutils.SkipEmptyPatch{}); err != nil {
			return fmt.Errorf("deploying machine class %s: %w", client.ObjectKeyFromObject(class), err)
		}
	}
	return nil
}

// GenerateMachineDeployments returns the MachineDeployments of the Worker, one per pool and zone.
func (w *workerDelegate) GenerateMachineDeployments(ctx context.Context) (worker.MachineDeployments, error) {
	generated, err := w.machineConfig(ctx)
	if err != nil {
		return nil, err
	}
	return generated.deployments, nil
}

// machineConfig generates the machine configuration of all pools once per reconciliation. Every pool is
// generated and checked before anything is written, so that a configuration error leaves the existing
// machines alone.
func (w *workerDelegate) machineConfig(ctx context.Context) (*machineConfig, error) {
	if w.generated != nil {
		return w.generated, nil
	}
	generated := &machineConfig{}
	for i, pool := range w.worker.Spec.Pools {
		if err := w.generatePool(ctx, generated, pool, field.NewPath("spec", "pools").Index(i)); err != nil {
			return nil, err
		}
	}
	w.generated = generated
	return generated, nil
}

func (w *workerDelegate) generatePool(ctx context.Context, generated *machineConfig, pool extensionsv1alpha1.WorkerPool, poolPath *field.Path) error {
	configPath := poolPath.Child("providerConfig")
	config, err := helper.WorkerConfigFromRaw(pool.ProviderConfig)
	if err != nil {
		return configurationProblem(fmt.Errorf("%s: %w", configPath, err))
	}
	if errs := validation.ValidateWorkerConfig(config, w.infraConfig, shootResources(w.cluster.Shoot), configPath); len(errs) > 0 {
		return configurationProblem(errs.ToAggregate())
	}
	machineType, ok := helper.FindMachineType(w.cloudProfileConfig, pool.MachineType)
	if !ok {
		return configurationProblem(field.Invalid(poolPath.Child("machineType"), pool.MachineType, "the CloudProfile has no Server labels for this machine type"))
	}
	if len(pool.Zones) == 0 {
		return configurationProblem(field.Required(poolPath.Child("zones"), "Servers are selected by zone, so a pool needs at least one"))
	}
	image, err := resolveImage(w.cloudProfileConfig, w.status, poolImageRequest(pool, w.cluster.CloudProfile))
	if err != nil {
		return fmt.Errorf("%s: %w", poolPath.Child("machineImage"), err)
	}
	generated.images = appendImage(generated.images, image)
	ignition, err := w.poolIgnition(ctx, config, configPath)
	if err != nil {
		return err
	}
	userData, err := worker.FetchUserData(ctx, w.client, w.worker.Namespace, pool)
	if err != nil {
		return err
	}

	zoneCount := int32(len(pool.Zones)) // #nosec G115 -- Gardener limits the zones of a pool far below MaxInt32.
	for zoneIndex, zone := range pool.Zones {
		spec, err := buildProviderSpec(providerSpecInput{
			shootID:     w.worker.Namespace,
			shootUID:    string(w.cluster.Shoot.UID),
			image:       image.Image,
			region:      w.worker.Spec.Region,
			zone:        zone,
			machineType: machineType,
			config:      config,
			infra:       w.infraConfig,
			profile:     w.cloudProfileConfig,
			ignition:    ignition,
		}, configPath)
		if err != nil {
			return err
		}
		zoneIdx := int32(zoneIndex) // #nosec G115 -- see zoneCount.
		deploymentName := fmt.Sprintf("%s-%s-z%d", w.worker.Namespace, pool.Name, zoneIdx+1)
		className, err := machineClassName(deploymentName, pool, w.cluster, classHashInputs(zone, config, spec, ignition))
		if err != nil {
			return err
		}
		class, err := w.machineClass(className, pool, zone, spec)
		if err != nil {
			return err
		}
		generated.classes = append(generated.classes, class)
		generated.secrets = append(generated.secrets, w.machineClassSecret(className, userData, ignition))
		generated.deployments = append(generated.deployments, machineDeployment(pool, deploymentName, className, zoneIdx, zoneCount))
	}
	return nil
}

// classHashInput is what, besides Gardener's worker pool hash, replaces a pool's machines when it changes: the pool's
// own choices that a Server gets only when it is claimed and set up (the zone, the extra Server labels and
// tolerations the claim is made with, the IPAM pools its addresses come from, the metadata, DNS servers and
// Ignition written at first boot). What the CloudProfile resolves for the pool (the image reference of a version,
// the machine type's Server labels, its DNS servers and Ignition) and the region rule of the Server selector are left
// out: an operator's edit of them applies to machines created from then on and replaces no running machine, as
// Gardener's providers do (provider-openstack's generateWorkerPoolHash in pkg/controller/worker/machines.go hashes its
// pool's server group and security groups, never the image ID the CloudProfile maps the version to).
// docs/usage/usage.md lists these inputs; keep both in step.
type classHashInput struct {
	Zone              string            `json:"zone"`
	ExtraServerLabels map[string]string `json:"extraServerLabels,omitempty"`
	ServerTolerations []apis.Toleration `json:"serverTolerations,omitempty"`
	IPAMConfig        []apis.IPAMConfig `json:"ipamConfig,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
	DNSServers        []string          `json:"dnsServers,omitempty"`
	Ignition          string            `json:"ignition,omitempty"`
	IgnitionOverride  bool              `json:"ignitionOverride,omitempty"`
}

// classHashInputs collects the hash inputs of one pool and zone. The pool's DNS servers count, not the
// CloudProfile's that the providerSpec falls back to; the pool's Ignition counts, not the CloudProfile's merged
// into it.
func classHashInputs(zone string, config *api.WorkerConfig, spec *apis.ProviderSpec, ignition *poolIgnition) classHashInput {
	in := classHashInput{
		Zone:              zone,
		ExtraServerLabels: config.ExtraServerLabels,
		ServerTolerations: spec.ServerTolerations,
		IPAMConfig:        spec.IPAMConfig,
		Metadata:          spec.Metadata,
		DNSServers:        config.DNSServers,
	}
	if ignition != nil {
		in.Ignition, in.IgnitionOverride = ignition.own, ignition.override
	}
	return in
}

// machineClassName names a pool's class after its deployment and a hash of everything that requires new
// machines: Gardener's worker pool hash (the node agent secret name, which covers the machine type, the image name
// and version, the Kubernetes version, the kubelet configuration and the CRI; for in-place updates Gardener's
// in-place hash instead) plus the classHashInput. Anything else (minimum, maximum, node labels, taints,
// annotations, the machine configuration, the autoscaler's node template, what the CloudProfile resolves) changes
// the MachineDeployment or the class in place.
func machineClassName(deploymentName string, pool extensionsv1alpha1.WorkerPool, cluster *extensionscontroller.Cluster, in classHashInput) (string, error) {
	data, err := json.Marshal(in)
	if err != nil {
		return "", fmt.Errorf("encoding the hash inputs: %w", err)
	}
	hash, err := worker.WorkerPoolHash(pool, cluster, []string{string(data)}, []string{string(data)})
	if err != nil {
		return "", fmt.Errorf("computing the hash of worker pool %q: %w", pool.Name, err)
	}
	return deploymentName + "-" + hash, nil
}

func (w *workerDelegate) machineClass(name string, pool extensionsv1alpha1.WorkerPool, zone string, spec *apis.ProviderSpec) (*machinev1alpha1.MachineClass, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encoding the providerSpec of machine class %s: %w", name, err)
	}
	return &machinev1alpha1.MachineClass{
		ObjectMeta:           metav1.ObjectMeta{Name: name, Namespace: w.worker.Namespace},
		SecretRef:            &corev1.SecretReference{Name: name, Namespace: w.worker.Namespace},
		CredentialsSecretRef: &corev1.SecretReference{Name: w.worker.Spec.SecretRef.Name, Namespace: w.worker.Spec.SecretRef.Namespace},
		Provider:             apis.Provider,
		ProviderSpec:         runtime.RawExtension{Raw: raw},
		NodeTemplate: &machinev1alpha1.NodeTemplate{
			Capacity:        w.nodeCapacity(pool),
			VirtualCapacity: nodeVirtualCapacity(pool),
			InstanceType:    pool.MachineType,
			Region:          w.worker.Spec.Region,
			Zone:            zone,
			Architecture:    ptr.To(ptr.Deref(pool.Architecture, v1beta1constants.ArchitectureAMD64)),
		},
	}, nil
}

// nodeCapacity is the capacity the cluster-autoscaler assumes for a node of the pool when it scales from zero:
// CPU, GPU and memory of the CloudProfile's machine type, overridden by the pool's node template.
func (w *workerDelegate) nodeCapacity(pool extensionsv1alpha1.WorkerPool) corev1.ResourceList {
	capacity := corev1.ResourceList{}
	for _, machineType := range w.cluster.CloudProfile.Spec.MachineTypes {
		if machineType.Name == pool.MachineType {
			capacity[corev1.ResourceCPU] = machineType.CPU
			capacity["gpu"] = machineType.GPU
			capacity[corev1.ResourceMemory] = machineType.Memory
		}
	}
	if pool.NodeTemplate != nil {
		maps.Copy(capacity, pool.NodeTemplate.Capacity)
	}
	return capacity
}

func nodeVirtualCapacity(pool extensionsv1alpha1.WorkerPool) corev1.ResourceList {
	if pool.NodeTemplate == nil {
		return nil
	}
	return pool.NodeTemplate.VirtualCapacity
}

// machineClassSecret holds what MCM passes to the driver besides the providerSpec: the user data and the extra
// Ignition, which may carry credentials and therefore stays out of the MachineClass.
func (w *workerDelegate) machineClassSecret(name string, userData []byte, ignition *poolIgnition) *corev1.Secret {
	data := map[string][]byte{metal.UserDataSecretKey: userData}
	if ignition != nil {
		data[metal.ExtraIgnitionSecretKey] = []byte(ignition.merged)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: w.worker.Namespace,
			// The generic actuator finds the secrets to clean up by this label.
			Labels: map[string]string{v1beta1constants.GardenerPurpose: v1beta1constants.GardenPurposeMachineClass},
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
}

// machineDeployment spreads the pool's sizes over its zones: the first zones get one machine more when the
// numbers do not divide evenly, and surge and unavailability are weighted by each zone's share.
func machineDeployment(pool extensionsv1alpha1.WorkerPool, name, className string, zoneIdx, zoneCount int32) worker.MachineDeployment {
	update := machinev1alpha1.UpdateConfiguration{
		MaxSurge:       ptr.To(worker.DistributePositiveIntOrPercent(zoneIdx, pool.MaxSurge, zoneCount, pool.Maximum)),
		MaxUnavailable: ptr.To(worker.DistributePositiveIntOrPercent(zoneIdx, pool.MaxUnavailable, zoneCount, pool.Minimum)),
	}
	var preserveMax int32
	if pool.MachineControllerManagerSettings != nil {
		preserveMax = worker.DistributeOverZones(zoneIdx, ptr.Deref(pool.MachineControllerManagerSettings.AutoPreserveFailedMachineMax, 0), zoneCount)
	}
	return worker.MachineDeployment{
		Name:                         name,
		ClassName:                    className,
		SecretName:                   className,
		PoolName:                     pool.Name,
		Minimum:                      worker.DistributeOverZones(zoneIdx, pool.Minimum, zoneCount),
		Maximum:                      worker.DistributeOverZones(zoneIdx, pool.Maximum, zoneCount),
		Priority:                     pool.Priority,
		Strategy:                     updateStrategy(pool, update),
		Labels:                       pool.Labels,
		Annotations:                  pool.Annotations,
		Taints:                       pool.Taints,
		MachineConfiguration:         machineConfiguration(pool),
		ClusterAutoscalerAnnotations: extensionsv1alpha1helper.GetMachineDeploymentClusterAutoscalerAnnotations(pool.ClusterAutoscaler),
		AutoPreserveFailedMachineMax: preserveMax,
	}
}

// machineConfiguration is the pool's machine-controller-manager settings, with DefaultMachineCreationTimeout where
// it sets no creation timeout. MCM applies a changed configuration to the existing MachineSets and Machines without
// replacing them (machine-controller-manager v0.62.1, pkg/controller/deployment_util.go: the template comparison
// leaves machineConfiguration out), so the default never rolls a pool.
func machineConfiguration(pool extensionsv1alpha1.WorkerPool) *machinev1alpha1.MachineConfiguration {
	config := genericactuator.ReadMachineConfiguration(pool)
	if config.MachineCreationTimeout == nil {
		config.MachineCreationTimeout = &metav1.Duration{Duration: DefaultMachineCreationTimeout}
	}
	return config
}

// updateStrategy is a rolling update unless the pool asks for in-place updates, automatic or manual.
func updateStrategy(pool extensionsv1alpha1.WorkerPool, update machinev1alpha1.UpdateConfiguration) machinev1alpha1.MachineDeploymentStrategy {
	switch ptr.Deref(pool.UpdateStrategy, "") {
	case gardencorev1beta1.AutoInPlaceUpdate:
		return machinev1alpha1.MachineDeploymentStrategy{
			Type:          machinev1alpha1.InPlaceUpdateMachineDeploymentStrategyType,
			InPlaceUpdate: &machinev1alpha1.InPlaceUpdateMachineDeployment{UpdateConfiguration: update, OrchestrationType: machinev1alpha1.OrchestrationTypeAuto},
		}
	case gardencorev1beta1.ManualInPlaceUpdate:
		return machinev1alpha1.MachineDeploymentStrategy{
			Type:          machinev1alpha1.InPlaceUpdateMachineDeploymentStrategyType,
			InPlaceUpdate: &machinev1alpha1.InPlaceUpdateMachineDeployment{UpdateConfiguration: update, OrchestrationType: machinev1alpha1.OrchestrationTypeManual},
		}
	default:
		return machinev1alpha1.MachineDeploymentStrategy{
			Type:          machinev1alpha1.RollingUpdateMachineDeploymentStrategyType,
			RollingUpdate: &machinev1alpha1.RollingUpdateMachineDeployment{UpdateConfiguration: update},
		}
	}
}

// shootResources converts the shoot's referenced resources for the validation, which uses the internal API.
func shootResources(shoot *gardencorev1beta1.Shoot) []core.NamedResourceReference {
	resources := make([]core.NamedResourceReference, 0, len(shoot.Spec.Resources))
	for _, resource := range shoot.Spec.Resources {
		resources = append(resources, core.NamedResourceReference{Name: resource.Name, ResourceRef: resource.ResourceRef})
	}
	return resources
}
