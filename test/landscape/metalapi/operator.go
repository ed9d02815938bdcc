package metalapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// startOperator runs the metal-operator manager with short intervals and waits until it is ready, which includes
// its webhook server.
func (m *MetalAPI) startOperator(ctx context.Context, opts Options) error {
	_, kubeconfig, err := m.writeKubeconfig("metal-operator", "metal-operator.kubeconfig")
	if err != nil {
		return err
	}
	ports := map[string]int{}
	for _, name := range []string{"registry", "health", "metrics"} {
		if ports[name], err = m.ns.freePort(); err != nil {
			return err
		}
	}
	loopback := func(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
	interval := opts.ResyncInterval.String()
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		// No probe boots: the BMC protocol simulates the probe's registration, so the images are never pulled.
		"--probe-image=landscape.invalid/metalprobe:none",
		"--probe-os-image=landscape.invalid/probe-os:none",
		"--registry-url=http://" + loopback(ports["registry"]),
		"--registry-port=" + strconv.Itoa(ports["registry"]),
		"--discovery-ignition-path=" + filepath.Join(opts.Assets, "config", "manager", "ignition-template.yaml"),
		"--protocol=http",
		// Its webhook server listens on all interfaces of its network, on the port envtest configured the
		// kube-apiserver to call, with envtest's serving certificate.
		"--webhook-port=" + strconv.Itoa(m.env.WebhookInstallOptions.LocalServingPort),
		"--webhook-cert-path=" + m.env.WebhookInstallOptions.LocalServingCertDir,
		"--health-probe-bind-address=" + loopback(ports["health"]),
		"--metrics-bind-address=" + loopback(ports["metrics"]),
		// Secure metrics would authenticate scrapers against the kube-apiserver; nobody scrapes here.
		"--metrics-secure=false",
		// Two minutes by default; discovery completes and power changes are noticed on these.
		"--server-resync-interval=" + interval,
		"--registry-resync-interval=" + interval,
		"--maintenance-resync-interval=" + interval,
		"--power-polling-interval=200ms",
		"--power-polling-timeout=30s",
		"--resource-polling-interval=200ms",
		"--resource-polling-timeout=30s",
		"--zap-log-level=info",
	}
	// KUBECONFIG would be consulted if the flag were ignored; pointing it at the same file rules out the caller's.
	env := []string{"KUBECONFIG=" + kubeconfig}
	logName := "metal-operator.log"
	if m.operatorStarts > 0 {
		logName = fmt.Sprintf("metal-operator.restart-%d.log", m.operatorStarts)
	}
	m.operatorStarts++
	m.operator, err = startProcess(m.ns, "metal-operator", filepath.Join(m.StateDir, logName),
		filepath.Join(opts.Assets, "metal-operator"), args, env)
	if err != nil {
		return err
	}

	health := &http.Client{Transport: &http.Transport{DialContext: m.ns.dialContext}, Timeout: 2 * time.Second}
	readyz := "http://" + loopback(ports["health"]) + "/readyz"
	var lastErr error
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := m.operator.running(); err != nil {
			return false, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, readyz, nil)
		if err != nil {
			return false, err
		}
		// Connection refused until the health server listens, 500 until the webhook server runs.
		var resp *http.Response
		if resp, lastErr = health.Do(req); lastErr == nil {
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				lastErr = fmt.Errorf("%s answers %s", readyz, resp.Status)
			}
		}
		return lastErr == nil, nil
	})
	if err != nil {
		return fmt.Errorf("metal-operator did not become ready (log: %s): %w (last error: %w)", m.operator.logPath, err, lastErr)
	}
	return nil
}
