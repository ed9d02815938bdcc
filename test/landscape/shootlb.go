package landscape

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/imagevector"
	"github.com/openkcm/gardener-extension-provider-metal/test/landscape/lan"
)

const (
	// metallbNamespace is where the ControlPlane's shoot chart deploys MetalLB.
	metallbNamespace = "kube-system"
	// serviceAddress is the one address of the example ControlPlaneConfig's MetalLB pool
	// (example/landscape/40-controlplane.yaml), on the nodes' layer-2 segment.
	serviceAddress = "10.253.0.200"
	// loopbackAddressAnnotation gives, without ipamKind, a Node's InternalIP to the cloud-controller-manager
	// (cloud-provider-metal v0.3.0 pkg/cloudprovider/metal/cloud.go LoopbackAddressAnnotation).
	loopbackAddressAnnotation = "metal.ironcore.dev/loopback-address"
	lbService                 = "lb-demo"
)

// segmentPrefix is the layer-2 segment of the Servers: each Server's network namespace has its eth0 there.
var segmentPrefix = netip.MustParsePrefix("10.253.0.0/24")

// startServerNetwork gives every Server a network of its own, as a rack's servers share a layer-2 segment: a
// network namespace per Server with eth0 on a bridge (package lan), addressed 10.253.0.<11+n>. The process kubelet
// of a booted Server runs its hostNetwork pods there (MetalLB's speaker answers ARP on that eth0). The operator's
// part: each Server is annotated with that address as its loopback address, from which the cloud-controller-manager
// sets the Node's InternalIP without IPAM. Without root (no network namespaces) the landscape says so and the
// shoot's hostNetwork pods share the host's network.
func (l *landscape) startServerNetwork(ctx context.Context) error {
	if os.Getuid() != 0 {
		l.step("Server network: not root, so no network namespaces; hostNetwork pods of the shoot share this machine's network and no ARP is shown")
		return nil
	}
	segment, err := lan.New(fmt.Sprintf("lsc%d", os.Getpid()), segmentPrefix)
	if err != nil {
		return fmt.Errorf("creating the Servers' layer-2 segment: %w", err)
	}
	l.segment = segment
	servers := &metalv1alpha1.ServerList{}
	if err := l.metal.Client().List(ctx, servers); err != nil {
		return err
	}
	slices.SortFunc(servers.Items, func(a, b metalv1alpha1.Server) int { return strings.Compare(a.Name, b.Name) })
	addr := segmentPrefix.Addr()
	for range 11 {
		addr = addr.Next()
	}
	for i := range servers.Items {
		server := &servers.Items[i]
		if _, err := segment.AddNode(server.Name, addr); err != nil {
			return err
		}
		patch := client.MergeFrom(server.DeepCopy())
		metav1.SetMetaDataAnnotation(&server.ObjectMeta, loopbackAddressAnnotation, addr.String())
		if err := l.metal.Client().Patch(ctx, server, patch); err != nil {
			return fmt.Errorf("annotating Server %s with its address: %w", server.Name, err)
		}
		addr = addr.Next()
	}
	l.step(fmt.Sprintf("Server network: %d Servers on layer-2 segment %s (a network namespace each, eth0 on a bridge), each annotated with its address as %s",
		len(servers.Items), segmentPrefix, loopbackAddressAnnotation))
	return nil
}

func (l *landscape) stopServerNetwork() {
	if l.segment != nil {
		if err := l.segment.Close(); err != nil {
			l.step("removing the Servers' network namespaces: " + err.Error())
		}
	}
}

// serverNetns is the network namespace of a Server, or "" without the segment.
func (l *landscape) serverNetns(server string) string {
	if l.segment == nil {
		return ""
	}
	if n := l.segment.Node(server); n != nil {
		return n.Netns
	}
	return ""
}

// metallbImages maps MetalLB's images to the binaries of hack/metallb.sh when they are given.
func (l *landscape) metallbImages(images map[string]string) error {
	if l.opts.Binaries.MetalLB == "" {
		return nil
	}
	for name, binary := range map[string]string{"metallb-controller": "controller", "metallb-speaker": "speaker"} {
		image, err := imagevector.ImageVector().FindImage(name)
		if err != nil {
			return err
		}
		images[*image.Repository] = filepath.Join(l.opts.Binaries.MetalLB, binary)
	}
	return nil
}

// checkLoadBalancer shows MetalLB at work as the ControlPlane deployed it: its controller and speakers run; a
// Service of type LoadBalancer gets the pool's address, which the speaker of one node announces (one ARP answer on
// the segment, from that node's eth0); the address stays across a restart of MetalLB (the controller's process
// killed, the speaker pods replaced) and of the extension (which reconciles the ControlPlane again); deleting the
// Service releases the address, which a second Service then gets.
func (l *landscape) checkLoadBalancer(ctx context.Context) error {
	l.step("load balancing: metal-load-balancer-controller is not served by the Go module proxy; the example uses MetalLB (its manager and speaker run only with --binary for their images)")
	if l.opts.Binaries.MetalLB == "" {
		l.step("load balancing: no MetalLB binaries given (hack/metallb.sh); MetalLB's pods stay Pending and no Service gets an address")
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	if err := l.waitMetalLB(ctx); err != nil {
		return err
	}
	if err := l.createLBBackend(ctx); err != nil {
		return err
	}
	if err := l.createLBService(ctx, lbService); err != nil {
		return err
	}
	announcer, err := l.waitServiceAddress(ctx, lbService)
	if err != nil {
		return err
	}
	l.step(fmt.Sprintf("load balancing: Service default/%s got %s from MetalLB's pool; ARP on the segment answered by %s", lbService, serviceAddress, announcer))

	if err := l.restartMetalLB(ctx); err != nil {
		return err
	}
	if err := l.restartExtension(ctx); err != nil {
		return err
	}
	if announcer, err = l.waitServiceAddress(ctx, lbService); err != nil {
		return err
	}
	l.step(fmt.Sprintf("load balancing: after MetalLB and the extension restarted, Service default/%s keeps %s; ARP answered by %s", lbService, serviceAddress, announcer))

	if err := l.deleteService(ctx, lbService); err != nil {
		return err
	}
	second := lbService + "-2"
	if err := l.createLBService(ctx, second); err != nil {
		return err
	}
	if announcer, err = l.waitServiceAddress(ctx, second); err != nil {
		return err
	}
	l.step(fmt.Sprintf("load balancing: Service default/%s deleted, its address released: Service default/%s got %s; ARP answered by %s", lbService, second, serviceAddress, announcer))
	return nil
}

// waitMetalLB waits until MetalLB's controller and a speaker per Node run and are ready.
func (l *landscape) waitMetalLB(ctx context.Context) error {
	for {
		err := l.metallbReady(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("MetalLB did not become ready: %w", err)
		case <-time.After(time.Second):
		}
	}
}

func (l *landscape) metallbReady(ctx context.Context) error {
	nodes := &corev1.NodeList{}
	if err := l.shoot.List(ctx, nodes); err != nil {
		return err
	}
	pods := &corev1.PodList{}
	if err := l.shoot.List(ctx, pods, client.InNamespace(metallbNamespace)); err != nil {
		return err
	}
	controllers, speakers := 0, 0
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.DeletionTimestamp != nil || !podReady(pod) {
			continue
		}
		switch pod.Labels["component"] {
		case "controller":
			controllers++
		case "speaker":
			speakers++
		}
	}
	if controllers != 1 || speakers != len(nodes.Items) {
		return fmt.Errorf("%d of 1 controller and %d of %d speakers ready", controllers, speakers, len(nodes.Items))
	}
	return nil
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// createLBBackend runs the pod behind the Services: MetalLB's speaker announces only Services with a ready endpoint.
func (l *landscape) createLBBackend(ctx context.Context) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: "lb-backend", Labels: map[string]string{"app": "lb-backend"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:    "backend",
				Image:   shellImage,
				Command: []string{"/bin/sh", "-c", "exec sleep 86400"},
				Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			}},
			TerminationGracePeriodSeconds: ptr.To[int64](1),
		},
	}
	if err := l.shoot.Create(ctx, pod); err != nil {
		return fmt.Errorf("creating pod %s: %w", pod.Name, err)
	}
	return nil
}

func (l *landscape) createLBService(ctx context.Context, name string) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: name},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "lb-backend"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	if err := l.shoot.Create(ctx, svc); err != nil {
		return fmt.Errorf("creating Service %s: %w", name, err)
	}
	return nil
}

// waitServiceAddress waits until the Service has the pool's address and exactly one node answers ARP for it, and
// returns that node.
func (l *landscape) waitServiceAddress(ctx context.Context, name string) (string, error) {
	var last error
	for {
		announcer, err := l.serviceAnnouncer(ctx, name)
		if err == nil {
			return announcer, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("service %s: %w", name, last)
		case <-time.After(time.Second):
		}
	}
}

func (l *landscape) serviceAnnouncer(ctx context.Context, name string) (string, error) {
	svc := &corev1.Service{}
	if err := l.shoot.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceDefault, Name: name}, svc); err != nil {
		return "", err
	}
	var ips []string
	for _, ingress := range svc.Status.LoadBalancer.Ingress {
		ips = append(ips, ingress.IP)
	}
	if !slices.Equal(ips, []string{serviceAddress}) {
		return "", fmt.Errorf("load balancer ingress %v, want [%s]", ips, serviceAddress)
	}
	if l.segment == nil {
		return "(no segment)", nil
	}
	macs, err := l.segment.ARPWhoHas(netip.MustParseAddr(serviceAddress))
	if err != nil {
		return "", err
	}
	if len(macs) != 1 {
		return "", fmt.Errorf("%d ARP answers for %s, want 1", len(macs), serviceAddress)
	}
	server := l.segment.NodeWithMAC(macs[0])
	node := l.nodes.nodes()[server]
	return fmt.Sprintf("%s (Server %s, eth0 %s)", node, server, macs[0]), nil
}

// restartMetalLB kills the controller's process (the process kubelet restarts the container) and replaces every
// speaker pod (the DaemonSet creates new ones).
func (l *landscape) restartMetalLB(ctx context.Context) error {
	pods := &corev1.PodList{}
	if err := l.shoot.List(ctx, pods, client.InNamespace(metallbNamespace)); err != nil {
		return err
	}
	var speakers []string
	for i := range pods.Items {
		pod := &pods.Items[i]
		switch pod.Labels["component"] {
		case "controller":
			if err := l.killPodContainer(l.path("shoot-pods"), pod, "controller"); err != nil {
				return err
			}
		case "speaker":
			speakers = append(speakers, pod.Name)
			if err := l.shoot.Delete(ctx, pod); client.IgnoreNotFound(err) != nil {
				return err
			}
		}
	}
	for _, name := range speakers {
		for {
			err := l.shoot.Get(ctx, client.ObjectKey{Namespace: metallbNamespace, Name: name}, &corev1.Pod{})
			if apierrors.IsNotFound(err) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("speaker pod %s did not go: %w", name, ctx.Err())
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	if err := l.waitMetalLB(ctx); err != nil {
		return err
	}
	l.step(fmt.Sprintf("load balancing: MetalLB restarted (controller's process killed, %d speaker pods replaced) and ready again", len(speakers)))
	return nil
}

// killPodContainer SIGKILLs a pod's container through the pid file its process kubelet keeps in podsDir.
func (l *landscape) killPodContainer(podsDir string, pod *corev1.Pod, container string) error {
	data, err := os.ReadFile(filepath.Join(podsDir, pod.Namespace, pod.Name, container+".pid"))
	if err != nil {
		return fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return err
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// restartExtension stops the extension and starts it again, then has the ControlPlane reconciled, as gardenlet
// does at the next shoot reconciliation, and waits for it to succeed.
func (l *landscape) restartExtension(ctx context.Context) error {
	p := l.takeProc(func(p *process) bool { return p.name == "extension" })
	if p == nil {
		return errors.New("the extension is not running")
	}
	p.stop()
	if err := l.startExtension(ctx); err != nil {
		return err
	}
	cp := &extensionsv1alpha1.ControlPlane{}
	if err := l.seed.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: "metal"}, cp); err != nil {
		return err
	}
	since := time.Now().Truncate(time.Second)
	patch := client.MergeFrom(cp.DeepCopy())
	metav1.SetMetaDataAnnotation(&cp.ObjectMeta, v1beta1constants.GardenerOperation, v1beta1constants.GardenerOperationReconcile)
	if err := l.seed.Patch(ctx, cp, patch); err != nil {
		return err
	}
	for {
		if err := l.seed.Get(ctx, client.ObjectKeyFromObject(cp), cp); err != nil {
			return err
		}
		op := cp.Status.LastOperation
		if cp.Annotations[v1beta1constants.GardenerOperation] == "" && op != nil && op.State == "Succeeded" && !op.LastUpdateTime.Time.Before(since) {
			l.step("load balancing: the extension restarted and reconciled the ControlPlane again")
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the ControlPlane was not reconciled after the extension's restart: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// deleteService deletes a Service and waits until it is gone.
func (l *landscape) deleteService(ctx context.Context, name string) error {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: name}}
	if err := l.shoot.Delete(ctx, svc); client.IgnoreNotFound(err) != nil {
		return err
	}
	for {
		err := l.shoot.Get(ctx, client.ObjectKeyFromObject(svc), svc)
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("service %s is not gone: %w", name, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// serviceLines describes the shoot's LoadBalancer Services and their addresses, for the summary.
func (l *landscape) serviceLines(ctx context.Context) []string {
	services := &corev1.ServiceList{}
	if err := l.shoot.List(ctx, services); err != nil {
		return nil
	}
	var lines []string
	for _, svc := range services.Items {
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		var ips []string
		for _, ingress := range svc.Status.LoadBalancer.Ingress {
			ips = append(ips, ingress.IP)
		}
		lines = append(lines, fmt.Sprintf("Service %s/%s type LoadBalancer, address %s", svc.Namespace, svc.Name, strings.Join(ips, ",")))
	}
	return lines
}
