package landscape

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// invariantCounts are the checks made and what they looked at.
type invariantCounts struct {
	checks, claims, servers, machines, violations int
	// excursions counts the checks that found machine-controller-manager outside a roll's bounds (not a violation
	// of ours, see checkRollBounds).
	excursions int
}

func (c invariantCounts) minus(o invariantCounts) invariantCounts {
	return invariantCounts{c.checks - o.checks, c.claims - o.claims, c.servers - o.servers, c.machines - o.machines, c.violations - o.violations, c.excursions - o.excursions}
}

// invariants checks continuously, while the fault rounds run, what must hold at every moment on bare metal:
//   - no Server is the target of two live ServerClaims (a Server bound twice);
//   - no Machine has two live ServerClaims (claims of one shoot are named after their Machine, so this looks at
//     the shoot label and the name across all namespaces);
//
// While a roll runs (rollBounds set) it also watches machine-controller-manager keep each MachineDeployment of the
// example shoot within its replicas plus maxSurge live machines and its replicas minus maxUnavailable serving ones.
// Those are MCM's bounds, not ours, and MCM computes them from its MachineSets' status: with a status that lags its
// machines (after a replacement, or while the metal API's outage held a deletion) it was seen to create a new
// machine while the old one still ran, or to delete an old machine first. Such an excursion is printed with the
// machines and counted, but it does not fail the round.
//
// settled checks the rest once a step has converged: no ServerClaim, ignition Secret, IPAddressClaim or Node
// without its owner.
type invariants struct {
	l *landscape

	mu         sync.Mutex
	count      invariantCounts
	violations []string
	excursions []string
	// rollBounds, when set, are the MachineDeployments of the example shoot whose surge and unavailability the
	// checks hold to.
	rollBounds bool
}

func newInvariants(l *landscape) *invariants { return &invariants{l: l} }

func (inv *invariants) run(ctx context.Context) {
	for {
		inv.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (inv *invariants) counts() invariantCounts {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.count
}

func (inv *invariants) err() error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if len(inv.violations) == 0 {
		return nil
	}
	var errs []error
	for _, v := range inv.violations {
		errs = append(errs, errors.New(v))
	}
	return fmt.Errorf("invariants violated: %w", errors.Join(errs...))
}

func (inv *invariants) setRollBounds(on bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.rollBounds = on
}

func (inv *invariants) violate(msg string) {
	inv.record(&inv.violations, &inv.count.violations, "INVARIANT VIOLATED: ", msg)
}

// excursion records machine-controller-manager outside a roll's bounds.
func (inv *invariants) excursion(msg string) {
	inv.record(&inv.excursions, &inv.count.excursions, "roll bound excursion of machine-controller-manager: ", msg)
}

// record counts a finding and prints it the first time: the same finding seen again in the next check is one.
func (inv *invariants) record(seen *[]string, count *int, prefix, msg string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	*count++
	if slices.Contains(*seen, msg) {
		return
	}
	*seen = append(*seen, msg)
	inv.l.step(prefix + msg)
}

// check makes one pass. The metal API or the seed may be down (a fault); a pass that cannot read is skipped.
func (inv *invariants) check(ctx context.Context) {
	claims := &metalv1alpha1.ServerClaimList{}
	if err := inv.l.metal.Client().List(ctx, claims); err != nil {
		return
	}
	servers := &metalv1alpha1.ServerList{}
	if err := inv.l.metal.Client().List(ctx, servers); err != nil {
		return
	}
	machines := &machinev1alpha1.MachineList{}
	if err := inv.l.seed.List(ctx, machines); err != nil {
		return
	}
	byServer := map[string][]string{}
	byMachine := map[string][]string{}
	for _, c := range claims.Items {
		if c.DeletionTimestamp != nil {
			continue
		}
		name := c.Namespace + "/" + c.Name
		if c.Spec.ServerRef != nil {
			byServer[c.Spec.ServerRef.Name] = append(byServer[c.Spec.ServerRef.Name], name)
		}
		key := c.Labels[metal.ShootLabel] + "/" + c.Name
		byMachine[key] = append(byMachine[key], name)
	}
	for server, names := range byServer {
		if len(names) > 1 {
			inv.violate(fmt.Sprintf("Server %s is the target of %d live ServerClaims: %v", server, len(names), names))
		}
	}
	for machine, names := range byMachine {
		if len(names) > 1 {
			inv.violate(fmt.Sprintf("Machine %s has %d live ServerClaims: %v", machine, len(names), names))
		}
	}
	inv.mu.Lock()
	roll := inv.rollBounds
	inv.count.checks++
	inv.count.claims += len(claims.Items)
	inv.count.servers += len(servers.Items)
	inv.count.machines += len(machines.Items)
	inv.mu.Unlock()
	if roll {
		inv.checkRollBounds(ctx, machines)
	}
}

// checkRollBounds watches each MachineDeployment of the example shoot against its rolling update strategy. A
// machine that failed (or whose Node a fault made unready) is not counted against maxUnavailable: MCM keeps to the
// bound with what it deletes, not with what breaks. With maxSurge and maxUnavailable both 0 (a zone that got no
// share of the pool's surge) MCM allows one unavailable machine, as Kubernetes' Deployment does
// (ResolveFenceposts).
func (inv *invariants) checkRollBounds(ctx context.Context, machines *machinev1alpha1.MachineList) {
	deployments := &machinev1alpha1.MachineDeploymentList{}
	if err := inv.l.seed.List(ctx, deployments, client.InNamespace(seedNamespace)); err != nil {
		return
	}
	for _, d := range deployments.Items {
		if d.Spec.Strategy.RollingUpdate == nil {
			continue
		}
		surge := d.Spec.Strategy.RollingUpdate.MaxSurge.IntValue()
		unavailable := d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue()
		if surge == 0 && unavailable == 0 {
			unavailable = 1
		}
		live, serving := 0, 0
		var seen []string
		for _, m := range machines.Items {
			if m.Namespace != seedNamespace || m.Labels["name"] != d.Name {
				continue
			}
			phase := string(m.Status.CurrentStatus.Phase)
			if m.DeletionTimestamp != nil {
				phase = "deleted"
			}
			seen = append(seen, fmt.Sprintf("%s (%s, class %s)", m.Name, orDash(phase), m.Spec.Class.Name))
			if m.DeletionTimestamp != nil {
				continue
			}
			live++
			switch m.Status.CurrentStatus.Phase {
			case machinev1alpha1.MachineRunning, machinev1alpha1.MachineUnknown, machinev1alpha1.MachineFailed:
				serving++
			}
		}
		if live > int(d.Spec.Replicas)+surge {
			inv.excursion(fmt.Sprintf("MachineDeployment %s has %d live machines, more than its %d replicas + maxSurge %d: %s", d.Name, live, d.Spec.Replicas, surge, strings.Join(seen, ", ")))
		}
		if serving < int(d.Spec.Replicas)-unavailable && live >= int(d.Spec.Replicas) {
			inv.excursion(fmt.Sprintf("MachineDeployment %s serves with %d machines, fewer than its %d replicas - maxUnavailable %d: %s", d.Name, serving, d.Spec.Replicas, unavailable, strings.Join(seen, ", ")))
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// settled checks, once a step has converged, that nothing in the metal API or a shoot is without its owner: every
// ServerClaim of a shoot has its Machine, every ignition Secret its ServerClaim, every IPAddressClaim its owner,
// every Node its Machine, and the DNS zone holds the example shoot's record with exactly its DNSRecord's values.
// It returns the number of objects checked.
func (inv *invariants) settled(ctx context.Context) (int, error) {
	checked := 0
	var problems []error
	if inv.l.bind != nil {
		checked++
		if err := inv.l.dnsRecordMatches(ctx); err != nil {
			problems = append(problems, err)
		}
	}
	for _, t := range inv.l.shootEnvs() {
		machines := &machinev1alpha1.MachineList{}
		if err := inv.l.seed.List(ctx, machines, client.InNamespace(t.seedNamespace)); err != nil {
			return checked, err
		}
		machineNames, nodeNames := map[string]bool{}, map[string]bool{}
		for _, m := range machines.Items {
			machineNames[m.Name] = true
			if node := m.Labels[machinev1alpha1.NodeLabelKey]; node != "" {
				nodeNames[node] = true
			}
		}
		claims := &metalv1alpha1.ServerClaimList{}
		if err := inv.l.metal.Client().List(ctx, claims, client.InNamespace(t.metalNamespace)); err != nil {
			return checked, err
		}
		claimNames := map[string]bool{}
		for _, c := range claims.Items {
			checked++
			claimNames[c.Name] = true
			if !machineNames[c.Name] {
				problems = append(problems, fmt.Errorf("ServerClaim %s/%s has no Machine in %s", c.Namespace, c.Name, t.seedNamespace))
			}
		}
		secrets := &corev1.SecretList{}
		if err := inv.l.metal.Client().List(ctx, secrets, client.InNamespace(t.metalNamespace), client.MatchingLabels{metal.ShootLabel: t.seedNamespace}); err != nil {
			return checked, err
		}
		for _, s := range secrets.Items {
			checked++
			if !claimNames[s.Name] && !ownedByClaim(s.OwnerReferences, claimNames) {
				problems = append(problems, fmt.Errorf("ignition Secret %s/%s has no ServerClaim", s.Namespace, s.Name))
			}
		}
		ipClaims := &ipamv1beta2.IPAddressClaimList{}
		if err := inv.l.metal.Client().List(ctx, ipClaims, client.InNamespace(t.metalNamespace)); err != nil {
			return checked, err
		}
		for _, c := range ipClaims.Items {
			checked++
			if !ownedByClaim(c.OwnerReferences, claimNames) {
				problems = append(problems, fmt.Errorf("IPAddressClaim %s/%s has no ServerClaim owner", c.Namespace, c.Name))
			}
		}
		nodes := &corev1.NodeList{}
		if err := t.client.List(ctx, nodes); err != nil {
			return checked, err
		}
		for _, n := range nodes.Items {
			checked++
			if !nodeNames[n.Name] {
				problems = append(problems, fmt.Errorf("node %s of %s has no Machine", n.Name, t.seedNamespace))
			}
		}
	}
	return checked, errors.Join(problems...)
}

// dnsRecordMatches checks that the zone answers the example DNSRecord's name with its values and nothing else (no
// stale or doubled record from an interrupted update).
func (l *landscape) dnsRecordMatches(ctx context.Context) error {
	record := &extensionsv1alpha1.DNSRecord{}
	if err := l.seed.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: dnsRecordObjectName}, record); err != nil {
		return fmt.Errorf("DNSRecord %s: %w", dnsRecordObjectName, err)
	}
	values, err := l.bind.lookup(record.Spec.Name, dns.TypeA)
	if err != nil {
		return fmt.Errorf("DNS lookup of %s: %w", record.Spec.Name, err)
	}
	if !slices.Equal(slices.Sorted(slices.Values(values)), slices.Sorted(slices.Values(record.Spec.Values))) {
		return fmt.Errorf("DNS record %s answers %v, its DNSRecord says %v", record.Spec.Name, values, record.Spec.Values)
	}
	return nil
}

func ownedByClaim(refs []metav1.OwnerReference, claims map[string]bool) bool {
	for _, ref := range refs {
		if ref.Kind == "ServerClaim" && claims[ref.Name] {
			return true
		}
	}
	return false
}
