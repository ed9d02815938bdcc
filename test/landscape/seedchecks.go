package landscape

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	resourcesv1alpha1 "github.com/gardener/gardener/pkg/apis/resources/v1alpha1"
	secretsutils "github.com/gardener/gardener/pkg/utils/secrets"

	"github.com/openkcm/gardener-extension-provider-metal/imagevector"
)

// seedChecks reports what the seed's real components did: the ManagedResources and their conditions, the shoot
// access secrets and whether the shoot accepts their tokens, the ControlPlane's health conditions (computed by the
// extension from those ManagedResources) and the containers of the machine-controller-manager pod with the
// driver's arguments. It fails when a ManagedResource is not applied and healthy or a token is refused.
func (l *landscape) seedChecks(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	for {
		lines, problems, err := l.seedState(ctx)
		if err != nil {
			return err
		}
		if len(problems) == 0 {
			for _, line := range lines {
				l.step(line)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			for _, line := range lines {
				l.step(line)
			}
			return fmt.Errorf("the seed's components are not where they should be: %s", strings.Join(problems, "; "))
		case <-time.After(time.Second):
		}
	}
}

// seedState returns the lines seedChecks prints and what is not as it should be.
func (l *landscape) seedState(ctx context.Context) (lines, problems []string, err error) {
	mrs := &resourcesv1alpha1.ManagedResourceList{}
	if err := l.seed.List(ctx, mrs); err != nil {
		return nil, nil, err
	}
	for _, mr := range mrs.Items {
		class := "shoot"
		if mr.Spec.Class != nil {
			class = *mr.Spec.Class
		}
		var conditions []string
		for _, t := range []gardencorev1beta1.ConditionType{resourcesv1alpha1.ResourcesApplied, resourcesv1alpha1.ResourcesHealthy} {
			status := "Unknown"
			if c := v1beta1helper.GetCondition(mr.Status.Conditions, t); c != nil {
				status = string(c.Status)
			}
			conditions = append(conditions, string(t)+"="+status)
			// The control plane's seed resources include the cloud-controller-manager, which runs only when its
			// binary is given; without it they are applied but not healthy, which is what the line shows.
			unrunnable := t == resourcesv1alpha1.ResourcesHealthy && mr.Name == controlPlaneSeedResources && !l.ccmGiven()
			if status != "True" && !unrunnable {
				problems = append(problems, fmt.Sprintf("ManagedResource %s/%s: %s=%s", mr.Namespace, mr.Name, t, status))
			}
		}
		lines = append(lines, fmt.Sprintf("ManagedResource %s/%s (class %s): %s", mr.Namespace, mr.Name, class, strings.Join(conditions, " ")))
	}

	secrets := &corev1.SecretList{}
	if err := l.seed.List(ctx, secrets, client.InNamespace(seedNamespace),
		client.MatchingLabels{resourcesv1alpha1.ResourceManagerPurpose: resourcesv1alpha1.LabelPurposeTokenRequest}); err != nil {
		return nil, nil, err
	}
	var accepted []string
	for _, secret := range secrets.Items {
		user, err := l.shootUserOf(ctx, &secret)
		if err != nil {
			problems = append(problems, fmt.Sprintf("shoot access secret %s: %v", secret.Name, err))
			continue
		}
		accepted = append(accepted, secret.Name+" ("+user+")")
	}
	slices.Sort(accepted)
	lines = append(lines, fmt.Sprintf("shoot access secrets: %d of %d hold tokens the shoot accepts: %s", len(accepted), len(secrets.Items), strings.Join(accepted, ", ")))

	// The ControlPlane's SystemComponentsHealthy comes from the shoot ManagedResources' conditions, the Worker's
	// ControlPlaneHealthy from the machine-controller-manager Deployment: both must be True. The ControlPlane's
	// ControlPlaneHealthy is False while the cloud-controller-manager cannot run (no binary given); it is shown.
	for _, check := range []struct {
		obj      extensionsv1alpha1.Object
		required []gardencorev1beta1.ConditionType
	}{
		{&extensionsv1alpha1.ControlPlane{}, []gardencorev1beta1.ConditionType{gardencorev1beta1.ShootSystemComponentsHealthy}},
		{&extensionsv1alpha1.Worker{}, []gardencorev1beta1.ConditionType{gardencorev1beta1.ShootControlPlaneHealthy, gardencorev1beta1.ShootEveryNodeReady}},
	} {
		if err := l.seed.Get(ctx, client.ObjectKey{Namespace: seedNamespace, Name: "metal"}, check.obj); err != nil {
			return nil, nil, err
		}
		kind := fmt.Sprintf("%T", check.obj)[len("*v1alpha1."):]
		conditions := check.obj.GetExtensionStatus().GetConditions()
		var shown []string
		for _, c := range conditions {
			shown = append(shown, fmt.Sprintf("%s=%s", c.Type, c.Status))
		}
		slices.Sort(shown)
		lines = append(lines, kind+" health conditions: "+strings.Join(shown, " "))
		for _, t := range check.required {
			c := v1beta1helper.GetCondition(conditions, t)
			if c == nil || c.Status != gardencorev1beta1.ConditionTrue {
				problems = append(problems, fmt.Sprintf("%s condition %s is not True", kind, t))
			}
		}
	}

	pods := &corev1.PodList{}
	if err := l.seed.List(ctx, pods, client.InNamespace(seedNamespace), client.MatchingLabels{v1beta1constants.LabelRole: "machine-controller-manager"}); err != nil {
		return nil, nil, err
	}
	for _, pod := range pods.Items {
		for _, c := range pod.Spec.Containers {
			var args []string
			for _, a := range c.Args {
				if strings.HasPrefix(a, "--metal-kubeconfig=") || strings.HasPrefix(a, "--node-name-policy=") {
					args = append(args, a)
				}
			}
			lines = append(lines, fmt.Sprintf("machine-controller-manager pod %s container %s (%s) %s", pod.Name, c.Name, c.Image, strings.Join(args, " ")))
		}
	}
	return lines, problems, nil
}

// controlPlaneSeedResources is the ManagedResource of the ControlPlane's seed chart (genericactuator).
const controlPlaneSeedResources = "extension-controlplane-seed"

// ccmGiven tells whether a binary for the cloud-controller-manager's image is given.
func (l *landscape) ccmGiven() bool {
	image, err := imagevector.ImageVector().FindImage(imagevector.ImageNameCloudControllerManager)
	if err != nil {
		return false
	}
	_, ok := l.opts.Binaries.Images[*image.Repository]
	return ok
}

// shootUserOf reviews the token of a shoot access secret in the shoot and returns the user it authenticates as.
func (l *landscape) shootUserOf(ctx context.Context, secret *corev1.Secret) (string, error) {
	token := string(secret.Data[resourcesv1alpha1.DataKeyToken])
	if token == "" {
		config, err := clientcmd.Load(secret.Data[secretsutils.DataKeyKubeconfig])
		if err != nil {
			return "", fmt.Errorf("no token and no kubeconfig: %w", err)
		}
		for _, auth := range config.AuthInfos {
			token = auth.Token
		}
	}
	if token == "" {
		return "", fmt.Errorf("no token yet")
	}
	review := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}
	if err := l.shoot.Create(ctx, review); err != nil {
		return "", err
	}
	if !review.Status.Authenticated {
		return "", fmt.Errorf("the shoot refused the token: %s", review.Status.Error)
	}
	return review.Status.User.Username, nil
}
