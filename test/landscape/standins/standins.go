// Package standins plays, in the local landscape, the parts that only real hardware, or a binary the module proxy
// does not serve, can: the boot operator, which serves a Server's boot configuration and reports it Ready; the
// kubelet of a booted Server, which registers its Node in the shoot; and the CCM stand-in (RunCCM), which
// initializes the Nodes as the metal cloud-controller-manager does when its binary is not given. Everything else on
// the metal side is the real metal-operator; keep this package to those parts.
package standins

import (
	"context"
	"fmt"
	"io"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
)

// Options configure the stand-ins.
type Options struct {
	// NodeNamePolicy names the Nodes as the driver expects; empty means driver.NodeNameServerClaimName.
	NodeNamePolicy driver.NodeNamePolicy
	// KubeletVersion is reported in the Nodes' status; empty means v1.36.0.
	KubeletVersion string
	// Log receives the stand-ins' log lines; nil discards them.
	Log io.Writer
}

// Run runs the boot operator against the metal API and, when shoot is not nil, the kubelet, which registers Nodes
// in shoot. It blocks until ctx ends and returns nil then, or an error when the stand-ins cannot run.
func Run(ctx context.Context, metal, shoot *rest.Config, opts Options) error {
	if opts.NodeNamePolicy == "" {
		opts.NodeNamePolicy = driver.NodeNameServerClaimName
	}
	if opts.KubeletVersion == "" {
		opts.KubeletVersion = "v1.36.0"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(metalv1alpha1.AddToScheme(scheme))
	mgr, err := ctrl.NewManager(metal, ctrl.Options{
		Scheme:  scheme,
		Logger:  zap.New(zap.WriteTo(opts.Log)),
		Metrics: metricsserver.Options{BindAddress: "0"},
		// More than one landscape (or test) may run the stand-ins in one process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return fmt.Errorf("creating the stand-ins' manager: %w", err)
	}
	if err := addBootOperator(mgr); err != nil {
		return err
	}
	if shoot != nil {
		shootClient, err := client.New(shoot, client.Options{Scheme: clientgoscheme.Scheme})
		if err != nil {
			return fmt.Errorf("creating the kubelet's shoot client: %w", err)
		}
		if err := addKubelet(mgr, shootClient, opts); err != nil {
			return err
		}
	}
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the stand-ins: %w", err)
	}
	return nil
}
