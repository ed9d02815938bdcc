// Package metalapi runs the metal API side of the local landscape as processes on this machine: a kube-apiserver
// and etcd (the envtest binaries) serving the metal-operator CRDs, its webhooks and the CAPI IPAM CRDs; the real
// metal-operator manager; and one Redfish mock BMC (metal-operator's bmc/mock) per Server, registered as BMC
// objects so that metal-operator discovers the Servers. Nothing here boots a server or runs a kubelet: the
// standins package plays those parts, and Servers only reach Available while its boot operator runs.
//
// metal-operator's registry and webhook servers listen on all interfaces, so when this process may create network
// namespaces (root), metal-operator and the mocks run in a private one with only loopback; two bridges join it to
// the host's loopback in the directions needed (metal-operator to the kube-apiserver, the kube-apiserver to the
// webhook server), both listening on 127.0.0.1 only.
package metalapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const (
	// AssetsEnv names the environment variable holding the directory printed by hack/metal-operator.sh.
	AssetsEnv = "METAL_OPERATOR_ASSETS"
	// MachineTypeLabel is the BMC (and so Server) label naming a Server's machine type; the landscape's
	// CloudProfile maps machine types to it.
	MachineTypeLabel = "machine-type"
	// RackLabel is the BMC (and so Server) label naming a Server's rack.
	RackLabel = "rack"
	// BMCProtocol is the protocol of the BMC objects: Redfish against the mock, plus a simulated discovery probe
	// that posts to metal-operator's registry once the Server is booted for discovery.
	BMCProtocol = metalv1alpha1.ProtocolRedfishWithRegistryPatch

	// defaultResyncInterval replaces metal-operator's two minutes; discovery completes on a resync.
	defaultResyncInterval = 2 * time.Second
)

// Isolation says whether metal-operator and the mock BMCs run in a private network namespace.
type Isolation string

const (
	// IsolationAuto uses a private network namespace when this process may create one and falls back to the
	// host's network (saying so in the log) otherwise.
	IsolationAuto Isolation = ""
	// IsolationRequired fails when no private network namespace can be created.
	IsolationRequired Isolation = "Required"
	// IsolationNone runs everything in the host's network.
	IsolationNone Isolation = "None"
)

// ServerSpec describes one Server: the labels of its BMC, which metal-operator copies to the Server.
type ServerSpec struct {
	// Zone is the value of the topology.kubernetes.io/zone label.
	Zone string
	// Rack is the value of the rack label; empty leaves it out.
	Rack string
	// MachineType is the value of the machine-type label; empty leaves it out.
	MachineType string
	// Labels are further labels.
	Labels map[string]string
}

// Options configure Start.
type Options struct {
	// Servers lists the Servers to simulate, one mock BMC each.
	Servers []ServerSpec
	// Region, when set, is the value of the topology.kubernetes.io/region label on every Server.
	Region string
	// Assets is the directory printed by hack/metal-operator.sh; empty means $METAL_OPERATOR_ASSETS.
	Assets string
	// IPAMCRDs is the directory of the CAPI IPAM CRDs; empty means example/crds/ipam of the repository that
	// contains the working directory.
	IPAMCRDs string
	// StateDir receives kubeconfigs and the logs of metal-operator and the mocks; empty means a new temporary
	// directory, which Stop keeps for inspection (its path is in MetalAPI.StateDir).
	StateDir string
	// ResyncInterval is metal-operator's Server resync interval; zero means two seconds.
	ResyncInterval time.Duration
	// Isolation chooses between a private network namespace and the host's network.
	Isolation Isolation
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// MetalAPI is a running metal API with metal-operator and mock BMCs.
type MetalAPI struct {
	// Config reaches the metal API as cluster admin.
	Config *rest.Config
	// Kubeconfig is Config as a kubeconfig; KubeconfigPath is the file holding it.
	Kubeconfig     []byte
	KubeconfigPath string
	// StateDir holds kubeconfigs and logs.
	StateDir string
	// Isolated tells whether metal-operator and the mocks run in a private network namespace.
	Isolated bool
	// BMCs names the BMC objects, in the order of Options.Servers; metal-operator names their Servers
	// <bmc>-system-0.
	BMCs []string

	log      io.Writer
	client   client.Client
	env      *envtest.Environment
	ns       *netNamespace
	bridges  []*bridge
	operator *process
	mocks    []*process
	// opts and endpoints are kept for the restarts of faults.go.
	opts      Options
	endpoints []mockEndpoint
	// operatorStarts counts metal-operator's starts; each restart logs to a file of its own.
	operatorStarts int
	// mockStarts counts the restarts of mock BMCs, for their log files.
	mockStarts int

	stopOnce sync.Once
	stopErr  error
}

// Start starts the metal API, metal-operator and one mock BMC per Server and registers the BMCs. It returns once
// metal-operator is ready and the BMC objects exist; WaitAvailable waits for discovery. ctx bounds the start-up
// only: everything runs until Stop. On error, everything started is stopped again.
func Start(ctx context.Context, opts Options) (*MetalAPI, error) {
	if err := opts.complete(); err != nil {
		return nil, err
	}
	m := &MetalAPI{StateDir: opts.StateDir, log: opts.Log, opts: opts}
	if err := m.start(ctx, opts); err != nil {
		if stopErr := m.Stop(); stopErr != nil {
			return nil, errors.Join(err, fmt.Errorf("stopping after the failed start: %w", stopErr))
		}
		return nil, err
	}
	return m, nil
}

func (o *Options) complete() error {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.ResyncInterval == 0 {
		o.ResyncInterval = defaultResyncInterval
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set: export KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	}
	if o.Assets == "" {
		o.Assets = os.Getenv(AssetsEnv)
	}
	if o.Assets == "" {
		return fmt.Errorf("%s is not set: export %s=$(hack/metal-operator.sh)", AssetsEnv, AssetsEnv)
	}
	for _, name := range []string{"metal-operator", "redfish-mock", filepath.Join("config", "manager", "ignition-template.yaml")} {
		if _, err := os.Stat(filepath.Join(o.Assets, name)); err != nil {
			return fmt.Errorf("%s misses %s (run hack/metal-operator.sh): %w", o.Assets, name, err)
		}
	}
	if o.IPAMCRDs == "" {
		root, err := repositoryRoot()
		if err != nil {
			return err
		}
		o.IPAMCRDs = filepath.Join(root, "example", "crds", "ipam")
	}
	if o.StateDir == "" {
		dir, err := os.MkdirTemp("", "metalapi-")
		if err != nil {
			return fmt.Errorf("creating state directory: %w", err)
		}
		o.StateDir = dir
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	return nil
}

// repositoryRoot finds the directory with this repository's go.mod above the working directory.
func repositoryRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "example", "crds", "ipam")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no example/crds/ipam above the working directory: set Options.IPAMCRDs")
		}
		dir = parent
	}
}

func (m *MetalAPI) start(ctx context.Context, opts Options) error {
	if err := m.startNetwork(opts.Isolation); err != nil {
		return err
	}

	m.step("starting the metal API kube-apiserver and etcd")
	m.env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(opts.Assets, "config", "crd", "bases"), opts.IPAMCRDs},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths: []string{filepath.Join(opts.Assets, "config", "webhook", "manifests.yaml")},
		},
	}
	cfg, err := m.env.Start()
	if err != nil {
		return fmt.Errorf("starting the metal API kube-apiserver: %w", err)
	}
	m.Config = cfg
	if m.client, err = client.New(cfg, client.Options{Scheme: Scheme()}); err != nil {
		return fmt.Errorf("creating metal API client: %w", err)
	}
	if m.Kubeconfig, m.KubeconfigPath, err = m.writeKubeconfig("metal-api-admin", "metal-api.kubeconfig"); err != nil {
		return err
	}
	m.step(fmt.Sprintf("metal API is up at %s with %d CRDs; kubeconfig: %s", cfg.Host, len(m.env.CRDs), m.KubeconfigPath))

	if m.Isolated {
		if err := m.bridgeNamespace(cfg.Host, m.env.WebhookInstallOptions.LocalServingPort); err != nil {
			return err
		}
	}

	m.step(fmt.Sprintf("starting %d Redfish mock BMCs", len(opts.Servers)))
	endpoints, err := m.startMocks(ctx, opts)
	if err != nil {
		return err
	}
	m.endpoints = endpoints

	m.step("starting metal-operator")
	if err := m.startOperator(ctx, opts); err != nil {
		return err
	}

	if err := m.registerBMCs(ctx, opts, endpoints); err != nil {
		return err
	}
	m.step(fmt.Sprintf("registered BMCs %v; metal-operator discovers their Servers", m.BMCs))
	return nil
}

// startNetwork creates the private network namespace, or the host-network stand-in for it, per isolation.
func (m *MetalAPI) startNetwork(isolation Isolation) error {
	if isolation != IsolationNone {
		ns, err := newNetNamespace(true)
		switch {
		case err == nil:
			m.ns, m.Isolated = ns, true
			m.step("metal-operator and the mock BMCs run in a private network namespace (loopback only)")
			return nil
		case isolation == IsolationRequired:
			return err
		default:
			m.step(fmt.Sprintf("no private network namespace (%v): metal-operator's registry and webhook servers listen on all interfaces of this machine", err))
		}
	}
	ns, err := newNetNamespace(false)
	if err != nil {
		return fmt.Errorf("starting the process launcher: %w", err)
	}
	m.ns = ns
	return nil
}

// bridgeNamespace lets metal-operator reach the kube-apiserver at the address it has on the host, and the
// kube-apiserver reach the webhook server at the address envtest configured, both on 127.0.0.1.
func (m *MetalAPI) bridgeNamespace(apiServerURL string, webhookPort int) error {
	u, err := url.Parse(apiServerURL)
	if err != nil {
		return fmt.Errorf("parsing the kube-apiserver address %q: %w", apiServerURL, err)
	}
	inside, err := m.ns.listen(u.Host)
	if err != nil {
		return fmt.Errorf("listening for the kube-apiserver inside the namespace: %w", err)
	}
	var dialer net.Dialer
	m.bridges = append(m.bridges, newBridge(inside, u.Host, dialer.DialContext))

	webhookAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(webhookPort))
	outside, err := net.Listen("tcp", webhookAddr)
	if err != nil {
		return fmt.Errorf("listening for webhook calls on %s: %w", webhookAddr, err)
	}
	m.bridges = append(m.bridges, newBridge(outside, webhookAddr, m.ns.dialContext))
	return nil
}

func (m *MetalAPI) writeKubeconfig(user, file string) ([]byte, string, error) {
	u, err := m.env.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, "", fmt.Errorf("creating metal API user %s: %w", user, err)
	}
	data, err := u.KubeConfig()
	if err != nil {
		return nil, "", fmt.Errorf("rendering kubeconfig of %s: %w", user, err)
	}
	path := filepath.Join(m.StateDir, file)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, "", fmt.Errorf("writing kubeconfig of %s: %w", user, err)
	}
	return data, path, nil
}

// Client returns the metal API client Start uses (cluster admin, with Scheme).
func (m *MetalAPI) Client() client.Client { return m.client }

// Scheme returns a scheme with the Kubernetes, metal-operator and CAPI IPAM types.
func Scheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(metalv1alpha1.AddToScheme(scheme))
	utilruntime.Must(ipamv1beta2.AddToScheme(scheme))
	return scheme
}

// WaitAvailable waits until at least n Servers are Available. Discovery needs the stand-in boot operator
// (standins.Run), which marks the discovery boot configurations Ready.
func (m *MetalAPI) WaitAvailable(ctx context.Context, n int) error {
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	var states map[string]metalv1alpha1.ServerState
	for {
		if err := m.operator.running(); err != nil {
			return err
		}
		servers := &metalv1alpha1.ServerList{}
		if err := m.client.List(ctx, servers); err != nil && ctx.Err() == nil {
			return fmt.Errorf("listing Servers: %w", err)
		}
		states = map[string]metalv1alpha1.ServerState{}
		available := 0
		for _, s := range servers.Items {
			states[s.Name] = s.Status.State
			if s.Status.State == metalv1alpha1.ServerStateAvailable {
				available++
			}
		}
		if available >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d Available Servers (states: %v; metal-operator log: %s): %w", n, states, m.operator.logPath, ctx.Err())
		case <-ticker.C:
		}
	}
}

// Stop stops metal-operator, the mocks and the metal API and releases the network namespace. It may be called
// more than once; the state directory stays.
func (m *MetalAPI) Stop() error {
	m.stopOnce.Do(func() {
		var errs []error
		if m.operator != nil {
			errs = append(errs, m.operator.stop())
		}
		for _, mock := range m.mocks {
			errs = append(errs, mock.stop())
		}
		for _, b := range m.bridges {
			b.close()
		}
		if m.env != nil {
			if err := m.env.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("stopping the metal API kube-apiserver: %w", err))
			}
		}
		if m.ns != nil {
			m.ns.close()
		}
		m.stopErr = errors.Join(errs...)
		if m.stopErr == nil {
			m.step("metal API stopped")
		}
	})
	return m.stopErr
}

func (m *MetalAPI) step(msg string) {
	_, _ = fmt.Fprintf(m.log, "%s metalapi: %s\n", time.Now().Format("15:04:05.000"), msg)
}

// serverLabels returns the labels of a Server's BMC.
func serverLabels(spec ServerSpec, region string) map[string]string {
	labels := map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	set := func(key, value string) {
		if value != "" {
			labels[key] = value
		}
	}
	set(metal.ZoneLabel, spec.Zone)
	set(metal.RegionLabel, region)
	set(RackLabel, spec.Rack)
	set(MachineTypeLabel, spec.MachineType)
	return labels
}
