package infrastructure

import (
	"context"
	"fmt"
	"slices"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
)

const (
	metalGroup = "metal.ironcore.dev"
	ipamGroup  = "ipam.cluster.x-k8s.io"
)

// permission is an access the shoot's components need in the metal API.
type permission struct {
	verb, group, resource string
	// clusterScoped resources (Servers) need a ClusterRole binding; namespaced ones are checked in the shoot's
	// namespace.
	clusterScoped bool
}

func (p permission) String() string {
	resource := p.resource
	if p.group != "" {
		resource += "." + p.group
	}
	return p.verb + " " + resource
}

// requiredPermissions are exactly what the deployed components do in the metal API with the shoot's credentials:
//   - the machine driver (pkg/driver) reads ServerClaims, Servers, IPAddressClaims and IPAddresses with uncached
//     GETs and LISTs, writes ServerClaims, ignition Secrets and IPAddressClaims with server-side apply (authorized
//     as patch, and as create when the object is new) and deletes them;
//   - the metal cloud-controller-manager (cloud-provider-metal v0.3.0 to v0.5.0, pkg/cloudprovider/metal/cloud.go)
//     reads through a controller-runtime cache, so every kind it reads needs list and watch: Servers
//     (cluster-wide), ServerClaims, IPAddressClaims and IPAddresses (instances_v2.go) and ServerMaintenances
//     (node_controller.go looks one up for every Node); it patches ServerClaims (cluster label, power,
//     maintenance approval);
//   - this controller lists and deletes what a deleted shoot left behind and watches Servers for the capacity
//     count.
//
// Nothing updates (PUT) a ServerClaim or Secret, and nothing reads a Secret.
var requiredPermissions = func() []permission {
	var perms []permission
	add := func(group, resource string, clusterScoped bool, verbs ...string) {
		for _, verb := range verbs {
			perms = append(perms, permission{verb: verb, group: group, resource: resource, clusterScoped: clusterScoped})
		}
	}
	add(metalGroup, "servers", true, "get", "list", "watch")
	add(metalGroup, "serverclaims", false, "get", "list", "watch", "create", "patch", "delete")
	add(metalGroup, "servermaintenances", false, "list", "watch")
	add("", "secrets", false, "create", "patch", "delete")
	add(ipamGroup, "ipaddressclaims", false, "get", "list", "watch", "create", "patch", "delete")
	add(ipamGroup, "ipaddresses", false, "get", "list", "watch")
	return perms
}()

// maintenancePermissions are what the cloud-controller-manager needs only when a Node asks for maintenance (label
// metal.ironcore.dev/maintenance-requested=true): it then creates or patches a ServerMaintenance and deletes it
// again (node_controller.go, ensureServerMaintenanceExists/NotExists). Shoots that do not use maintenance need
// none of them, so their absence is reported, not failed.
var maintenancePermissions = []permission{
	{verb: "create", group: metalGroup, resource: "servermaintenances"},
	{verb: "patch", group: metalGroup, resource: "servermaintenances"},
	{verb: "delete", group: metalGroup, resource: "servermaintenances"},
}

// permissionsKey identifies the permission sets checkPermissions reviews: a changed set re-runs the review even
// with unchanged credentials.
var permissionsKey = func() string {
	var parts []string
	for _, p := range slices.Concat(requiredPermissions, maintenancePermissions) {
		parts = append(parts, p.String())
	}
	return strings.Join(parts, ",")
}()

// checkPermissions asks the metal API which of the permissions the credentials lack, once per credentials and
// permission set: the result is kept with the cached client, so an unchanged reconcile sends no review. It fails
// when a required permission is missing and returns the missing maintenance permissions. Namespaced permissions
// come from one SelfSubjectRulesReview; cluster-scoped ones, and all of them when the rules review is
// incomplete, from SelfSubjectAccessReviews.
func (m *metalAPI) checkPermissions(ctx context.Context) ([]string, error) {
	if missingMaintenance, ok := m.Confirmed(permissionsKey); ok {
		return missingMaintenance, nil
	}
	rulesReview := &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: m.namespace}}
	if err := m.Create(ctx, rulesReview); err != nil {
		return nil, accessError(fmt.Errorf("reviewing the credentials' permissions in the metal API: %w", err))
	}
	missing, err := m.missing(ctx, rulesReview, requiredPermissions)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, v1beta1helper.NewErrorWithCodes(
			fmt.Errorf("the metal API credentials lack permissions in namespace %s: %s", m.namespace, strings.Join(missing, ", ")),
			gardencorev1beta1.ErrorInfraUnauthorized)
	}
	missingMaintenance, err := m.missing(ctx, rulesReview, maintenancePermissions)
	if err != nil {
		return nil, err
	}
	m.Confirm(permissionsKey, missingMaintenance)
	return missingMaintenance, nil
}

func (m *metalAPI) missing(ctx context.Context, rulesReview *authorizationv1.SelfSubjectRulesReview, perms []permission) ([]string, error) {
	var missing []string
	for _, p := range perms {
		var allowed bool
		if p.clusterScoped || rulesReview.Status.Incomplete {
			var err error
			if allowed, err = m.accessReview(ctx, p); err != nil {
				return nil, err
			}
		} else {
			allowed = rulesAllow(rulesReview.Status.ResourceRules, p)
		}
		if !allowed {
			missing = append(missing, p.String())
		}
	}
	return missing, nil
}

func (m *metalAPI) accessReview(ctx context.Context, p permission) (bool, error) {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: p.verb, Group: p.group, Resource: p.resource},
	}}
	if !p.clusterScoped {
		review.Spec.ResourceAttributes.Namespace = m.namespace
	}
	if err := m.Create(ctx, review); err != nil {
		return false, accessError(fmt.Errorf("reviewing permission %q in the metal API: %w", p, err))
	}
	return review.Status.Allowed, nil
}

func rulesAllow(rules []authorizationv1.ResourceRule, p permission) bool {
	return slices.ContainsFunc(rules, func(r authorizationv1.ResourceRule) bool {
		// Rules limited to named objects do not allow what the components do (list, create, any name).
		return len(r.ResourceNames) == 0 &&
			matches(r.Verbs, p.verb) && matches(r.APIGroups, p.group) && matches(r.Resources, p.resource)
	})
}

func matches(values []string, value string) bool {
	return slices.Contains(values, "*") || slices.Contains(values, value)
}

// accessError classifies a failed request to the metal API: rejected credentials are unauthenticated, everything
// else is left for Gardener's generic error classification.
func accessError(err error) error {
	if apierrors.IsUnauthorized(err) {
		return v1beta1helper.NewErrorWithCodes(err, gardencorev1beta1.ErrorInfraUnauthenticated)
	}
	if apierrors.IsForbidden(err) {
		return v1beta1helper.NewErrorWithCodes(err, gardencorev1beta1.ErrorInfraUnauthorized)
	}
	return err
}
