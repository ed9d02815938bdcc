package standins

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
)

// kubelet stands in for the kubelet of each claimed Server: once the claim's Server is powered On (a claim is
// Bound earlier, while its Server still boots), it registers a Ready Node in the shoot with the claim's provider
// ID, named per node name policy; it reports the Node NotReady while the Server is off and removes it when the
// claim goes.
type kubelet struct {
	metal   client.Client
	shoot   client.Client
	policy  driver.NodeNamePolicy
	version string
}

func addKubelet(mgr ctrl.Manager, shoot client.Client, opts Options) error {
	r := &kubelet{metal: mgr.GetClient(), shoot: shoot, policy: opts.NodeNamePolicy, version: opts.KubeletVersion}
	if err := ctrl.NewControllerManagedBy(mgr).
		Named("standin-kubelet").
		For(&metalv1alpha1.ServerClaim{}).
		// Power changes show on the Server, not on its claim.
		Watches(&metalv1alpha1.Server{}, handler.EnqueueRequestsFromMapFunc(claimOfServer)).
		Complete(r); err != nil {
		return fmt.Errorf("adding the stand-in kubelet: %w", err)
	}
	return nil
}

func claimOfServer(_ context.Context, obj client.Object) []reconcile.Request {
	server, ok := obj.(*metalv1alpha1.Server)
	if !ok || server.Spec.ServerClaimRef == nil {
		return nil
	}
	ref := server.Spec.ServerClaimRef
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}}}
}

// Reconcile registers, updates or removes the Node of a ServerClaim.
func (r *kubelet) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	providerID := driver.ProviderID(req.Namespace, req.Name)
	claim := &metalv1alpha1.ServerClaim{}
	if err := r.metal.Get(ctx, req.NamespacedName, claim); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, r.removeNodes(ctx, providerID)
		}
		return ctrl.Result{}, fmt.Errorf("reading ServerClaim %s: %w", req.NamespacedName, err)
	}
	if claim.DeletionTimestamp != nil {
		return ctrl.Result{}, r.removeNodes(ctx, providerID)
	}
	if claim.Spec.ServerRef == nil {
		return ctrl.Result{}, nil
	}
	server := &metalv1alpha1.Server{}
	if err := r.metal.Get(ctx, client.ObjectKey{Name: claim.Spec.ServerRef.Name}, server); err != nil {
		return ctrl.Result{}, fmt.Errorf("reading Server %s of ServerClaim %s: %w", claim.Spec.ServerRef.Name, req.NamespacedName, err)
	}
	// The claim may name a Server that metal-operator has not yet reserved for it, or still names one it released.
	if ref := server.Spec.ServerClaimRef; ref == nil || ref.Namespace != claim.Namespace || ref.Name != claim.Name {
		return ctrl.Result{}, nil
	}
	name, err := r.nodeName(claim, server)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.ensureNode(ctx, name, providerID, server)
}

func (r *kubelet) nodeName(claim *metalv1alpha1.ServerClaim, server *metalv1alpha1.Server) (string, error) {
	switch r.policy {
	case driver.NodeNameServerName:
		return server.Name, nil
	case driver.NodeNameBMCName:
		if server.Spec.BMCRef == nil {
			return "", fmt.Errorf("server %s has no BMC, so node name policy %s cannot name its Node", server.Name, r.policy)
		}
		return server.Spec.BMCRef.Name, nil
	default:
		return claim.Name, nil
	}
}

// ensureNode registers the Node once the Server is On and keeps its readiness in line with the power state.
func (r *kubelet) ensureNode(ctx context.Context, name, providerID string, server *metalv1alpha1.Server) error {
	on := server.Status.PowerState == metalv1alpha1.ServerOnPowerState
	node := &corev1.Node{}
	err := r.shoot.Get(ctx, client.ObjectKey{Name: name}, node)
	switch {
	case apierrors.IsNotFound(err):
		if !on {
			return nil
		}
		node = &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				corev1.LabelHostname: name,
				corev1.LabelOSStable: "linux",
			}},
			Spec: corev1.NodeSpec{ProviderID: providerID},
		}
		if err := r.shoot.Create(ctx, node); err != nil {
			return fmt.Errorf("registering Node %s: %w", name, err)
		}
		ctrl.LoggerFrom(ctx).Info("registered Node", "node", name, "providerID", providerID, "server", server.Name)
	case err != nil:
		return fmt.Errorf("reading Node %s: %w", name, err)
	case node.Spec.ProviderID != providerID:
		return fmt.Errorf("node %s belongs to %q, not to %q", name, node.Spec.ProviderID, providerID)
	}
	return r.updateStatus(ctx, node, server, on)
}

func (r *kubelet) updateStatus(ctx context.Context, node *corev1.Node, server *metalv1alpha1.Server, on bool) error {
	ready := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue,
		Reason: "KubeletReady", Message: "stand-in kubelet: the Server is powered on",
	}
	if !on {
		ready.Status, ready.Reason, ready.Message = corev1.ConditionUnknown, "NodeStatusUnknown", "stand-in kubelet: the Server is powered off"
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == ready.Status {
			return nil
		}
	}
	now := metav1.Now()
	ready.LastHeartbeatTime, ready.LastTransitionTime = now, now
	patch := client.MergeFrom(node.DeepCopy())
	node.Status.Conditions = []corev1.NodeCondition{ready}
	node.Status.Addresses = nodeAddresses(node.Name, server)
	node.Status.NodeInfo = corev1.NodeSystemInfo{
		SystemUUID: server.Spec.SystemUUID, KubeletVersion: r.version, OperatingSystem: "linux", Architecture: "amd64",
	}
	if err := r.shoot.Status().Patch(ctx, node, patch); err != nil {
		return fmt.Errorf("reporting status of Node %s: %w", node.Name, err)
	}
	return nil
}

// nodeAddresses are the hostname and the Server's addresses as metal-operator discovered them.
func nodeAddresses(name string, server *metalv1alpha1.Server) []corev1.NodeAddress {
	addresses := []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}}
	seen := map[netip.Addr]bool{}
	for _, nic := range server.Status.NetworkInterfaces {
		for _, ip := range nic.IPs {
			if ip.IsValid() && !seen[ip.Addr] {
				seen[ip.Addr] = true
				addresses = append(addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip.String()})
			}
		}
	}
	return addresses
}

// removeNodes deletes the Nodes with providerID; the node name policy may have named them after the claim, its
// Server or its BMC.
func (r *kubelet) removeNodes(ctx context.Context, providerID string) error {
	nodes := &corev1.NodeList{}
	if err := r.shoot.List(ctx, nodes); err != nil {
		return fmt.Errorf("listing Nodes: %w", err)
	}
	var errs []error
	for i := range nodes.Items {
		node := &nodes.Items[i]
		if node.Spec.ProviderID != providerID {
			continue
		}
		if err := r.shoot.Delete(ctx, node); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("removing Node %s: %w", node.Name, err))
			continue
		}
		ctrl.LoggerFrom(ctx).Info("removed Node", "node", node.Name, "providerID", providerID)
	}
	return errors.Join(errs...)
}
