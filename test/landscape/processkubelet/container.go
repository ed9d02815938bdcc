package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	sigterm = syscall.SIGTERM
	sigkill = syscall.SIGKILL
)

// signalGroup signals a container's process group (each container is a group leader, so processes it forked
// are stopped with it).
func signalGroup(pid int, sig syscall.Signal) {
	_ = syscall.Kill(-pid, sig)
}

// runInit runs an init container until it exits 0; it reports false when the pod stops or fails instead.
func (r *podRunner) runInit(c *container) bool {
	return r.restartLoop(c, func(exit int) bool {
		return exit != 0 && r.spec.Spec.RestartPolicy != corev1.RestartPolicyNever
	}, func(exit int) {
		if exit != 0 {
			r.mu.Lock()
			r.failedPhase = true
			r.mu.Unlock()
		}
	})
}

// runRegular runs a regular container with restarts per the pod's restartPolicy.
func (r *podRunner) runRegular(c *container) {
	r.restartLoop(c, func(exit int) bool {
		switch r.spec.Spec.RestartPolicy {
		case corev1.RestartPolicyNever:
			return false
		case corev1.RestartPolicyOnFailure:
			return exit != 0
		default:
			return true
		}
	}, func(int) {})
}

// restartLoop starts c, and again after each exit for which restart says so, with the kubelet's back-off
// (pkg/kubelet/kuberuntime: 10s doubling up to 5min, reset after a run longer than the maximum); done is called
// with the final exit code. It reports whether the container's last run exited 0.
func (r *podRunner) restartLoop(c *container, restart func(exit int) bool, done func(exit int)) bool {
	backoff := r.p.cfg.backoffInitial
	for {
		if r.stopping() {
			return false
		}
		began := time.Now()
		exit, ran := r.runOnce(c)
		if r.stopping() {
			return false
		}
		if ran && !restart(exit) {
			done(exit)
			r.changed()
			return exit == 0
		}
		if time.Since(began) > r.p.cfg.backoffMax {
			backoff = r.p.cfg.backoffInitial
		}
		if ran {
			r.mu.Lock()
			c.lastState = c.state
			c.state = waitingState("CrashLoopBackOff", fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
				backoff, c.spec.Name, r.spec.Name, r.spec.Namespace, r.spec.UID))
			r.mu.Unlock()
			r.changed()
		}
		select {
		case <-r.stop:
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, r.p.cfg.backoffMax)
	}
}

// runOnce starts the container and waits for it. ran is false when it could not be started (its state then
// says why; the loop retries after the back-off without counting a restart).
func (r *podRunner) runOnce(c *container) (exit int, ran bool) {
	spec, err := r.childSpec(c, nil)
	if err != nil {
		r.setWaiting(c, "CreateContainerConfigError", err.Error())
		return 0, false
	}
	logFile, err := os.OpenFile(filepath.Join(r.dir, c.spec.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		r.setWaiting(c, "StartError", err.Error())
		return 0, false
	}
	defer func() { _ = logFile.Close() }()
	r.mu.Lock()
	if c.runs > 0 {
		c.restarts++
		if c.state.Terminated != nil {
			c.lastState = c.state
		}
	}
	c.runs++
	attempt := c.runs
	r.mu.Unlock()
	fmt.Fprintf(logFile, "==== process-kubelet %s: starting container %s (run %d): %q\n",
		time.Now().UTC().Format(time.RFC3339Nano), c.spec.Name, attempt, spec.Args)
	cmd, err := r.command(spec)
	if err != nil {
		r.setWaiting(c, "StartError", err.Error())
		return 0, false
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	startedAt := metav1.Now()
	if err := r.thread.start(cmd); err != nil {
		r.setTerminated(c, startedAt, 128, "StartError", err.Error())
		return 128, true
	}
	pid := cmd.Process.Pid
	pidFile := filepath.Join(r.dir, c.spec.Name+".pid")
	_ = os.WriteFile(pidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644)
	r.mu.Lock()
	c.pid = pid
	c.id = fmt.Sprintf("process://%s/%s/%d", r.key, c.spec.Name, pid)
	c.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: startedAt}}
	c.started = c.spec.StartupProbe == nil
	c.ready = !c.init && c.spec.ReadinessProbe == nil
	if r.terminating {
		// The pod began stopping while this container was starting.
		signalGroup(pid, sigterm)
	}
	r.mu.Unlock()
	r.changed()
	ctx, cancel := context.WithCancel(context.Background())
	if !c.init {
		go r.probe(ctx, c, pid)
	}
	waitErr := cmd.Wait()
	cancel()
	_ = os.Remove(pidFile)
	exit = exitCode(cmd, waitErr)
	reason := "Completed"
	if exit != 0 {
		reason = "Error"
	}
	fmt.Fprintf(logFile, "==== process-kubelet %s: container %s exited with code %d\n",
		time.Now().UTC().Format(time.RFC3339Nano), c.spec.Name, exit)
	r.setTerminated(c, startedAt, exit, reason, "")
	return exit, true
}

// exitCode is the exit status, or 128+signal for a killed process as container runtimes report it.
func exitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		return 128
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) || err == nil {
		return cmd.ProcessState.ExitCode()
	}
	return 128
}

func (r *podRunner) setWaiting(c *container, reason, message string) {
	r.log().Error("container cannot start", "container", c.spec.Name, "reason", reason, "message", message)
	r.mu.Lock()
	c.state = waitingState(reason, message)
	r.mu.Unlock()
	r.changed()
}

func (r *podRunner) setTerminated(c *container, startedAt metav1.Time, exit int, reason, message string) {
	r.mu.Lock()
	c.pid = 0
	// A finished init container counts as ready once it succeeded, as on a kubelet.
	c.ready = c.init && exit == 0
	c.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: int32(exit), Reason: reason, Message: message, StartedAt: startedAt, FinishedAt: metav1.Now(), ContainerID: c.id,
	}}
	r.mu.Unlock()
	r.changed()
}

// command is the re-execution of this binary that becomes the container: a new mount namespace (CLONE_NEWNS),
// its own process group, and SIGKILL when the pod's thread (and so the kubelet) goes away.
func (r *podRunner) command(spec *childSpec) (*exec.Cmd, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(r.p.cfg.self, childCommand)
	cmd.Env = []string{childSpecEnv + "=" + string(data)}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, nil
}

// childSpec describes the container's process; with override (an exec probe) the command line is override.
func (r *podRunner) childSpec(c *container, override []string) (*childSpec, error) {
	facts := r.facts()
	env, err := containerEnv(context.Background(), r.p, facts, &c.spec, r.p.cfg.serviceEnv(), map[string]string{
		"PATH":     "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME":     "/root",
		"HOSTNAME": facts.pod.Name,
	})
	if err != nil {
		return nil, err
	}
	path, args := commandLine(c, env)
	if override != nil {
		path, args = override[0], override
	}
	mounts, err := r.mounts(facts.pod, c, env)
	if err != nil {
		return nil, err
	}
	scratch := filepath.Join(r.dir, ".scratch")
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return nil, err
	}
	spec := &childSpec{
		Path:       path,
		Args:       args,
		Env:        envList(env),
		WorkingDir: c.spec.WorkingDir,
		Mounts:     mounts,
		UID:        runAsUser(facts.pod, &c.spec),
		GID:        runAsGroup(facts.pod, &c.spec),
		ScratchDir: scratch,
	}
	if sc := c.spec.SecurityContext; sc != nil && sc.ReadOnlyRootFilesystem != nil {
		spec.ReadOnlyRoot = *sc.ReadOnlyRootFilesystem
	}
	return spec, nil
}

// commandLine applies Kubernetes' command/args semantics with the mapped binary as the image's entrypoint:
// without command, the binary runs with args. With command, command[0] is replaced by the binary when its base
// name is the binary's file name or the image repository's last element, or when it does not name an
// executable on the host (an absolute path or a path relative to workingDir that does not exist, a bare name not
// in the container's PATH); otherwise command[0] runs as given (/bin/sh, say). command and args are
// $(VAR)-expanded with the container's environment first.
func commandLine(c *container, env map[string]string) (string, []string) {
	mapping := mappingFor(env)
	var command, args []string
	for _, s := range c.spec.Command {
		command = append(command, expand(s, mapping))
	}
	for _, s := range c.spec.Args {
		args = append(args, expand(s, mapping))
	}
	if len(command) == 0 {
		return c.binary, append([]string{c.binary}, args...)
	}
	first := command[0]
	if isEntrypoint(first, c, env) {
		return c.binary, append(append([]string{c.binary}, command[1:]...), args...)
	}
	return first, append(command, args...)
}

func isEntrypoint(first string, c *container, env map[string]string) bool {
	for _, name := range entrypointNames(c.spec.Image, c.binary) {
		if filepath.Base(first) == name {
			return true
		}
	}
	path := first
	if strings.Contains(first, "/") && !filepath.IsAbs(first) {
		path = filepath.Join("/", c.spec.WorkingDir, first)
	}
	_, err := resolveExecutable(path, envList(env))
	if err == nil && strings.Contains(path, "/") {
		_, err = os.Stat(path)
	}
	return err != nil
}

func runAsUser(pod *corev1.Pod, c *corev1.Container) *int64 {
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		return c.SecurityContext.RunAsUser
	}
	if pod.Spec.SecurityContext != nil {
		return pod.Spec.SecurityContext.RunAsUser
	}
	return nil
}

func runAsGroup(pod *corev1.Pod, c *corev1.Container) *int64 {
	if c.SecurityContext != nil && c.SecurityContext.RunAsGroup != nil {
		return c.SecurityContext.RunAsGroup
	}
	if pod.Spec.SecurityContext != nil {
		return pod.Spec.SecurityContext.RunAsGroup
	}
	return nil
}

// mounts turns volumeMounts into bind mounts. Secret, ConfigMap, projected and downwardAPI volumes are always
// read-only (as on a kubelet); a subPath (or expanded subPathExpr) is resolved through the volume's symlinks
// when the container starts, so like on a kubelet it does not see later updates.
func (r *podRunner) mounts(pod *corev1.Pod, c *container, env map[string]string) ([]childMount, error) {
	var mounts []childMount
	for _, vm := range c.spec.VolumeMounts {
		src, err := r.vols.path(pod, vm.Name)
		if err != nil {
			return nil, err
		}
		readOnly := vm.ReadOnly || atomicVolume(pod, vm.Name)
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			sub = expand(vm.SubPathExpr, mappingFor(env))
		}
		if sub != "" {
			joined := filepath.Join(src, sub)
			if !strings.HasPrefix(joined, filepath.Clean(src)+"/") {
				return nil, fmt.Errorf("subPath %q leaves volume %s", sub, vm.Name)
			}
			if _, err := os.Lstat(joined); os.IsNotExist(err) && !atomicVolume(pod, vm.Name) {
				if err := os.MkdirAll(joined, 0o755); err != nil {
					return nil, err
				}
			}
			if src, err = filepath.EvalSymlinks(joined); err != nil {
				return nil, fmt.Errorf("subPath %q of volume %s: %w", sub, vm.Name, err)
			}
		}
		fi, err := os.Stat(src)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", vm.Name, err)
		}
		mounts = append(mounts, childMount{Source: src, Target: vm.MountPath, ReadOnly: readOnly, File: !fi.IsDir()})
	}
	return mounts, nil
}

func atomicVolume(pod *corev1.Pod, name string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return v.Secret != nil || v.ConfigMap != nil || v.Projected != nil || v.DownwardAPI != nil
		}
	}
	return false
}
