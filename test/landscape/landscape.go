// Package landscape runs the local landscape: a seed, a shoot and a metal API as real kube-apiservers on this
// machine, the extension, the real machine-controller-manager with the metal driver, the real metal-operator with
// Redfish mock BMCs (package metalapi), a process kubelet for each booted Server (shootnodes.go), stand-ins for the boot operator and the CCM (package standins) and,
// when installed, BIND for DNS. It applies the example shoot of example/landscape and brings its machines up.
package landscape

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	"github.com/gardener/gardener/pkg/client/kubernetes"
	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/test/landscape/lan"
	"github.com/openkcm/gardener-extension-provider-metal/test/landscape/metalapi"
	"github.com/openkcm/gardener-extension-provider-metal/test/landscape/standins"
)

const (
	seedNamespace  = "shoot--local--metal"
	metalNamespace = "shoot-local-metal"
	// shootName and shootUID are the example shoot's name and UID in the garden.
	shootName   = "metal"
	shootUID    = "5b3f0c0e-7a51-4d1e-9d0a-6c1f7e2a9b11"
	region      = "region-1"
	machineType = "m1.large"
	// machineTypeLabel is the Server label the example CloudProfile maps the machine type to.
	machineTypeLabel = "metal.ironcore.dev/machine-type"
)

var zones = []string{"zone-a", "zone-b"}

// Binaries are the programs the landscape runs.
type Binaries struct {
	// Extension is gardener-extension-provider-metal.
	Extension string
	// MachineControllerManager is the machine-controller-manager built from its module.
	MachineControllerManager string
	// Driver is machine-controller-manager-provider-metal.
	Driver string
	// ResourceManager is gardener-resource-manager, built from the gardener module.
	ResourceManager string
	// KubeControllers is the folder with kube-controller-manager and kube-scheduler (hack/kube-controllers.sh).
	KubeControllers string
	// ProcessKubelet is the node agent that runs pods as processes (hack/process-kubelet.sh).
	ProcessKubelet string
	// MetalLB is the folder with MetalLB's controller and speaker (hack/metallb.sh); empty: MetalLB's pods in the
	// shoot stay Pending.
	MetalLB string
	// Images maps further images to binaries that the process kubelet runs (the upstream cloud-controller-manager
	// and metal-load-balancer-controller, which cannot be built here).
	Images map[string]string
}

// Options configure a landscape run.
type Options struct {
	// Root is the repository root (for example/ and the CRDs).
	Root string
	// StateDir holds kubeconfigs and the logs of every process.
	StateDir string
	// Binaries are the programs to run.
	Binaries Binaries
	// MachinesPerZone is the number of machines of the pool in each zone; one spare Server per zone is added.
	MachinesPerZone int
	// ShortPool, when positive, adds a pool of that many machines in zone-a once the shoot is up, selecting a
	// Server label no Server carries, and waits until its machines report ResourceExhausted while the other pool
	// keeps running and the Infrastructure reports the shortage.
	ShortPool int
	// Faults, when Faults.Rounds is positive, runs that many rounds of the lifecycle scenarios with faults once the
	// shoot is up and the short pool was reported (faults.go, scenarios.go), then deletes the shoot as without.
	Faults FaultOptions
	// Keep keeps the landscape running until ctx ends; otherwise the shoot is deleted again once its machines run
	// and the run checks that nothing is left behind.
	Keep bool
	// Timeout bounds each phase (machines up, shoot deleted).
	Timeout time.Duration
	// Out receives the progress.
	Out io.Writer
}

type landscape struct {
	opts  Options
	vars  map[string]string
	seed  client.Client
	shoot client.Client
	// seedCluster and shootCluster are the API servers behind seed and shoot.
	seedCluster, shootCluster *cluster
	metal                     *metalapi.MetalAPI
	bind                      *bind
	backups                   *backups
	started                   time.Time
	procs                     []*process
	procsMu                   sync.Mutex
	// apiServerRestarts counts the kube-apiservers restarted by faults, for their log files.
	apiServerRestarts int
	// reconcileRequested is when the fault round last asked for a reconcile (reconcileWith).
	reconcileRequested time.Time
	// nodes are the kubelets of the shoot's booted Servers.
	nodes *shootNodes
	// segment is the Servers' layer-2 network (nil without root).
	segment *lan.Segment
	// other is the second shoot of the fault rounds while it exists, otherCluster its API server (for the whole run).
	other        *shootEnv
	shootsMu     sync.Mutex
	otherCluster *cluster
}

// Run starts the landscape, brings the example shoot's machines up and, unless Keep is set, deletes the shoot and
// checks that nothing is left in the metal API, the shoot or DNS. Everything it started is stopped on return.
func Run(ctx context.Context, opts Options) error {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set: run hack/envtest.sh (make start does this)")
	}
	if opts.MachinesPerZone <= 0 {
		opts.MachinesPerZone = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	// Absolute, because the paths end up in the configuration of processes that change their directory (named).
	stateDir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return err
	}
	opts.StateDir = stateDir
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return err
	}
	// The progress also goes to <state>/progress.log, to follow a run whose output is buffered (go test).
	if progress, err := os.Create(filepath.Join(opts.StateDir, "progress.log")); err == nil {
		defer func() { _ = progress.Close() }()
		opts.Out = io.MultiWriter(opts.Out, progress)
	}
	l := &landscape{opts: opts, started: time.Now()}
	// The clusters and clients of the landscape log through controller-runtime; their logs go to a file.
	logf.SetLogger(zap.New(zap.WriteTo(l.logFile("landscape"))))
	defer l.stopProcesses()
	return l.run(ctx)
}

func (l *landscape) run(ctx context.Context) error {
	l.step("starting the seed, the shoot and the metal API")
	seed, stopSeed, err := l.startCluster("seed", l.crdDirs())
	if err != nil {
		return err
	}
	defer stopSeed()
	shoot, stopShoot, err := l.startCluster("shoot", nil)
	if err != nil {
		return err
	}
	defer stopShoot()
	l.seedCluster, l.shootCluster = seed, shoot
	if l.opts.Faults.Rounds > 0 {
		// The second shoot of the fault rounds (secondshoot.go) gets its API server now: the seed node's pods reach
		// the landscape's API servers through the ports its kubelet forwards from the start.
		other, stopOther, err := l.startCluster("shoot-"+otherShootName, nil)
		if err != nil {
			return err
		}
		defer stopOther()
		l.otherCluster = other
	}
	if l.seed, err = newClient(seed.config); err != nil {
		return err
	}
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	go l.watchPods(watchCtx, l.seed, "seed")
	if err := l.startControlLoops(ctx, seed); err != nil {
		return err
	}
	l.step("the seed's kube-controller-manager and kube-scheduler run")
	if os.Getuid() == 0 {
		if err := l.serveShootWebhooks(watchCtx); err != nil {
			return err
		}
	}
	if l.shoot, err = newClient(shoot.config); err != nil {
		return err
	}

	servers := len(zones) * (l.opts.MachinesPerZone + 1)
	if err := l.startMetalAPI(ctx, servers); err != nil {
		return err
	}
	defer func() { _ = l.metal.Stop() }()

	standinsCtx, stopStandins := context.WithCancel(ctx)
	standinsDone := make(chan error, 1)
	go func() {
		standinsDone <- standins.Run(standinsCtx, l.metal.Config, standins.Options{Log: l.logFile("standins")})
	}()
	defer func() {
		stopStandins()
		if err := <-standinsDone; err != nil && !errors.Is(err, context.Canceled) {
			l.step("the stand-ins stopped with an error: " + err.Error())
		}
	}()
	if err := l.metal.WaitAvailable(ctx, servers); err != nil {
		return fmt.Errorf("waiting for the Servers to become Available: %w", err)
	}
	l.step(fmt.Sprintf("metal-operator discovered %d Servers in %d zones; all Available", servers, len(zones)))
	if err := l.startServerNetwork(ctx); err != nil {
		return err
	}
	defer l.stopServerNetwork()

	if err := l.prepareVariables(ctx); err != nil {
		return err
	}
	if err := l.startDNS(ctx); err != nil {
		return err
	}
	if err := l.startExtension(ctx); err != nil {
		return err
	}
	if err := l.startNode(ctx, seed, node{name: seedNodeName, ip: "127.0.0.1", podRange: 1}); err != nil {
		return err
	}
	l.step("node " + seedNodeName + " of the seed is Ready (process kubelet)")
	if err := l.bootstrapSeed(ctx); err != nil {
		return err
	}
	if err := l.applyShoot(ctx); err != nil {
		return err
	}
	l.nodes = newShootNodes(l)
	nodesCtx, stopNodes := context.WithCancel(ctx)
	nodesDone := make(chan struct{})
	go func() {
		defer close(nodesDone)
		l.nodes.run(nodesCtx)
	}()
	ccmDone := make(chan struct{})
	go func() {
		defer close(ccmDone)
		l.runCCM(nodesCtx)
	}()
	defer func() {
		stopNodes()
		<-nodesDone
		<-ccmDone
	}()
	if err := l.startBackups(ctx); err != nil {
		return err
	}
	defer func() {
		if l.backups != nil {
			l.backups.stop()
		}
	}()
	if err := l.deployShootControlPlane(ctx, l.mainShoot()); err != nil {
		return err
	}
	if err := l.waitShootReady(ctx); err != nil {
		return err
	}
	if err := l.seedChecks(ctx); err != nil {
		return err
	}
	if err := l.checkShootNodes(ctx); err != nil {
		return err
	}
	if err := l.checkLocalVolume(ctx); err != nil {
		return err
	}
	if err := l.checkLoadBalancer(ctx); err != nil {
		return err
	}
	if err := l.checkPowerCycle(ctx); err != nil {
		return err
	}
	l.summary(ctx)
	if l.opts.ShortPool > 0 {
		if err := l.addShortPool(ctx); err != nil {
			return err
		}
		if err := l.waitShortPool(ctx); err != nil {
			return err
		}
	}

	if l.opts.Faults.Rounds > 0 {
		if err := l.faultRounds(ctx); err != nil {
			return err
		}
	}

	if l.opts.Keep {
		l.step("running; kubeconfigs in " + l.opts.StateDir + "; press Ctrl-C to stop")
		<-ctx.Done()
		return nil
	}
	return l.deleteShoot(ctx)
}

func (l *landscape) crdDirs() []string {
	dirs, _ := filepath.Glob(filepath.Join(l.opts.Root, "example", "crds", "*"))
	return dirs
}

// startCluster starts a kube-apiserver and etcd and writes an admin kubeconfig <name>.kubeconfig. Unlike envtest's
// defaults, the ServiceAccount admission plugin is on (kube-controller-manager creates the ServiceAccounts and
// their tokens), and the API server reaches webhooks and aggregated APIs at their endpoints (pod IPs), because
// no kube-proxy routes Service IPs on this machine.
func (l *landscape) startCluster(name string, crdDirs []string) (*cluster, func(), error) {
	env := &envtest.Environment{CRDDirectoryPaths: crdDirs, ErrorIfCRDPathMissing: len(crdDirs) > 0}
	apiserver := env.ControlPlane.GetAPIServer()
	apiserver.Configure().Set("disable-admission-plugins", "")
	apiserver.Configure().Set("enable-aggregator-routing", "true")
	// As Gardener configures a shoot's kube-apiserver: the shoot access tokens gardener-resource-manager requests are
	// for the audience "gardener" (pkg/component/kubernetes/apiserver).
	apiserver.Configure().Set("service-account-issuer", "https://"+name+".landscape.local")
	apiserver.Configure().Set("api-audiences", "kubernetes,gardener")
	if name == "shoot" && os.Getuid() == 0 {
		// It calls the shoot resource manager's webhooks by their in-cluster name (shootwebhooks.go).
		wrapper, err := l.apiserverWrapper(l.shootHostsFile())
		if err != nil {
			return nil, nil, err
		}
		apiserver.Path = wrapper
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting the %s cluster: %w", name, err)
	}
	stop := func() { _ = env.Stop() }
	c := &cluster{name: name, env: env, config: cfg, caFile: l.path(name + "-ca.crt")}
	if c.version, err = serverVersion(cfg); err != nil {
		stop()
		return nil, nil, err
	}
	if err := os.WriteFile(c.caFile, cfg.CAData, 0o600); err != nil {
		stop()
		return nil, nil, err
	}
	user, err := env.AddUser(envtest.User{Name: "landscape-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		stop()
		return nil, nil, err
	}
	data, err := user.KubeConfig()
	if err != nil {
		stop()
		return nil, nil, err
	}
	if err := os.WriteFile(l.path(name+".kubeconfig"), data, 0o600); err != nil {
		stop()
		return nil, nil, err
	}
	return c, stop, nil
}

func (l *landscape) startMetalAPI(ctx context.Context, servers int) error {
	var specs []metalapi.ServerSpec
	for i := range servers {
		zone := zones[i%len(zones)]
		specs = append(specs, metalapi.ServerSpec{
			Zone:        zone,
			Rack:        "rack-" + strconv.Itoa(i/len(zones)),
			MachineType: machineType,
			// The cloud-controller-manager takes the Node's instance type from metal.InstanceTypeLabel; an operator
			// labels Servers with the Gardener machine type there (docs/operations).
			Labels: map[string]string{machineTypeLabel: machineType, metal.InstanceTypeLabel: machineType},
		})
	}
	metal, err := metalapi.Start(ctx, metalapi.Options{
		Servers:  specs,
		Region:   region,
		StateDir: l.path("metal"),
		Log:      l.logFile("metal-api"),
	})
	if err != nil {
		return fmt.Errorf("starting the metal API: %w", err)
	}
	l.metal = metal
	return nil
}

// prepareVariables creates the shoot's namespace, ServiceAccount and RBAC in the metal API from
// example/landscape/metal and collects the values the example manifests refer to.
func (l *landscape) prepareVariables(ctx context.Context) error {
	l.vars = map[string]string{
		"SEED_NAMESPACE":   seedNamespace,
		"METAL_NAMESPACE":  metalNamespace,
		"METAL_API_SERVER": l.metal.Config.Host,
		"METAL_API_CA":     base64.StdEncoding.EncodeToString(l.metal.Config.CAData),
		"MACHINES":         strconv.Itoa(l.opts.MachinesPerZone * len(zones)),
		"SHOOT_NAME":       shootName,
		"SHOOT_UID":        shootUID,
	}
	files, err := manifestFiles(filepath.Join(l.opts.Root, "example", "landscape", "metal"))
	if err != nil {
		return err
	}
	if _, err := applyFiles(ctx, l.metal.Client(), files, l.vars); err != nil {
		return err
	}
	token, err := serviceAccountToken(ctx, l.metal.Client(), metalNamespace, "shoot")
	if err != nil {
		return err
	}
	l.vars["METAL_TOKEN"] = token
	return nil
}

func (l *landscape) path(name string) string {
	return filepath.Join(l.opts.StateDir, name)
}

// logFile opens <stateDir>/<name>.log for a component that logs through a writer; it stays open for the run.
func (l *landscape) logFile(name string) io.Writer {
	f, err := os.Create(l.path(name + ".log"))
	if err != nil {
		return io.Discard
	}
	return f
}

// logf writes a line to the landscape's log file (not to the progress).
func (l *landscape) logf(format string, args ...any) {
	logf.Log.WithName("landscape").Info(fmt.Sprintf(format, args...))
}

func (l *landscape) step(msg string) {
	_, _ = fmt.Fprintf(l.opts.Out, "%6.1fs  %s\n", time.Since(l.started).Seconds(), msg)
}

func (l *landscape) stopProcesses() {
	procs := l.processes()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
}

// addProc adds a process the landscape watches (a process that exits fails the run) and stops at the end.
func (l *landscape) addProc(p *process) {
	l.procsMu.Lock()
	defer l.procsMu.Unlock()
	l.procs = append(l.procs, p)
}

// processes are the processes the landscape runs.
func (l *landscape) processes() []*process {
	l.procsMu.Lock()
	defer l.procsMu.Unlock()
	return slices.Clone(l.procs)
}

// takeProc removes the process that matches from the processes the landscape watches, before a fault or a restart
// ends it, and returns it (nil when none matches).
func (l *landscape) takeProc(match func(*process) bool) *process {
	l.procsMu.Lock()
	defer l.procsMu.Unlock()
	i := slices.IndexFunc(l.procs, match)
	if i < 0 {
		return nil
	}
	p := l.procs[i]
	l.procs = slices.Delete(l.procs, i, i+1)
	return p
}

// newClient returns a client that knows the Gardener extension, machine, metal and IPAM types.
func newClient(cfg *rest.Config) (client.Client, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	// What gardenlet's seed client knows (CRDs, ManagedResources, VPAs, monitoring, ...): Gardener's components
	// write those kinds.
	utilruntime.Must(kubernetes.AddSeedSchemeToScheme(scheme))
	utilruntime.Must(extensionscontroller.AddToScheme(scheme))
	utilruntime.Must(machinev1alpha1.AddToScheme(scheme))
	utilruntime.Must(metalv1alpha1.AddToScheme(scheme))
	utilruntime.Must(ipamv1beta2.AddToScheme(scheme))
	return client.New(cfg, client.Options{Scheme: scheme})
}
