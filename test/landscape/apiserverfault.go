package landscape

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// stoppedAPIServer is a kube-apiserver of the landscape that a fault stopped: its command line, environment and
// working directory, read from /proc before it was killed, start it again as it was (the same port, certificates,
// etcd and authentication files, which envtest keeps until it stops the cluster).
type stoppedAPIServer struct {
	name string
	args []string
	env  []string
	dir  string
	cfg  *rest.Config
}

// stopAPIServer SIGKILLs the kube-apiserver that serves cfg.Host, as a crashed or rebooted API server host ends.
// Its etcd keeps running.
func stopAPIServer(name string, cfg *rest.Config) (*stoppedAPIServer, error) {
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, err
	}
	pid, err := apiServerPIDOf(cfg)
	if err != nil {
		return nil, fmt.Errorf("finding the %s kube-apiserver: %w", name, err)
	}
	s := &stoppedAPIServer{name: name, cfg: cfg}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, err
	}
	s.args = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return nil, err
	}
	s.env = strings.Split(strings.TrimRight(string(environ), "\x00"), "\x00")
	if s.dir, err = os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil {
		return nil, err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return nil, err
	}
	// Stopped once nothing listens on its port any more.
	for range 100 {
		conn, err := net.DialTimeout("tcp", u.Host, 100*time.Millisecond)
		if err != nil {
			return s, nil
		}
		_ = conn.Close()
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("the %s kube-apiserver (pid %d) still listens on %s after SIGKILL", name, pid, u.Host)
}

// start runs the API server again as a process of the landscape and waits until it is ready.
func (s *stoppedAPIServer) start(ctx context.Context, stateDir string, restart int) (*process, error) {
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.Env, cmd.Dir = s.env, s.dir
	p, err := startCommand(stateDir, fmt.Sprintf("%s-kube-apiserver.restart-%d", s.name, restart), cmd)
	if err != nil {
		return nil, err
	}
	clientset, err := kubernetes.NewForConfig(s.cfg)
	if err != nil {
		return p, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		if err := p.running(); err != nil {
			return p, err
		}
		if body, err := clientset.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err == nil && string(body) == "ok" {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return p, errors.Join(fmt.Errorf("the restarted %s kube-apiserver did not become ready; log: %s", s.name, p.logPath), ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// apiServerPIDOf finds the kube-apiserver that serves cfg.Host among this process's children.
func apiServerPIDOf(cfg *rest.Config) (int, error) {
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return 0, err
	}
	return apiServerPID(u.Port())
}

// apiServerPID finds the kube-apiserver serving on port among this process's children.
func apiServerPID(port string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command's closing parenthesis: state, ppid, ...
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(self) {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if filepath.Base(args[0]) != "kube-apiserver" {
			continue
		}
		for _, arg := range args {
			if arg == "--secure-port="+port {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no kube-apiserver child with --secure-port=%s", port)
}
