package landscape

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/Masterminds/semver/v3"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// cluster is one kube-apiserver of the landscape with what its control loops and nodes need to reach it.
type cluster struct {
	name   string
	env    *envtest.Environment
	config *rest.Config
	// version is the API server's version.
	version *semver.Version
	// caFile holds the CA of the API server's serving certificate (also the root CA kube-controller-manager
	// publishes as kube-root-ca.crt).
	caFile string
}

// kubeconfigFor writes <cluster>-<file>.kubeconfig for a client-certificate user of the cluster and returns its path.
func (l *landscape) kubeconfigFor(c *cluster, file string, user envtest.User) (string, error) {
	u, err := c.env.AddUser(user, nil)
	if err != nil {
		return "", fmt.Errorf("adding user %s to the %s cluster: %w", user.Name, c.name, err)
	}
	data, err := u.KubeConfig()
	if err != nil {
		return "", err
	}
	path := l.path(c.name + "-" + file + ".kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

// startControlLoops runs the real kube-controller-manager and kube-scheduler of a cluster, built by
// hack/kube-controllers.sh at the kube-apiserver's version: Deployments, ReplicaSets, DaemonSets, StatefulSets,
// ServiceAccounts and their kube-root-ca.crt ConfigMap, endpoints, the garbage collector, node lifecycle and
// scheduling are the real controllers'. Each runs as the user the bootstrap RBAC policy of the API server grants
// its permissions to (system:kube-controller-manager, system:kube-scheduler); controllers use their own
// ServiceAccounts as in a real cluster (--use-service-account-credentials). kcmArgs are added to
// kube-controller-manager's flags (the shoot's come from the rendered Deployment).
func (l *landscape) startControlLoops(ctx context.Context, c *cluster, kcmArgs ...string) error {
	dir := l.opts.Binaries.KubeControllers
	if dir == "" {
		return errors.New("the kube-controller-manager and kube-scheduler binaries are not given: run hack/kube-controllers.sh (make start and make test do this)")
	}
	kcmKubeconfig, err := l.kubeconfigFor(c, "kube-controller-manager", envtest.User{Name: "system:kube-controller-manager"})
	if err != nil {
		return err
	}
	schedulerKubeconfig, err := l.kubeconfigFor(c, "kube-scheduler", envtest.User{Name: "system:kube-scheduler"})
	if err != nil {
		return err
	}
	kcmPort, err := freePort()
	if err != nil {
		return err
	}
	args := append([]string{
		"--kubeconfig=" + kcmKubeconfig,
		"--authentication-kubeconfig=" + kcmKubeconfig,
		"--authorization-kubeconfig=" + kcmKubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(kcmPort),
		"--cert-dir=" + l.path(c.name+"-kube-controller-manager"),
		"--cluster-name=" + c.name,
		"--controllers=*",
		"--use-service-account-credentials=true",
		"--root-ca-file=" + c.caFile,
		// The API server's ServiceAccount signing key (envtest's); the legacy token controller needs it.
		"--service-account-private-key-file=" + filepath.Join(c.env.ControlPlane.APIServer.CertDir, "sa-signer.key"),
	}, kcmArgs...)
	kcm, err := startProcess(l.opts.StateDir, c.name+"-kube-controller-manager", filepath.Join(dir, "kube-controller-manager"), args...)
	if err != nil {
		return err
	}
	l.addProc(kcm)
	schedulerPort, err := freePort()
	if err != nil {
		return err
	}
	scheduler, err := startProcess(l.opts.StateDir, c.name+"-kube-scheduler", filepath.Join(dir, "kube-scheduler"),
		"--kubeconfig="+schedulerKubeconfig,
		"--authentication-kubeconfig="+schedulerKubeconfig,
		"--authorization-kubeconfig="+schedulerKubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(schedulerPort),
		"--cert-dir="+l.path(c.name+"-kube-scheduler"),
	)
	if err != nil {
		return err
	}
	l.addProc(scheduler)
	for p, port := range map[*process]int{kcm: kcmPort, scheduler: schedulerPort} {
		if err := waitHTTP(ctx, fmt.Sprintf("https://127.0.0.1:%d/healthz", port), p); err != nil {
			return err
		}
	}
	return nil
}

// serverVersion asks the API server for its version.
func serverVersion(cfg *rest.Config) (*semver.Version, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	info, err := dc.ServerVersion()
	if err != nil {
		return nil, err
	}
	return semver.NewVersion(info.GitVersion)
}

// host is the API server's host name or address, without scheme and port.
func (c *cluster) host() string {
	u, err := url.Parse(c.config.Host)
	if err != nil {
		return c.config.Host
	}
	return u.Hostname()
}
