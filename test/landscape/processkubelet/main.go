package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	vklog "github.com/virtual-kubelet/virtual-kubelet/log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == childCommand {
		runChild()
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, pflag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "process-kubelet:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		slog.Error("process-kubelet failed", "error", err)
		os.Exit(1)
	}
}

// run serves the node until ctx ends, then stops every container.
func run(ctx context.Context, cfg *config) error {
	vklog.L = slogLogger{slog.Default()}
	restConfig, err := clientcmd.BuildConfigFromFlags("", cfg.kubeconfig)
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	if err := cfg.setAPIServer(restConfig.Host); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}
	podFactory := informers.NewSharedInformerFactoryWithOptions(client, time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.nodeName).String()
		}))
	objectFactory := informers.NewSharedInformerFactory(client, time.Minute)
	podInformer := podFactory.Core().V1().Pods()
	secretInformer := objectFactory.Core().V1().Secrets()
	configMapInformer := objectFactory.Core().V1().ConfigMaps()
	serviceInformer := objectFactory.Core().V1().Services()

	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "process-kubelet", Host: cfg.nodeName})

	p := newProvider(cfg, client, secretInformer.Lister(), configMapInformer.Lister(), serviceInformer.Lister())
	pods, err := node.NewPodController(node.PodControllerConfig{
		PodClient:         client.CoreV1(),
		PodInformer:       podInformer,
		EventRecorder:     recorder,
		Provider:          p,
		SecretInformer:    secretInformer,
		ConfigMapInformer: configMapInformer,
		ServiceInformer:   serviceInformer,
		// The provider resolves env itself: status.podIP is only known to it.
		SkipDownwardAPIResolution: true,
	})
	if err != nil {
		return fmt.Errorf("creating the pod controller: %w", err)
	}
	nodes, err := node.NewNodeController(node.NaiveNodeProvider{}, nodeObject(cfg), client.CoreV1().Nodes(),
		node.WithNodeEnableLeaseV1(client.CoordinationV1().Leases(corev1.NamespaceNodeLease), 40))
	if err != nil {
		return fmt.Errorf("creating the node controller: %w", err)
	}
	if cfg.hostNetNS != "" {
		nodeNet, err := newNodeNetwork(cfg)
		if err != nil {
			return err
		}
		defer nodeNet.close()
	}
	if cfg.kubeletPort != 0 {
		if err := serveKubeletAPI(ctx, cfg, p); err != nil {
			return err
		}
	}
	podFactory.Start(ctx.Done())
	objectFactory.Start(ctx.Done())
	podsDone := make(chan error, 1)
	go func() { podsDone <- pods.Run(ctx, 4) }()
	nodeDone := make(chan error, 1)
	go func() { nodeDone <- nodes.Run(ctx) }()
	slog.Info("process kubelet running", "node", cfg.nodeName, "stateDir", cfg.stateDir)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-podsDone:
	case runErr = <-nodeDone:
	}
	slog.Info("stopping all containers")
	p.shutdown(cfg.shutdownGrace)
	return runErr
}
