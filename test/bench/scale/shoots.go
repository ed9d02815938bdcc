package main

import (
	"context"
	"encoding/json"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	metalclient "github.com/openkcm/gardener-extension-provider-metal/pkg/metal/client"
)

const (
	region            = "region-1"
	kubernetesVersion = "1.33.2"
	image             = "registry.example.com/gardenlinux:1.0"
	extensionName     = "shoot"
)

var (
	zones = []string{"z1", "z2"}
	// pools are the shoot's two worker pools, each over both zones with one machine per zone.
	pools = []struct{ name, machineType string }{{"general", "small"}, {"large", "large"}}
)

// shoot is one shoot's objects: its control plane namespace in the seed and its namespace in the metal API.
type shoot struct {
	namespace      string
	metalNamespace string
}

func newShoot(i int) *shoot {
	return &shoot{namespace: fmt.Sprintf("shoot--bench--s%03d", i), metalNamespace: fmt.Sprintf("metal-s%03d", i)}
}

// prepareMetal creates what the metal API operator provides for a shoot: its namespace, a ServiceAccount with the
// permissions the extension checks (namespaced ones by a Role, Servers by a ClusterRole) and a token, and one
// Available Server per pool and zone.
func (s *shoot) prepareMetal(ctx context.Context, c client.Client) (string, error) {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.metalNamespace}}); err != nil {
		return "", err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: s.metalNamespace, Name: "shoot"}}
	if err := c.Create(ctx, sa); err != nil {
		return "", err
	}
	all := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: s.metalNamespace, Name: sa.Name}}
	objects := []client.Object{
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: s.metalNamespace, Name: "shoot"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"serverclaims", "servermaintenances"}, Verbs: all},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: all},
			{APIGroups: []string{"ipam.cluster.x-k8s.io"}, Resources: []string{"ipaddressclaims", "ipaddresses"}, Verbs: all},
		}},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.metalNamespace, Name: "shoot"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "shoot"},
			Subjects:   subject,
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: s.metalNamespace},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "servers-reader"},
			Subjects:   subject,
		},
	}
	for _, obj := range objects {
		if err := c.Create(ctx, obj); err != nil {
			return "", err
		}
	}
	for _, pool := range pools {
		for _, zone := range zones {
			server := &metalv1alpha1.Server{
				ObjectMeta: metav1.ObjectMeta{
					Name:   fmt.Sprintf("%s-%s-%s", s.metalNamespace, pool.name, zone),
					Labels: map[string]string{"machine-type": pool.machineType, metal.ZoneLabel: zone},
				},
				Spec: metalv1alpha1.ServerSpec{SystemUUID: string(uuid.NewUUID())},
			}
			if err := c.Create(ctx, server); err != nil {
				return "", err
			}
			server.Status.State = metalv1alpha1.ServerStateAvailable
			if err := c.Status().Update(ctx, server); err != nil {
				return "", err
			}
		}
	}
	token := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](24 * 3600)}}
	if err := c.SubResource("token").Create(ctx, sa, token); err != nil {
		return "", err
	}
	return token.Status.Token, nil
}

// serversReader is the ClusterRole every shoot's ServiceAccount is bound to: Servers are cluster-scoped.
func serversReader() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "servers-reader"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"servers"}, Verbs: []string{"get", "list", "watch"}},
	}}
}

// prepareSeed creates what gardenlet creates before the extension objects: the namespace, the cloudprovider secret
// (as the cloudprovider webhook completes it, with the metal kubeconfig), the worker pools' user data secrets and
// the Cluster resource.
func (s *shoot) prepareSeed(ctx context.Context, c client.Client, regionConfig *api.RegionConfig, token string) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.namespace}}); err != nil {
		return err
	}
	kubeconfig, err := metalclient.Kubeconfig(regionConfig, &metalclient.Credentials{Namespace: s.metalNamespace, Token: token})
	if err != nil {
		return err
	}
	objects := []client.Object{&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: v1beta1constants.SecretNameCloudProvider},
		Data: map[string][]byte{
			metal.NamespaceKey:  []byte(s.metalNamespace),
			metal.TokenKey:      []byte(token),
			metal.KubeconfigKey: kubeconfig,
		},
	}}
	for _, pool := range pools {
		objects = append(objects, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: "osc-" + pool.name},
			Data:       map[string][]byte{extensionsv1alpha1.OperatingSystemConfigSecretDataKey: []byte("#!/bin/bash\necho " + pool.name + "\n")},
		})
	}
	cluster, err := s.cluster(regionConfig)
	if err != nil {
		return err
	}
	objects = append(objects, cluster)
	for _, obj := range objects {
		if err := c.Create(ctx, obj); err != nil {
			return err
		}
	}
	return nil
}

func (s *shoot) cluster(regionConfig *api.RegionConfig) (*extensionsv1alpha1.Cluster, error) {
	profileConfig := &v1alpha1.CloudProfileConfig{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "CloudProfileConfig"},
		MachineImages: []v1alpha1.MachineImages{{Name: "gardenlinux", Versions: []v1alpha1.MachineImageVersion{
			{Version: "1.0", Image: image, Architecture: ptr.To("amd64")},
		}}},
		RegionConfigs: []v1alpha1.RegionConfig{{Name: region, Server: regionConfig.Server, CertificateAuthorityData: regionConfig.CertificateAuthorityData}},
	}
	var machineTypes []gardencorev1beta1.MachineType
	var workers []gardencorev1beta1.Worker
	for _, pool := range pools {
		profileConfig.MachineTypes = append(profileConfig.MachineTypes, v1alpha1.MachineType{Name: pool.machineType, ServerLabels: map[string]string{"machine-type": pool.machineType}})
		machineTypes = append(machineTypes, gardencorev1beta1.MachineType{
			Name: pool.machineType, CPU: resource.MustParse("8"), GPU: resource.MustParse("0"), Memory: resource.MustParse("32Gi"), Architecture: ptr.To("amd64"),
		})
		workers = append(workers, gardencorev1beta1.Worker{
			Name: pool.name, Minimum: 2, Maximum: 4, Machine: gardencorev1beta1.Machine{Type: pool.machineType}, Zones: zones,
		})
	}
	profileConfigRaw, err := json.Marshal(profileConfig)
	if err != nil {
		return nil, err
	}
	cloudProfile := &gardencorev1beta1.CloudProfile{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "CloudProfile"},
		ObjectMeta: metav1.ObjectMeta{Name: "metal"},
		Spec: gardencorev1beta1.CloudProfileSpec{
			Type: metal.Type, MachineTypes: machineTypes, ProviderConfig: &runtime.RawExtension{Raw: profileConfigRaw},
		},
	}
	shootObj := &gardencorev1beta1.Shoot{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Shoot"},
		ObjectMeta: metav1.ObjectMeta{Name: s.namespace, Namespace: "garden-bench"},
		Spec: gardencorev1beta1.ShootSpec{
			Region:     region,
			Kubernetes: gardencorev1beta1.Kubernetes{Version: kubernetesVersion},
			Provider:   gardencorev1beta1.Provider{Type: metal.Type, Workers: workers},
			Networking: &gardencorev1beta1.Networking{
				Type: ptr.To("cilium"), Nodes: ptr.To("10.250.0.0/16"), Pods: ptr.To("100.96.0.0/11"), Services: ptr.To("100.64.0.0/13"),
				IPFamilies: []gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv4},
			},
		},
		Status: gardencorev1beta1.ShootStatus{TechnicalID: s.namespace},
	}
	seed := &gardencorev1beta1.Seed{TypeMeta: metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Seed"}}
	raws := make([][]byte, 0, 3)
	for _, obj := range []any{cloudProfile, shootObj, seed} {
		raw, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		raws = append(raws, raw)
	}
	return &extensionsv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: s.namespace},
		Spec: extensionsv1alpha1.ClusterSpec{
			CloudProfile: runtime.RawExtension{Raw: raws[0]},
			Shoot:        runtime.RawExtension{Raw: raws[1]},
			Seed:         &runtime.RawExtension{Raw: raws[2]},
		},
	}, nil
}

// extensionObjects are the Infrastructure, ControlPlane and Worker gardenlet creates for the shoot, each with the
// reconcile annotation as gardenlet sets it.
func (s *shoot) extensionObjects() []client.Object {
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Namespace:   s.namespace,
			Name:        extensionName,
			Annotations: map[string]string{v1beta1constants.GardenerOperation: v1beta1constants.GardenerOperationReconcile},
		}
	}
	secretRef := corev1.SecretReference{Namespace: s.namespace, Name: v1beta1constants.SecretNameCloudProvider}
	defaultSpec := extensionsv1alpha1.DefaultSpec{Type: metal.Type}
	var workerPools []extensionsv1alpha1.WorkerPool
	for _, pool := range pools {
		workerPools = append(workerPools, extensionsv1alpha1.WorkerPool{
			Name:           pool.name,
			Minimum:        2,
			Maximum:        4,
			MaxSurge:       intstr.FromInt32(1),
			MaxUnavailable: intstr.FromInt32(0),
			MachineType:    pool.machineType,
			MachineImage:   extensionsv1alpha1.MachineImage{Name: "gardenlinux", Version: "1.0"},
			UserDataSecretRef: corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "osc-" + pool.name},
				Key:                  extensionsv1alpha1.OperatingSystemConfigSecretDataKey,
			},
			NodeAgentSecretName: ptr.To("gardener-node-agent-" + pool.name),
			KubernetesVersion:   ptr.To(kubernetesVersion),
			Zones:               zones,
		})
	}
	return []client.Object{
		&extensionsv1alpha1.Infrastructure{ObjectMeta: meta(), Spec: extensionsv1alpha1.InfrastructureSpec{
			DefaultSpec: defaultSpec, Region: region, SecretRef: secretRef,
		}},
		&extensionsv1alpha1.ControlPlane{ObjectMeta: meta(), Spec: extensionsv1alpha1.ControlPlaneSpec{
			DefaultSpec: defaultSpec, Region: region, SecretRef: secretRef,
		}},
		&extensionsv1alpha1.Worker{ObjectMeta: meta(), Spec: extensionsv1alpha1.WorkerSpec{
			DefaultSpec: defaultSpec, Region: region, SecretRef: secretRef, Pools: workerPools,
		}},
	}
}
