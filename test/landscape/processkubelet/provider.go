package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// provider is virtual-kubelet's PodLifecycleHandler and PodNotifier: it runs a podRunner per pod bound to the
// node and reports their statuses.
type provider struct {
	cfg        *config
	client     kubernetes.Interface
	secrets    corev1listers.SecretLister
	configMaps corev1listers.ConfigMapLister
	// services tell which ports of a pod are reached through a Service besides its declared container ports.
	services corev1listers.ServiceLister
	ips      *ipam

	mu       sync.Mutex
	pods     map[string]*podRunner
	notifyFn func(*corev1.Pod)
}

func newProvider(cfg *config, client kubernetes.Interface, secrets corev1listers.SecretLister, configMaps corev1listers.ConfigMapLister, services corev1listers.ServiceLister) *provider {
	return &provider{cfg: cfg, client: client, secrets: secrets, configMaps: configMaps, services: services, ips: newIPAM(cfg.podCIDR), pods: map[string]*podRunner{}}
}

func podKey(namespace, name string) string { return namespace + "/" + name }

// CreatePod starts running a pod.
func (p *provider) CreatePod(ctx context.Context, pod *corev1.Pod) error {
	key := podKey(pod.Namespace, pod.Name)
	hostIP := p.hostIP(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.pods[key]; ok {
		if r.spec.UID == pod.UID {
			r.update(pod)
			return nil
		}
		return fmt.Errorf("pod %s: an earlier pod of that name is still stopping", key)
	}
	podIP := hostIP
	if !pod.Spec.HostNetwork {
		// A pod that ran before a restart of this kubelet keeps its IP: the API server keeps pod IPs once set.
		ip, err := p.ips.allocate(pod.Status.PodIP)
		if err != nil {
			return err
		}
		podIP = ip
	}
	r := newPodRunner(p, pod, podIP, hostIP)
	p.pods[key] = r
	go r.run()
	return nil
}

// UpdatePod hands the newest pod object to its runner; container specs are not changed in place.
func (p *provider) UpdatePod(_ context.Context, pod *corev1.Pod) error {
	r := p.runner(pod.Namespace, pod.Name)
	if r == nil {
		return errdefs.NotFoundf("pod %s/%s is not known", pod.Namespace, pod.Name)
	}
	r.update(pod)
	return nil
}

// DeletePod stops a pod's containers (SIGTERM, SIGKILL after the grace period) and forgets the pod once they
// are gone; virtual-kubelet then deletes the pod object with grace period 0, as a kubelet does.
func (p *provider) DeletePod(_ context.Context, pod *corev1.Pod) error {
	r := p.runner(pod.Namespace, pod.Name)
	if r == nil {
		return errdefs.NotFoundf("pod %s/%s is not known", pod.Namespace, pod.Name)
	}
	r.update(pod)
	r.terminate(gracePeriod(pod))
	go func() {
		<-r.finished
		p.forget(r)
		p.deleteObject(pod)
	}()
	return nil
}

// deleteObject deletes the pod object with grace period 0 once its containers are gone, as the kubelet's status
// manager does; virtual-kubelet would do so only after the whole grace period (its status updates do not wake
// its pod queue).
func (p *provider) deleteObject(pod *corev1.Pod) {
	opts := *metav1.NewDeleteOptions(0)
	opts.Preconditions = metav1.NewUIDPreconditions(string(pod.UID))
	err := p.client.CoreV1().Pods(pod.Namespace).Delete(context.Background(), pod.Name, opts)
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		slog.Error("deleting the pod object", "pod", podKey(pod.Namespace, pod.Name), "error", err)
	}
}

// gracePeriod is the deletion's grace period, else the pod's terminationGracePeriodSeconds, else 30s.
func gracePeriod(pod *corev1.Pod) time.Duration {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

func (p *provider) forget(r *podRunner) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pods[r.key] == r {
		delete(p.pods, r.key)
		// The volumes hold secrets; a pod that had finished before its deletion still has them.
		_ = os.RemoveAll(filepath.Join(r.dir, "volumes"))
		if !r.spec.Spec.HostNetwork {
			removeLoopbackAddress(r.podIP)
			p.ips.release(r.podIP)
		}
	}
}

func (p *provider) runner(namespace, name string) *podRunner {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pods[podKey(namespace, name)]
}

// GetPod returns the pod with its current status.
func (p *provider) GetPod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	r := p.runner(namespace, name)
	if r == nil {
		return nil, errdefs.NotFoundf("pod %s/%s is not known", namespace, name)
	}
	return r.snapshot(), nil
}

// GetPodStatus returns the pod's current status.
func (p *provider) GetPodStatus(ctx context.Context, namespace, name string) (*corev1.PodStatus, error) {
	pod, err := p.GetPod(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return &pod.Status, nil
}

// GetPods returns all pods the provider runs.
func (p *provider) GetPods(context.Context) ([]*corev1.Pod, error) {
	p.mu.Lock()
	runners := make([]*podRunner, 0, len(p.pods))
	for _, r := range p.pods {
		runners = append(runners, r)
	}
	p.mu.Unlock()
	pods := make([]*corev1.Pod, 0, len(runners))
	for _, r := range runners {
		pods = append(pods, r.snapshot())
	}
	return pods, nil
}

// NotifyPods registers virtual-kubelet's status callback.
func (p *provider) NotifyPods(_ context.Context, f func(*corev1.Pod)) {
	p.mu.Lock()
	p.notifyFn = f
	p.mu.Unlock()
}

func (p *provider) notify(pod *corev1.Pod) {
	p.mu.Lock()
	f := p.notifyFn
	p.mu.Unlock()
	if f != nil {
		f(pod)
	}
}

// shutdown stops every pod (the kubelet is stopping), each within at most grace, and waits for them.
func (p *provider) shutdown(grace time.Duration) {
	p.mu.Lock()
	runners := make([]*podRunner, 0, len(p.pods))
	for _, r := range p.pods {
		runners = append(runners, r)
	}
	p.mu.Unlock()
	for _, r := range runners {
		r.terminate(min(grace, gracePeriod(r.snapshot())))
	}
	for _, r := range runners {
		<-r.finished
	}
}

// secret reads from the informer's cache and falls back to the API for objects the cache has not seen yet.
func (p *provider) secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	s, err := p.secrets.Secrets(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return p.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	return s, err
}

func (p *provider) configMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	cm, err := p.configMaps.ConfigMaps(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return p.client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	return cm, err
}

// ipam hands out pod IPs from the node's range (--pod-cidr); the network and the first address are skipped.
type ipam struct {
	mu     sync.Mutex
	prefix netip.Prefix
	next   netip.Addr
	used   map[netip.Addr]bool
}

func newIPAM(prefix netip.Prefix) *ipam {
	return &ipam{prefix: prefix, next: prefix.Addr().Next(), used: map[netip.Addr]bool{}}
}

// allocate hands out want when it is a free address of the range, else the next free one.
func (a *ipam) allocate(want string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if addr, err := netip.ParseAddr(want); err == nil && a.prefix.Contains(addr) && addr != a.prefix.Addr() && !a.used[addr] {
		a.used[addr] = true
		return want, nil
	}
	start := a.next
	for {
		ip := a.next
		a.next = a.next.Next()
		if !a.prefix.Contains(a.next) {
			a.next = a.prefix.Addr().Next()
		}
		if !a.used[ip] {
			a.used[ip] = true
			return ip.String(), nil
		}
		if a.next == start {
			return "", fmt.Errorf("no free pod IP in %s", a.prefix)
		}
	}
}

func (a *ipam) release(ip string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if addr, err := netip.ParseAddr(ip); err == nil {
		delete(a.used, addr)
	}
}

// hostIP is the node's IP as the kubelet gives it to pods (status.hostIP, and the pod IP of hostNetwork pods):
// --node-ip, or else the Node's first InternalIP, which the cloud-controller-manager sets for a kubelet that
// leaves addresses to the cloud provider (the kubelet's nodeutil.GetNodeHostIPs); 127.0.0.1 while it has none.
func (p *provider) hostIP(ctx context.Context) string {
	if p.cfg.nodeIP != "" {
		return p.cfg.nodeIP
	}
	node, err := p.client.CoreV1().Nodes().Get(ctx, p.cfg.nodeName, metav1.GetOptions{})
	if err == nil {
		for _, a := range node.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				return a.Address
			}
		}
	}
	return p.cfg.hostIP()
}
