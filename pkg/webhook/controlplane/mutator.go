package controlplane

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	vpaautoscalingv1 "k8s.io/autoscaler/vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	extensionscontextwebhook "github.com/gardener/gardener/extensions/pkg/webhook/context"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	oscutils "github.com/gardener/gardener/pkg/component/extensions/operatingsystemconfig/utils"
	"github.com/gardener/gardener/pkg/component/nodemanagement/machinecontrollermanager"
)

// NewMutator returns the mutator of the control plane webhook. It dispatches the few objects this extension
// mutates itself; the ensurer methods are named as in Gardener's genericmutator.Ensurer.
func NewMutator(c client.Client, logger logr.Logger) extensionswebhook.Mutator {
	return &mutator{
		client:         c,
		ensurer:        &ensurer{},
		unitSerializer: oscutils.NewUnitSerializer(),
		logger:         logger.WithName("mutator"),
	}
}

type mutator struct {
	client         client.Client
	ensurer        *ensurer
	unitSerializer oscutils.UnitSerializer
	logger         logr.Logger
}

// Mutate mutates the kube-apiserver, kube-controller-manager and machine-controller-manager Deployments, the
// machine-controller-manager's VPA and the kubelet unit of the OperatingSystemConfigs that configure nodes.
func (m *mutator) Mutate(ctx context.Context, newObj, _ client.Object) error {
	if newObj.GetDeletionTimestamp() != nil {
		return nil
	}
	gctx := extensionscontextwebhook.NewGardenContext(m.client, newObj)

	switch obj := newObj.(type) {
	case *appsv1.Deployment:
		switch obj.Name {
		case v1beta1constants.DeploymentNameKubeAPIServer:
			extensionswebhook.LogMutation(m.logger, obj.Kind, obj.Namespace, obj.Name)
			return m.ensurer.EnsureKubeAPIServerDeployment(obj)
		case v1beta1constants.DeploymentNameKubeControllerManager:
			extensionswebhook.LogMutation(m.logger, obj.Kind, obj.Namespace, obj.Name)
			return m.ensurer.EnsureKubeControllerManagerDeployment(ctx, gctx, obj)
		case v1beta1constants.DeploymentNameMachineControllerManager:
			extensionswebhook.LogMutation(m.logger, obj.Kind, obj.Namespace, obj.Name)
			return m.ensurer.EnsureMachineControllerManagerDeployment(ctx, gctx, obj)
		}
	case *vpaautoscalingv1.VerticalPodAutoscaler:
		if obj.Name == machinecontrollermanager.VPAName {
			extensionswebhook.LogMutation(m.logger, obj.Kind, obj.Namespace, obj.Name)
			m.ensurer.EnsureMachineControllerManagerVPA(obj)
		}
	case *extensionsv1alpha1.OperatingSystemConfig:
		// Only the reconcile OSC carries the kubelet unit; the provision OSC just bootstraps the node agent.
		if obj.Spec.Purpose != extensionsv1alpha1.OperatingSystemConfigPurposeReconcile {
			return nil
		}
		extensionswebhook.LogMutation(m.logger, obj.Kind, obj.Namespace, obj.Name)
		return m.mutateKubeletUnit(obj)
	}
	return nil
}

func (m *mutator) mutateKubeletUnit(osc *extensionsv1alpha1.OperatingSystemConfig) error {
	u := extensionswebhook.UnitWithName(osc.Spec.Units, v1beta1constants.OperatingSystemConfigUnitNameKubeletService)
	if u == nil || u.Content == nil {
		return nil
	}
	opts, err := m.unitSerializer.Deserialize(*u.Content)
	if err != nil {
		return fmt.Errorf("could not deserialize the kubelet.service unit: %w", err)
	}
	opts = m.ensurer.EnsureKubeletServiceUnitOptions(opts)
	content, err := m.unitSerializer.Serialize(opts)
	if err != nil {
		return fmt.Errorf("could not serialize the kubelet.service unit: %w", err)
	}
	u.Content = &content
	return nil
}
