package landscape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	resourcemanagerconstants "github.com/gardener/gardener/pkg/component/gardener/resourcemanager/constants"
)

// The shoot's gardener-resource-manager registers its webhooks in the shoot with the URL
// https://gardener-resource-manager.<control plane namespace>:443 (pkg/component/gardener/resourcemanager, URL
// mode for a target cluster): the shoot's kube-apiserver runs in the seed next to it and resolves that name through
// the seed's DNS to the Service. The landscape's shoot kube-apiserver is envtest's, on this machine, where neither the
// name nor the Service IP means anything, so the landscape provides both: the shoot's kube-apiserver runs in a mount
// namespace of its own whose /etc/hosts names an address of the landscape for the Service (startCluster), and the
// landscape forwards that address's port 443 to a ready endpoint of the Service, as kube-proxy would.

// shootHostsFile is the hosts file the shoot's kube-apiserver sees as /etc/hosts.
func (l *landscape) shootHostsFile() string { return l.path("shoot-hosts") }

// apiserverWrapper writes a script that runs the kube-apiserver binary with hostsFile bind-mounted over /etc/hosts
// in a private mount namespace, and returns its path.
func (l *landscape) apiserverWrapper(hostsFile string) (string, error) {
	apiserver := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kube-apiserver")
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(hostsFile, hosts, 0o644); err != nil { //nolint:gosec // a hosts file is read by everyone
		return "", err
	}
	script := l.path("shoot-kube-apiserver.sh")
	content := fmt.Sprintf("#!/bin/sh\n# The shoot's kube-apiserver with the landscape's hosts file (test/landscape/shootwebhooks.go).\n"+
		"exec unshare --mount --propagation private sh -c 'mount --bind \"$0\" /etc/hosts && exec \"$@\"' %q %q \"$@\"\n", hostsFile, apiserver)
	if err := os.WriteFile(script, []byte(content), 0o755); err != nil { //nolint:gosec // an executable script
		return "", err
	}
	return script, nil
}

// serveShootWebhooks makes the shoot's kube-apiserver reach the shoot resource manager's webhooks: the Service's
// name resolves to <pod network>.0.254 in the hosts file, and that address's port 443 is forwarded to a ready
// endpoint of the Service, looked up for every connection (the resource manager's pod is replaced when it is
// deployed again).
func (l *landscape) serveShootWebhooks(ctx context.Context) error {
	if os.Getuid() != 0 {
		return errors.New("the shoot's webhooks need root: the shoot's kube-apiserver runs with a hosts file of its own and the landscape serves an address on the loopback interface")
	}
	ip := podNetwork() + ".0.254"
	if err := addLoopbackAddress(ip); err != nil {
		return err
	}
	name := resourcemanagerconstants.ServiceName + "." + seedNamespace
	f, err := os.OpenFile(l.shootHostsFile(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s %s %s.svc %s.svc.cluster.local\n", ip, name, name, name)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", net.JoinHostPort(ip, "443"))
	if err != nil {
		return fmt.Errorf("serving the resource manager's webhooks for the shoot: %w", err)
	}
	go func() {
		<-ctx.Done()
		_ = listener.Close()
		_ = deleteLoopbackAddress(ip)
	}()
	go l.forward(ctx, listener, resourcemanagerconstants.ServiceName)
	l.step(fmt.Sprintf("the shoot's kube-apiserver reaches the shoot resource manager's webhooks at %s:443 (%s in its hosts file, forwarded to the Service's endpoints)", name, ip))
	return nil
}

func (l *landscape) forward(ctx context.Context, listener net.Listener, service string) {
	for {
		conn, err := listener.Accept()
		if err != nil {
			return
		}
		go func() {
			defer func() { _ = conn.Close() }()
			target, err := l.serviceEndpoint(ctx, service, 443)
			if err != nil {
				l.logf("shoot webhooks: %v", err)
				return
			}
			upstream, err := net.Dial("tcp", target)
			if err != nil {
				l.logf("shoot webhooks: %v", err)
				return
			}
			defer func() { _ = upstream.Close() }()
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(upstream, conn); _ = upstream.(*net.TCPConn).CloseWrite() }()
			go func() { defer wg.Done(); _, _ = io.Copy(conn, upstream); _ = conn.(*net.TCPConn).CloseWrite() }()
			wg.Wait()
		}()
	}
}

// serviceEndpoint is a ready endpoint address of a seed Service's port in the control plane namespace.
func (l *landscape) serviceEndpoint(ctx context.Context, name string, port int32) (string, error) {
	svc := &corev1.Service{}
	if err := l.seed.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: name}, svc); err != nil {
		return "", err
	}
	var portName string
	for _, p := range svc.Spec.Ports {
		if p.Port == port {
			portName = p.Name
		}
	}
	slices := &discoveryv1.EndpointSliceList{}
	if err := l.seed.List(ctx, slices, client.InNamespace(seedNamespace), client.MatchingLabels{discoveryv1.LabelServiceName: name}); err != nil {
		return "", err
	}
	for _, slice := range slices.Items {
		var target int32
		for _, p := range slice.Ports {
			if p.Port != nil && (p.Name == nil && portName == "" || p.Name != nil && *p.Name == portName) {
				target = *p.Port
			}
		}
		for _, e := range slice.Endpoints {
			if target != 0 && len(e.Addresses) > 0 && (e.Conditions.Ready == nil || *e.Conditions.Ready) {
				return net.JoinHostPort(e.Addresses[0], strconv.Itoa(int(target))), nil
			}
		}
	}
	return "", fmt.Errorf("service %s/%s has no ready endpoint for port %d", seedNamespace, name, port)
}

func addLoopbackAddress(ip string) error {
	if out, err := exec.Command("ip", "addr", "replace", ip+"/32", "dev", "lo").CombinedOutput(); err != nil {
		return fmt.Errorf("adding %s to lo: %w: %s", ip, err, out)
	}
	return nil
}

func deleteLoopbackAddress(ip string) error {
	if out, err := exec.Command("ip", "addr", "del", ip+"/32", "dev", "lo").CombinedOutput(); err != nil {
		return fmt.Errorf("removing %s from lo: %w: %s", ip, err, out)
	}
	return nil
}
