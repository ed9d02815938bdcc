package driver

import (
	"context"
	"fmt"
	"strings"

	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/status"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/ignition"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// InitializeMachine prepares a bound ServerClaim and powers it on: it claims the IP addresses of the provider
// spec's IPAM entries, writes the ignition Secret and sets power On with the ignitionSecretRef. Every step is an
// apply, so calling it again (MCM does while GetMachineStatus answers Uninitialized) is harmless.
//
// While the claim is unbound, or an address is not assigned yet, it answers Unavailable with a message naming
// what it waits for. MCM v0.62.1 (machinecontroller/machine.go, initializeMachine) treats every code but
// Unimplemented alike: it records the message in the Machine's lastOperation, sets the phase CrashLoopBackOff
// (getCreateFailurePhase in machine_util.go: Failed only once the machine creation timeout passed) and re-queues
// after ShortRetry; machineStatusUpdate skips the write while the message stays the same. Unavailable is the code
// MCM's own handlers (machineCreateErrorHandler, deleteVM) retry shortly, and it says what happens: nothing is
// broken, the driver waits for a Server.
func (d *Driver) InitializeMachine(ctx context.Context, req *mcmdriver.InitializeMachineRequest) (*mcmdriver.InitializeMachineResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty InitializeMachine request")
	}
	r, err := d.newRequest(req.Machine, req.MachineClass, true)
	if err != nil {
		return nil, err
	}
	userData := secretData(req.Secret, metal.UserDataSecretKey)
	if len(userData) == 0 {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("the secret of MachineClass %q has no %q", req.MachineClass.Name, metal.UserDataSecretKey))
	}
	claim, err := r.getClaim(ctx)
	if err != nil {
		return nil, err
	}
	if claim == nil {
		return nil, status.Error(codes.NotFound, fmt.Sprintf("ServerClaim %s not found", r.claimKey()))
	}
	if !isBound(claim) {
		return nil, status.Error(codes.Unavailable, unboundMessage(r.claimKey(), claim))
	}
	addresses, err := r.claimAddresses(ctx, claim)
	if err != nil {
		return nil, err
	}
	nodeName, err := d.nodeName(ctx, r, claim, nil)
	if err != nil {
		return nil, err
	}
	extra, err := r.extraIgnition(req)
	if err != nil {
		return nil, err
	}
	secretName, err := r.applyIgnitionSecret(ctx, claim, nodeName, userData, extra, addresses)
	if err != nil {
		return nil, err
	}
	if err := r.powerOn(ctx, claim, secretName); err != nil {
		return nil, err
	}
	return &mcmdriver.InitializeMachineResponse{ProviderID: r.providerID(), NodeName: nodeName}, nil
}

// claimAddresses applies an IPAddressClaim per IPAM entry and returns the assigned addresses by metadata key.
func (r *request) claimAddresses(ctx context.Context, claim *metalv1alpha1.ServerClaim) (map[string]ignition.Address, error) {
	addresses := map[string]ignition.Address{}
	var waiting []string
	for _, entry := range r.spec.IPAMConfig {
		desired := &ipamv1beta2.IPAddressClaim{
			TypeMeta: metav1.TypeMeta{APIVersion: ipamv1beta2.GroupVersion.String(), Kind: "IPAddressClaim"},
			ObjectMeta: metav1.ObjectMeta{
				Name:            ipAddressClaimName(r.machine.Name, entry.MetadataKey),
				Namespace:       r.ns,
				Labels:          r.spec.Labels,
				OwnerReferences: []metav1.OwnerReference{ownerReference(claim)},
			},
			Spec: ipamv1beta2.IPAddressClaimSpec{PoolRef: ipamv1beta2.IPPoolReference{
				APIGroup: entry.IPAMRef.APIGroup,
				Kind:     entry.IPAMRef.Kind,
				Name:     entry.IPAMRef.Name,
			}},
		}
		ipClaim := &ipamv1beta2.IPAddressClaim{}
		if err := r.apply(ctx, desired, ipClaim); err != nil {
			return nil, apiError(err, "cannot apply IPAddressClaim %s", client.ObjectKeyFromObject(desired))
		}
		if ipClaim.Status.AddressRef.Name == "" {
			waiting = append(waiting, fmt.Sprintf("IPAddressClaim %s (pool %s %s)", client.ObjectKeyFromObject(ipClaim), entry.IPAMRef.Kind, entry.IPAMRef.Name))
			continue
		}
		address := &ipamv1beta2.IPAddress{}
		key := client.ObjectKey{Namespace: r.ns, Name: ipClaim.Status.AddressRef.Name}
		if err := r.client.Get(ctx, key, address); err != nil {
			return nil, apiError(err, "cannot read IPAddress %s of IPAddressClaim %s", key, ipClaim.Name)
		}
		addresses[entry.MetadataKey] = ignition.Address{IP: address.Spec.Address, Prefix: address.Spec.Prefix, Gateway: address.Spec.Gateway}
	}
	if len(waiting) > 0 {
		return nil, status.Error(codes.Unavailable, "waiting for an address for "+strings.Join(waiting, ", "))
	}
	return addresses, nil
}

// extraIgnition returns the extra Ignition from the MachineClass secret when the providerSpec announces one. It is
// kept in the secret, not the providerSpec, because it may carry credentials.
func (r *request) extraIgnition(req *mcmdriver.InitializeMachineRequest) (string, error) {
	if r.spec.ExtraIgnition == nil {
		return "", nil
	}
	extra := secretData(req.Secret, metal.ExtraIgnitionSecretKey)
	if len(extra) == 0 {
		return "", status.Error(codes.InvalidArgument, fmt.Sprintf("MachineClass %q sets providerSpec.extraIgnition, but its secret has no %q", req.MachineClass.Name, metal.ExtraIgnitionSecretKey))
	}
	return string(extra), nil
}

// applyIgnitionSecret renders the Ignition and applies it as the claim's ignition Secret.
func (r *request) applyIgnitionSecret(ctx context.Context, claim *metalv1alpha1.ServerClaim, nodeName string, userData []byte, extra string, addresses map[string]ignition.Address) (string, error) {
	config := ignition.Config{
		Hostname:   nodeName,
		UserData:   userData,
		DNSServers: r.spec.DNSServers,
		Metadata:   r.spec.Metadata,
		Addresses:  addresses,
		Extra:      extra,
	}
	if r.spec.ExtraIgnition != nil {
		config.Override = r.spec.ExtraIgnition.Override
	}
	content, err := ignition.Build(config)
	if err != nil {
		return "", status.Error(codes.InvalidArgument, fmt.Sprintf("%s of the MachineClass secret: %v", metal.ExtraIgnitionSecretKey, err))
	}
	desired := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            ignitionSecretName(r.machine.Name),
			Namespace:       r.ns,
			Labels:          r.spec.Labels,
			OwnerReferences: []metav1.OwnerReference{ownerReference(claim)},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{metal.IgnitionSecretKey: content},
	}
	if err := r.apply(ctx, desired, &corev1.Secret{}); err != nil {
		return "", apiError(err, "cannot apply ignition Secret %s", client.ObjectKeyFromObject(desired))
	}
	return desired.Name, nil
}

// powerOn points the claim to its ignition Secret and powers it on, unless it already is.
func (r *request) powerOn(ctx context.Context, claim *metalv1alpha1.ServerClaim, secretName string) error {
	if claim.Spec.Power == metalv1alpha1.PowerOn && claim.Spec.IgnitionSecretRef != nil && claim.Spec.IgnitionSecretRef.Name == secretName {
		return nil
	}
	desired := r.desiredClaim(metalv1alpha1.PowerOn, &secretName)
	// Selector, image and tolerations stay as the claim was created: the selector is immutable, and a Machine
	// keeps the Server it got even if its MachineClass changed since.
	desired.Spec.ServerSelector = claim.Spec.ServerSelector
	desired.Spec.Image = claim.Spec.Image
	desired.Spec.Tolerations = claim.Spec.Tolerations
	if err := r.apply(ctx, desired, &metalv1alpha1.ServerClaim{}); err != nil {
		return apiError(err, "cannot power on ServerClaim %s", r.claimKey())
	}
	klog.V(2).InfoS("Powered on ServerClaim", "serverClaim", r.claimKey(), "server", claim.Spec.ServerRef.Name)
	return nil
}

// secretData returns a key of the MachineClass secret MCM passes along; nil if there is none.
func secretData(secret *corev1.Secret, key string) []byte {
	if secret == nil {
		return nil
	}
	return secret.Data[key]
}
