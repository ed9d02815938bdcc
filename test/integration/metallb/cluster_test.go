package metallb_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	gardenerkubernetes "github.com/gardener/gardener/pkg/client/kubernetes"
)

// nodeNames are the shoot's nodes.
var nodeNames = []string{"node-a", "node-b"}

// shootCluster is the shoot's kube-apiserver (envtest) with its real kube-controller-manager and kube-scheduler.
type shootCluster struct {
	env      *envtest.Environment
	config   *rest.Config
	stateDir string
	spawner  *spawner
}

// startShootControlPlane starts the shoot's kube-apiserver as a real cluster has it: unlike envtest's default, the
// ServiceAccount admission plugin is on, so that every pod gets its ServiceAccount's token mounted at
// /var/run/secrets/kubernetes.io/serviceaccount (MetalLB reads its namespace from there). The
// kube-controller-manager (Deployments, ReplicaSets, DaemonSets, EndpointSlices, ServiceAccounts and their
// kube-root-ca.crt, garbage collection, node lifecycle) and kube-scheduler are the real ones
// ($KUBE_CONTROLLERS_ASSETS, hack/kube-controllers.sh), each as the user the bootstrap RBAC policy grants its
// permissions to, as test/landscape starts them.
func startShootControlPlane(ctx context.Context) *shootCluster {
	stateDir, err := os.MkdirTemp("", "metallb-test-")
	Expect(err).NotTo(HaveOccurred())
	// World-readable: the MetalLB controller runs as nobody and reads its volumes below it.
	Expect(os.Chmod(stateDir, 0o755)).To(Succeed())
	// Kept when a spec failed, for its logs.
	DeferCleanup(func() {
		if !specFailed {
			Expect(os.RemoveAll(stateDir)).To(Succeed())
		}
	})
	AddReportEntry("shoot state and logs (kept if a spec fails)", stateDir)

	env := &envtest.Environment{}
	env.ControlPlane.GetAPIServer().Configure().Set("disable-admission-plugins", "")
	config, err := env.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	c := &shootCluster{env: env, config: config, stateDir: stateDir, spawner: newSpawner()}

	caFile := filepath.Join(stateDir, "ca.crt")
	Expect(os.WriteFile(caFile, config.CAData, 0o600)).To(Succeed())
	bin := os.Getenv("KUBE_CONTROLLERS_ASSETS")
	kcmKubeconfig := c.kubeconfig("kube-controller-manager", envtest.User{Name: "system:kube-controller-manager"})
	kcmPort := freePort()
	c.startProcess("kube-controller-manager", filepath.Join(bin, "kube-controller-manager"),
		"--kubeconfig="+kcmKubeconfig,
		"--authentication-kubeconfig="+kcmKubeconfig,
		"--authorization-kubeconfig="+kcmKubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(kcmPort),
		"--cert-dir="+filepath.Join(stateDir, "kube-controller-manager"),
		"--controllers=*",
		"--use-service-account-credentials=true",
		"--root-ca-file="+caFile,
		"--service-account-private-key-file="+filepath.Join(env.ControlPlane.APIServer.CertDir, "sa-signer.key"),
	)
	schedulerKubeconfig := c.kubeconfig("kube-scheduler", envtest.User{Name: "system:kube-scheduler"})
	schedulerPort := freePort()
	c.startProcess("kube-scheduler", filepath.Join(bin, "kube-scheduler"),
		"--kubeconfig="+schedulerKubeconfig,
		"--authentication-kubeconfig="+schedulerKubeconfig,
		"--authorization-kubeconfig="+schedulerKubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(schedulerPort),
		"--cert-dir="+filepath.Join(stateDir, "kube-scheduler"),
	)
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed serving certificates of local processes
	for name, port := range map[string]int{"kube-controller-manager": kcmPort, "kube-scheduler": schedulerPort} {
		Eventually(func() (int, error) {
			resp, err := insecure.Get(fmt.Sprintf("https://127.0.0.1:%d/healthz", port))
			if err != nil {
				return 0, err
			}
			_ = resp.Body.Close()
			return resp.StatusCode, nil
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Equal(http.StatusOK), name)
	}
	return c
}

// admin returns clients of the shoot as its administrator, for the test itself.
func (c *shootCluster) admin() (client.Client, kubernetes.Interface) {
	cl, err := client.New(c.config, client.Options{Scheme: gardenerkubernetes.ShootScheme})
	Expect(err).NotTo(HaveOccurred())
	set, err := kubernetes.NewForConfig(c.config)
	Expect(err).NotTo(HaveOccurred())
	return cl, set
}

// kubeconfig writes a kubeconfig of a client-certificate user and returns its path.
func (c *shootCluster) kubeconfig(name string, user envtest.User) string {
	u, err := c.env.AddUser(user, nil)
	Expect(err).NotTo(HaveOccurred())
	data, err := u.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(c.stateDir, name+".kubeconfig")
	Expect(os.WriteFile(path, data, 0o600)).To(Succeed())
	return path
}

// startProcess starts a binary in a process group of its own, logging to <state>/<name>.log; at the end of the
// suite it gets SIGTERM and, after ten seconds, SIGKILL, and SIGKILL when the test process dies.
func (c *shootCluster) startProcess(name, bin string, args ...string) *exec.Cmd {
	log, err := os.Create(filepath.Join(c.stateDir, name+".log"))
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	Expect(c.spawner.start(cmd)).To(Succeed(), name)
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		close(exited)
	}()
	DeferCleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	return cmd
}

// node is a shoot node: a process kubelet whose hostNetwork pods run in the node's network namespace.
type node struct {
	name     string
	net      *nodeNetwork
	stateDir string
}

// startNode starts the process kubelet for a node of the network. Its hostNetwork pods (the speaker) run in the
// node's network namespace (--host-network-namespace), the node IP on its eth0; other pods get namespaces of their
// own and IPs from the node's pod range, 10.252.<n>.0/24 (outside the landscape's 10.250.0.0/16), which the kubelet
// adds to the host's loopback so that the API server accepts them in EndpointSlices. The MetalLB images run the
// binaries hack/metallb.sh built ($METALLB_ASSETS); pause runs sleep.
func (c *shootCluster) startNode(name string, lan *network) *node {
	n := &node{name: name, net: lan.nodes[name], stateDir: filepath.Join(c.stateDir, "pods")}
	kubeconfig := c.kubeconfig("node-"+name, envtest.User{Name: "system:node:" + name, Groups: []string{"system:masters"}})
	sleep, err := exec.LookPath("sleep")
	Expect(err).NotTo(HaveOccurred())
	assets := os.Getenv("METALLB_ASSETS")
	podCIDR := netip.MustParsePrefix(fmt.Sprintf("10.252.%d.0/24", n.net.index+1))
	// The kubelet keeps pod IPs on the host's loopback when it stops (its pods would run again); the suite's are
	// removed once it has stopped.
	DeferCleanup(removeLoopbackAddresses, podCIDR)
	c.startProcess("kubelet-"+name, os.Getenv("PROCESS_KUBELET"),
		"--kubeconfig="+kubeconfig,
		"--node-name="+name,
		"--node-ip="+n.net.ip,
		"--host-network-namespace="+n.net.netns,
		"--pod-cidr="+podCIDR.String(),
		"--state-dir="+n.stateDir,
		"--image=quay.io/metallb/controller="+filepath.Join(assets, "controller"),
		"--image=quay.io/metallb/speaker="+filepath.Join(assets, "speaker"),
		"--image="+pauseImage+"="+sleep,
		"--restart-backoff=1s",
		"--restart-backoff-max=4s",
	)
	return n
}

// pauseImage is the image of the Service's backend pods; the kubelets run sleep for it.
const pauseImage = "registry.k8s.io/pause"

func waitForReadyNodes(ctx context.Context) {
	Eventually(func(g Gomega) {
		list := &corev1.NodeList{}
		g.Expect(shootClient.List(ctx, list)).To(Succeed())
		var ready []string
		for _, n := range list.Items {
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready = append(ready, n.Name)
				}
			}
		}
		g.Expect(ready).To(ConsistOf(nodeNames))
	}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// spawner starts processes from one OS thread that lives as long as the test process: Linux sends the parent-death
// signal when the thread that forked a child exits, and the Go runtime ends threads (those a goroutine locked and
// left locked, as the ARP check does after entering a network namespace).
type spawner struct {
	calls chan func()
}

func newSpawner() *spawner {
	s := &spawner{calls: make(chan func())}
	go func() {
		runtime.LockOSThread()
		for f := range s.calls {
			f()
		}
	}()
	return s
}

func (s *spawner) start(cmd *exec.Cmd) error {
	done := make(chan error)
	s.calls <- func() { done <- cmd.Start() }
	return <-done
}

// removeLoopbackAddresses deletes the addresses of the prefix from the host's loopback interface.
func removeLoopbackAddresses(prefix netip.Prefix) {
	lo, err := net.InterfaceByName("lo")
	Expect(err).NotTo(HaveOccurred())
	addrs, err := lo.Addrs()
	Expect(err).NotTo(HaveOccurred())
	for _, addr := range addrs {
		ipNet, ok := addr.(*net.IPNet)
		if !ok {
			continue
		}
		if a, ok := netip.AddrFromSlice(ipNet.IP); ok && prefix.Contains(a.Unmap()) {
			ip("addr", "del", addr.String(), "dev", "lo")
		}
	}
}
