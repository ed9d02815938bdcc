package landscape

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const (
	// shellImage is the image of the landscape's own workloads in the shoot; the process kubelet runs /bin/sh for it.
	shellImage = "landscape.local/shell"
	// localStorageClass is the StorageClass the ControlPlane deploys into the shoot (charts/internal/shoot-storageclasses).
	localStorageClass = "local"
	// volumeUser is the pod and claim of the local storage check, in the shoot's default namespace.
	volumeUser = "local-volume-user"
)

// checkShootNodes checks every Node of the shoot as the cloud-controller-manager leaves it: the provider ID of
// its ServerClaim, the zone and region of its Server, the instance type, an InternalIP, a pod CIDR from
// kube-controller-manager's node IPAM, and no uninitialized taint. It prints a line per Node.
func (l *landscape) checkShootNodes(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	for {
		lines, err := l.shootNodeLines(ctx)
		if err == nil {
			for _, line := range lines {
				l.step(line)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the shoot's Nodes were not initialized: %w", err)
		case <-time.After(time.Second):
		}
	}
}

func (l *landscape) shootNodeLines(ctx context.Context) ([]string, error) {
	nodes := &corev1.NodeList{}
	if err := l.shoot.List(ctx, nodes); err != nil {
		return nil, err
	}
	var (
		lines    []string
		problems []error
	)
	for _, node := range nodes.Items {
		line, err := l.shootNodeLine(ctx, &node)
		if err != nil {
			problems = append(problems, fmt.Errorf("node %s: %w", node.Name, err))
			continue
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	return lines, errors.Join(problems...)
}

func (l *landscape) shootNodeLine(ctx context.Context, node *corev1.Node) (string, error) {
	claimName, ok := strings.CutPrefix(node.Spec.ProviderID, "metal://"+metalNamespace+"/")
	if !ok || node.Spec.ProviderID != driver.ProviderID(metalNamespace, claimName) {
		return "", fmt.Errorf("provider ID %q is not a ServerClaim's of %s", node.Spec.ProviderID, metalNamespace)
	}
	claim := &metalv1alpha1.ServerClaim{}
	if err := l.metal.Client().Get(ctx, client.ObjectKey{Namespace: metalNamespace, Name: claimName}, claim); err != nil {
		return "", err
	}
	if claim.Spec.ServerRef == nil {
		return "", fmt.Errorf("ServerClaim %s names no Server", claimName)
	}
	server := &metalv1alpha1.Server{}
	if err := l.metal.Client().Get(ctx, client.ObjectKey{Name: claim.Spec.ServerRef.Name}, server); err != nil {
		return "", err
	}
	for _, t := range node.Spec.Taints {
		if t.Key == strings.Split(uninitializedTaint, "=")[0] {
			return "", errors.New("still tainted uninitialized")
		}
	}
	if node.Status.NodeInfo.SystemUUID != server.Spec.SystemUUID {
		return "", fmt.Errorf("system UUID %q is not Server %s's %q", node.Status.NodeInfo.SystemUUID, server.Name, server.Spec.SystemUUID)
	}
	for label, want := range map[string]string{
		corev1.LabelTopologyZone:       server.Labels[metal.ZoneLabel],
		corev1.LabelTopologyRegion:     region,
		corev1.LabelInstanceTypeStable: server.Labels[metal.InstanceTypeLabel],
	} {
		if got := node.Labels[label]; got == "" || got != want {
			return "", fmt.Errorf("label %s is %q, want %q (from Server %s)", label, got, want, server.Name)
		}
	}
	if err := l.checkPoolLabelsAndTaints(ctx, node); err != nil {
		return "", err
	}
	var internal []string
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			internal = append(internal, a.Address)
		}
	}
	if len(internal) == 0 {
		return "", errors.New("no InternalIP")
	}
	if node.Spec.PodCIDR == "" {
		return "", errors.New("no pod CIDR")
	}
	return fmt.Sprintf("shoot node %s: server %s, zone %s, region %s, instance type %s, pool %s, InternalIP %s, pod CIDR %s, not tainted uninitialized",
		node.Name, server.Name, node.Labels[corev1.LabelTopologyZone], node.Labels[corev1.LabelTopologyRegion],
		node.Labels[corev1.LabelInstanceTypeStable], node.Labels[v1beta1constants.LabelWorkerPool], strings.Join(internal, ","), node.Spec.PodCIDR), nil
}

// checkPoolLabelsAndTaints checks that the Node carries its pool's name, labels and taints.
func (l *landscape) checkPoolLabelsAndTaints(ctx context.Context, node *corev1.Node) error {
	worker := &extensionsv1alpha1.Worker{}
	if err := l.seed.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: "metal"}, worker); err != nil {
		return err
	}
	name := node.Labels[v1beta1constants.LabelWorkerPool]
	for _, pool := range worker.Spec.Pools {
		if pool.Name != name {
			continue
		}
		for k, v := range pool.Labels {
			if node.Labels[k] != v {
				return fmt.Errorf("label %s of pool %s is %q", k, name, node.Labels[k])
			}
		}
		for _, t := range pool.Taints {
			if !slices.ContainsFunc(node.Spec.Taints, func(n corev1.Taint) bool { return n.MatchTaint(&t) && n.Value == t.Value }) {
				return fmt.Errorf("taint %s of pool %s is missing", t.ToString(), name)
			}
		}
		return nil
	}
	return fmt.Errorf("label %s names no pool of the Worker: %q", v1beta1constants.LabelWorkerPool, name)
}

// checkLocalVolume does what a shoot owner does with the local StorageClass: an operator has created a local
// PersistentVolume on every Node (a directory of the node, with the node affinity a local volume needs); a claim of
// the class and a pod in zone-b that uses it are created. The real kube-scheduler picks a Node of zone-b that
// holds a free volume, the PV binder of the real kube-controller-manager binds the claim to that Node's volume
// (WaitForFirstConsumer), and the process kubelet mounts the volume's directory, into which the pod writes.
func (l *landscape) checkLocalVolume(ctx context.Context) error {
	nodes := &corev1.NodeList{}
	if err := l.shoot.List(ctx, nodes); err != nil {
		return err
	}
	for _, node := range nodes.Items {
		if err := l.createLocalVolume(ctx, node.Name); err != nil {
			return err
		}
	}
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: volumeUser},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(localStorageClass),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if err := l.shoot.Create(ctx, claim); err != nil {
		return fmt.Errorf("creating PersistentVolumeClaim %s: %w", claim.Name, err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: volumeUser},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{corev1.LabelTopologyZone: zones[1]},
			Containers: []corev1.Container{{
				Name:         "writer",
				Image:        shellImage,
				Command:      []string{"/bin/sh", "-c", "echo written by $(NODE_NAME) > /data/hello && exec sleep 86400"},
				Env:          []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim.Name},
			}}},
			TerminationGracePeriodSeconds: ptr.To[int64](1),
		},
	}
	if err := l.shoot.Create(ctx, pod); err != nil {
		return fmt.Errorf("creating pod %s: %w", pod.Name, err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	for {
		line, err := l.localVolumeLine(waitCtx)
		if err == nil {
			l.step(line)
			return nil
		}
		select {
		case <-waitCtx.Done():
			return fmt.Errorf("the local volume was not bound and written: %w", err)
		case <-time.After(time.Second):
		}
	}
}

func (l *landscape) createLocalVolume(ctx context.Context, node string) error {
	dir := l.path(filepath.Join("local-volumes", node))
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "local-" + node},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName:              localStorageClass,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
			}}}},
		},
	}
	if err := l.shoot.Create(ctx, pv); err != nil {
		return fmt.Errorf("creating PersistentVolume %s: %w", pv.Name, err)
	}
	return nil
}

func (l *landscape) localVolumeLine(ctx context.Context) (string, error) {
	pod := &corev1.Pod{}
	if err := l.shoot.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceDefault, Name: volumeUser}, pod); err != nil {
		return "", err
	}
	claim := &corev1.PersistentVolumeClaim{}
	if err := l.shoot.Get(ctx, client.ObjectKeyFromObject(pod), claim); err != nil {
		return "", err
	}
	if claim.Status.Phase != corev1.ClaimBound {
		return "", fmt.Errorf("claim %s is %s", claim.Name, claim.Status.Phase)
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase != corev1.PodRunning {
		return "", fmt.Errorf("pod %s is %s on %q", pod.Name, pod.Status.Phase, pod.Spec.NodeName)
	}
	if want := "local-" + pod.Spec.NodeName; claim.Spec.VolumeName != want {
		return "", fmt.Errorf("claim %s is bound to %s, not to %s of the pod's node", claim.Name, claim.Spec.VolumeName, want)
	}
	data, err := os.ReadFile(l.path(filepath.Join("local-volumes", pod.Spec.NodeName, "hello")))
	if err != nil {
		return "", err
	}
	node := &corev1.Node{}
	if err := l.shoot.Get(ctx, client.ObjectKey{Name: pod.Spec.NodeName}, node); err != nil {
		return "", err
	}
	return fmt.Sprintf("local volume: claim default/%s (StorageClass %s, WaitForFirstConsumer) bound to %s; pod %s scheduled to %s in %s, Running, wrote %q",
		claim.Name, localStorageClass, claim.Spec.VolumeName, pod.Name, pod.Spec.NodeName, node.Labels[corev1.LabelTopologyZone], strings.TrimSpace(string(data))), nil
}

// deleteWorkloads deletes what the shoot owner created in the shoot, as gardenlet's shoot deletion cleans the
// shoot's workloads (pods, claims and volumes) before it deletes the Worker, and waits until they are gone.
func (l *landscape) deleteWorkloads(ctx context.Context) error {
	objects := []client.Object{
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: lbService}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: lbService + "-2"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: "lb-backend"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: volumeUser}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: volumeUser}},
	}
	pvs := &corev1.PersistentVolumeList{}
	if err := l.shoot.List(ctx, pvs); err != nil {
		return err
	}
	for i := range pvs.Items {
		objects = append(objects, &pvs.Items[i])
	}
	for _, obj := range objects {
		if err := l.shoot.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	for _, obj := range objects {
		for {
			err := l.shoot.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			if apierrors.IsNotFound(err) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%T %s is not gone: %w", obj, obj.GetName(), ctx.Err())
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	l.step(fmt.Sprintf("shoot workloads deleted: LoadBalancer Services, pods, claim %s, %d PersistentVolumes", volumeUser, len(pvs.Items)))
	return nil
}

// powerOffAnnotation on a Node makes the metal cloud-controller-manager power its ServerClaim off; without it the
// claim is powered on again (cloud-provider-metal v0.3.0 constants.go AnnotationPowerOff).
const powerOffAnnotation = "metal.ironcore.dev/power-off"

// checkPowerCycle powers one Node's Server off and on again the way a shoot owner does, through the
// cloud-controller-manager's power-off annotation: the Server powers off, its kubelet stops (no heartbeat, so the
// shoot's kube-controller-manager marks the Node NotReady), and once the annotation is gone the Server powers on and
// its kubelet makes the Node Ready again.
func (l *landscape) checkPowerCycle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	nodes := &corev1.NodeList{}
	if err := l.shoot.List(ctx, nodes); err != nil {
		return err
	}
	if len(nodes.Items) == 0 {
		return errors.New("the shoot has no Node to power off")
	}
	slices.SortFunc(nodes.Items, func(a, b corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	node := &nodes.Items[0]
	claimName := strings.TrimPrefix(node.Spec.ProviderID, "metal://"+metalNamespace+"/")
	claim := &metalv1alpha1.ServerClaim{}
	if err := l.metal.Client().Get(ctx, client.ObjectKey{Namespace: metalNamespace, Name: claimName}, claim); err != nil {
		return err
	}
	if claim.Spec.ServerRef == nil {
		return fmt.Errorf("ServerClaim %s names no Server", claimName)
	}
	server := claim.Spec.ServerRef.Name
	started := time.Now()
	if err := l.annotatePowerOff(ctx, node.Name, true); err != nil {
		return err
	}
	if err := l.waitPower(ctx, node.Name, server, metalv1alpha1.ServerOffPowerState, corev1.ConditionUnknown); err != nil {
		return err
	}
	l.step(fmt.Sprintf("power cycle: Node %s annotated %s: Server %s is off, its kubelet stopped, the Node NotReady after %.0fs",
		node.Name, powerOffAnnotation, server, time.Since(started).Seconds()))
	started = time.Now()
	if err := l.annotatePowerOff(ctx, node.Name, false); err != nil {
		return err
	}
	if err := l.waitPower(ctx, node.Name, server, metalv1alpha1.ServerOnPowerState, corev1.ConditionTrue); err != nil {
		return err
	}
	l.step(fmt.Sprintf("power cycle: annotation removed: Server %s is on, its kubelet heartbeats, Node %s Ready again after %.0fs", server, node.Name, time.Since(started).Seconds()))
	return nil
}

func (l *landscape) annotatePowerOff(ctx context.Context, name string, off bool) error {
	node := &corev1.Node{}
	if err := l.shoot.Get(ctx, client.ObjectKey{Name: name}, node); err != nil {
		return err
	}
	patch := client.MergeFrom(node.DeepCopy())
	if off {
		metav1.SetMetaDataAnnotation(&node.ObjectMeta, powerOffAnnotation, "true")
	} else {
		delete(node.Annotations, powerOffAnnotation)
	}
	return l.shoot.Patch(ctx, node, patch)
}

// waitPower waits until the Server has the power state, its kubelet runs exactly while it is on, and the Node's
// Ready condition has the status.
func (l *landscape) waitPower(ctx context.Context, nodeName, serverName string, power metalv1alpha1.ServerPowerState, ready corev1.ConditionStatus) error {
	for {
		server := &metalv1alpha1.Server{}
		node := &corev1.Node{}
		err := errors.Join(l.metal.Client().Get(ctx, client.ObjectKey{Name: serverName}, server), l.shoot.Get(ctx, client.ObjectKey{Name: nodeName}, node))
		if err == nil {
			_, running := l.nodes.nodes()[serverName]
			status := corev1.ConditionUnknown
			for _, c := range node.Status.Conditions {
				if c.Type == corev1.NodeReady {
					status = c.Status
				}
			}
			if server.Status.PowerState == power && running == (power == metalv1alpha1.ServerOnPowerState) && status == ready {
				return nil
			}
			err = fmt.Errorf("server %s is %s, kubelet running %t, Node %s Ready=%s", serverName, server.Status.PowerState, running, nodeName, status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for Server %s %s and Node %s Ready=%s: %w", serverName, power, nodeName, ready, err)
		case <-time.After(time.Second):
		}
	}
}
