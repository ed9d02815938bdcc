package driver

import (
	"context"
	"fmt"

	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/status"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis"
)

// CreateMachine creates the ServerClaim of a Machine, powered Off: the Server must not boot before
// InitializeMachine wrote its Ignition, which needs the bound Server (node name) and the claimed addresses.
//
// An existing claim is left as it is, so a repeated call (MCM retry, restarted driver) neither duplicates nor
// powers off a claim that InitializeMachine already powered on; a claim of that name without the scope labels is
// someone else's (AlreadyExists). With node name policy ServerName or BMCName the Node name is only known once the
// claim is bound, and MCM keeps the name CreateMachine returns, so the call waits for the binding (see waitBound).
func (d *Driver) CreateMachine(ctx context.Context, req *mcmdriver.CreateMachineRequest) (*mcmdriver.CreateMachineResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty CreateMachine request")
	}
	r, err := d.newRequest(req.Machine, req.MachineClass, true)
	if err != nil {
		return nil, err
	}
	claim, err := r.getClaim(ctx)
	if err != nil {
		return nil, err
	}
	if claim == nil {
		if claim, err = r.applyClaim(ctx); err != nil {
			return nil, err
		}
		klog.V(2).InfoS("Created ServerClaim", "serverClaim", r.claimKey(), "machine", req.Machine.Name)
	} else if !r.owns(claim) {
		return nil, r.foreign("ServerClaim", claim)
	}

	nodeName := claim.Name
	if d.policy.needsServer() {
		if claim, err = d.waitBound(ctx, r, claim); err != nil {
			return nil, err
		}
		if nodeName, err = d.nodeName(ctx, r, claim, nil); err != nil {
			return nil, err
		}
	}
	return &mcmdriver.CreateMachineResponse{ProviderID: r.providerID(), NodeName: nodeName}, nil
}

// waitBound waits until metal-operator binds the claim, which takes seconds while a matching Server is free.
// Every error of CreateMachine puts the Machine into CrashLoopBackOff (machine_util.go, machineCreateErrorHandler),
// so waiting here keeps the happy path free of it. With no free Server it answers ResourceExhausted at once; if
// metal-operator has not bound the claim within bindTimeout although a Server is free, Unavailable (retried after
// ShortRetry).
func (d *Driver) waitBound(ctx context.Context, r *request, claim *metalv1alpha1.ServerClaim) (*metalv1alpha1.ServerClaim, error) {
	if isBound(claim) {
		return claim, nil
	}
	if err := r.checkServerAvailable(ctx, claim); err != nil {
		return nil, err
	}
	err := wait.PollUntilContextTimeout(ctx, bindPollInterval, d.bindTimeout, false, func(ctx context.Context) (bool, error) {
		current, err := r.getClaim(ctx)
		if err != nil || current == nil {
			return false, err
		}
		claim = current
		return isBound(claim), nil
	})
	switch {
	case wait.Interrupted(err):
		return nil, status.Error(codes.Unavailable, fmt.Sprintf("ServerClaim %s is not bound after %s although a Server matching selector %s is free; waiting for metal-operator",
			r.claimKey(), d.bindTimeout, metav1.FormatLabelSelector(claim.Spec.ServerSelector)))
	case err != nil:
		return nil, err
	}
	return claim, nil
}

// applyClaim applies a new ServerClaim, powered Off and without Ignition.
func (r *request) applyClaim(ctx context.Context) (*metalv1alpha1.ServerClaim, error) {
	desired := r.desiredClaim(metalv1alpha1.PowerOff, nil)
	claim := &metalv1alpha1.ServerClaim{}
	if err := r.apply(ctx, desired, claim); err != nil {
		return nil, apiError(err, "cannot apply ServerClaim %s", r.claimKey())
	}
	return claim, nil
}

// desiredClaim is the ServerClaim of the request's Machine as the driver owns it.
func (r *request) desiredClaim(power metalv1alpha1.Power, ignitionSecretName *string) *metalv1alpha1.ServerClaim {
	claim := &metalv1alpha1.ServerClaim{
		TypeMeta: metav1.TypeMeta{APIVersion: metalv1alpha1.GroupVersion.String(), Kind: "ServerClaim"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      r.machine.Name,
			Namespace: r.ns,
			Labels:    r.scope,
		},
		Spec: metalv1alpha1.ServerClaimSpec{
			Power:          power,
			ServerSelector: r.spec.ServerSelector,
			Image:          r.spec.Image,
			Tolerations:    tolerations(r.spec.ServerTolerations),
		},
	}
	if ignitionSecretName != nil {
		claim.Spec.IgnitionSecretRef = &corev1.LocalObjectReference{Name: *ignitionSecretName}
	}
	return claim
}

func tolerations(in []apis.Toleration) []metalv1alpha1.Toleration {
	var out []metalv1alpha1.Toleration
	for _, t := range in {
		out = append(out, metalv1alpha1.Toleration{
			Key:      t.Key,
			Operator: metalv1alpha1.TolerationOperator(t.Operator),
			Value:    t.Value,
			Effect:   metalv1alpha1.TaintEffect(t.Effect),
		})
	}
	return out
}
