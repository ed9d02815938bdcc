package main_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func TestProcessKubelet(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "process kubelet")
}

const (
	nodeName = "process-node"
	podCIDR  = "127.1.200.0/24"
	image    = "example.com/testbin"
)

var (
	testEnv    *envtest.Environment
	restConfig *rest.Config
	client     kubernetes.Interface
	kubelet    *gexec.Session
	kubeletCmd []string
	stateDir   string
	udpPort    int
	ctx        = context.Background()
)

var _ = BeforeSuite(func() {
	if os.Getuid() != 0 {
		Skip("the process kubelet needs root (namespaces and mounts)")
	}
	testEnv = &envtest.Environment{}
	// The node's Hostname address does not resolve; logs are fetched from its InternalIP.
	testEnv.ControlPlane.GetAPIServer().Configure().Set("kubelet-preferred-address-types", "InternalIP")
	var err error
	restConfig, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(testEnv.Stop()).To(Succeed()) })
	client, err = kubernetes.NewForConfig(restConfig)
	Expect(err).NotTo(HaveOccurred())

	// PROCESS_KUBELET_RACE=1 builds the kubelet with the race detector; a race makes it exit non-zero at the end.
	var buildArgs []string
	if os.Getenv("PROCESS_KUBELET_RACE") == "1" {
		buildArgs = append(buildArgs, "-race")
	}
	kubeletBin, err := gexec.Build("github.com/openkcm/gardener-extension-provider-metal/test/landscape/processkubelet", buildArgs...)
	Expect(err).NotTo(HaveOccurred())
	testBin, err := gexec.Build("github.com/openkcm/gardener-extension-provider-metal/test/landscape/processkubelet/internal/testbin")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(gexec.CleanupBuildArtifacts)

	// World-readable, so that containers running as another user can execute the test binary.
	dir, err := os.MkdirTemp("", "process-kubelet-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, dir)
	Expect(os.Chmod(dir, 0o755)).To(Succeed())
	data, err := os.ReadFile(testBin)
	Expect(err).NotTo(HaveOccurred())
	testBin = filepath.Join(dir, "testbin")
	Expect(os.WriteFile(testBin, data, 0o755)).To(Succeed())
	stateDir = filepath.Join(dir, "pods")
	kubeconfig := filepath.Join(dir, "kubeconfig")
	Expect(writeKubeconfig(kubeconfig, restConfig)).To(Succeed())
	imageMap := filepath.Join(dir, "images.yaml")
	Expect(os.WriteFile(imageMap, []byte("example.com/other:v1: "+testBin+"\n"), 0o644)).To(Succeed())

	udpEcho, err := net.ListenPacket("udp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(udpEcho.Close)
	go serveUDPEcho(udpEcho)
	udpPort = udpEcho.LocalAddr().(*net.UDPAddr).Port

	kubeletPort, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	port := kubeletPort.Addr().(*net.TCPAddr).Port
	Expect(kubeletPort.Close()).To(Succeed())

	kubeletCmd = []string{kubeletBin,
		"--kubelet-port", strconv.Itoa(port),
		"--forward-port", strconv.Itoa(udpPort),
		"--kubeconfig", kubeconfig,
		"--node-name", nodeName,
		"--node-labels", "example.com/role=test,example.com/zone=a",
		"--register-with-taints", "example.com/dedicated=test:NoSchedule",
		"--system-uuid", "11111111-2222-3333-4444-555555555555",
		"--node-ip", "127.0.0.1",
		"--state-dir", stateDir,
		"--image", image + "=" + testBin,
		"--image-map", imageMap,
		"--pod-cidr", podCIDR,
		"--restart-backoff", "1s",
		"--restart-backoff-max", "4s",
		"--volume-sync-period", "1s",
	}
	startKubelet()
	DeferCleanup(func() {
		By("stopping the kubelet: all its containers stop")
		pids := runningPids()
		kubelet.Terminate()
		Eventually(kubelet, 30*time.Second).Should(gexec.Exit(0))
		for _, pid := range pids {
			Expect(alive(pid)).To(BeFalse(), "pid %d", pid)
		}
	})
})

// startKubelet starts the process kubelet with kubeletCmd.
func startKubelet() {
	var err error
	kubelet, err = gexec.Start(exec.Command(kubeletCmd[0], kubeletCmd[1:]...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
}

// serveUDPEcho answers every datagram with "echo: " and the datagram.
func serveUDPEcho(conn net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			return
		}
		_, _ = conn.WriteTo(append([]byte("echo: "), buf[:n]...), addr)
	}
}

// runningPids are the pids of all running containers, from their pid files.
func runningPids() []int {
	files, err := filepath.Glob(filepath.Join(stateDir, "*", "*", "*.pid"))
	Expect(err).NotTo(HaveOccurred())
	var pids []int
	for _, f := range files {
		data, err := os.ReadFile(f)
		Expect(err).NotTo(HaveOccurred())
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		Expect(err).NotTo(HaveOccurred())
		pids = append(pids, pid)
	}
	return pids
}

func writeKubeconfig(path string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	return clientcmd.WriteToFile(*kc, path)
}
