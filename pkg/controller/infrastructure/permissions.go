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

// requiredPermissions are what the machine-controller-manager driver (claims, ignition secrets, IP claims) and
// the metal cloud-controller-manager (servers, claims, IP addresses, maintenances) use.
var requiredPermissions = func() []permission {
	var perms []permission
	add := func(group, resource string, clusterScoped bool, verbs ...string) {
		for _, verb := range verbs {
			perms = append(perms, permission{verb: verb, group: group, resource: resource, clusterScoped: clusterScoped})
		}
	}
	add(metalGroup, "servers", true, "get", "list", "watch")
	add(metalGroup, "serverclaims", false, "get", "list", "watch", "create", "update", "patch", "delete")
	add(metalGroup, "servermaintenances", false, "get", "list", "watch", "create", "patch", "delete")
	add("", "secrets", false, "get", "create", "update", "patch", "delete")
	add(ipamGroup, "ipaddressclaims", false, "get", "list", "create", "patch", "delete")
	add(ipamGroup, "ipaddresses", false, "get", "list", "watch")
	return perms
}()

// checkPermissions asks the metal API which of the required permissions the credentials lack. Namespaced
// permissions come from one SelfSubjectRulesReview; cluster-scoped ones, and all of them when the rules review is
// incomplete, from SelfSubjectAccessReviews.
func (m *metalAPI) checkPermissions(ctx context.Context) error {
	rulesReview := &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: m.namespace}}
	if err := m.client.Create(ctx, rulesReview); err != nil {
		return accessError(fmt.Errorf("reviewing the credentials' permissions in the metal API: %w", err))
	}

	var missing []string
	for _, p := range requiredPermissions {
		var allowed bool
		if p.clusterScoped || rulesReview.Status.Incomplete {
			var err error
			if allowed, err = m.accessReview(ctx, p); err != nil {
				return err
			}
		} else {
			allowed = rulesAllow(rulesReview.Status.ResourceRules, p)
		}
		if !allowed {
			missing = append(missing, p.String())
		}
	}
	if len(missing) > 0 {
		return v1beta1helper.NewErrorWithCodes(
			fmt.Errorf("the metal API credentials lack permissions in namespace %s: %s", m.namespace, strings.Join(missing, ", ")),
			gardencorev1beta1.ErrorInfraUnauthorized)
	}
	return nil
}

func (m *metalAPI) accessReview(ctx context.Context, p permission) (bool, error) {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: p.verb, Group: p.group, Resource: p.resource},
	}}
	if !p.clusterScoped {
		review.Spec.ResourceAttributes.Namespace = m.namespace
	}
	if err := m.client.Create(ctx, review); err != nil {
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
