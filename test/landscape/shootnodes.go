package landscape

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	gardenerutils "github.com/gardener/gardener/pkg/utils/gardener"
	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/ignition"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// uninitializedTaint is the taint kubelet registers its Node with under --cloud-provider=external, until the
// cloud-controller-manager has initialized the Node (k8s.io/cloud-provider api.TaintExternalCloudProvider).
const uninitializedTaint = "node.cloudprovider.kubernetes.io/uninitialized=true:NoSchedule"

// shootNodes is what each booted Server runs in place of its operating system's kubelet: for every Server that is
// bound to a ServerClaim of the shoot and powered on, a process kubelet registers the Node in the shoot as kubelet
// v1.36 does with --cloud-provider=external: named after the hostname of the Ignition the driver wrote (the claim's
// ignition Secret), with only a Hostname address, no provider ID, the Server's system UUID, the uninitialized taint,
// and the labels and taints Gardener's node agent gives the kubelet from the pool (gardenerutils.NodeLabelsForWorkerPool
// as the OperatingSystemConfig renders --node-labels, the pool's taints as --register-with-taints). It heartbeats
// while the Server is on and stops when the Server powers off or its claim goes; the Node object stays, as with a
// real kubelet: machine-controller-manager removes it when it deletes the Machine.
type shootNodes struct {
	l *landscape
	// neverNode, when set, is asked before the kubelet of a claim's Server starts; when it says true, the Server
	// powers on but never becomes a Node (the landscape's fault of a broken OS or kubelet).
	neverNode func(claim types.NamespacedName, server string) bool

	mu      sync.Mutex
	kubelet map[types.NamespacedName]*shootKubelet
	// ranges hands out the octet of <podNetwork>.<n>.0/24 the pod IPs of each kubelet come from.
	ranges map[int]bool
}

type shootKubelet struct {
	node, server string
	podRange     int
	proc         *process
}

// shootPodRanges start above the seed's: the seed node uses <podNetwork>.1.0/24.
const firstShootPodRange = 100

func newShootNodes(l *landscape) *shootNodes {
	return &shootNodes{l: l, kubelet: map[types.NamespacedName]*shootKubelet{}, ranges: map[int]bool{}}
}

// run keeps one kubelet per powered-on Server of the shoot until ctx ends, then stops them all.
func (s *shootNodes) run(ctx context.Context) {
	defer s.stopAll()
	for {
		if err := s.sync(ctx); err != nil && ctx.Err() == nil {
			s.l.logf("shoot nodes: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *shootNodes) sync(ctx context.Context) error {
	wanted := map[types.NamespacedName]bool{}
	var errs []error
	for _, t := range s.l.shootEnvs() {
		if err := s.syncShoot(ctx, t, wanted); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// A shoot whose claims could not be read keeps its kubelets.
		return errors.Join(errs...)
	}
	s.mu.Lock()
	running := maps.Clone(s.kubelet)
	s.mu.Unlock()
	for key := range running {
		if !wanted[key] {
			s.stop(key)
		}
	}
	return nil
}

// syncShoot starts the kubelets of a shoot's booted Servers and marks them in wanted.
func (s *shootNodes) syncShoot(ctx context.Context, t *shootEnv, wanted map[types.NamespacedName]bool) error {
	claims := &metalv1alpha1.ServerClaimList{}
	if err := s.l.metal.Client().List(ctx, claims, client.InNamespace(t.metalNamespace)); err != nil {
		return fmt.Errorf("listing ServerClaims: %w", err)
	}
	for i := range claims.Items {
		claim := &claims.Items[i]
		key := client.ObjectKeyFromObject(claim)
		server, err := s.poweredOnServer(ctx, claim)
		if err != nil {
			// Unknown: the kubelet keeps running until the Server can be read again.
			wanted[key] = true
			return err
		}
		if server == nil || claim.DeletionTimestamp != nil {
			continue
		}
		wanted[key] = true
		s.mu.Lock()
		k := s.kubelet[key]
		s.mu.Unlock()
		if k != nil && k.server == server.Name {
			continue
		}
		if k != nil {
			s.stop(key)
		}
		if never := s.neverNodeHook(); never != nil && never(key, server.Name) {
			continue
		}
		if err := s.start(ctx, t, claim, server); err != nil {
			return fmt.Errorf("starting the kubelet of ServerClaim %s: %w", key, err)
		}
	}
	return nil
}

// poweredOnServer is the claim's Server when metal-operator reserved it for the claim and it is powered on.
func (s *shootNodes) poweredOnServer(ctx context.Context, claim *metalv1alpha1.ServerClaim) (*metalv1alpha1.Server, error) {
	if claim.Spec.ServerRef == nil || claim.Spec.IgnitionSecretRef == nil {
		return nil, nil
	}
	server := &metalv1alpha1.Server{}
	if err := s.l.metal.Client().Get(ctx, client.ObjectKey{Name: claim.Spec.ServerRef.Name}, server); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	if ref := server.Spec.ServerClaimRef; ref == nil || ref.Namespace != claim.Namespace || ref.Name != claim.Name {
		return nil, nil
	}
	if server.Status.PowerState != metalv1alpha1.ServerOnPowerState {
		return nil, nil
	}
	return server, nil
}

// start runs the kubelet of a booted Server.
func (s *shootNodes) start(ctx context.Context, t *shootEnv, claim *metalv1alpha1.ServerClaim, server *metalv1alpha1.Server) error {
	name, err := s.hostname(ctx, claim)
	if err != nil {
		return err
	}
	pool, err := s.pool(ctx, t.seedNamespace, claim)
	if err != nil {
		return err
	}
	s.mu.Lock()
	podRange := firstShootPodRange
	for s.ranges[podRange] {
		podRange++
	}
	s.ranges[podRange] = true
	s.mu.Unlock()

	core := gardencorev1beta1.Worker{
		Name:    pool.Name,
		Labels:  pool.Labels,
		Machine: gardencorev1beta1.Machine{Type: pool.MachineType, Architecture: pool.Architecture},
	}
	taints := []string{uninitializedTaint}
	for _, t := range pool.Taints {
		taints = append(taints, fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect))
	}
	p, err := s.l.startKubelet(t.cluster, node{
		name:       name,
		labels:     gardenerutils.NodeLabelsForWorkerPool(core, false, ptr.Deref(pool.NodeAgentSecretName, ""), region),
		taints:     taints,
		systemUUID: server.Spec.SystemUUID,
		hostNetns:  s.l.serverNetns(server.Name),
		podRange:   podRange,
		stateDir:   t.podsDir,
		// The kubelet of a shoot runs the shoot's Kubernetes version.
		kubeletVersion: "v" + t.cluster.version.String(),
	})
	if err != nil {
		s.release(podRange)
		return err
	}
	s.mu.Lock()
	s.kubelet[client.ObjectKeyFromObject(claim)] = &shootKubelet{node: name, server: server.Name, podRange: podRange, proc: p}
	s.mu.Unlock()
	s.l.logf("shoot nodes: Server %s is on: kubelet of Node %s started (claim %s)", server.Name, name, claim.Name)
	return nil
}

func (s *shootNodes) stop(key types.NamespacedName) {
	s.mu.Lock()
	k := s.kubelet[key]
	delete(s.kubelet, key)
	s.mu.Unlock()
	if k == nil {
		return
	}
	k.proc.stop()
	s.release(k.podRange)
	s.l.logf("shoot nodes: kubelet of Node %s stopped (claim %s gone or Server %s off)", k.node, key.Name, k.server)
}

func (s *shootNodes) release(podRange int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ranges, podRange)
}

func (s *shootNodes) stopAll() {
	s.mu.Lock()
	keys := slices.Collect(maps.Keys(s.kubelet))
	s.mu.Unlock()
	for _, key := range keys {
		s.stop(key)
	}
}

// nodes returns the running kubelets' Node names by Server.
func (s *shootNodes) nodes() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, k := range s.kubelet {
		out[k.server] = k.node
	}
	return out
}

// hostname reads the hostname from the Ignition of the claim's ignition Secret, as the Server's OS would at boot.
func (s *shootNodes) hostname(ctx context.Context, claim *metalv1alpha1.ServerClaim) (string, error) {
	secret := &corev1.Secret{}
	if err := s.l.metal.Client().Get(ctx, client.ObjectKey{Namespace: claim.Namespace, Name: claim.Spec.IgnitionSecretRef.Name}, secret); err != nil {
		return "", fmt.Errorf("reading the ignition Secret: %w", err)
	}
	cfg, err := ignition.ParseExtra(string(secret.Data[metal.IgnitionSecretKey]))
	if err != nil {
		return "", fmt.Errorf("ignition Secret %s: %w", secret.Name, err)
	}
	for _, f := range cfg.Storage.Files {
		if f.Path != ignition.HostnamePath || f.Contents.Source == nil {
			continue
		}
		data, err := decodeDataURL(*f.Contents.Source)
		if err != nil {
			return "", fmt.Errorf("ignition Secret %s, file %s: %w", secret.Name, f.Path, err)
		}
		if name := strings.TrimSpace(string(data)); name != "" {
			return name, nil
		}
	}
	return "", fmt.Errorf("the Ignition of Secret %s writes no %s", secret.Name, ignition.HostnamePath)
}

// decodeDataURL decodes the data URLs Ignition files carry (RFC 2397: base64 or percent-encoded).
func decodeDataURL(source string) ([]byte, error) {
	rest, ok := strings.CutPrefix(source, "data:")
	if !ok {
		return nil, fmt.Errorf("source %q is not a data URL", source)
	}
	header, data, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, errors.New("data URL without data")
	}
	if strings.HasSuffix(header, ";base64") {
		return base64.StdEncoding.DecodeString(data)
	}
	decoded, err := url.PathUnescape(data)
	return []byte(decoded), err
}

// pool finds the Worker pool of a claim: the claim is named after its Machine, whose MachineDeployment carries the
// pool's name (Gardener's worker actuator labels it worker.gardener.cloud/pool).
func (s *shootNodes) pool(ctx context.Context, namespace string, claim *metalv1alpha1.ServerClaim) (*extensionsv1alpha1.WorkerPool, error) {
	machine := &machinev1alpha1.Machine{}
	if err := s.l.seed.Get(ctx, client.ObjectKey{Namespace: namespace, Name: claim.Name}, machine); err != nil {
		return nil, fmt.Errorf("reading Machine %s: %w", claim.Name, err)
	}
	deployment := &machinev1alpha1.MachineDeployment{}
	if err := s.l.seed.Get(ctx, client.ObjectKey{Namespace: namespace, Name: machine.Labels["name"]}, deployment); err != nil {
		return nil, fmt.Errorf("reading the MachineDeployment of Machine %s: %w", machine.Name, err)
	}
	worker := &extensionsv1alpha1.Worker{}
	if err := s.l.seed.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "metal"}, worker); err != nil {
		return nil, err
	}
	name := deployment.Labels[v1beta1constants.LabelWorkerPool]
	for i := range worker.Spec.Pools {
		if worker.Spec.Pools[i].Name == name {
			return &worker.Spec.Pools[i], nil
		}
	}
	return nil, fmt.Errorf("MachineDeployment %s names pool %q, which Worker %s does not have", deployment.Name, name, worker.Name)
}

// setNeverNode sets the hook that keeps a booted Server from becoming a Node; nil removes it.
func (s *shootNodes) setNeverNode(hook func(claim types.NamespacedName, server string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.neverNode = hook
}

func (s *shootNodes) neverNodeHook() func(claim types.NamespacedName, server string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.neverNode
}

// startKubelet starts a process kubelet for n in cluster c without waiting for its Node.
func (l *landscape) startKubelet(c *cluster, n node) (*process, error) {
	if l.opts.Binaries.ProcessKubelet == "" {
		return nil, errors.New("the process kubelet is not given: run hack/process-kubelet.sh (make start and make test do this)")
	}
	kubeconfig, err := l.kubeconfigFor(c, "node-"+n.name, envtest.User{Name: "system:node:" + n.name, Groups: []string{"system:masters"}})
	if err != nil {
		return nil, err
	}
	images, err := l.images()
	if err != nil {
		return nil, err
	}
	return startProcess(l.opts.StateDir, c.name+"-kubelet-"+n.name, l.opts.Binaries.ProcessKubelet, l.kubeletArgs(n, kubeconfig, images)...)
}
