package warner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	securityv1alpha1 "github.com/gardener/gardener/pkg/apis/security/v1alpha1"
	gardenerutils "github.com/gardener/gardener/pkg/utils/gardener"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	metalapi "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal/capacity"
	metalclient "github.com/openkcm/gardener-extension-provider-metal/pkg/metal/client"
)

// DefaultMetalAPITimeout bounds the requests to the metal API for one admission request, well below the
// webhook's timeout of 10 seconds, so that the Shoot is admitted without warning rather than delayed.
const DefaultMetalAPITimeout = 4 * time.Second

// Handler warns about worker pools whose zones have fewer claimable Servers than the pool's minimum. It always
// allows the request.
type Handler struct {
	reader  client.Reader
	decoder admission.Decoder
	log     logr.Logger
	// Timeout bounds the requests to the metal API of one admission request.
	Timeout time.Duration
}

// NewHandler returns a Handler that reads the Shoot's CloudProfile, binding and credentials Secret through reader.
func NewHandler(reader client.Reader, decoder admission.Decoder, log logr.Logger) *Handler {
	return &Handler{reader: reader, decoder: decoder, log: log, Timeout: DefaultMetalAPITimeout}
}

// errNoCredentials means the Shoot's credentials give this component no token for the metal API.
var errNoCredentials = errors.New("no token for the metal API")

// Handle allows every request; on a create and on updates that can change which Servers the machines need, it
// adds a warning per pool and zone that cannot get its minimum now. Any problem computing the count (the metal API
// unreachable, credentials refused, a reference not found) leaves the warning out and is logged.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	allowed := admission.Allowed("")
	shoot, ok := h.shootToCheck(req)
	if !ok {
		return allowed
	}
	warnings, err := h.warnings(ctx, shoot)
	if err != nil {
		level := 0
		if errors.Is(err, errNoCredentials) {
			level = 1
		}
		// The errors name objects, keys and the metal API's address, never the values of the credentials.
		h.log.V(level).Info("No Server capacity warning for the Shoot", "shoot", client.ObjectKeyFromObject(shoot), "reason", err.Error())
		return allowed
	}
	return allowed.WithWarnings(warnings...)
}

// shootToCheck decodes the Shoot of a create, or of an update that changes the worker pools, the region, the
// CloudProfile or the credentials, or wakes the Shoot up. Deleted, hibernated and workerless Shoots and those of
// other providers start no machines and are not checked.
func (h *Handler) shootToCheck(req admission.Request) (*gardencorev1beta1.Shoot, bool) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return nil, false
	}
	shoot := &gardencorev1beta1.Shoot{}
	if err := h.decoder.Decode(req, shoot); err != nil {
		h.log.Info("Cannot decode the Shoot", "error", err.Error())
		return nil, false
	}
	if shoot.DeletionTimestamp != nil || shoot.Spec.Provider.Type != metal.Type ||
		v1beta1helper.IsWorkerless(shoot) || v1beta1helper.HibernationIsEnabled(shoot) {
		return nil, false
	}
	if req.Operation == admissionv1.Update {
		old := &gardencorev1beta1.Shoot{}
		if err := h.decoder.DecodeRaw(req.OldObject, old); err != nil {
			h.log.Info("Cannot decode the old Shoot", "error", err.Error())
			return nil, false
		}
		if !changesServers(old, shoot) {
			return nil, false
		}
	}
	return shoot, true
}

// changesServers tells whether the update changes what the Shoot's machines need of the metal API.
func changesServers(old, shoot *gardencorev1beta1.Shoot) bool {
	return !equality.Semantic.DeepEqual(old.Spec.Provider.Workers, shoot.Spec.Provider.Workers) ||
		old.Spec.Region != shoot.Spec.Region ||
		!equality.Semantic.DeepEqual(old.Spec.CloudProfile, shoot.Spec.CloudProfile) ||
		!equality.Semantic.DeepEqual(old.Spec.CloudProfileName, shoot.Spec.CloudProfileName) || //nolint:staticcheck // older shoots may still only name it there
		!equality.Semantic.DeepEqual(old.Spec.SecretBindingName, shoot.Spec.SecretBindingName) || //nolint:staticcheck // older shoots may still use SecretBindings
		!equality.Semantic.DeepEqual(old.Spec.CredentialsBindingName, shoot.Spec.CredentialsBindingName) ||
		v1beta1helper.HibernationIsEnabled(old)
}

// warnings counts the Servers of every pool and zone with one Server list in the metal API (and, for a Shoot that
// may have claims already, one list of its ServerClaims, whose Servers count as its own).
func (h *Handler) warnings(ctx context.Context, shoot *gardencorev1beta1.Shoot) ([]string, error) {
	cloudProfile, err := gardenerutils.GetCloudProfile(ctx, h.reader, shoot)
	if err != nil {
		return nil, fmt.Errorf("reading the CloudProfile: %w", err)
	}
	cloudProfileConfig, err := helper.CloudProfileConfigFromRaw(cloudProfile.Spec.ProviderConfig)
	if err != nil {
		return nil, fmt.Errorf("decoding the providerConfig of CloudProfile %s: %w", cloudProfile.Name, err)
	}
	region, ok := helper.FindRegionConfig(cloudProfileConfig, shoot.Spec.Region)
	if !ok {
		return nil, fmt.Errorf("CloudProfile %s has no metal API for region %q", cloudProfile.Name, shoot.Spec.Region)
	}
	pools, err := capacity.PoolZones(shoot.Spec.Provider.Workers, cloudProfileConfig, shoot.Spec.Region)
	if err != nil || len(pools) == 0 {
		return nil, err
	}
	creds, err := h.credentials(ctx, shoot)
	if err != nil {
		return nil, err
	}
	metalClient, err := newMetalClient(region, creds, h.Timeout)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	servers := &metalv1alpha1.ServerList{}
	if err := metalClient.List(ctx, servers); err != nil {
		return nil, fmt.Errorf("listing Servers in the metal API %s: %w", region.Server, err)
	}
	ownClaims, err := ownClaims(ctx, metalClient, shoot, creds.Namespace)
	if err != nil {
		return nil, fmt.Errorf("listing the Shoot's ServerClaims in the metal API %s: %w", region.Server, err)
	}

	var warnings []string
	for i, c := range capacity.Count(servers.Items, pools, creds.Namespace, ownClaims) {
		if c.Available < c.Minimum {
			warnings = append(warnings, fmt.Sprintf("%s: %d of %d Servers of machine type %q in zone %q are available now; the other machines will wait (ResourceExhausted)",
				pools[i].ZonePath, c.Available, c.Minimum, c.MachineType, c.Zone))
		}
	}
	return warnings, nil
}

// ownClaims lists the names of the Shoot's ServerClaims, by the scope labels the machine driver puts on them. A
// Shoot without technical ID has none yet.
func ownClaims(ctx context.Context, c client.Client, shoot *gardencorev1beta1.Shoot, namespace string) (sets.Set[string], error) {
	names := sets.New[string]()
	if shoot.Status.TechnicalID == "" || shoot.UID == "" {
		return names, nil
	}
	claims := &metalv1alpha1.ServerClaimList{}
	if err := c.List(ctx, claims, client.InNamespace(namespace), client.MatchingLabels(metal.ScopeLabels(shoot.Status.TechnicalID, string(shoot.UID)))); err != nil {
		return nil, err
	}
	for _, claim := range claims.Items {
		names.Insert(claim.Name)
	}
	return names, nil
}

// credentials reads the metal API credentials of the Shoot from the Secret its SecretBinding or CredentialsBinding
// references. A WorkloadIdentity gives no token to this component: gardenlet requests the workload identity's
// tokens for the seed, and letting the admission component request them would let it act as every metal Shoot in
// the metal API; such Shoots get no warning.
func (h *Handler) credentials(ctx context.Context, shoot *gardencorev1beta1.Shoot) (*metalclient.Credentials, error) {
	var secretKey client.ObjectKey
	switch {
	case shoot.Spec.CredentialsBindingName != nil:
		binding := &securityv1alpha1.CredentialsBinding{}
		if err := h.reader.Get(ctx, client.ObjectKey{Namespace: shoot.Namespace, Name: *shoot.Spec.CredentialsBindingName}, binding); err != nil {
			return nil, fmt.Errorf("reading CredentialsBinding %s/%s: %w", shoot.Namespace, *shoot.Spec.CredentialsBindingName, err)
		}
		ref := binding.CredentialsRef
		if ref.APIVersion != corev1.SchemeGroupVersion.String() || ref.Kind != "Secret" {
			return nil, fmt.Errorf("CredentialsBinding %s/%s references a %s: %w", binding.Namespace, binding.Name, ref.Kind, errNoCredentials)
		}
		secretKey = client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
	case shoot.Spec.SecretBindingName != nil: //nolint:staticcheck // older shoots may still use SecretBindings
		binding := &gardencorev1beta1.SecretBinding{}
		name := *shoot.Spec.SecretBindingName //nolint:staticcheck // older shoots may still use SecretBindings
		if err := h.reader.Get(ctx, client.ObjectKey{Namespace: shoot.Namespace, Name: name}, binding); err != nil {
			return nil, fmt.Errorf("reading SecretBinding %s/%s: %w", shoot.Namespace, name, err)
		}
		secretKey = client.ObjectKey{Namespace: binding.SecretRef.Namespace, Name: binding.SecretRef.Name}
	default:
		return nil, fmt.Errorf("the Shoot references no credentials: %w", errNoCredentials)
	}
	secret := &corev1.Secret{}
	if err := h.reader.Get(ctx, secretKey, secret); err != nil {
		return nil, fmt.Errorf("reading credentials Secret %s: %w", secretKey, err)
	}
	return metalclient.ReadCredentials(secret)
}

// newMetalClient returns a client of the region's metal API with the credentials. Its REST mapper knows the two
// kinds it reads, so that a check costs no API discovery.
func newMetalClient(region *metalapi.RegionConfig, creds *metalclient.Credentials, timeout time.Duration) (client.Client, error) {
	config, err := metalclient.RESTConfig(region, creds)
	if err != nil {
		return nil, err
	}
	config.Timeout = timeout
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(metalv1alpha1.GroupVersion.WithKind("Server"), meta.RESTScopeRoot)
	mapper.Add(metalv1alpha1.GroupVersion.WithKind("ServerClaim"), meta.RESTScopeNamespace)
	c, err := client.New(config, client.Options{Scheme: metalclient.Scheme, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("creating the metal API client: %w", err)
	}
	return c, nil
}
