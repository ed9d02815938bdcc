package metalapi

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// stopTimeout is how long a process may take to end after SIGTERM before its group is killed.
const stopTimeout = 15 * time.Second

// process is a child process in a process group of its own, logging to a file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error
}

// startProcess starts binary with args through ns, so that the process lives in the namespace's network, with its
// output in logPath.
func startProcess(ns *netNamespace, name, logPath, binary string, args, env []string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating log of %s: %w", name, err)
	}
	// The child holds its own copy of the file, so this one is closed once the child has been started.
	defer func() { _ = logFile.Close() }()

	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// A group of its own lets stop reach anything the process spawns.
		Setpgid: true,
		// The namespace's thread started the process and lives until close; if this process dies without stopping
		// its children, the thread dies with it and the kernel kills them, so nothing is left behind.
		Pdeathsig: syscall.SIGKILL,
	}
	var startErr error
	if err := ns.do(func() { startErr = cmd.Start() }); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	if startErr != nil {
		return nil, fmt.Errorf("starting %s: %w", name, startErr)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// running reports an error when the process has ended already.
func (p *process) running() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%w); log: %s", p.name, p.err, p.logPath)
	default:
		return nil
	}
}

// stop ends the process group: SIGTERM first, SIGKILL after stopTimeout. A process that ends on SIGTERM is a clean
// stop; one that had exited before stop was called reports how it ended.
func (p *process) stop() error {
	select {
	case <-p.exited:
		return p.exitError()
	default:
	}
	pgid := p.cmd.Process.Pid
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("terminating %s: %w", p.name, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopTimeout):
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing %s: %w", p.name, err)
	}
	<-p.exited
	return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed; log: %s", p.name, stopTimeout, p.logPath)
}

func (p *process) exitError() error {
	if p.err != nil {
		return fmt.Errorf("%s had exited before it was stopped (%w); log: %s", p.name, p.err, p.logPath)
	}
	return nil
}
