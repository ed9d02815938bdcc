// Command landscape runs the extension on this machine against a local seed: a real kube-apiserver and etcd
// (the envtest binaries from hack/envtest.sh) with the CRDs of example/crds. It is the main job of the
// repository (`make start`); the shoot and metal API clusters, the machine-controller-manager and
// metal-operator join it as their controllers land.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/gardener/gardener/pkg/extensions"
)

func main() {
	var (
		root        = flag.String("root", ".", "repository root")
		binary      = flag.String("extension", "bin/gardener-extension-provider-metal", "path of the extension binary")
		stateDir    = flag.String("state-dir", ".cache/landscape", "folder for kubeconfigs and logs")
		healthPort  = flag.Int("health-port", 18081, "port of the extension's health endpoint")
		webhookPort = flag.Int("webhook-port", 19443, "port of the extension's webhook server")
		keep        = flag.Bool("keep", true, "keep running until interrupted; false stops once the extension is healthy")
	)
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, *root, *binary, *stateDir, *healthPort, *webhookPort, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "landscape:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root, binary, stateDir string, healthPort, webhookPort int, keep bool) error {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set: run hack/envtest.sh (make start does this)")
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}

	step("starting the seed kube-apiserver and etcd")
	crdDirs, err := filepath.Glob(filepath.Join(root, "example", "crds", "*"))
	if err != nil {
		return err
	}
	seed := &envtest.Environment{CRDDirectoryPaths: crdDirs, ErrorIfCRDPathMissing: true}
	if _, err := seed.Start(); err != nil {
		return fmt.Errorf("starting seed: %w", err)
	}
	defer func() {
		step("stopping the seed")
		_ = seed.Stop()
	}()
	kubeconfig, err := writeKubeconfig(seed, filepath.Join(stateDir, "seed.kubeconfig"))
	if err != nil {
		return err
	}
	step(fmt.Sprintf("seed is up with %d CRDs; kubeconfig: %s", len(seed.CRDs), kubeconfig))

	step("starting the extension")
	logPath := filepath.Join(stateDir, "extension.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	extension := exec.CommandContext(ctx, binary,
		"--kubeconfig="+kubeconfig,
		"--config-file="+filepath.Join(root, "example", "component-config.yaml"),
		"--leader-election=false",
		"--heartbeat-namespace=default",
		"--metrics-bind-address=127.0.0.1:0",
		fmt.Sprintf("--health-bind-address=127.0.0.1:%d", healthPort),
		// The seed's kube-apiserver runs on this machine, so it reaches the webhook server by URL on loopback.
		"--webhook-config-mode=url",
		fmt.Sprintf("--webhook-config-url=127.0.0.1:%d", webhookPort),
		"--webhook-config-server-host=127.0.0.1",
		fmt.Sprintf("--webhook-config-server-port=%d", webhookPort),
		"--webhook-config-cert-dir="+filepath.Join(stateDir, "webhook-certs"),
	)
	extension.Stdout, extension.Stderr = logFile, logFile
	extension.Cancel = func() error { return extension.Process.Signal(syscall.SIGTERM) }
	extension.WaitDelay = 30 * time.Second
	if err := extension.Start(); err != nil {
		return fmt.Errorf("starting extension: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- extension.Wait() }()

	if err := waitHealthy(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort), exited); err != nil {
		return fmt.Errorf("extension did not become ready (log: %s): %w", logPath, err)
	}
	step(fmt.Sprintf("extension is ready; log: %s", logPath))
	if err := waitHeartbeat(ctx, seed.Config); err != nil {
		return fmt.Errorf("extension does not renew its heartbeat (log: %s): %w", logPath, err)
	}
	step("extension renews its heartbeat Lease in the seed")

	if !keep {
		if err := extension.Cancel(); err != nil {
			return fmt.Errorf("stopping extension: %w", err)
		}
		return <-exited
	}
	step("running; press Ctrl-C to stop")
	select {
	case <-ctx.Done():
		// Wait reports the context's error when the extension stopped cleanly on the SIGTERM it got.
		if err := <-exited; err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("extension did not stop cleanly (log: %s): %w", logPath, err)
		}
		return nil
	case err := <-exited:
		return fmt.Errorf("extension exited (log: %s): %w", logPath, err)
	}
}

func writeKubeconfig(env *envtest.Environment, path string) (string, error) {
	user, err := env.AddUser(envtest.User{Name: "landscape-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("creating seed user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("rendering seed kubeconfig: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return abs, os.WriteFile(abs, data, 0o600)
}

func waitHealthy(ctx context.Context, url string, exited <-chan error) error {
	ticker := time.NewTicker(250 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-exited:
			return fmt.Errorf("extension exited: %w", err)
		case <-deadline:
			return errors.New("timed out")
		case <-ticker.C:
			resp, err := http.Get(url) //nolint:gosec // local health endpoint
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
	}
}

// waitHeartbeat waits until the extension's heartbeat controller has renewed its Lease, the sign gardenlet uses
// to tell that the extension is alive.
func waitHeartbeat(ctx context.Context, cfg *rest.Config) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		lease := &coordinationv1.Lease{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: extensions.HeartBeatResourceName}, lease); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return lease.Spec.RenewTime != nil, nil
	})
}

func step(msg string) {
	fmt.Printf("%s  %s\n", time.Now().Format("15:04:05"), msg)
}
