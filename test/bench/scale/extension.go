package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// extension is the gardener-extension-provider-metal binary running as a process of its own, so that its CPU
// time and memory can be read from /proc.
type extension struct {
	cmd     *exec.Cmd
	logPath string
}

// startExtension runs the binary against the seed with the Infrastructure, ControlPlane and Worker controllers
// only: the health check and heartbeat controllers would add periodic requests that are not part of a reconcile,
// and the webhooks have nothing to mutate here.
func startExtension(ctx context.Context, binary, kubeconfig, componentConfig, dir string, extraArgs []string) (*extension, error) {
	healthPort, err := freePort()
	if err != nil {
		return nil, err
	}
	webhookPort, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--kubeconfig=" + kubeconfig,
		"--config-file=" + componentConfig,
		"--leader-election=false",
		"--controllers=infrastructure,controlplane,worker",
		"--disable-webhooks=controlplane,cloudprovider",
		"--heartbeat-namespace=default",
		"--metrics-bind-address=0",
		"--health-bind-address=127.0.0.1:" + strconv.Itoa(healthPort),
		"--webhook-config-mode=url",
		"--webhook-config-url=127.0.0.1:" + strconv.Itoa(webhookPort),
		"--webhook-config-server-host=127.0.0.1",
		"--webhook-config-server-port=" + strconv.Itoa(webhookPort),
		"--webhook-config-cert-dir=" + filepath.Join(dir, "webhook-certs"),
	}, extraArgs...)
	logPath := filepath.Join(dir, "extension.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...) //nolint:gosec // the binary is the one the benchmark is told to measure
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	e := &extension{cmd: cmd, logPath: logPath}
	if err := waitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort)); err != nil {
		e.stop()
		return nil, fmt.Errorf("the extension did not become ready (log: %s): %w", logPath, err)
	}
	return e, nil
}

func waitReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (e *extension) pid() int { return e.cmd.Process.Pid }

// throttled counts the log lines in which client-go reports that it held a request back.
func (e *extension) throttled() int {
	data, err := os.ReadFile(e.logPath)
	if err != nil {
		return -1
	}
	return bytes.Count(data, []byte("client-side throttling"))
}

func (e *extension) stop() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = e.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = e.cmd.Process.Kill()
		<-done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
