package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Container state reasons this kubelet reports beyond the kubelet's own (ContainerCreating, PodInitializing,
// CrashLoopBackOff, CreateContainerConfigError, StartError, Completed, Error).
const (
	// reasonImageNotBuildable: no binary is mapped to the container's image (--image, --image-map).
	reasonImageNotBuildable = "ImageNotBuildable"
	// reasonNetworkSetupFailed: the pod's network namespace or its port forwarding could not be set up.
	reasonNetworkSetupFailed = "NetworkSetupFailed"
)

// reasonVolumeNotReady: a volume could not be materialized yet (missing Secret or key, unbound claim, ...);
// retried. The kubelet reports such a pod's containers as ContainerCreating (and the mount failure as a
// FailedMount event), so this kubelet does too: waiting for a volume is not an error.
const reasonVolumeNotReady = "ContainerCreating"

// podRunner runs one pod: its network namespace and forwarding, volumes, init containers in order and then the
// regular containers, each with restarts, back-off and probes; it reports the pod's status through the
// provider's notifier.
type podRunner struct {
	p      *provider
	key    string
	dir    string
	podIP  string
	hostIP string

	// spec is the pod as created, read without the lock: the fields used from it (UID, name, restartPolicy,
	// hostNetwork, securityContext, grace period) cannot change.
	spec *corev1.Pod

	mu          sync.Mutex
	pod         *corev1.Pod
	startTime   metav1.Time
	containers  []*container
	initDone    bool
	failedPhase bool
	message     string
	terminating bool
	grace       time.Duration

	thread  *podThread
	bridges []*bridge
	relays  []*udpRelay
	vols    *volumes

	stop     chan struct{}
	stopOnce sync.Once
	finished chan struct{}
	notifyCh chan struct{}
}

// container is the state of one init or regular container.
type container struct {
	spec      corev1.Container
	init      bool
	binary    string
	state     corev1.ContainerState
	lastState corev1.ContainerState
	restarts  int32
	ready     bool
	started   bool
	runs      int
	pid       int
	id        string
}

func newPodRunner(p *provider, pod *corev1.Pod, podIP, hostIP string) *podRunner {
	r := &podRunner{
		p:         p,
		key:       pod.Namespace + "/" + pod.Name,
		dir:       filepath.Join(p.cfg.stateDir, pod.Namespace, pod.Name),
		podIP:     podIP,
		hostIP:    hostIP,
		spec:      pod.DeepCopy(),
		pod:       pod.DeepCopy(),
		startTime: metav1.Now(),
		stop:      make(chan struct{}),
		finished:  make(chan struct{}),
		notifyCh:  make(chan struct{}, 1),
	}
	waiting := "ContainerCreating"
	for _, c := range pod.Spec.InitContainers {
		r.containers = append(r.containers, &container{spec: c, init: true, state: waitingState(waiting, "")})
	}
	if len(pod.Spec.InitContainers) > 0 {
		waiting = "PodInitializing"
	}
	for _, c := range pod.Spec.Containers {
		r.containers = append(r.containers, &container{spec: c, state: waitingState(waiting, "")})
	}
	return r
}

func waitingState(reason, message string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
}

func (r *podRunner) log() *slog.Logger { return slog.With("pod", r.key) }

// changed schedules a status notification; notifications coalesce.
func (r *podRunner) changed() {
	select {
	case r.notifyCh <- struct{}{}:
	default:
	}
}

// notifier sends the status after every change until the runner is finished, and once more after that.
func (r *podRunner) notifier() {
	for {
		select {
		case <-r.notifyCh:
			r.p.notify(r.snapshot())
		case <-r.finished:
			r.p.notify(r.snapshot())
			return
		}
	}
}

func (r *podRunner) stopping() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// terminate stops the pod: SIGTERM to every container, SIGKILL after grace.
func (r *podRunner) terminate(grace time.Duration) {
	r.stopOnce.Do(func() {
		r.mu.Lock()
		r.grace = grace
		r.mu.Unlock()
		close(r.stop)
	})
}

// update takes the newest pod object (labels, annotations and deletion for the downward API and status).
func (r *podRunner) update(pod *corev1.Pod) {
	r.mu.Lock()
	r.pod = pod.DeepCopy()
	r.mu.Unlock()
	r.changed()
}

// run is the pod's life; it returns when every container has stopped for good.
func (r *podRunner) run() {
	defer close(r.finished)
	go r.notifier()
	go r.killOnStop()
	defer r.teardown()
	r.changed()
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		r.fail(reasonVolumeNotReady, fmt.Sprintf("creating the pod directory: %v", err))
		return
	}
	if !r.resolveImages() {
		<-r.stop
		return
	}
	if err := r.setupNetwork(); err != nil {
		r.fail(reasonNetworkSetupFailed, err.Error())
		<-r.stop
		return
	}
	if !r.setupVolumes() {
		return
	}
	go r.refreshVolumes()
	for _, c := range r.containers {
		if c.init && !r.runInit(c) {
			return
		}
	}
	r.mu.Lock()
	r.initDone = true
	for _, c := range r.containers {
		if !c.init {
			c.state = waitingState("ContainerCreating", "")
		}
	}
	r.mu.Unlock()
	r.changed()
	var wg sync.WaitGroup
	for _, c := range r.containers {
		if !c.init {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.runRegular(c)
			}()
		}
	}
	wg.Wait()
}

// fail marks every container as waiting with reason and the pod with message; the pod stays Pending.
func (r *podRunner) fail(reason, message string) {
	r.log().Error("pod cannot start", "reason", reason, "message", message)
	r.mu.Lock()
	r.message = message
	for _, c := range r.containers {
		if c.state.Running == nil && c.state.Terminated == nil {
			c.state = waitingState(reason, message)
		}
	}
	r.mu.Unlock()
	r.changed()
}

// resolveImages maps every image to its binary; a missing one keeps the pod Pending for good, naming the image.
func (r *podRunner) resolveImages() bool {
	r.mu.Lock()
	var missing []string
	for _, c := range r.containers {
		bin, ok := r.p.cfg.images.lookup(c.spec.Image)
		if !ok {
			msg := fmt.Sprintf("image %q has no binary (map it with --image or --image-map)", c.spec.Image)
			c.state = waitingState(reasonImageNotBuildable, msg)
			missing = append(missing, c.spec.Image)
			continue
		}
		c.binary = bin
	}
	if len(missing) > 0 {
		r.message = fmt.Sprintf("images without a binary: %v", missing)
	}
	r.mu.Unlock()
	r.changed()
	if len(missing) > 0 {
		r.log().Error("images without a binary", "images", missing)
	}
	return len(missing) == 0
}

// setupNetwork creates the pod's network namespace (unless hostNetwork) with the forwarders: every
// --forward-port P from 127.0.0.1:P inside the pod to 127.0.0.1:P on the host (TCP and UDP), and every TCP containerPort from
// podIP:port on the host to podIP:port (or, if refused, 127.0.0.1:port) inside the pod.
func (r *podRunner) setupNetwork() error {
	hostNetwork := r.spec.Spec.HostNetwork
	var join string
	if hostNetwork {
		join = r.p.cfg.hostNetNS
	}
	t, err := newPodThread(!hostNetwork, join)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.thread = t
	r.mu.Unlock()
	if hostNetwork {
		return nil
	}
	for _, ns := range []*podThread{nil, t} {
		if err := addLoopbackAddress(r.podIP, ns); err != nil {
			return err
		}
	}
	bridges, relays, err := forwardOutbound(t, r.p.cfg.outboundPorts())
	r.bridges = append(r.bridges, bridges...)
	r.relays = append(r.relays, relays...)
	if err != nil {
		return err
	}
	seen := map[int32]bool{}
	for _, port := range r.inboundPorts() {
		if seen[port] {
			continue
		}
		seen[port] = true
		{
			p := strconv.Itoa(int(port))
			ln, err := net.Listen("tcp", net.JoinHostPort(r.podIP, p))
			if err != nil {
				return fmt.Errorf("listening on the pod IP %s:%s on the host: %w", r.podIP, p, err)
			}
			r.bridges = append(r.bridges, newBridge(ln, t.dialContext, net.JoinHostPort(r.podIP, p), net.JoinHostPort("127.0.0.1", p)))
		}
	}
	return nil
}

// inboundPorts are the TCP ports the host reaches the pod on: its declared container ports and the numeric target
// ports of the Services in its namespace that select it when it starts (a Service may target a port no container
// declares, as gardener-resource-manager's webhook port).
func (r *podRunner) inboundPorts() []int32 {
	var ports []int32
	for _, c := range r.containers {
		for _, port := range c.spec.Ports {
			if port.Protocol == "" || port.Protocol == corev1.ProtocolTCP {
				ports = append(ports, port.ContainerPort)
			}
		}
	}
	if r.p.services == nil {
		return ports
	}
	services, err := r.p.services.Services(r.spec.Namespace).List(labels.Everything())
	if err != nil {
		return ports
	}
	for _, svc := range services {
		if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(r.spec.Labels)) {
			continue
		}
		for _, port := range svc.Spec.Ports {
			if (port.Protocol == "" || port.Protocol == corev1.ProtocolTCP) && port.TargetPort.Type == intstr.Int && port.TargetPort.IntVal != 0 {
				ports = append(ports, port.TargetPort.IntVal)
			}
		}
	}
	return ports
}

// dial connects to an address as seen from inside the pod.
func (r *podRunner) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if r.thread == nil {
		return nil, fmt.Errorf("pod network is not set up")
	}
	return r.thread.dialContext(ctx, network, addr)
}

// facts returns what the downward API reports about the pod now.
func (r *podRunner) facts() podFacts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return podFacts{pod: r.pod.DeepCopy(), podIP: r.podIP, hostIP: r.hostIP, capacity: r.p.cfg.capacity()}
}

// volumeOwner: the pod's fsGroup owns the files; if all containers run as one non-root user, that user does
// too, so that the files (0600 tokens, say) stay readable after setuid. The kubelet does the latter for
// projected service account tokens only.
func (r *podRunner) volumeOwner() owner {
	o := owner{uid: -1, gid: -1}
	psc := r.spec.Spec.SecurityContext
	if psc != nil && psc.FSGroup != nil {
		o.gid = int(*psc.FSGroup)
	}
	uid := int64(-1)
	for i, c := range r.containers {
		u := int64(0)
		if id := runAsUser(r.spec, &c.spec); id != nil {
			u = *id
		}
		if i == 0 {
			uid = u
		} else if u != uid {
			return o
		}
	}
	if uid > 0 {
		o.uid = int(uid)
	}
	return o
}

// setupVolumes materializes the volumes, retrying until it works or the pod stops.
func (r *podRunner) setupVolumes() bool {
	r.vols = newVolumes(filepath.Join(r.dir, "volumes"), r.p.client, r.p, r.volumeOwner())
	for {
		err := r.vols.sync(context.Background(), r.facts())
		if err == nil {
			r.mu.Lock()
			r.message = ""
			r.mu.Unlock()
			return true
		}
		r.fail(reasonVolumeNotReady, "MountVolume: "+err.Error())
		select {
		case <-r.stop:
			return false
		case <-time.After(r.p.cfg.volumeSyncPeriod):
		}
	}
}

// refreshVolumes rewrites changed volumes (rotated Secrets, tokens near expiry) until the pod stops.
func (r *podRunner) refreshVolumes() {
	ticker := time.NewTicker(r.p.cfg.volumeSyncPeriod)
	defer ticker.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-ticker.C:
			if err := r.vols.sync(context.Background(), r.facts()); err != nil {
				r.log().Error("refreshing volumes", "error", err)
			}
		}
	}
}

// killOnStop sends SIGTERM to every running container when the pod stops and SIGKILL after the grace period.
func (r *podRunner) killOnStop() {
	select {
	case <-r.stop:
	case <-r.finished:
		return
	}
	r.mu.Lock()
	r.terminating = true
	grace := r.grace
	for _, c := range r.containers {
		if c.pid > 0 {
			signalGroup(c.pid, sigterm)
		}
	}
	r.mu.Unlock()
	select {
	case <-r.finished:
		return
	case <-time.After(grace):
	}
	r.mu.Lock()
	for _, c := range r.containers {
		if c.pid > 0 {
			signalGroup(c.pid, sigkill)
		}
	}
	r.mu.Unlock()
}

// teardown ends forwarding and the namespace and removes the volumes (they hold secrets) when the pod stops
// for good; the logs stay.
func (r *podRunner) teardown() {
	for _, b := range r.bridges {
		b.close()
	}
	for _, u := range r.relays {
		u.close()
	}
	if r.thread != nil {
		r.thread.close()
	}
	if r.stopping() {
		_ = os.RemoveAll(filepath.Join(r.dir, "volumes"))
	}
}

// snapshot is the pod object with the current status.
func (r *podRunner) snapshot() *corev1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	pod := r.pod.DeepCopy()
	pod.Status = r.statusLocked()
	return pod
}

func (r *podRunner) statusLocked() corev1.PodStatus {
	st := corev1.PodStatus{
		HostIP:    r.hostIP,
		HostIPs:   []corev1.HostIP{{IP: r.hostIP}},
		PodIP:     r.podIP,
		PodIPs:    []corev1.PodIP{{IP: r.podIP}},
		StartTime: &r.startTime,
		Message:   r.message,
		// The API server sets the QoS class at creation and refuses any other value later.
		QOSClass: r.spec.Status.QOSClass,
	}
	if st.QOSClass == "" {
		st.QOSClass = corev1.PodQOSBestEffort
	}
	allReady := true
	for _, c := range r.containers {
		started := c.started
		cs := corev1.ContainerStatus{
			Name:                 c.spec.Name,
			Image:                c.spec.Image,
			ImageID:              "process://" + c.binary,
			ContainerID:          c.id,
			State:                c.state,
			LastTerminationState: c.lastState,
			Ready:                c.ready,
			RestartCount:         c.restarts,
			Started:              &started,
		}
		if c.init {
			st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
			continue
		}
		allReady = allReady && c.ready
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	st.Phase = r.phaseLocked()
	now := metav1.Now()
	cond := func(t corev1.PodConditionType, ok bool, reason, message string) corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s = corev1.ConditionTrue
			reason, message = "", ""
		}
		return corev1.PodCondition{Type: t, Status: s, Reason: reason, Message: message, LastTransitionTime: r.transition(t, s, now)}
	}
	notReady := "ContainersNotReady"
	if r.message != "" {
		notReady = r.waitingReasonLocked()
	}
	st.Conditions = []corev1.PodCondition{
		cond(corev1.PodReadyToStartContainers, r.thread != nil, "", ""),
		cond(corev1.PodInitialized, r.initDone, "ContainersNotInitialized", r.message),
		cond(corev1.ContainersReady, allReady && r.initDone, notReady, r.message),
		cond(corev1.PodReady, allReady && r.initDone, notReady, r.message),
		cond(corev1.PodScheduled, true, "", ""),
	}
	return st
}

// transition keeps a condition's lastTransitionTime while its status stays the same.
func (r *podRunner) transition(t corev1.PodConditionType, s corev1.ConditionStatus, now metav1.Time) metav1.Time {
	for _, c := range r.pod.Status.Conditions {
		if c.Type == t && c.Status == s && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime
		}
	}
	return now
}

func (r *podRunner) waitingReasonLocked() string {
	for _, c := range r.containers {
		if c.state.Waiting != nil && c.state.Waiting.Reason != "" {
			return c.state.Waiting.Reason
		}
	}
	return "ContainersNotReady"
}

// phaseLocked follows the kubelet's getPhase (pkg/kubelet/kubelet_pods.go).
func (r *podRunner) phaseLocked() corev1.PodPhase {
	if r.failedPhase {
		return corev1.PodFailed
	}
	if !r.initDone {
		return corev1.PodPending
	}
	var running, waiting, stopped, failed int
	for _, c := range r.containers {
		if c.init {
			continue
		}
		switch {
		case c.state.Running != nil:
			running++
		case c.state.Terminated != nil:
			stopped++
			if c.state.Terminated.ExitCode != 0 {
				failed++
			}
		case c.lastState.Terminated != nil:
			stopped++
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	}
	switch r.spec.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		if failed > 0 {
			return corev1.PodFailed
		}
		return corev1.PodSucceeded
	case corev1.RestartPolicyOnFailure:
		if failed > 0 && !r.stoppingLocked() {
			return corev1.PodRunning
		}
		if failed > 0 {
			return corev1.PodFailed
		}
		return corev1.PodSucceeded
	default:
		if r.stoppingLocked() {
			if failed > 0 {
				return corev1.PodFailed
			}
			return corev1.PodSucceeded
		}
		return corev1.PodRunning
	}
}

func (r *podRunner) stoppingLocked() bool { return r.terminating }
