package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probe runs the container's startup probe until it succeeds, then its readiness and liveness probes, for as
// long as ctx (the container's run) lasts. A failed startup or liveness probe stops the container (SIGTERM,
// SIGKILL after the grace period); the restart loop then restarts it per restartPolicy.
func (r *podRunner) probe(ctx context.Context, c *container, pid int) {
	if p := c.spec.StartupProbe; p != nil {
		if !r.runProbe(ctx, c, p, func(ok bool) bool { return ok }) {
			return
		}
		r.mu.Lock()
		c.started = true
		c.ready = c.spec.ReadinessProbe == nil
		r.mu.Unlock()
		r.changed()
	}
	if p := c.spec.ReadinessProbe; p != nil {
		go r.runProbe(ctx, c, p, func(ok bool) bool {
			r.mu.Lock()
			changed := c.ready != ok
			c.ready = ok
			r.mu.Unlock()
			if changed {
				r.changed()
			}
			return false
		})
	}
	if p := c.spec.LivenessProbe; p != nil {
		if r.runProbe(ctx, c, p, func(ok bool) bool { return !ok }) {
			r.log().Info("liveness probe failed, stopping the container", "container", c.spec.Name)
			r.stopContainer(ctx, pid, probeGrace(p, r.spec))
		}
	}
}

// runProbe probes every period after the initial delay and calls result with each settled result (success
// after successThreshold successes in a row, failure after failureThreshold failures in a row); it returns true
// when result returns true (the caller decides when to stop) and false when ctx ends. For a startup probe the
// settled failure ends probing with a stop of the container.
func (r *podRunner) runProbe(ctx context.Context, c *container, p *corev1.Probe, result func(ok bool) bool) bool {
	period := seconds(p.PeriodSeconds, 10)
	success, failure := threshold(p.SuccessThreshold), threshold(p.FailureThreshold)
	if p.FailureThreshold == 0 {
		failure = 3
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(seconds(p.InitialDelaySeconds, 0)):
	}
	var successes, failures int32
	startup := p == c.spec.StartupProbe
	for {
		ok := r.probeOnce(ctx, c, p)
		if ctx.Err() != nil {
			return false
		}
		if ok {
			successes, failures = successes+1, 0
			if successes >= success && result(true) {
				return true
			}
		} else {
			successes, failures = 0, failures+1
			if failures >= failure {
				if startup {
					r.log().Info("startup probe failed, stopping the container", "container", c.spec.Name)
					r.mu.Lock()
					pid := c.pid
					r.mu.Unlock()
					r.stopContainer(ctx, pid, probeGrace(p, r.spec))
					return false
				}
				if result(false) {
					return true
				}
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(period):
		}
	}
}

func seconds(v int32, def int32) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

func threshold(v int32) int32 {
	if v <= 0 {
		return 1
	}
	return v
}

// probeGrace is the probe's terminationGracePeriodSeconds, else the pod's (30s by default).
func probeGrace(p *corev1.Probe, pod *corev1.Pod) time.Duration {
	if p.TerminationGracePeriodSeconds != nil {
		return time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// stopContainer sends SIGTERM to the container's group and SIGKILL after grace unless its run (ctx) ends first.
func (r *podRunner) stopContainer(ctx context.Context, pid int, grace time.Duration) {
	if pid <= 0 {
		return
	}
	signalGroup(pid, sigterm)
	select {
	case <-ctx.Done():
	case <-time.After(grace):
		signalGroup(pid, sigkill)
	}
}

// probeOnce runs one probe: httpGet and tcpSocket connect to the pod IP inside the pod's network namespace (the
// address the kubelet would use); exec runs the command in the container's namespaces. gRPC probes are not
// supported and count as successes.
func (r *podRunner) probeOnce(ctx context.Context, c *container, p *corev1.Probe) bool {
	timeout := seconds(p.TimeoutSeconds, 1)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case p.HTTPGet != nil:
		return r.probeHTTP(ctx, c, p.HTTPGet)
	case p.TCPSocket != nil:
		port, err := resolvePort(p.TCPSocket.Port, &c.spec)
		if err != nil {
			return false
		}
		conn, err := r.dial(ctx, "tcp", net.JoinHostPort(r.probeHost(p.TCPSocket.Host), strconv.Itoa(port)))
		if err != nil {
			return false
		}
		_ = conn.Close()
		return true
	case p.Exec != nil:
		return r.probeExec(ctx, c, p.Exec.Command)
	}
	return true
}

func (r *podRunner) probeHost(host string) string {
	if host != "" {
		return host
	}
	return r.podIP
}

func (r *podRunner) probeHTTP(ctx context.Context, c *container, g *corev1.HTTPGetAction) bool {
	port, err := resolvePort(g.Port, &c.spec)
	if err != nil {
		return false
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(r.probeHost(g.Host), strconv.Itoa(port)), path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "kube-probe/process-kubelet")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	transport := &http.Transport{
		DialContext: r.dial,
		// Like the kubelet's prober: https probes do not verify the certificate.
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes do not verify, as the kubelet's
		DisableKeepAlives: true,
	}
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// probeExec runs command through the same re-execution as the container (mounts, credentials, network).
func (r *podRunner) probeExec(ctx context.Context, c *container, command []string) bool {
	if len(command) == 0 {
		return false
	}
	spec, err := r.childSpec(c, command)
	if err != nil {
		return false
	}
	cmd, err := r.command(spec)
	if err != nil {
		return false
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := r.thread.start(cmd); err != nil {
		return false
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err == nil
	case <-ctx.Done():
		signalGroup(cmd.Process.Pid, sigkill)
		<-done
		return false
	}
}

// resolvePort turns a probe port (number or containerPort name) into a number.
func resolvePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("no container port named %q", port.StrVal)
}
