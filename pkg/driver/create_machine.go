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
	"k8s.io/klog/v2"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis"
)

// CreateMachine creates the ServerClaim of a Machine, powered Off: the Server must not boot before
// InitializeMachine wrote its Ignition, which needs the bound Server (node name) and the claimed addresses.
//
// An existing claim is left as it is, so a repeated call (MCM retry, restarted driver) neither duplicates nor
// powers off a claim that InitializeMachine already powered on. With node name policy ServerName or BMCName the
// Node name is only known once the claim is bound, and MCM keeps the name CreateMachine returns, so the call
// answers Unavailable until then; machine.go's machineCreateErrorHandler retries Unavailable shortly.
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
	} else if !hasLabels(claim, r.spec.Labels) {
		return nil, status.Error(codes.AlreadyExists, fmt.Sprintf("ServerClaim %s exists but lacks the labels of this MachineClass (%s); it belongs to someone else", r.claimKey(), metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: r.spec.Labels})))
	}

	nodeName := claim.Name
	if d.policy.needsServer() {
		if !isBound(claim) {
			return nil, status.Error(codes.Unavailable, unboundMessage(r.claimKey(), claim))
		}
		if nodeName, err = d.nodeName(ctx, r, claim, nil); err != nil {
			return nil, err
		}
	}
	return &mcmdriver.CreateMachineResponse{ProviderID: r.providerID(), NodeName: nodeName}, nil
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
			Labels:    r.spec.Labels,
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
