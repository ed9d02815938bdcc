// Package driver implements the machine-controller-manager driver for the metal API: a Machine is a ServerClaim
// (named after the Machine) plus its ignition Secret and IPAddressClaims in the shoot's metal namespace.
package driver

import (
	"context"
	"errors"
	"fmt"
	"time"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/status"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/apis/validation"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/metalclient"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// fieldOwner owns the fields the driver applies in the metal API.
const fieldOwner = client.FieldOwner(metal.DriverName)

// NodeNamePolicy decides the name of the Node a Server registers as (and the hostname in its Ignition).
type NodeNamePolicy string

const (
	// NodeNameServerClaimName names the Node after the ServerClaim, which is the Machine's name.
	NodeNameServerClaimName NodeNamePolicy = "ServerClaimName"
	// NodeNameServerName names the Node after the Server bound to the claim.
	NodeNameServerName NodeNamePolicy = "ServerName"
	// NodeNameBMCName names the Node after the BMC of the Server bound to the claim.
	NodeNameBMCName NodeNamePolicy = "BMCName"
)

// NodeNamePolicies lists the supported node name policies.
var NodeNamePolicies = []NodeNamePolicy{NodeNameServerClaimName, NodeNameServerName, NodeNameBMCName}

// ParseNodeNamePolicy returns the policy named s.
func ParseNodeNamePolicy(s string) (NodeNamePolicy, error) {
	for _, policy := range NodeNamePolicies {
		if string(policy) == s {
			return policy, nil
		}
	}
	return "", fmt.Errorf("unknown node name policy %q, supported are %v", s, NodeNamePolicies)
}

// needsServer tells whether the node name is only known once the claim is bound.
func (p NodeNamePolicy) needsServer() bool { return p != NodeNameServerClaimName }

const (
	// defaultBindTimeout bounds how long CreateMachine waits for metal-operator to bind a claim to a free Server.
	defaultBindTimeout = 30 * time.Second
	// bindPollInterval is how often CreateMachine looks at the claim while it waits.
	bindPollInterval = time.Second
	// defaultDeletionWait bounds how long DeleteMachine waits for metal-operator to release the claim and power
	// its Server off (a graceful shutdown through the BMC) before the addresses can be released.
	defaultDeletionWait = 2 * time.Minute
	// deletionPollInterval is how often DeleteMachine looks at the remaining objects while it waits.
	deletionPollInterval = 2 * time.Second
)

// Driver is the machine-controller-manager driver for the metal API.
type Driver struct {
	metal        metalclient.Source
	policy       NodeNamePolicy
	bindTimeout  time.Duration
	deletionWait time.Duration
}

var _ mcmdriver.Driver = &Driver{}

// New returns a driver working with the metal API client and namespace of source.
func New(source metalclient.Source, policy NodeNamePolicy) *Driver {
	return &Driver{metal: source, policy: policy, bindTimeout: defaultBindTimeout, deletionWait: defaultDeletionWait}
}

// WithDeletionWait sets how long DeleteMachine waits for the Machine's objects to be gone before it answers
// Unavailable; zero answers at once after one deletion step.
func (d *Driver) WithDeletionWait(wait time.Duration) *Driver {
	d.deletionWait = wait
	return d
}

// NewScheme returns a scheme with the types the driver reads and writes in the metal API.
func NewScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(metalv1alpha1.AddToScheme(scheme))
	utilruntime.Must(ipamv1beta2.AddToScheme(scheme))
	return scheme
}

// ProviderID returns the provider ID of the Node backed by a ServerClaim; the metal cloud-controller-manager
// parses the same form.
func ProviderID(namespace, claimName string) string {
	return fmt.Sprintf("%s://%s/%s", metal.ProviderIDScheme, namespace, claimName)
}

// ignitionSecretName is the name of the Secret holding a Machine's Ignition.
func ignitionSecretName(machineName string) string { return machineName + "-ignition" }

// serverAnnotation on an IPAddressClaim names the Server the Machine's claim was bound to when the address was
// claimed; DeleteMachine releases the address only once that Server is off or released.
const serverAnnotation = "metal.provider.extensions.gardener.cloud/server"

// ipAddressClaimName is the name of the IPAddressClaim of a Machine for one IPAM entry.
func ipAddressClaimName(machineName, metadataKey string) string {
	return machineName + "-" + metadataKey
}

// request is what every driver method needs from MCM's request.
type request struct {
	machine *machinev1alpha1.Machine
	// spec is the decoded and validated provider spec; nil in a request made with newScopeRequest.
	spec *apis.ProviderSpec
	// scope holds the labels every object of the shoot carries; only objects with all of them are touched.
	scope  map[string]string
	client client.Client
	ns     string
	// ipamKeys are the metadata keys of the provider spec's IPAM entries.
	ipamKeys []string
}

// newRequest checks the MachineClass and decodes and validates its provider spec, for the calls that create or
// change objects. A bad spec is the user's error: InvalidArgument with the field path, never Internal.
func (d *Driver) newRequest(machine *machinev1alpha1.Machine, class *machinev1alpha1.MachineClass, needMachine bool) (*request, error) {
	if err := checkRequest(machine, class, needMachine); err != nil {
		return nil, err
	}
	spec, err := apis.Decode(class.ProviderSpec.Raw)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("MachineClass %q: %v", class.Name, err))
	}
	if errs := validation.ValidateProviderSpec(spec, field.NewPath("providerSpec")); len(errs) > 0 {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("MachineClass %q: %v", class.Name, errs.ToAggregate()))
	}
	r := d.scopedRequest(machine, spec.Labels)
	r.spec = spec
	for _, entry := range spec.IPAMConfig {
		r.ipamKeys = append(r.ipamKeys, entry.MetadataKey)
	}
	return r, nil
}

// newScopeRequest reads only the scope of the provider spec, for the calls that find or delete objects
// (GetMachineStatus, DeleteMachine, ListMachines): a MachineClass of an older format, or one that stricter
// validation rejects, must not keep its machines from being deleted or its orphans from being collected.
func (d *Driver) newScopeRequest(machine *machinev1alpha1.Machine, class *machinev1alpha1.MachineClass, needMachine bool) (*request, error) {
	if err := checkRequest(machine, class, needMachine); err != nil {
		return nil, err
	}
	scope, err := apis.DecodeScope(class.ProviderSpec.Raw)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("MachineClass %q: %v", class.Name, err))
	}
	if errs := validation.ValidateScopeLabels(scope.Labels, field.NewPath("providerSpec", "labels")); len(errs) > 0 {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("MachineClass %q: %v", class.Name, errs.ToAggregate()))
	}
	r := d.scopedRequest(machine, scope.Labels)
	r.ipamKeys = scope.IPAMKeys
	return r, nil
}

func (d *Driver) scopedRequest(machine *machinev1alpha1.Machine, scope map[string]string) *request {
	c, ns := d.metal.Client()
	return &request{machine: machine, scope: scope, client: c, ns: ns}
}

// checkRequest checks what every request needs: a MachineClass of this provider and, where needed, a Machine.
func checkRequest(machine *machinev1alpha1.Machine, class *machinev1alpha1.MachineClass, needMachine bool) error {
	if class == nil {
		return status.Error(codes.InvalidArgument, "the request has no MachineClass")
	}
	if needMachine && (machine == nil || machine.Name == "") {
		return status.Error(codes.InvalidArgument, "the request has no Machine")
	}
	if class.Provider != apis.Provider {
		return status.Error(codes.InvalidArgument, fmt.Sprintf("MachineClass %q has provider %q, this driver serves %q", class.Name, class.Provider, apis.Provider))
	}
	return nil
}

// owns tells whether obj carries the request's scope labels, i.e. belongs to this shoot.
func (r *request) owns(obj client.Object) bool {
	return hasLabels(obj, r.scope)
}

// foreign is the error for an object that has the name the driver would give it but lacks the scope labels: it
// belongs to someone else and is left as it is.
func (r *request) foreign(kind string, obj client.Object) error {
	return status.Error(codes.AlreadyExists, r.foreignMessage(kind, obj))
}

func (r *request) foreignMessage(kind string, obj client.Object) string {
	return fmt.Sprintf("%s %s exists but lacks the labels of this MachineClass (%s); it belongs to someone else and is left alone",
		kind, client.ObjectKeyFromObject(obj), metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: r.scope}))
}

// providerID is the provider ID of the request's Machine.
func (r *request) providerID() string { return ProviderID(r.ns, r.machine.Name) }

// claimKey is the key of the request's ServerClaim.
func (r *request) claimKey() client.ObjectKey {
	return client.ObjectKey{Namespace: r.ns, Name: r.machine.Name}
}

// getClaim reads the request's ServerClaim; nil without error when it does not exist.
func (r *request) getClaim(ctx context.Context) (*metalv1alpha1.ServerClaim, error) {
	claim := &metalv1alpha1.ServerClaim{}
	if err := r.client.Get(ctx, r.claimKey(), claim); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, apiError(err, "cannot read ServerClaim %s", r.claimKey())
	}
	return claim, nil
}

// getServer reads the Server a claim is bound to.
func (r *request) getServer(ctx context.Context, claim *metalv1alpha1.ServerClaim) (*metalv1alpha1.Server, error) {
	server := &metalv1alpha1.Server{}
	if err := r.client.Get(ctx, client.ObjectKey{Name: claim.Spec.ServerRef.Name}, server); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, status.Error(codes.Unavailable, fmt.Sprintf("ServerClaim %s is bound to Server %q, which does not exist (any more)", r.claimKey(), claim.Spec.ServerRef.Name))
		}
		return nil, apiError(err, "cannot read Server %q of ServerClaim %s", claim.Spec.ServerRef.Name, r.claimKey())
	}
	return server, nil
}

// isBound tells whether metal-operator bound a Server to the claim.
func isBound(claim *metalv1alpha1.ServerClaim) bool {
	return claim.Spec.ServerRef != nil && claim.Spec.ServerRef.Name != "" && claim.Status.Phase == metalv1alpha1.PhaseBound
}

// nodeName returns the Node name of a claim per policy; server is read only when the policy needs it and the
// caller does not have it yet.
func (d *Driver) nodeName(ctx context.Context, r *request, claim *metalv1alpha1.ServerClaim, server *metalv1alpha1.Server) (string, error) {
	switch d.policy {
	case NodeNameServerName:
		return claim.Spec.ServerRef.Name, nil
	case NodeNameBMCName:
		if server == nil {
			var err error
			if server, err = r.getServer(ctx, claim); err != nil {
				return "", err
			}
		}
		if server.Spec.BMCRef == nil || server.Spec.BMCRef.Name == "" {
			return "", status.Error(codes.FailedPrecondition, fmt.Sprintf("Server %q has no bmcRef, so node name policy %s cannot name its Node", server.Name, NodeNameBMCName))
		}
		return server.Spec.BMCRef.Name, nil
	default:
		return claim.Name, nil
	}
}

// serverAddresses returns the IP addresses of a Server's network interfaces as internal Node addresses.
func serverAddresses(server *metalv1alpha1.Server) []corev1.NodeAddress {
	var addresses []corev1.NodeAddress
	for _, nic := range server.Status.NetworkInterfaces {
		for _, ip := range nic.IPs {
			if ip.IsValid() {
				addresses = append(addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip.String()})
			}
		}
	}
	return addresses
}

// ipamError is apiError for requests on cluster-api IPAM objects: a metal API that serves no IPAM CRDs cannot
// hand out addresses, which the provider spec's ipamConfig asks for, and that is a precondition the operator has
// to meet.
func ipamError(err error, format string, args ...any) error {
	if meta.IsNoMatchError(err) {
		return status.Error(codes.FailedPrecondition, fmt.Sprintf(format, args...)+": the metal API serves no cluster-api IPAM (ipam.cluster.x-k8s.io), which the provider spec's ipamConfig needs")
	}
	return apiError(err, format, args...)
}

// apiError maps an error of the metal API to an MCM status: transient errors become Unavailable (MCM retries
// them shortly), everything else Internal or InvalidArgument.
//
// Denied requests are Unavailable too, with the API server's message: a kube-apiserver that has just started
// answers "forbidden ... RBAC: role not found" (and 401 for tokens of ServiceAccounts it has not read yet) until its
// authorizer's and authenticator's caches are synced, while it already accepts connections. MCM gives
// PermissionDenied its long retry (machine_util.go, deleteVM: LongRetry, ten minutes, "Aborting operation"), so one
// request in that window kept a deleted machine and its Server for ten minutes after a metal API restart; a Role
// the operator fixes takes effect on the short retry as well.
//
// For the same reason an API the client's discovery does not find is Unavailable: a kube-apiserver that has just
// started serves its CRDs a moment after it accepts connections, and a client whose discovery ran in that moment (a
// driver started during the restart) answered "unable to retrieve the complete list of server APIs:
// metal.ironcore.dev/v1alpha1: no matches", which as Internal got the same ten-minute retry on deletion. The
// client's mapper discovers the group again on the next request.
func apiError(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...) + ": " + err.Error()
	switch {
	case meta.IsNoMatchError(err):
		return status.Error(codes.Unavailable, msg)
	case apierrors.IsConflict(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsTooManyRequests(err), apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err),
		errors.Is(err, context.DeadlineExceeded),
		utilnet.IsConnectionRefused(err), utilnet.IsConnectionReset(err), utilnet.IsProbableEOF(err),
		apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return status.Error(codes.Unavailable, msg)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return status.Error(codes.InvalidArgument, msg)
	default:
		return status.Error(codes.Internal, msg)
	}
}
