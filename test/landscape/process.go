package landscape

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// process is a binary the landscape runs, with its output in a log file of the state folder.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan error
}

// startProcess starts binary with args in its own process group; its output goes to <stateDir>/<name>.log.
func startProcess(stateDir, name, binary string, args ...string) (*process, error) {
	return startCommand(stateDir, name, exec.Command(binary, args...))
}

// startCommand starts cmd like startProcess.
func startCommand(stateDir, name string, cmd *exec.Cmd) (*process, error) {
	logPath := filepath.Join(stateDir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan error, 1)}
	go func() {
		p.exited <- cmd.Wait()
		_ = logFile.Close()
	}()
	return p, nil
}

// running fails when the process has exited, naming its log.
func (p *process) running() error {
	select {
	case err := <-p.exited:
		p.exited <- err
		if err == nil {
			return fmt.Errorf("%s exited (log: %s)", p.name, p.logPath)
		}
		return fmt.Errorf("%s exited (log: %s): %w", p.name, p.logPath, err)
	default:
		return nil
	}
}

// stop sends SIGTERM to the process group and SIGKILL after a grace period.
func (p *process) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		err := <-p.exited
		p.exited <- err
	}
}

// waitHTTP waits until url answers 200 or the process exits. An https URL is a health endpoint on loopback served
// with the component's self-signed certificate, which is not verified.
func waitHTTP(ctx context.Context, url string, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a self-signed health endpoint on loopback
	}}
	for {
		if err := p.running(); err != nil {
			return err
		}
		if resp, err := client.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("%s did not answer %s; log: %s", p.name, url, p.logPath), ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// freePort returns a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
