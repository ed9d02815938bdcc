package main

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// config is the command line of the process kubelet.
type config struct {
	kubeconfig     string
	nodeName       string
	nodeLabels     map[string]string
	taints         []corev1.Taint
	systemUUID     string
	nodeIP         string
	kubeletVersion string
	stateDir       string
	images         imageMap
	forwardPorts   []int
	podCIDR        netip.Prefix
	kubeletPort    int
	// hostNetNS is the network namespace hostNetwork pods run in; empty: the kubelet's own.
	hostNetNS string

	backoffInitial   time.Duration
	backoffMax       time.Duration
	volumeSyncPeriod time.Duration
	shutdownGrace    time.Duration

	// self is this binary, re-executed to start containers.
	self string
	// apiHost and apiPort are the kube-apiserver's address from the kubeconfig.
	apiHost string
	apiPort string
}

func parseFlags(args []string) (*config, error) {
	cfg := &config{images: imageMap{}}
	fs := pflag.NewFlagSet("process-kubelet", pflag.ContinueOnError)
	hostname, _ := os.Hostname()
	var taints []string
	var imageMapFile, podCIDR string
	fs.StringVar(&cfg.kubeconfig, "kubeconfig", "", "kubeconfig of the node's client (required)")
	fs.StringVar(&cfg.nodeName, "node-name", strings.ToLower(hostname), "name of the Node object")
	fs.StringToStringVar(&cfg.nodeLabels, "node-labels", nil, "labels of the Node at registration, k=v,...")
	fs.StringSliceVar(&taints, "register-with-taints", nil, "taints of the Node at registration, key=value:Effect,...")
	fs.StringVar(&cfg.systemUUID, "system-uuid", "", "status.nodeInfo.systemUUID")
	fs.StringVar(&cfg.nodeIP, "node-ip", "", "InternalIP of the Node and hostIP of its pods; empty: only a Hostname address")
	fs.StringVar(&cfg.kubeletVersion, "kubelet-version", "v1.36.3", "status.nodeInfo.kubeletVersion")
	fs.StringVar(&cfg.stateDir, "state-dir", filepath.Join(".cache", "landscape", "pods"), "root of the pod directories <state-dir>/<namespace>/<pod>/")
	fs.Var(cfg.images, "image", "IMAGE=PATH: run PATH for containers of IMAGE (full reference, or repository without tag and digest); repeated")
	fs.StringVar(&imageMapFile, "image-map", "", "YAML or JSON file mapping images to binaries, like --image")
	fs.IntSliceVar(&cfg.forwardPorts, "forward-port", nil, "forward 127.0.0.1:PORT inside every pod to 127.0.0.1:PORT on the host; repeated")
	fs.StringVar(&podCIDR, "pod-cidr", "127.1.0.0/16", "range of the pod IPs (on loopback); give each process kubelet on a host its own")
	fs.StringVar(&cfg.hostNetNS, "host-network-namespace", "", "network namespace (a bound path such as /run/netns/NAME) that hostNetwork pods run in, as the node's own network; empty: the kubelet's")
	fs.IntVar(&cfg.kubeletPort, "kubelet-port", 0, "serve container logs (kubectl logs) over TLS on node-ip:PORT, unauthenticated; 0: off")
	fs.DurationVar(&cfg.backoffInitial, "restart-backoff", 10*time.Second, "first restart back-off, doubled per restart")
	fs.DurationVar(&cfg.backoffMax, "restart-backoff-max", 5*time.Minute, "maximal restart back-off")
	fs.DurationVar(&cfg.volumeSyncPeriod, "volume-sync-period", 5*time.Second, "how often Secret, ConfigMap, downward API and token volumes are refreshed")
	fs.DurationVar(&cfg.shutdownGrace, "shutdown-grace-period", 10*time.Second, "on SIGTERM, how long containers get after their SIGTERM before SIGKILL")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if cfg.kubeconfig == "" {
		return nil, fmt.Errorf("--kubeconfig is required")
	}
	if imageMapFile != "" {
		if err := cfg.images.load(imageMapFile); err != nil {
			return nil, err
		}
	}
	for _, t := range taints {
		taint, err := parseTaint(t)
		if err != nil {
			return nil, err
		}
		cfg.taints = append(cfg.taints, taint)
	}
	prefix, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return nil, fmt.Errorf("--pod-cidr: %w", err)
	}
	cfg.podCIDR = prefix.Masked()
	if cfg.nodeIP != "" && net.ParseIP(cfg.nodeIP) == nil {
		return nil, fmt.Errorf("--node-ip %q is not an IP", cfg.nodeIP)
	}
	if cfg.stateDir, err = filepath.Abs(cfg.stateDir); err != nil {
		return nil, err
	}
	if cfg.self, err = os.Executable(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseTaint parses key=value:Effect or key:Effect (kubelet --register-with-taints).
func parseTaint(s string) (corev1.Taint, error) {
	kv, effect, ok := strings.Cut(s, ":")
	if !ok {
		return corev1.Taint{}, fmt.Errorf("taint %q: want key=value:Effect", s)
	}
	key, value, _ := strings.Cut(kv, "=")
	switch e := corev1.TaintEffect(effect); e {
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		return corev1.Taint{Key: key, Value: value, Effect: e}, nil
	}
	return corev1.Taint{}, fmt.Errorf("taint %q: unknown effect %q", s, effect)
}

// setAPIServer records the kube-apiserver's address the pods are told (KUBERNETES_SERVICE_HOST/PORT).
func (c *config) setAPIServer(host string) error {
	u, err := url.Parse(host)
	if err != nil {
		return fmt.Errorf("kube-apiserver address %q: %w", host, err)
	}
	c.apiHost, c.apiPort = u.Hostname(), u.Port()
	if c.apiPort == "" {
		c.apiPort = "443"
	}
	return nil
}

func (c *config) hostIP() string {
	if c.nodeIP != "" {
		return c.nodeIP
	}
	return "127.0.0.1"
}

// outboundPorts are the --forward-port ports plus the kube-apiserver's port when it listens on loopback, so
// that in-cluster clients reach it from inside a pod.
func (c *config) outboundPorts() []int {
	ports := slices.Clone(c.forwardPorts)
	if ip := net.ParseIP(c.apiHost); (ip != nil && ip.IsLoopback()) || c.apiHost == "localhost" {
		if p, err := strconv.Atoi(c.apiPort); err == nil && !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports
}

func (c *config) serviceEnv() map[string]string {
	return map[string]string{"KUBERNETES_SERVICE_HOST": c.apiHost, "KUBERNETES_SERVICE_PORT": c.apiPort}
}

// capacity is generous: the node's processes share the host, and the scheduler should never be the limit.
func (c *config) capacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("32"),
		corev1.ResourceMemory:           resource.MustParse("128Gi"),
		corev1.ResourcePods:             resource.MustParse("250"),
		corev1.ResourceEphemeralStorage: resource.MustParse("1Ti"),
	}
}
