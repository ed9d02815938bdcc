// Package dnsrecord contains the controller for DNSRecords of type rfc2136: it writes the records with
// TSIG-signed RFC 2136 dynamic updates to the authoritative server named in the DNSRecord's secret.
package dnsrecord

import (
	"context"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/gardener/gardener/extensions/pkg/controller/dnsrecord"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/controller/freshread"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// DefaultDNSTimeout bounds each DNS exchange unless AddOptions.DNSTimeout says otherwise; it is the default of
// the component config's DNS.Timeout.
const DefaultDNSTimeout = 10 * time.Second

var (
	// DefaultAddOptions are the default AddOptions for AddToManager.
	DefaultAddOptions = AddOptions{DNSTimeout: DefaultDNSTimeout}

	// supportedExtensionClasses are the extension classes the controller serves: DNSRecords of shoots, seeds and
	// the garden all point to an RFC 2136 server the same way.
	supportedExtensionClasses = sets.New(
		extensionsv1alpha1.ExtensionClassGarden,
		extensionsv1alpha1.ExtensionClassSeed,
		extensionsv1alpha1.ExtensionClassShoot,
	)
)

// AddOptions are options to apply when adding the DNSRecord controller to the manager.
type AddOptions struct {
	// Controller are the controller.Options.
	Controller controller.Options
	// IgnoreOperationAnnotation specifies whether to ignore the operation annotation or not.
	IgnoreOperationAnnotation bool
	// ExtensionClasses are the configured extension classes for this extension deployment.
	ExtensionClasses []extensionsv1alpha1.ExtensionClass
	// DNSTimeout bounds each exchange (query or UPDATE) with a DNS server; zero means DefaultDNSTimeout.
	DNSTimeout time.Duration
}

// AddToManagerWithOptions adds a DNSRecord controller with the given options to the manager.
func AddToManagerWithOptions(ctx context.Context, mgr manager.Manager, opts AddOptions) error {
	classes := slices.DeleteFunc(slices.Clone(opts.ExtensionClasses), func(class extensionsv1alpha1.ExtensionClass) bool {
		return !supportedExtensionClasses.Has(class)
	})
	timeout := opts.DNSTimeout
	if timeout <= 0 {
		timeout = DefaultDNSTimeout
	}

	// The reconciler reads a new DNSRecord from the API server, not from the cache (see package freshread).
	reconcilerMgr := freshread.Manager(mgr, &extensionsv1alpha1.DNSRecord{}, dnsrecord.FinalizerName)
	return dnsrecord.Add(reconcilerMgr, dnsrecord.AddArgs{
		Actuator:                  NewActuator(mgr.GetClient(), timeout, clock.RealClock{}),
		ControllerOptions:         opts.Controller,
		Predicates:                dnsrecord.DefaultPredicates(ctx, mgr, opts.IgnoreOperationAnnotation),
		Type:                      metal.DNSType,
		IgnoreOperationAnnotation: opts.IgnoreOperationAnnotation,
		ExtensionClasses:          classes,
	})
}

// AddToManager adds a DNSRecord controller with DefaultAddOptions to the manager.
func AddToManager(ctx context.Context, mgr manager.Manager) error {
	return AddToManagerWithOptions(ctx, mgr, DefaultAddOptions)
}
