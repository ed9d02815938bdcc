package landscape

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// dnsRecordObjectName is the name of the example DNSRecord object.
const dnsRecordObjectName = "metal-external"

// dnsRecordName is the name the example DNSRecord writes.
func dnsRecordName() string { return "api.metal." + dnsZone }

// snapshot is what the landscape shows while the shoot comes up or goes away.
type snapshot struct {
	extensions    map[string]string
	machines      map[machinev1alpha1.MachinePhase]int
	claims, bound int
	poweredOn     int
	nodesReady    int
	dnsValues     []string
	// exhausted counts the machines whose last operation says ResourceExhausted.
	exhausted int
}

func (s snapshot) String() string {
	var parts []string
	for _, kind := range slices.Sorted(maps.Keys(s.extensions)) {
		parts = append(parts, kind+"="+s.extensions[kind])
	}
	var phases []string
	for _, phase := range slices.Sorted(maps.Keys(s.machines)) {
		phases = append(phases, fmt.Sprintf("%s:%d", phase, s.machines[phase]))
	}
	line := fmt.Sprintf("%s | machines %s | claims %d (bound %d, powered on %d) | nodes ready %d",
		strings.Join(parts, " "), "["+strings.Join(phases, " ")+"]", s.claims, s.bound, s.poweredOn, s.nodesReady)
	if s.dnsValues != nil {
		line += " | dns " + strings.Join(s.dnsValues, ",")
	}
	if s.exhausted > 0 {
		line += fmt.Sprintf(" | ResourceExhausted %d", s.exhausted)
	}
	return line
}

func (l *landscape) observe(ctx context.Context) (snapshot, error) {
	s := snapshot{extensions: map[string]string{}, machines: map[machinev1alpha1.MachinePhase]int{}}
	for kind, obj := range l.extensionObjects() {
		if err := l.seed.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			if apierrors.IsNotFound(err) {
				s.extensions[kind] = "gone"
				continue
			}
			return s, err
		}
		s.extensions[kind] = lastOperationState(obj.GetExtensionStatus().GetLastOperation())
	}
	machines := &machinev1alpha1.MachineList{}
	if err := l.seed.List(ctx, machines, client.InNamespace(seedNamespace)); err != nil {
		return s, err
	}
	for _, m := range machines.Items {
		s.machines[m.Status.CurrentStatus.Phase]++
		if m.Status.LastOperation.ErrorCode == "ResourceExhausted" {
			s.exhausted++
		}
	}
	claims := &metalv1alpha1.ServerClaimList{}
	if err := l.metal.Client().List(ctx, claims, client.InNamespace(metalNamespace)); err != nil {
		return s, err
	}
	s.claims = len(claims.Items)
	for _, claim := range claims.Items {
		if claim.Spec.ServerRef == nil {
			continue
		}
		s.bound++
		server := &metalv1alpha1.Server{}
		if err := l.metal.Client().Get(ctx, client.ObjectKey{Name: claim.Spec.ServerRef.Name}, server); err == nil && server.Status.PowerState == metalv1alpha1.ServerOnPowerState {
			s.poweredOn++
		}
	}
	nodes := &corev1.NodeList{}
	if err := l.shoot.List(ctx, nodes); err != nil {
		return s, err
	}
	for _, node := range nodes.Items {
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				s.nodesReady++
			}
		}
	}
	if l.bind != nil {
		values, err := l.bind.lookup(dnsRecordName(), dns.TypeA)
		if err != nil {
			return s, err
		}
		s.dnsValues = append([]string{}, values...)
	}
	return s, nil
}

// extensionObjects are the extension resources of example/landscape by kind.
func (l *landscape) extensionObjects() map[string]extensionsv1alpha1.Object {
	objects := map[string]extensionsv1alpha1.Object{
		"infrastructure": &extensionsv1alpha1.Infrastructure{},
		"controlplane":   &extensionsv1alpha1.ControlPlane{},
		"worker":         &extensionsv1alpha1.Worker{},
	}
	if l.bind != nil {
		objects["dnsrecord"] = &extensionsv1alpha1.DNSRecord{}
	}
	for kind, obj := range objects {
		name := "metal"
		if kind == "dnsrecord" {
			name = dnsRecordObjectName
		}
		obj.SetNamespace(seedNamespace)
		obj.SetName(name)
	}
	return objects
}

func lastOperationState(op *gardencorev1beta1.LastOperation) string {
	if op == nil {
		return "Pending"
	}
	return string(op.State)
}

// waitShootReady shows progress until the extension resources succeeded, every machine runs with its Node ready
// and (with BIND) the DNS record answers.
func (l *landscape) waitShootReady(ctx context.Context) error {
	want := l.opts.MachinesPerZone * len(zones)
	return l.watch(ctx, "shoot is up", func(s snapshot) bool {
		for _, state := range s.extensions {
			if state != string(gardencorev1beta1.LastOperationStateSucceeded) {
				return false
			}
		}
		dnsReady := l.bind == nil || slices.Equal(s.dnsValues, []string{"127.0.0.1"})
		return s.machines[machinev1alpha1.MachineRunning] == want && len(s.machines) == 1 && s.nodesReady == want && dnsReady
	})
}

// watch prints each new snapshot until done holds or the phase times out.
func (l *landscape) watch(ctx context.Context, goal string, done func(snapshot) bool) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	var last string
	for {
		for _, p := range l.processes() {
			if err := p.running(); err != nil {
				return err
			}
		}
		s, err := l.observe(ctx)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if line := s.String(); line != last {
			l.step(line)
			last = line
		}
		if err == nil && done(s) {
			l.step(goal)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not happen within %s; logs in %s", goal, l.opts.Timeout, l.opts.StateDir)
		case <-time.After(time.Second):
		}
	}
}

// summary prints the machines, their Servers and Nodes.
func (l *landscape) summary(ctx context.Context) {
	machines := &machinev1alpha1.MachineList{}
	if err := l.seed.List(ctx, machines, client.InNamespace(seedNamespace)); err != nil {
		return
	}
	l.step(fmt.Sprintf("summary: %d machines", len(machines.Items)))
	for _, m := range machines.Items {
		claim := &metalv1alpha1.ServerClaim{}
		server := "-"
		if err := l.metal.Client().Get(ctx, client.ObjectKey{Namespace: metalNamespace, Name: m.Name}, claim); err == nil && claim.Spec.ServerRef != nil {
			server = claim.Spec.ServerRef.Name
		}
		_, _ = fmt.Fprintf(l.opts.Out, "          %-45s %-8s server %-22s node %s\n", m.Name, m.Status.CurrentStatus.Phase, server, m.Labels[machinev1alpha1.NodeLabelKey])
	}
	if lines, err := l.shootNodeLines(ctx); err == nil {
		l.step(fmt.Sprintf("summary: %d shoot nodes", len(lines)))
		for _, line := range lines {
			_, _ = fmt.Fprintf(l.opts.Out, "          %s\n", strings.TrimPrefix(line, "shoot node "))
		}
	}
	if line, err := l.localVolumeLine(ctx); err == nil {
		l.step("summary: " + line)
	}
	for _, line := range l.serviceLines(ctx) {
		l.step("summary: " + line)
	}
	pods, err := podSummary(ctx, l.seed)
	if err != nil {
		return
	}
	l.step(fmt.Sprintf("summary: %d seed pods", len(pods)))
	for _, line := range pods {
		_, _ = fmt.Fprintf(l.opts.Out, "          %s\n", line)
	}
}

// deleteShoot deletes the extension resources as gardenlet does on shoot deletion and checks that nothing of the
// shoot is left: no machines, ServerClaims, ignition Secrets, IP claims or Nodes, no DNS record, every Server
// Available again.
func (l *landscape) deleteShoot(ctx context.Context) error {
	l.step("deleting the shoot")
	if err := l.deleteWorkloads(ctx); err != nil {
		return err
	}
	for _, kind := range []string{"dnsrecord", "worker", "controlplane", "infrastructure"} {
		obj, ok := l.extensionObjects()[kind]
		if !ok {
			continue
		}
		if err := l.deleteConfirmed(ctx, obj); err != nil {
			return err
		}
		if kind == "worker" {
			// Infrastructure deletion waits for the machines; deleting in gardenlet's order keeps the log readable.
			if err := l.watch(ctx, "worker deleted", func(s snapshot) bool { return s.extensions["worker"] == "gone" }); err != nil {
				return err
			}
		}
	}
	if err := l.watch(ctx, "shoot deleted", func(s snapshot) bool {
		for _, state := range s.extensions {
			if state != "gone" {
				return false
			}
		}
		return len(s.machines) == 0 && s.claims == 0 && s.nodesReady == 0 && len(s.dnsValues) == 0
	}); err != nil {
		return err
	}
	if err := l.checkLeftovers(ctx); err != nil {
		return err
	}
	return l.deleteBackups(ctx)
}

func (l *landscape) checkLeftovers(ctx context.Context) error {
	var problems []error
	shootLabel := client.MatchingLabels{metal.ShootLabel: seedNamespace}
	secrets := &corev1.SecretList{}
	if err := l.metal.Client().List(ctx, secrets, client.InNamespace(metalNamespace), shootLabel); err != nil {
		return err
	}
	if n := len(secrets.Items); n > 0 {
		problems = append(problems, fmt.Errorf("%d ignition Secrets left in the metal API", n))
	}
	ipClaims := &ipamv1beta2.IPAddressClaimList{}
	if err := l.metal.Client().List(ctx, ipClaims, client.InNamespace(metalNamespace)); err != nil {
		return err
	}
	if n := len(ipClaims.Items); n > 0 {
		problems = append(problems, fmt.Errorf("%d IPAddressClaims left in the metal API", n))
	}
	nodes := &corev1.NodeList{}
	if err := l.shoot.List(ctx, nodes); err != nil {
		return err
	}
	if n := len(nodes.Items); n > 0 {
		problems = append(problems, fmt.Errorf("%d Nodes left in the shoot", n))
	}
	pvs := &corev1.PersistentVolumeList{}
	if err := l.shoot.List(ctx, pvs); err != nil {
		return err
	}
	claims := &corev1.PersistentVolumeClaimList{}
	if err := l.shoot.List(ctx, claims); err != nil {
		return err
	}
	services := &corev1.ServiceList{}
	if err := l.shoot.List(ctx, services); err != nil {
		return err
	}
	for _, svc := range services.Items {
		if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			problems = append(problems, fmt.Errorf("LoadBalancer Service %s/%s left in the shoot", svc.Namespace, svc.Name))
		}
	}
	if n := len(pvs.Items) + len(claims.Items); n > 0 {
		problems = append(problems, fmt.Errorf("%d PersistentVolumes and %d claims left in the shoot", len(pvs.Items), len(claims.Items)))
	}
	servers := len(zones) * (l.opts.MachinesPerZone + 1)
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := l.metal.WaitAvailable(waitCtx, servers); err != nil {
		problems = append(problems, fmt.Errorf("not every Server is Available again: %w", err))
	}
	if err := errors.Join(problems...); err != nil {
		return err
	}
	l.step(fmt.Sprintf("nothing left: no machines, ServerClaims, Secrets, IP claims, Nodes, LoadBalancer Services, volumes or DNS records; all %d Servers Available", servers))
	return nil
}
