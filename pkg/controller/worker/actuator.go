package worker

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	"github.com/gardener/gardener/extensions/pkg/controller/worker"
	"github.com/gardener/gardener/extensions/pkg/controller/worker/genericactuator"
	v1beta1helper "github.com/gardener/gardener/pkg/api/core/v1beta1/helper"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/helper"
)

// NewActuator creates the Worker actuator: Gardener's generic worker actuator with the metal delegate. The
// generic actuator also implements migration and restoration: machine state travels in the Worker's status
// (or the ShootState in the garden cluster, read with gardenCluster), and the delegate's deterministic names
// let the restored MachineSets and Machines find their deployments and classes again.
func NewActuator(mgr manager.Manager, gardenCluster cluster.Cluster) worker.Actuator {
	c := emptyPatchSkippingClient{Client: mgr.GetClient()}
	return genericactuator.NewActuator(actuatorManager{Manager: mgr, client: c}, gardenCluster, &delegateFactory{client: c}, nil)
}

type delegateFactory struct {
	client client.Client
}

// WorkerDelegate decodes the configuration of one Worker reconciliation. Configuration errors carry Gardener's
// configuration problem code, so that they surface to the shoot owner instead of being retried silently.
func (f *delegateFactory) WorkerDelegate(_ context.Context, w *extensionsv1alpha1.Worker, cluster *extensionscontroller.Cluster) (genericactuator.WorkerDelegate, error) {
	if cluster == nil || cluster.CloudProfile == nil || cluster.Shoot == nil {
		return nil, fmt.Errorf("cluster resource %s lacks the shoot or cloud profile", w.Namespace)
	}
	cloudProfileConfig, err := helper.CloudProfileConfigFromRaw(cluster.CloudProfile.Spec.ProviderConfig)
	if err != nil {
		return nil, configurationProblem(fmt.Errorf("cloud profile %s: %w", cluster.CloudProfile.Name, err))
	}
	infraConfig, err := helper.InfrastructureConfigFromRaw(cluster.Shoot.Spec.Provider.InfrastructureConfig)
	if err != nil {
		return nil, configurationProblem(fmt.Errorf("%s: %w", field.NewPath("spec", "provider", "infrastructureConfig"), err))
	}
	status, err := helper.WorkerStatusFromRaw(w.Status.ProviderStatus)
	if err != nil {
		// An unreadable status only loses the fallback for removed image versions; it is rewritten below.
		status = nil
	}
	return &workerDelegate{
		client:             f.client,
		worker:             w,
		cluster:            cluster,
		cloudProfileConfig: cloudProfileConfig,
		infraConfig:        infraConfig,
		status:             status,
	}, nil
}

// workerDelegate generates and deploys the machine configuration of one Worker reconciliation.
type workerDelegate struct {
	client             client.Client
	worker             *extensionsv1alpha1.Worker
	cluster            *extensionscontroller.Cluster
	cloudProfileConfig *api.CloudProfileConfig
	infraConfig        *api.InfrastructureConfig
	status             *api.WorkerStatus

	// generated is the machine configuration, computed once per reconciliation by whichever step of the generic
	// actuator needs it first.
	generated *machineConfig
}

// PreReconcileHook does nothing: the metal API needs no preparation before machines are deployed.
func (w *workerDelegate) PreReconcileHook(context.Context) error { return nil }

// PostReconcileHook does nothing: the machine driver owns everything in the metal API.
func (w *workerDelegate) PostReconcileHook(context.Context) error { return nil }

// PreDeleteHook does nothing: the machine driver removes the ServerClaims when MCM deletes the machines.
func (w *workerDelegate) PreDeleteHook(context.Context) error { return nil }

// PostDeleteHook does nothing: the Infrastructure deletion checks that no ServerClaims are left.
func (w *workerDelegate) PostDeleteHook(context.Context) error { return nil }

func configurationProblem(err error) error {
	return v1beta1helper.NewErrorWithCodes(err, gardencorev1beta1.ErrorConfigurationProblem)
}
