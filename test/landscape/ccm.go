package landscape

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcesv1alpha1 "github.com/gardener/gardener/pkg/apis/resources/v1alpha1"
	gardenerutils "github.com/gardener/gardener/pkg/utils/gardener"

	"github.com/openkcm/gardener-extension-provider-metal/imagevector"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/test/landscape/standins"
)

const (
	ccmDeploymentName = "cloud-controller-manager"
	ccmContainerName  = "cloud-controller-manager"
)

// ccmUpstream says which cloud-controller-manager initializes the shoot's Nodes: the upstream binary in the pod the
// ControlPlane renders when its image was given to the landscape (--binary), otherwise the CCM stand-in.
func (l *landscape) ccmUpstream() bool {
	image, err := imagevector.ImageVector().FindImage(ccmDeploymentName)
	if err != nil {
		return false
	}
	_, ok := l.opts.Binaries.Images[*image.Repository]
	return ok
}

// runCCM runs the CCM stand-in until ctx ends when the upstream binary was not given. It takes everything from
// what the ControlPlane rendered into the seed, as the upstream pod would get it: the cloud config and the metal
// kubeconfig from the volumes the rendered Deployment mounts at --cloud-config and --metal-kubeconfig, the metal
// namespace and pod prefix size from its arguments, and the shoot access token of the cloud-controller-manager
// that gardener-resource-manager requested (so the shoot RBAC of our chart is what it runs with).
func (l *landscape) runCCM(ctx context.Context) {
	if l.ccmUpstream() {
		l.step("cloud-controller-manager: the upstream binary runs in the pod the ControlPlane rendered")
		return
	}
	var (
		shoot, metalConfig *rest.Config
		opts               standins.CCMOptions
	)
	for {
		var err error
		shoot, metalConfig, opts, err = l.ccmInputs(ctx)
		if err == nil {
			break
		}
		l.logf("CCM stand-in: waiting for the rendered cloud-controller-manager: %v", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	opts.Log = l.logFile("ccm-standin")
	l.step("cloud-controller-manager: no upstream binary given; the " + standins.CCMStandInName + " runs with the rendered Deployment's configuration (log: ccm-standin.log)")
	if err := standins.RunCCM(ctx, shoot, metalConfig, opts); err != nil && ctx.Err() == nil {
		l.step("the " + standins.CCMStandInName + " stopped: " + err.Error())
	}
}

func (l *landscape) ccmInputs(ctx context.Context) (*rest.Config, *rest.Config, standins.CCMOptions, error) {
	var opts standins.CCMOptions
	deployment := &appsv1.Deployment{}
	if err := l.seed.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: ccmDeploymentName}, deployment); err != nil {
		return nil, nil, opts, err
	}
	pod := deployment.Spec.Template.Spec
	var container *corev1.Container
	for i := range pod.Containers {
		if pod.Containers[i].Name == ccmContainerName {
			container = &pod.Containers[i]
		}
	}
	if container == nil {
		return nil, nil, opts, fmt.Errorf("deployment %s has no container %s", deployment.Name, ccmContainerName)
	}
	args := map[string]string{}
	for _, arg := range append(slices.Clone(container.Command), container.Args...) {
		if k, v, ok := strings.Cut(strings.TrimPrefix(arg, "--"), "="); ok {
			args[k] = v
		}
	}
	opts.MetalNamespace = args["metal-namespace"]
	if v := args["pod-prefix-size"]; v != "" {
		size, err := strconv.Atoi(v)
		if err != nil {
			return nil, nil, opts, fmt.Errorf("--pod-prefix-size=%s: %w", v, err)
		}
		opts.PodPrefixSize = size
	}
	cloudConfig, err := l.mountedFile(ctx, pod, container, args["cloud-config"])
	if err != nil {
		return nil, nil, opts, fmt.Errorf("--cloud-config: %w", err)
	}
	opts.CloudConfig = cloudConfig
	metalKubeconfig, err := l.mountedFile(ctx, pod, container, args["metal-kubeconfig"])
	if err != nil {
		return nil, nil, opts, fmt.Errorf("--metal-kubeconfig: %w", err)
	}
	metalConfig, err := standins.MetalConfigFromSecret(&corev1.Secret{Data: map[string][]byte{metal.KubeconfigKey: metalKubeconfig}})
	if err != nil {
		return nil, nil, opts, err
	}
	shoot, err := l.shootAccessConfig(ctx, ccmDeploymentName)
	if err != nil {
		return nil, nil, opts, err
	}
	return shoot, metalConfig, opts, nil
}

// mountedFile reads the file at path of a container from the ConfigMap or Secret volume mounted there.
func (l *landscape) mountedFile(ctx context.Context, pod corev1.PodSpec, container *corev1.Container, path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("not set")
	}
	for _, m := range container.VolumeMounts {
		rel, ok := strings.CutPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name {
				continue
			}
			switch {
			case v.ConfigMap != nil:
				cm := &corev1.ConfigMap{}
				if err := l.seed.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: v.ConfigMap.Name}, cm); err != nil {
					return nil, err
				}
				if data, ok := cm.Data[rel]; ok {
					return []byte(data), nil
				}
			case v.Secret != nil:
				secret := &corev1.Secret{}
				if err := l.seed.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: v.Secret.SecretName}, secret); err != nil {
					return nil, err
				}
				if data, ok := secret.Data[rel]; ok {
					return data, nil
				}
			}
			return nil, fmt.Errorf("volume %s has no key %s", v.Name, rel)
		}
	}
	return nil, fmt.Errorf("no volume is mounted at %s", path)
}

// shootAccessConfig is the shoot's API server with the token gardener-resource-manager keeps in the shoot access
// secret of a control plane component (shoot-access-<name>).
func (l *landscape) shootAccessConfig(ctx context.Context, name string) (*rest.Config, error) {
	secret := gardenerutils.NewShootAccessSecret(name, seedNamespace).Secret
	if err := l.seed.Get(ctx, client.ObjectKeyFromObject(secret), secret); err != nil {
		return nil, err
	}
	token := secret.Data[resourcesv1alpha1.DataKeyToken]
	if len(token) == 0 {
		return nil, fmt.Errorf("shoot access secret %s holds no token yet", secret.Name)
	}
	return &rest.Config{
		Host:            l.shootCluster.config.Host,
		TLSClientConfig: rest.TLSClientConfig{CAData: l.shootCluster.config.CAData},
		BearerToken:     string(token),
	}, nil
}
