package landscape

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/Masterminds/semver/v3"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdv1 "k8s.io/client-go/tools/clientcmd/api/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	gardenerimagevector "github.com/gardener/gardener/imagevector"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	resourcesv1alpha1 "github.com/gardener/gardener/pkg/apis/resources/v1alpha1"
	"github.com/gardener/gardener/pkg/component"
	"github.com/gardener/gardener/pkg/component/gardener/resourcemanager"
	"github.com/gardener/gardener/pkg/component/nodemanagement/machinecontrollermanager"
	seedsystem "github.com/gardener/gardener/pkg/component/seed/system"
	gardenerutils "github.com/gardener/gardener/pkg/utils/gardener"
	"github.com/gardener/gardener/pkg/utils/managedresources"
	secretsutils "github.com/gardener/gardener/pkg/utils/secrets"
	secretsmanager "github.com/gardener/gardener/pkg/utils/secrets/manager"
)

// The landscape does what gardenlet does for the seed and for the shoot's control plane namespace with Gardener's
// own component code (github.com/gardener/gardener at the pinned version): what runs in the seed is what Gardener
// renders, and the process kubelet runs it. Where the landscape differs from gardenlet, the comment says why.

const gardenNamespace = v1beta1constants.GardenNamespace

// gardenletIdentity is the secrets manager identity gardenlet uses for the seed and the shoots
// (pkg/gardenlet/controller/seed/seed and pkg/gardenlet/operation/botanist: v1beta1constants.SecretManagerIdentityGardenlet).
const gardenletIdentity = v1beta1constants.SecretManagerIdentityGardenlet

// bootstrapSeed deploys what gardenlet deploys into the seed before any shoot: the garden namespace, the
// gardener-system-critical PriorityClass of gardenlet's chart (charts/gardener/gardenlet/templates/priorityclass.yaml),
// the seed's gardener-resource-manager for class-seed ManagedResources, and the seed system resources (the
// PriorityClasses of shoot control planes) as a class-seed ManagedResource that it applies.
func (l *landscape) bootstrapSeed(ctx context.Context) error {
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: gardenNamespace}}
	if _, err := controllerutil.CreateOrPatch(ctx, l.seed, namespace, func() error {
		metav1.SetMetaDataLabel(&namespace.ObjectMeta, v1beta1constants.GardenRole, v1beta1constants.GardenRoleGarden)
		return nil
	}); err != nil {
		return err
	}
	critical := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: v1beta1constants.PriorityClassNameSeedSystemCritical}}
	if _, err := controllerutil.CreateOrPatch(ctx, l.seed, critical, func() error {
		critical.Value = 999998950
		critical.Description = "This class is used to ensure that the gardenlet and some seed system components has a high priority and is not preempted in favor of other pods."
		return nil
	}); err != nil {
		return err
	}

	sm, err := secretsmanager.New(ctx, logf.Log.WithName("secrets-manager-seed"), clock.RealClock{}, l.seed, gardenletIdentity,
		secretsmanager.WithNamespaces(gardenNamespace))
	if err != nil {
		return err
	}
	if _, err := sm.Generate(ctx, &secretsutils.CertificateSecretConfig{Name: v1beta1constants.SecretNameCASeed, CommonName: "kubernetes", CertType: secretsutils.CACert},
		secretsmanager.Rotate(secretsmanager.KeepOld)); err != nil {
		return err
	}
	image, err := resourceManagerImage()
	if err != nil {
		return err
	}
	// The values of gardenlet's newGardenerResourceManager (pkg/gardenlet/controller/seed/seed/components.go) for a
	// seed with the default gardenlet configuration and one replica, with the defaults of
	// shared.NewRuntimeGardenerResourceManager (pkg/component/shared/resourcemanager.go; that package is not imported
	// because it pulls in every seed component).
	grm := resourcemanager.New(l.seed, gardenNamespace, sm, resourcemanager.Values{
		ConcurrentSyncs:                      ptr.To(20),
		HealthSyncPeriod:                     &metav1.Duration{Duration: time.Minute},
		MaxConcurrentNetworkPolicyWorkers:    ptr.To(20),
		ResourceClass:                        ptr.To(v1beta1constants.SeedResourceManagerClass),
		ResponsibilityMode:                   resourcemanager.ForRuntime,
		Image:                                image,
		HighAvailabilityConfigWebhookEnabled: true,
		LogLevel:                             "info",
		LogFormat:                            "json",
		PriorityClassName:                    v1beta1constants.PriorityClassNameSeedSystemCritical,
		SecretNameServerCA:                   v1beta1constants.SecretNameCASeed,
		Zones:                                zones,
		PodKubeAPIServerLoadBalancingWebhook: resourcemanager.PodKubeAPIServerLoadBalancingWebhook{
			Enabled: true,
			Configs: []resourcemanager.PodKubeAPIServerLoadBalancingWebhookConfig{{
				NamespaceSelector: map[string]string{v1beta1constants.GardenRole: v1beta1constants.GardenRoleShoot},
			}},
		},
		VPAInPlaceUpdatesEnabled: true,
		Replicas:                 ptr.To[int32](1),
		RuntimeKubernetesVersion: l.kubernetesVersion(),
	})
	if err := l.deploy(ctx, "the seed's gardener-resource-manager", grm); err != nil {
		return err
	}
	if err := l.waitComponent(ctx, "the seed's gardener-resource-manager", grm); err != nil {
		return err
	}
	system := seedsystem.New(l.seed, gardenNamespace, seedsystem.Values{ManagePriorityClasses: true})
	if err := l.deploy(ctx, "the seed system resources", system); err != nil {
		return err
	}
	return l.waitComponent(ctx, "the seed system resources (ManagedResource garden/"+seedsystem.ManagedResourceName+")", system)
}

// deployShootControlPlane deploys what gardenlet deploys into the shoot's control plane namespace besides the
// extension resources: the cluster CA and the generic token kubeconfig (its name annotated on the Cluster, which the
// extension's charts mount), the shoot's gardener-resource-manager (it applies the shoot ManagedResources and fills
// the shoot access secrets with tokens of the shoot), and machine-controller-manager, whose Deployment our
// controlplane webhook extends with the metal driver sidecar.
func (l *landscape) deployShootControlPlane(ctx context.Context, t *shootEnv) error {
	sm, err := secretsmanager.New(ctx, logf.Log.WithName("secrets-manager-shoot"), clock.RealClock{}, l.seed, gardenletIdentity,
		secretsmanager.WithNamespaces(t.seedNamespace))
	if err != nil {
		return err
	}
	if _, err := sm.Generate(ctx, &secretsutils.CertificateSecretConfig{Name: v1beta1constants.SecretNameCACluster, CommonName: "kubernetes", CertType: secretsutils.CACert},
		secretsmanager.Rotate(secretsmanager.KeepOld)); err != nil {
		return err
	}
	// gardenlet's tokenrequest.GenerateGenericTokenKubeconfig names the shoot's kube-apiserver by its in-cluster
	// Service and trusts the cluster CA; the landscape's shoot API server is envtest's on loopback with envtest's CA.
	genericKubeconfig, err := sm.Generate(ctx, &secretsutils.KubeconfigSecretConfig{
		Name:        v1beta1constants.SecretNameGenericTokenKubeconfig,
		ContextName: t.seedNamespace,
		Cluster:     clientcmdv1.Cluster{Server: t.cluster.config.Host, CertificateAuthorityData: t.cluster.config.CAData},
		AuthInfo:    clientcmdv1.AuthInfo{TokenFile: gardenerutils.PathShootToken},
	}, secretsmanager.Rotate(secretsmanager.KeepOld))
	if err != nil {
		return err
	}
	cluster := &extensionsv1alpha1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: t.seedNamespace}}
	patch := client.MergeFrom(cluster.DeepCopy())
	metav1.SetMetaDataAnnotation(&cluster.ObjectMeta, v1beta1constants.AnnotationKeyGenericTokenKubeconfigSecretName, genericKubeconfig.Name)
	if err := l.seed.Patch(ctx, cluster, patch); err != nil {
		return err
	}

	// gardenlet's shoot kubeconfig secret, which the extension's Worker health check (every node ready) reads.
	gardener := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: t.seedNamespace, Name: v1beta1constants.SecretNameGardener}}
	kubeconfig, err := os.ReadFile(l.path(t.cluster.name + ".kubeconfig"))
	if err != nil {
		return err
	}
	if _, err := controllerutil.CreateOrPatch(ctx, l.seed, gardener, func() error {
		gardener.Data = map[string][]byte{secretsutils.DataKeyKubeconfig: kubeconfig}
		return nil
	}); err != nil {
		return err
	}

	if err := l.deployShootResourceManager(ctx, sm, t); err != nil {
		return err
	}
	if t.controllers {
		if err := l.deployShootControllers(ctx, sm); err != nil {
			return err
		}
	}

	image, err := gardenerimagevector.Containers().FindImage(gardenerimagevector.ContainerImageNameMachineControllerManager)
	if err != nil {
		return err
	}
	mcm := machinecontrollermanager.New(l.seed, t.seedNamespace, sm, machinecontrollermanager.Values{Image: image.String(), Replicas: 1})
	if err := l.deploy(ctx, t.name("machine-controller-manager"), mcm); err != nil {
		return err
	}
	return l.waitComponent(ctx, t.name("machine-controller-manager"), mcm)
}

// deployShootResourceManager follows shared.DeployGardenerResourceManager: the first deployment runs with a bootstrap
// kubeconfig until the resource manager has requested its own token for the shoot, then it is deployed without.
// gardenlet's bootstrap kubeconfig holds a client certificate of the cluster CA, which the shoot's kube-apiserver
// trusts; the landscape's shoot API server trusts envtest's CA, so the bootstrap kubeconfig is an envtest user
// with the same group (system:masters), in a Secret the landscape writes.
func (l *landscape) deployShootResourceManager(ctx context.Context, sm secretsmanager.Interface, t *shootEnv) error {
	image, err := resourceManagerImage()
	if err != nil {
		return err
	}
	// The values of botanist.DefaultResourceManager (pkg/gardenlet/operation/botanist/resource_manager.go) for a shoot
	// with workers and managed infrastructure, with the defaults of shared.NewTargetGardenerResourceManager.
	grm := resourcemanager.New(l.seed, t.seedNamespace, sm, resourcemanager.Values{
		AlwaysUpdate:                         ptr.To(true),
		ConcurrentSyncs:                      ptr.To(20),
		HealthSyncPeriod:                     &metav1.Duration{Duration: time.Minute},
		MaxConcurrentCSRApproverWorkers:      ptr.To(5),
		MaxConcurrentHealthWorkers:           ptr.To(10),
		MaxConcurrentTokenRequestorWorkers:   ptr.To(5),
		ResponsibilityMode:                   resourcemanager.ForShootOrVirtualGarden,
		WatchedNamespace:                     ptr.To(t.seedNamespace),
		SystemComponentsConfigWebhookEnabled: true,
		Image:                                image,
		ClusterIdentity:                      ptr.To("landscape"),
		HighAvailabilityConfigWebhookEnabled: true,
		KubernetesServiceHost:                ptr.To(t.cluster.host()),
		LogLevel:                             "info",
		LogFormat:                            "json",
		NodeAgentAuthorizerEnabled:           true,
		PriorityClassName:                    v1beta1constants.PriorityClassNameShootControlPlane400,
		RuntimeKubernetesVersion:             l.kubernetesVersion(),
		SecretNameServerCA:                   v1beta1constants.SecretNameCACluster,
		TargetNamespaces:                     []string{metav1.NamespaceSystem, v1beta1constants.KubernetesDashboardNamespace, corev1.NamespaceNodeLease},
		VPAInPlaceUpdatesEnabled:             true,
		MachineNamespace:                     ptr.To(t.seedNamespace),
		Replicas:                             ptr.To[int32](1),
	})
	bootstrap, err := l.shootBootstrapKubeconfig(ctx, t)
	if err != nil {
		return err
	}
	grm.SetSecrets(resourcemanager.Secrets{BootstrapKubeconfig: &component.Secret{Name: bootstrap}})
	if err := l.deploy(ctx, t.name("the shoot's gardener-resource-manager (bootstrap)"), grm); err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	if err := l.waitResourceManagerBootstrapped(waitCtx, t.seedNamespace); err != nil {
		return fmt.Errorf("waiting for the shoot's gardener-resource-manager to bootstrap its access: %w", err)
	}
	grm.SetSecrets(resourcemanager.Secrets{})
	if err := l.deploy(ctx, t.name("the shoot's gardener-resource-manager"), grm); err != nil {
		return err
	}
	return l.waitComponent(ctx, t.name("the shoot's gardener-resource-manager"), grm)
}

// waitResourceManagerBootstrapped waits as shared.WaitUntilGardenerResourceManagerBootstrapped does: the shoot access
// secret of the resource manager holds a token that is not due for renewal, and its ManagedResource is healthy.
func (l *landscape) waitResourceManagerBootstrapped(ctx context.Context, namespace string) error {
	secret := gardenerutils.NewShootAccessSecret(resourcemanager.SecretNameShootAccess, namespace).Secret
	for {
		err := l.seed.Get(ctx, client.ObjectKeyFromObject(secret), secret)
		if client.IgnoreNotFound(err) != nil {
			return err
		}
		if renew, ok := secret.Annotations[resourcesv1alpha1.ServiceAccountTokenRenewTimestamp]; err == nil && ok {
			renewTime, err := time.Parse(time.RFC3339, renew)
			if err != nil {
				return fmt.Errorf("parsing the renew timestamp of secret %s: %w", secret.Name, err)
			}
			if time.Now().Before(renewTime) {
				return managedresources.WaitUntilHealthy(ctx, l.seed, namespace, resourcemanager.ManagedResourceName)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// resourceManagerImage is gardener-resource-manager's image from Gardener's image vector, tagged with the pinned
// Gardener version as gardenlet tags it with its own.
func resourceManagerImage() (string, error) {
	image, err := gardenerimagevector.Containers().FindImage(gardenerimagevector.ContainerImageNameGardenerResourceManager)
	if err != nil {
		return "", err
	}
	image.WithOptionalTag(gardenerVersion())
	return image.String(), nil
}

// shootBootstrapKubeconfig writes the bootstrap kubeconfig Secret of the shoot's gardener-resource-manager.
func (l *landscape) shootBootstrapKubeconfig(ctx context.Context, t *shootEnv) (string, error) {
	user, err := t.cluster.env.AddUser(envtest.User{Name: "gardener.cloud:system:gardener-resource-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: t.seedNamespace, Name: "landscape-" + resourcemanager.SecretNameShootAccess + "-bootstrap"}}
	if _, err := controllerutil.CreateOrPatch(ctx, l.seed, secret, func() error {
		secret.Data = map[string][]byte{secretsutils.DataKeyKubeconfig: data}
		return nil
	}); err != nil {
		return "", err
	}
	return secret.Name, nil
}

// deploy deploys a Gardener component and, like gardenlet's flows that requeue a failed step, tries again while it
// fails (the first deployment of gardener-resource-manager registers its webhooks before its pod serves them), bounded
// by the landscape's timeout. The last error is returned.
func (l *landscape) deploy(ctx context.Context, name string, c component.Deployer) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	for {
		err := c.Deploy(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("deploying %s: %w", name, err)
		case <-time.After(2 * time.Second):
		}
	}
}

// waitComponent waits for a Gardener component as gardenlet does (its Wait), bounded by the landscape's timeout.
func (l *landscape) waitComponent(ctx context.Context, name string, c component.Waiter) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	started := time.Now()
	if err := c.Wait(ctx); err != nil {
		return fmt.Errorf("waiting for %s: %w", name, err)
	}
	l.step(fmt.Sprintf("%s is ready (%.1fs)", name, time.Since(started).Seconds()))
	return nil
}

// kubernetesVersion is the version of the landscape's kube-apiservers.
func (l *landscape) kubernetesVersion() *semver.Version { return l.seedCluster.version }

// gardenerVersion is the version of the gardener module this binary is built with.
func gardenerVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/gardener/gardener" {
				return dep.Version
			}
		}
	}
	return "latest"
}

// deleteConfirmed deletes an extension resource as gardenlet does: with the deletion confirmation annotation first,
// which the seed's gardener-resource-manager (its cr-deletion-protection webhook) demands. A missing object is gone.
func (l *landscape) deleteConfirmed(ctx context.Context, obj client.Object) error {
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[v1beta1constants.ConfirmationDeletion] = "true"
	obj.SetAnnotations(annotations)
	if err := l.seed.Patch(ctx, obj, patch); client.IgnoreNotFound(err) != nil {
		return err
	}
	return client.IgnoreNotFound(l.seed.Delete(ctx, obj))
}
