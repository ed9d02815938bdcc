package driver

import (
	"context"
	"fmt"
	"maps"
	"strings"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/status"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/ignition"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// InitializeMachine prepares a bound ServerClaim and powers it on: it claims the IP addresses of the provider
// spec's IPAM entries, writes the ignition Secret and sets power On with the ignitionSecretRef. Every step is an
// apply, so calling it again (MCM does while GetMachineStatus answers Uninitialized) is harmless.
//
// Waiting is not failing. MCM v0.62.1 (machinecontroller/machine.go, initializeMachine) turns every error but
// Unimplemented into phase CrashLoopBackOff and lastOperation state Failed, which the MachineDeployment reports
// as a failed machine and the Worker as an error. So while the claim waits for metal-operator (unbound, a
// matching Server free) or an address for the IPAM provider, the call succeeds without powering on: MCM then
// calls GetMachineStatus again after ShortRetry, which answers Uninitialized until the claim is powered on, and
// the Machine shows no error. A real shortage is an error: ResourceExhausted when no free Server matches or an
// IP pool is exhausted.
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
	if !r.owns(claim) {
		return nil, r.foreign("ServerClaim", claim)
	}
	nodeName, err := d.nodeNameIfBound(ctx, r, claim)
	if err != nil {
		return nil, err
	}
	if nodeName == "" {
		// MCM dereferences the response of every successful call; while unbound, the Node name is the one
		// CreateMachine gave.
		return &mcmdriver.InitializeMachineResponse{ProviderID: r.providerID(), NodeName: req.Machine.Labels[machinev1alpha1.NodeLabelKey]}, nil
	}
	response := &mcmdriver.InitializeMachineResponse{ProviderID: r.providerID(), NodeName: nodeName}
	addresses, err := r.claimAddresses(ctx, claim)
	if err != nil || addresses == nil {
		return response, err
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
	return response, nil
}

// nodeNameIfBound returns the Node name of a bound claim. For an unbound one it returns "" while a Server is free
// (metal-operator binds it shortly) and ResourceExhausted when none is.
func (d *Driver) nodeNameIfBound(ctx context.Context, r *request, claim *metalv1alpha1.ServerClaim) (string, error) {
	if isBound(claim) {
		return d.nodeName(ctx, r, claim, nil)
	}
	if err := r.checkServerAvailable(ctx, claim); err != nil {
		return "", err
	}
	klog.V(2).InfoS("Waiting for metal-operator to bind the ServerClaim", "serverClaim", r.claimKey())
	return "", nil
}

// claimAddresses applies an IPAddressClaim per IPAM entry and returns the assigned addresses by metadata key; nil
// without error while an address is not assigned yet, ResourceExhausted when a pool has none left.
func (r *request) claimAddresses(ctx context.Context, claim *metalv1alpha1.ServerClaim) (map[string]ignition.Address, error) {
	addresses := map[string]ignition.Address{}
	var waiting []string
	for _, entry := range r.spec.IPAMConfig {
		ipClaim, err := r.applyIPAddressClaim(ctx, claim, entry)
		if err != nil {
			return nil, err
		}
		if ipClaim.Status.AddressRef.Name == "" {
			if exhausted := meta.FindStatusCondition(ipClaim.Status.Conditions, ipamv1beta2.IPAddressClaimReadyCondition); exhausted != nil &&
				exhausted.Status == metav1.ConditionFalse && exhausted.Reason == ipamv1beta2.IPAddressClaimReadyPoolExhaustedReason {
				return nil, status.Error(codes.ResourceExhausted, fmt.Sprintf("IPAddressClaim %s: no IP address left in pool %s %s: %s",
					client.ObjectKeyFromObject(ipClaim), entry.IPAMRef.Kind, entry.IPAMRef.Name, exhausted.Message))
			}
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
		klog.V(2).InfoS("Waiting for IP addresses", "serverClaim", r.claimKey(), "ipAddressClaims", strings.Join(waiting, ", "))
		return nil, nil
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

// applyIPAddressClaim applies the IPAddressClaim of one IPAM entry, unless one of that name is someone else's.
// It carries the labels by which the metal cloud-controller-manager finds a Node's addresses, and the name of the
// claim's Server, so that DeleteMachine can hold the address until that Server is off even after the ServerClaim
// is gone. It has no owner reference: garbage collection would release the address as soon as the ServerClaim is
// gone, while the Server still runs with it.
func (r *request) applyIPAddressClaim(ctx context.Context, claim *metalv1alpha1.ServerClaim, entry apis.IPAMConfig) (*ipamv1beta2.IPAddressClaim, error) {
	key := client.ObjectKey{Namespace: r.ns, Name: ipAddressClaimName(r.machine.Name, entry.MetadataKey)}
	existing := &ipamv1beta2.IPAddressClaim{}
	if err := r.client.Get(ctx, key, existing); err == nil && !r.owns(existing) {
		return nil, r.foreign("IPAddressClaim", existing)
	} else if err != nil && !apierrors.IsNotFound(err) {
		return nil, ipamError(err, "cannot read IPAddressClaim %s", key)
	}
	desired := &ipamv1beta2.IPAddressClaim{
		TypeMeta: metav1.TypeMeta{APIVersion: ipamv1beta2.GroupVersion.String(), Kind: "IPAddressClaim"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        key.Name,
			Namespace:   r.ns,
			Labels:      r.ipClaimLabels(),
			Annotations: map[string]string{serverAnnotation: claim.Spec.ServerRef.Name},
		},
		Spec: ipamv1beta2.IPAddressClaimSpec{PoolRef: ipamv1beta2.IPPoolReference{
			APIGroup: entry.IPAMRef.APIGroup,
			Kind:     entry.IPAMRef.Kind,
			Name:     entry.IPAMRef.Name,
		}},
	}
	ipClaim := &ipamv1beta2.IPAddressClaim{}
	if err := r.apply(ctx, desired, ipClaim); err != nil {
		return nil, ipamError(err, "cannot apply IPAddressClaim %s", key)
	}
	return ipClaim, nil
}

// ipClaimLabels are the labels of the Machine's IPAddressClaims: the scope and the ServerClaim they belong to.
func (r *request) ipClaimLabels() map[string]string {
	labels := maps.Clone(r.scope)
	labels[metal.ServerClaimNameLabel] = r.machine.Name
	labels[metal.ServerClaimNamespaceLabel] = r.ns
	return labels
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
	key := client.ObjectKey{Namespace: r.ns, Name: ignitionSecretName(r.machine.Name)}
	existing := &metav1.PartialObjectMetadata{}
	existing.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := r.client.Get(ctx, key, existing); err == nil && !r.owns(existing) {
		return "", r.foreign("Secret", existing)
	} else if err != nil && !apierrors.IsNotFound(err) {
		return "", apiError(err, "cannot read ignition Secret %s", key)
	}
	desired := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            key.Name,
			Namespace:       r.ns,
			Labels:          r.scope,
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
