package landscape

import (
	"context"
	"errors"
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	gardenerimagevector "github.com/gardener/gardener/imagevector"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	"github.com/gardener/gardener/pkg/client/kubernetes"
	kubecontrollermanager "github.com/gardener/gardener/pkg/component/kubernetes/controllermanager"
	kubescheduler "github.com/gardener/gardener/pkg/component/kubernetes/scheduler"
	imagevectorutils "github.com/gardener/gardener/pkg/utils/imagevector"
	secretsutils "github.com/gardener/gardener/pkg/utils/secrets"
	secretsmanager "github.com/gardener/gardener/pkg/utils/secrets/manager"
)

// deployShootControllers deploys the shoot's kube-controller-manager and kube-scheduler into the control plane
// namespace with Gardener's components (pkg/component/kubernetes/{controllermanager,scheduler}) and the values
// gardenlet's botanist gives a shoot with workers (shared.NewKubeControllerManager, botanist.DefaultKubeScheduler);
// our controlplane webhook mutates the kube-controller-manager Deployment on its way into the seed, and the seed's
// process kubelet runs both pods from the rendered Deployments, with the real binaries of hack/kube-controllers.sh
// in place of the images. The secrets they mount are generated as gardenlet's botanist generates them (the client
// and kubelet CAs, the ServiceAccount signing key).
func (l *landscape) deployShootControllers(ctx context.Context, sm secretsmanager.Interface) error {
	for _, config := range []secretsutils.ConfigInterface{
		&secretsutils.CertificateSecretConfig{Name: v1beta1constants.SecretNameCAClient, CommonName: "kubernetes-client", CertType: secretsutils.CACert},
		&secretsutils.CertificateSecretConfig{Name: v1beta1constants.SecretNameCAKubelet, CommonName: "kubelet", CertType: secretsutils.CACert},
	} {
		if _, err := sm.Generate(ctx, config, secretsmanager.Rotate(secretsmanager.KeepOld)); err != nil {
			return err
		}
	}
	// The kube-apiserver component generates the signing key (pkg/component/kubernetes/apiserver); the landscape's
	// shoot API server is envtest's with a key of its own, so tokens kube-controller-manager would sign for legacy
	// token Secrets are not accepted by it (no component of the landscape uses them).
	if _, err := sm.Generate(ctx, &secretsutils.RSASecretConfig{Name: v1beta1constants.SecretNameServiceAccountKey, Bits: 4096},
		secretsmanager.Persist(), secretsmanager.Rotate(secretsmanager.KeepOld)); err != nil {
		return err
	}

	cluster, err := extensionscontroller.GetCluster(ctx, l.seed, seedNamespace)
	if err != nil {
		return err
	}
	pods, services, err := shootNetworks(cluster.Shoot)
	if err != nil {
		return err
	}
	runtimeVersion, targetVersion := l.kubernetesVersion(), l.shootCluster.version
	kcmImage, err := gardenerimagevector.Containers().FindImage(gardenerimagevector.ContainerImageNameKubeControllerManager,
		imagevectorutils.RuntimeVersion(runtimeVersion.String()), imagevectorutils.TargetVersion(targetVersion.String()))
	if err != nil {
		return err
	}
	seedClientSet, err := kubernetes.NewWithConfig(kubernetes.WithRESTConfig(l.seedCluster.config),
		kubernetes.WithClientOptions(client.Options{Scheme: l.seed.Scheme()}), kubernetes.WithDisabledCachedClient())
	if err != nil {
		return err
	}
	kcmConfig := cluster.Shoot.Spec.Kubernetes.KubeControllerManager
	if kcmConfig == nil {
		kcmConfig = &gardencorev1beta1.KubeControllerManagerConfig{}
	}
	rootCA, err := l.shootRootCA(ctx, sm)
	if err != nil {
		return err
	}
	kcm := kubecontrollermanager.New(logf.Log.WithName("kube-controller-manager"), seedClientSet, seedNamespace, rootCAManager{Interface: sm, bundle: rootCA}, kubecontrollermanager.Values{
		RuntimeVersion:    runtimeVersion,
		TargetVersion:     targetVersion,
		Image:             kcmImage.String(),
		Replicas:          1,
		PriorityClassName: v1beta1constants.PriorityClassNameShootControlPlane300,
		Config:            kcmConfig,
		PodNetworks:       pods,
		ServiceNetworks:   services,
	})
	if err := l.deploy(ctx, "the shoot's kube-controller-manager", kcm); err != nil {
		return err
	}

	schedulerImage, err := gardenerimagevector.Containers().FindImage(gardenerimagevector.ContainerImageNameKubeScheduler,
		imagevectorutils.RuntimeVersion(runtimeVersion.String()), imagevectorutils.TargetVersion(targetVersion.String()))
	if err != nil {
		return err
	}
	scheduler := kubescheduler.New(l.seed, seedNamespace, sm, schedulerImage.String(), 1, cluster.Shoot.Spec.Kubernetes.KubeScheduler)
	if err := l.deploy(ctx, "the shoot's kube-scheduler", scheduler); err != nil {
		return err
	}
	if err := l.waitComponent(ctx, "the shoot's kube-controller-manager", kcm); err != nil {
		return err
	}
	return l.waitComponent(ctx, "the shoot's kube-scheduler", scheduler)
}

// shootRootCA is the CA bundle the shoot's kube-controller-manager publishes as kube-root-ca.crt (--root-ca-file):
// in-cluster clients of the shoot (MetalLB, say) must trust their API server with it. Gardener signs the shoot
// kube-apiserver's serving certificate with the cluster CA and mounts the cluster CA bundle; envtest signs it with a
// CA of its own, so the landscape's bundle is the cluster CA bundle plus envtest's CA, in a Secret of its own that the
// kube-controller-manager component gets in place of the cluster CA bundle (rootCAManager).
func (l *landscape) shootRootCA(ctx context.Context, sm secretsmanager.Interface) (*corev1.Secret, error) {
	bundle, ok := sm.Get(v1beta1constants.SecretNameCACluster)
	if !ok {
		return nil, fmt.Errorf("secret %q not found", v1beta1constants.SecretNameCACluster)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: seedNamespace, Name: "landscape-shoot-root-ca"}}
	if _, err := controllerutil.CreateOrPatch(ctx, l.seed, secret, func() error {
		data := append(append([]byte{}, bundle.Data[secretsutils.DataKeyCertificateBundle]...), l.shootCluster.config.CAData...)
		secret.Data = map[string][]byte{secretsutils.DataKeyCertificateBundle: data}
		return nil
	}); err != nil {
		return nil, err
	}
	return secret, nil
}

// rootCAManager is the secrets manager with the landscape's root CA bundle as the cluster CA bundle.
type rootCAManager struct {
	secretsmanager.Interface
	bundle *corev1.Secret
}

// Get returns the landscape's bundle for the cluster CA bundle, everything else from the secrets manager.
func (m rootCAManager) Get(name string, opts ...secretsmanager.GetOption) (*corev1.Secret, bool) {
	if name == v1beta1constants.SecretNameCACluster && len(opts) == 0 {
		return m.bundle, true
	}
	return m.Interface.Get(name, opts...)
}

// shootNetworks are the pod and service networks of the Shoot.
func shootNetworks(shoot *gardencorev1beta1.Shoot) ([]net.IPNet, []net.IPNet, error) {
	parse := func(what string, cidr *string) ([]net.IPNet, error) {
		if cidr == nil {
			return nil, nil
		}
		_, n, err := net.ParseCIDR(*cidr)
		if err != nil {
			return nil, fmt.Errorf("the shoot's %s network %q: %w", what, *cidr, err)
		}
		return []net.IPNet{*n}, nil
	}
	if shoot.Spec.Networking == nil {
		return nil, nil, errors.New("the shoot has no networking")
	}
	pods, err := parse("pod", shoot.Spec.Networking.Pods)
	if err != nil {
		return nil, nil, err
	}
	services, err := parse("service", shoot.Spec.Networking.Services)
	return pods, services, err
}
