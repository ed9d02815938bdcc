// Package app wires the metal driver into machine-controller-manager's provider app: the standard MCM flags plus
// --metal-kubeconfig and --node-name-policy.
package app

import (
	"context"
	"errors"
	goflag "flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "github.com/gardener/machine-controller-manager/pkg/util/client/metrics/prometheus" // client metrics
	mcmapp "github.com/gardener/machine-controller-manager/pkg/util/provider/app"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/app/options"
	_ "github.com/gardener/machine-controller-manager/pkg/util/reflector/prometheus" // reflector metrics
	_ "github.com/gardener/machine-controller-manager/pkg/util/workqueue/prometheus" // workqueue metrics
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/metalclient"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// Options are the driver's own flags.
type Options struct {
	// MetalKubeconfig is the path of the kubeconfig for the metal API; its current context names the namespace.
	MetalKubeconfig string
	// NodeNamePolicy decides the Node names.
	NodeNamePolicy string
	// MetalKubeconfigPollInterval is how often the kubeconfig file is checked for changes.
	MetalKubeconfigPollInterval time.Duration
}

// AddFlags adds the driver's flags to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.MetalKubeconfig, "metal-kubeconfig", "", "Path of the kubeconfig for the metal API; the namespace of its current context is the one the driver works in. The client is rebuilt when the file changes.")
	fs.StringVar(&o.NodeNamePolicy, "node-name-policy", string(driver.NodeNameServerClaimName), fmt.Sprintf("How Nodes are named: one of %v.", driver.NodeNamePolicies))
	fs.DurationVar(&o.MetalKubeconfigPollInterval, "metal-kubeconfig-poll-interval", 10*time.Second, "How often the metal kubeconfig file is checked for changes.")
}

// Validate checks the driver's flags.
func (o *Options) Validate() error {
	var errs []error
	if o.MetalKubeconfig == "" {
		errs = append(errs, errors.New("--metal-kubeconfig is required"))
	}
	if _, err := driver.ParseNodeNamePolicy(o.NodeNamePolicy); err != nil {
		errs = append(errs, fmt.Errorf("--node-name-policy: %w", err))
	}
	if o.MetalKubeconfigPollInterval <= 0 {
		errs = append(errs, errors.New("--metal-kubeconfig-poll-interval must be positive"))
	}
	return errors.Join(errs...)
}

// Main parses args and runs the machine controller with the metal driver; it returns the process' exit code:
// 0 for --help, 2 for unparsable flags, 1 for invalid options or a failed start. It does not return while the
// controller runs.
func Main(args []string, stderr io.Writer) int {
	fs := pflag.NewFlagSet(metal.DriverName, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	server := options.NewMCServer()
	server.AddFlags(fs)
	opts := &Options{}
	opts.AddFlags(fs)
	klogFlags := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(klogFlags)
	fs.AddGoFlagSet(klogFlags)
	fs.Usage = func() {
		_, _ = fmt.Fprintf(stderr, "Usage of %s:\n%s", metal.DriverName, fs.FlagUsages())
	}

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", metal.DriverName, err)
		return 2
	}
	if err := opts.Validate(); err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: invalid flags: %v\n", metal.DriverName, err)
		return 1
	}
	// run only returns when the controller cannot start; a running controller never returns.
	_, _ = fmt.Fprintf(stderr, "%s: %v\n", metal.DriverName, run(server, opts))
	return 1
}

func run(server *options.MCServer, opts *Options) error {
	policy, err := driver.ParseNodeNamePolicy(opts.NodeNamePolicy)
	if err != nil {
		return err
	}
	source, err := metalclient.NewFileSource(opts.MetalKubeconfig, driver.NewScheme(), func(config *rest.Config) {
		// The metal API is shared by many shoots; the driver keeps to MCM's client limits there as well.
		config.QPS, config.Burst = server.KubeAPIQPS, int(server.KubeAPIBurst)
		config.UserAgent = metal.DriverName
	})
	if err != nil {
		return err
	}
	// The watch lives as long as the process: mcmapp.Run only returns on a failed start.
	go source.Watch(context.Background(), opts.MetalKubeconfigPollInterval)
	_, namespace := source.Client()
	klog.InfoS("Starting machine controller with the metal driver", "metalNamespace", namespace, "nodeNamePolicy", policy)
	go exitOnTermination()
	return mcmapp.Run(server, driver.New(source, policy))
}

// exitOnTermination ends the process with exit code 0 on SIGTERM or SIGINT. machine-controller-manager's provider
// app (pkg/util/provider/app.Run) installs no signal handler, so without it the pod's termination kills the process
// by the signal and the kubelet reports the container as terminated with an error (exit code 143). The controllers
// keep no state that needs a shutdown: every machine operation is retried from the Machine objects.
func exitOnTermination() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, os.Interrupt)
	sig := <-signals
	klog.InfoS("Stopping the machine controller with the metal driver", "signal", sig.String())
	klog.Flush()
	os.Exit(0)
}
