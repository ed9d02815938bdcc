// Package standins plays, in the local landscape, the parts that only real hardware, or a binary the module proxy
// does not serve, can: the boot operator, which serves a Server's boot configuration and reports it Ready, and the
// CCM stand-in (RunCCM), which
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
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Options configure the stand-ins.
type Options struct {
	// Log receives the stand-ins' log lines; nil discards them.
	Log io.Writer
}

// Run runs the boot operator against the metal API. It blocks until ctx ends and returns nil then, or an error
// when the stand-ins cannot run.
func Run(ctx context.Context, metal *rest.Config, opts Options) error {
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
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the stand-ins: %w", err)
	}
	return nil
}
