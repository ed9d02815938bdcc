package main

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// apiServer is an envtest kube-apiserver and etcd whose requests are written to an audit log.
type apiServer struct {
	env    *envtest.Environment
	config *rest.Config
	audit  *auditLog
}

// startAPIServer starts a kube-apiserver with the CRDs of the given folders and audit logging.
func startAPIServer(dir, name string, crdDirs ...string) (*apiServer, error) {
	audit, err := newAuditLog(dir, name)
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{CRDDirectoryPaths: crdDirs, ErrorIfCRDPathMissing: true}
	env.ControlPlane.GetAPIServer().Configure().
		Set("audit-policy-file", audit.policy).
		Set("audit-log-path", audit.path).
		Set("audit-log-format", "json").
		// One file, not rotated, so that a run's log is read as a whole.
		Set("audit-log-maxsize", "0")
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the %s API server: %w", name, err)
	}
	// The benchmark's own clients must not slow down what it measures.
	cfg.QPS, cfg.Burst = -1, 0
	return &apiServer{env: env, config: cfg, audit: audit}, nil
}

// kubeconfigFor writes a kubeconfig of a new user of the API server with the given groups and returns its path.
func (s *apiServer) kubeconfigFor(dir, user string, groups ...string) (string, error) {
	authenticated, err := s.env.AddUser(envtest.User{Name: user, Groups: groups}, nil)
	if err != nil {
		return "", fmt.Errorf("adding user %s: %w", user, err)
	}
	data, err := authenticated.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, user+".kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

func (s *apiServer) stop() {
	_ = s.env.Stop()
}
