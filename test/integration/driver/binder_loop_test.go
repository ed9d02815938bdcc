package driver_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// releaseFinalizer is the finalizer the looping test binder puts on claims, as metal-operator does, and removes
// once a claim is being deleted (the Server released).
const releaseFinalizer = "test.metal/release"

// loopingTestBinder plays metal-operator, the IPAM provider and the kubelet for the MCM integration test and
// benchmark, following metal-operator v0.7.0 (internal/controller/serverclaim_controller.go, server_controller.go):
// each round it binds claims to free matching Servers (Available, powered off, unclaimed), powers a Server on once
// its claim is On, registers the Node and assigns addresses; it removes its finalizer from deleted claims and then
// powers their Servers off and releases them (Available again). It creates no Servers: the test does, with
// freeServers.
type loopingTestBinder struct {
	c  client.Client
	ns string
	// powerOffRounds is how many rounds a Server stays on after its claim is gone, as a graceful shutdown through
	// the BMC takes a while; zero powers it off in the next round.
	powerOffRounds int
	shuttingDown   map[string]int
}

// freeServers creates n Servers for zone z1 and machine type m1 as metal-operator leaves them after discovery.
func (b *loopingTestBinder) freeServers(ctx context.Context, prefix string, n int) error {
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		server := &metalv1alpha1.Server{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{metal.ZoneLabel: "z1", "machine-type": "m1"}},
			Spec:       metalv1alpha1.ServerSpec{SystemUUID: name},
		}
		if err := b.c.Create(ctx, server); err != nil {
			return err
		}
		server.Status.State = metalv1alpha1.ServerStateAvailable
		server.Status.PowerState = metalv1alpha1.ServerOffPowerState
		if err := b.c.Status().Update(ctx, server); err != nil {
			return err
		}
	}
	return nil
}

// run repeats rounds every interval until ctx ends; errors (mostly conflicts) are retried in the next round.
func (b *loopingTestBinder) run(ctx context.Context, interval time.Duration, logf func(string, ...any)) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if err := b.round(ctx); err != nil && ctx.Err() == nil {
				logf("test binder: %v\n", err)
			}
		}
	}
}

func (b *loopingTestBinder) round(ctx context.Context) error {
	claims := &metalv1alpha1.ServerClaimList{}
	if err := b.c.List(ctx, claims, client.InNamespace(b.ns)); err != nil {
		return err
	}
	servers := &metalv1alpha1.ServerList{}
	if err := b.c.List(ctx, servers); err != nil {
		return err
	}
	var errs []error
	for i := range claims.Items {
		errs = append(errs, b.claim(ctx, &claims.Items[i], servers.Items))
	}
	for i := range servers.Items {
		errs = append(errs, b.release(ctx, &servers.Items[i]))
	}
	ipClaims := &ipamv1beta2.IPAddressClaimList{}
	if err := b.c.List(ctx, ipClaims, client.InNamespace(b.ns)); err != nil {
		return err
	}
	for i := range ipClaims.Items {
		errs = append(errs, b.ipClaim(ctx, &ipClaims.Items[i]))
	}
	return errors.Join(errs...)
}

func (b *loopingTestBinder) claim(ctx context.Context, claim *metalv1alpha1.ServerClaim, servers []metalv1alpha1.Server) error {
	switch {
	case claim.DeletionTimestamp != nil:
		claim.Finalizers = slices.DeleteFunc(claim.Finalizers, func(f string) bool { return f == releaseFinalizer })
		return client.IgnoreNotFound(b.c.Update(ctx, claim))
	case !slices.Contains(claim.Finalizers, releaseFinalizer):
		claim.Finalizers = append(claim.Finalizers, releaseFinalizer)
		return b.c.Update(ctx, claim)
	case claim.Spec.ServerRef == nil:
		return b.bind(ctx, claim, servers)
	case claim.Spec.Power == metalv1alpha1.PowerOn:
		if err := b.powerOn(ctx, claim.Spec.ServerRef.Name); err != nil {
			return err
		}
		return b.registerNode(ctx, claim)
	}
	return nil
}

// bind binds the claim to the first free Server matching its selector, if there is one.
func (b *loopingTestBinder) bind(ctx context.Context, claim *metalv1alpha1.ServerClaim, servers []metalv1alpha1.Server) error {
	selector, err := metav1.LabelSelectorAsSelector(claim.Spec.ServerSelector)
	if err != nil {
		return err
	}
	for i := range servers {
		server := &servers[i]
		if !selector.Matches(labels.Set(server.Labels)) || server.Spec.ServerClaimRef != nil ||
			server.Status.State != metalv1alpha1.ServerStateAvailable || server.Status.PowerState != metalv1alpha1.ServerOffPowerState {
			continue
		}
		server.Spec.ServerClaimRef = &metalv1alpha1.ImmutableObjectReference{Namespace: claim.Namespace, Name: claim.Name}
		if err := b.c.Update(ctx, server); err != nil {
			return err
		}
		server.Status.State = metalv1alpha1.ServerStateReserved
		if err := b.c.Status().Update(ctx, server); err != nil {
			return err
		}
		claim.Spec.ServerRef = &corev1.LocalObjectReference{Name: server.Name}
		if err := b.c.Update(ctx, claim); err != nil {
			return err
		}
		claim.Status.Phase = metalv1alpha1.PhaseBound
		return b.c.Status().Update(ctx, claim)
	}
	return nil
}

// release powers off a Server whose claim is gone and, once it is off, makes it Available again.
func (b *loopingTestBinder) release(ctx context.Context, server *metalv1alpha1.Server) error {
	ref := server.Spec.ServerClaimRef
	if ref == nil {
		return nil
	}
	err := b.c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &metalv1alpha1.ServerClaim{})
	if !apierrors.IsNotFound(err) {
		return err
	}
	if server.Status.PowerState != metalv1alpha1.ServerOffPowerState {
		if b.shuttingDown[server.Name] < b.powerOffRounds {
			if b.shuttingDown == nil {
				b.shuttingDown = map[string]int{}
			}
			b.shuttingDown[server.Name]++
			return nil
		}
		delete(b.shuttingDown, server.Name)
		server.Status.PowerState = metalv1alpha1.ServerOffPowerState
		return b.c.Status().Update(ctx, server)
	}
	server.Spec.ServerClaimRef = nil
	if err := b.c.Update(ctx, server); err != nil {
		return err
	}
	server.Status.State = metalv1alpha1.ServerStateAvailable
	return b.c.Status().Update(ctx, server)
}

func (b *loopingTestBinder) powerOn(ctx context.Context, name string) error {
	server := &metalv1alpha1.Server{}
	if err := b.c.Get(ctx, client.ObjectKey{Name: name}, server); err != nil {
		return err
	}
	if server.Status.PowerState == metalv1alpha1.ServerOnPowerState {
		return nil
	}
	server.Status.PowerState = metalv1alpha1.ServerOnPowerState
	server.Status.NetworkInterfaces = []metalv1alpha1.NetworkInterface{{
		Name: "eth0", MACAddress: "aa:bb:cc:dd:ee:01", IPs: []metalv1alpha1.IP{{Addr: netip.MustParseAddr("10.1.0.8")}},
	}}
	return b.c.Status().Update(ctx, server)
}

// registerNode creates the Node the kubelet of a booted Server would register, Ready, with the provider ID.
func (b *loopingTestBinder) registerNode(ctx context.Context, claim *metalv1alpha1.ServerClaim) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: claim.Name},
		Spec:       corev1.NodeSpec{ProviderID: driver.ProviderID(claim.Namespace, claim.Name)},
	}
	if err := b.c.Create(ctx, node); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		if err := b.c.Get(ctx, client.ObjectKeyFromObject(node), node); err != nil {
			return err
		}
	}
	if slices.ContainsFunc(node.Status.Conditions, func(c corev1.NodeCondition) bool { return c.Type == corev1.NodeReady }) {
		return nil
	}
	// MCM updates new Nodes (finalizer, labels) right away, so this may conflict; the next round retries.
	node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(),
	})
	return b.c.Status().Update(ctx, node)
}

func (b *loopingTestBinder) ipClaim(ctx context.Context, ipClaim *ipamv1beta2.IPAddressClaim) error {
	if ipClaim.DeletionTimestamp != nil || ipClaim.Status.AddressRef.Name != "" {
		return nil
	}
	ip := &ipamv1beta2.IPAddress{
		ObjectMeta: metav1.ObjectMeta{Name: ipClaim.Name, Namespace: ipClaim.Namespace},
		Spec: ipamv1beta2.IPAddressSpec{
			ClaimRef: ipamv1beta2.IPAddressClaimReference{Name: ipClaim.Name},
			PoolRef:  ipClaim.Spec.PoolRef,
			Address:  "10.2.0.20",
			Prefix:   new(int32(24)),
		},
	}
	if err := b.c.Create(ctx, ip); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("cannot create IPAddress %s: %w", ip.Name, err)
	}
	ipClaim.Status.AddressRef = ipamv1beta2.IPAddressReference{Name: ip.Name}
	return b.c.Status().Update(ctx, ipClaim)
}
