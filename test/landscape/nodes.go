package landscape

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gardenerimagevector "github.com/gardener/gardener/imagevector"

	"github.com/openkcm/gardener-extension-provider-metal/imagevector"
)

// seedNodeName is the node of the seed that runs the shoot control plane's pods.
const seedNodeName = "seed-node-0"

// node is a Node served by the process kubelet (test/landscape/processkubelet).
type node struct {
	name string
	// labels and taints the kubelet registers the Node with.
	labels map[string]string
	taints []string
	// ip is the InternalIP the kubelet reports; empty for a kubelet that leaves addresses to the cloud provider.
	ip string
	// systemUUID is reported in status.nodeInfo.
	systemUUID string
	// kubeletVersion is reported in status.nodeInfo; empty: the process kubelet's default.
	kubeletVersion string
	// hostNetns is the network namespace of the node's hostNetwork pods; empty: the host's.
	hostNetns string
	// stateDir holds the kubelet's pods; empty: <state>/pods.
	stateDir string
	// podRange is the octet of <podNetwork>.<podRange>.0/24 the node's pod IPs come from (not loopback: the API server refuses loopback endpoints).
	podRange int
}

// images maps each image the landscape can run to its binary: our driver, machine-controller-manager,
// gardener-resource-manager, kube-controller-manager and kube-scheduler as built here, and every IMAGE=PATH given on the command line (the upstream CCM and
// metal-load-balancer-controller, which the module proxy does not serve). A pod with any other image stays Pending,
// with the image named.
func (l *landscape) images() (map[string]string, error) {
	images := map[string]string{}
	ours, err := imagevector.ImageVector().FindImage("machine-controller-manager-provider-metal")
	if err != nil {
		return nil, err
	}
	images[*ours.Repository] = l.opts.Binaries.Driver
	for name, binary := range map[string]string{
		gardenerimagevector.ContainerImageNameMachineControllerManager: l.opts.Binaries.MachineControllerManager,
		gardenerimagevector.ContainerImageNameGardenerResourceManager:  l.opts.Binaries.ResourceManager,
		gardenerimagevector.ContainerImageNameKubeControllerManager:    filepath.Join(l.opts.Binaries.KubeControllers, "kube-controller-manager"),
		gardenerimagevector.ContainerImageNameKubeScheduler:            filepath.Join(l.opts.Binaries.KubeControllers, "kube-scheduler"),
	} {
		image, err := gardenerimagevector.Containers().FindImage(name)
		if err != nil {
			return nil, err
		}
		images[*image.Repository] = binary
	}
	images[shellImage] = "/bin/sh"
	if err := l.metallbImages(images); err != nil {
		return nil, err
	}
	maps.Copy(images, l.opts.Binaries.Images)
	return images, nil
}

// startNode runs a process kubelet that registers n in cluster c and runs the pods bound to it, and waits until the
// Node is Ready; the pods reach the landscape's API servers through forwarded loopback ports.
func (l *landscape) startNode(ctx context.Context, c *cluster, n node) error {
	p, err := l.startKubelet(c, n)
	if err != nil {
		return err
	}
	l.addProc(p)
	return l.waitNodeReady(ctx, c, n.name, p)
}

// kubeletArgs are the process kubelet's flags for n.
func (l *landscape) kubeletArgs(n node, kubeconfig string, images map[string]string) []string {
	stateDir := n.stateDir
	if stateDir == "" {
		stateDir = l.path("pods")
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--node-name=" + n.name,
		"--state-dir=" + stateDir,
		fmt.Sprintf("--pod-cidr=%s.%d.0/24", podNetwork(), n.podRange),
	}
	if n.ip != "" {
		args = append(args, "--node-ip="+n.ip)
	}
	if n.systemUUID != "" {
		args = append(args, "--system-uuid="+n.systemUUID)
	}
	if n.hostNetns != "" {
		args = append(args, "--host-network-namespace="+n.hostNetns)
	}
	if n.kubeletVersion != "" {
		args = append(args, "--kubelet-version="+n.kubeletVersion)
	}
	if len(n.labels) > 0 {
		var labels []string
		for _, k := range slices.Sorted(maps.Keys(n.labels)) {
			labels = append(labels, k+"="+n.labels[k])
		}
		args = append(args, "--node-labels="+strings.Join(labels, ","))
	}
	if len(n.taints) > 0 {
		args = append(args, "--register-with-taints="+strings.Join(n.taints, ","))
	}
	for _, image := range slices.Sorted(maps.Keys(images)) {
		args = append(args, "--image="+image+"="+images[image])
	}
	for _, port := range l.forwardedPorts() {
		args = append(args, "--forward-port="+port)
	}
	return args
}

// podNetwork is the /16 the landscape's pod IPs come from: 10.250, or LANDSCAPE_POD_NETWORK (two octets) so that
// two landscapes can run on one machine.
func podNetwork() string {
	if v := os.Getenv("LANDSCAPE_POD_NETWORK"); v != "" {
		return v
	}
	return "10.250"
}

// forwardedPorts are the loopback ports of the landscape that pods reach: the API servers.
func (l *landscape) forwardedPorts() []string {
	var ports []string
	hosts := []string{l.seedCluster.config.Host, l.shootCluster.config.Host, l.metal.Config.Host}
	if l.otherCluster != nil {
		hosts = append(hosts, l.otherCluster.config.Host)
	}
	for _, host := range hosts {
		if u, err := url.Parse(host); err == nil && u.Port() != "" {
			ports = append(ports, u.Port())
		}
	}
	return ports
}

func (l *landscape) waitNodeReady(ctx context.Context, c *cluster, name string, p *process) error {
	cl, err := newClient(c.config)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		if err := p.running(); err != nil {
			return err
		}
		n := &corev1.Node{}
		if err := cl.Get(ctx, client.ObjectKey{Name: name}, n); err == nil {
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s of the %s cluster did not become Ready; log: %s", name, c.name, p.logPath)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
