package standins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	"sigs.k8s.io/yaml"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// CCMStandInName names the CCM stand-in in its log lines.
const CCMStandInName = "CCM stand-in"

const (
	// uninitializedTaint is the taint a kubelet with --cloud-provider=external registers its Node with; the cloud
	// node controller initializes only Nodes that carry it and removes it (k8s.io/cloud-provider api
	// TaintExternalCloudProvider).
	uninitializedTaint = "node.cloudprovider.kubernetes.io/uninitialized"
	// shutdownTaint marks a NotReady Node whose instance is shut down (k8s.io/cloud-provider api
	// TaintNodeShutdown).
	shutdownTaint = "node.cloudprovider.kubernetes.io/shutdown"
	// clusterNameLabel is the label the metal CCM puts on a Node's ServerClaim (cloud-provider-metal v0.3.0
	// pkg/cloudprovider/metal/constants.go, LabelKeyClusterName).
	clusterNameLabel = "kubernetes.io/cluster"
	// powerOffAnnotation on a Node, with any value, makes the metal CCM power its ServerClaim off; without it the
	// claim is powered on (cloud-provider-metal v0.3.0 constants.go AnnotationPowerOff, read from the Node's
	// annotations in instances_v2.go setServerClaimPower; v0.5.0 reads it the same way).
	powerOffAnnotation = "metal.ironcore.dev/power-off"
	// loopbackAddressAnnotation on a Server gives, without ipamKind, the Node's only InternalIP (cloud-provider-metal
	// v0.3.0 pkg/cloudprovider/metal/cloud.go LoopbackAddressAnnotation).
	loopbackAddressAnnotation = "metal.ironcore.dev/loopback-address"

	nodeProviderIDField = "spec.providerID"
	nodeSystemUUIDField = "status.nodeInfo.systemUUID"
)

// CCMOptions configure the CCM stand-in.
type CCMOptions struct {
	// MetalNamespace is the shoot's namespace in the metal API (the CCM's --metal-namespace).
	MetalNamespace string
	// CloudConfig is the cloud-provider-config the ControlPlane renders (the CCM's --cloud-config).
	CloudConfig []byte
	// PodPrefixSize is the CCM's --pod-prefix-size: when positive, a Node without pod CIDR gets its first
	// InternalIP masked to this prefix length.
	PodPrefixSize int
	// Log receives the stand-in's log lines; nil discards them.
	Log io.Writer
}

// ccmCloudConfig holds the keys of the metal CCM's cloud config (cloud-provider-metal v0.3.0
// pkg/cloudprovider/metal/config.go, CloudConfig), in the form pkg/controller/controlplane renders it.
type ccmCloudConfig struct {
	ClusterName string `json:"clusterName"`
	Networking  struct {
		ConfigureNodeAddresses bool `json:"configureNodeAddresses"`
		IPAMKind               *struct {
			APIGroup string `json:"apiGroup"`
			Kind     string `json:"kind"`
		} `json:"ipamKind"`
	} `json:"networking"`
}

// MetalConfigFromSecret returns the metal API client configuration of the seed's `cloudprovider` secret: the
// kubeconfig the cloudprovider webhook writes under metal.KubeconfigKey, which the metal CCM gets as
// --metal-kubeconfig.
func MetalConfigFromSecret(secret *corev1.Secret) (*rest.Config, error) {
	data := secret.Data[metal.KubeconfigKey]
	if len(data) == 0 {
		return nil, fmt.Errorf("secret %s/%s has no %q key", secret.Namespace, secret.Name, metal.KubeconfigKey)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("reading the metal kubeconfig of secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	return cfg, nil
}

// RunCCM runs the CCM stand-in, which the landscape runs in place of the metal cloud-controller-manager when its
// binary is not given (the module proxy does not serve cloud-provider-metal). It does what cloud-provider-metal
// v0.3.0 does through the cloud node controller of k8s.io/cloud-provider: it finds each Node's ServerClaim and,
// on Nodes that still carry the uninitialized taint, sets the provider ID, the zone, region and instance-type
// labels and the Server's labels and removes the taint; it sets the Nodes' addresses when the cloud config asks
// for it and their pod CIDRs with a pod prefix size, taints NotReady Nodes of powered-off Servers as shut down,
// labels the ServerClaims with the cluster name and powers them on or off. Like upstream it reads the
// metal API through a cache (list and watch) with the given credentials, restricted to the metal namespace for
// namespaced kinds, so that missing permissions show in its log. It never deletes a Node. It blocks until ctx
// ends and returns nil then, or an error when it cannot run.
func RunCCM(ctx context.Context, shoot, metalConfig *rest.Config, opts CCMOptions) error {
	cloudConfig, err := parseCCMCloudConfig(opts.CloudConfig)
	if err != nil {
		return err
	}
	if opts.MetalNamespace == "" {
		return errors.New("the CCM stand-in needs the metal namespace")
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	log := zap.New(zap.WriteTo(opts.Log)).WithName(CCMStandInName)

	metalCluster, err := cluster.New(metalConfig, func(o *cluster.Options) {
		o.Scheme = ccmMetalScheme()
		o.Logger = log
		// cloud-provider-metal v0.3.0 pkg/cloudprovider/metal/cloud.go: a cluster whose cache holds the metal
		// namespace only; Servers are cluster-scoped and not restricted by it.
		o.Cache.DefaultNamespaces = map[string]cache.Config{opts.MetalNamespace: {}}
		o.Cache.DefaultWatchErrorHandler = func(_ context.Context, r *toolscache.Reflector, err error) {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				return
			}
			log.Error(err, "cannot list or watch the metal API with the shoot's metal credentials", "type", r.TypeDescription())
		}
	})
	if err != nil {
		return fmt.Errorf("creating the CCM stand-in's metal API cluster: %w", err)
	}
	mgr, err := ctrl.NewManager(shoot, ctrl.Options{
		Scheme:     clientgoscheme.Scheme,
		Logger:     log,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return fmt.Errorf("creating the CCM stand-in's manager: %w", err)
	}
	if err := mgr.Add(metalCluster); err != nil {
		return fmt.Errorf("adding the metal API cluster to the CCM stand-in: %w", err)
	}
	r := &ccm{shoot: mgr.GetClient(), metal: metalCluster.GetClient(), namespace: opts.MetalNamespace, config: cloudConfig, podPrefixSize: opts.PodPrefixSize}
	if err := r.addToManager(ctx, mgr, metalCluster); err != nil {
		return err
	}
	log.Info("starting", "metalNamespace", opts.MetalNamespace, "clusterName", cloudConfig.ClusterName,
		"configureNodeAddresses", cloudConfig.Networking.ConfigureNodeAddresses, "ipam", cloudConfig.Networking.IPAMKind != nil)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the CCM stand-in: %w", err)
	}
	return nil
}

// parseCCMCloudConfig reads the cloud config as cloud-provider-metal v0.3.0 config.go LoadCloudProviderConfig
// does: clusterName is required.
func parseCCMCloudConfig(data []byte) (ccmCloudConfig, error) {
	var cfg ccmCloudConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("decoding the CCM stand-in's cloud config: %w", err)
	}
	if cfg.ClusterName == "" {
		return cfg, errors.New("clusterName missing in the CCM stand-in's cloud config")
	}
	return cfg, nil
}

func ccmMetalScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	utilruntime.Must(metalv1alpha1.AddToScheme(scheme))
	utilruntime.Must(ipamv1beta2.AddToScheme(scheme))
	return scheme
}

// ccm reconciles Nodes of the shoot with the metal API.
type ccm struct {
	shoot         client.Client
	metal         client.Client
	namespace     string
	config        ccmCloudConfig
	podPrefixSize int
}

func (r *ccm) ipam() bool { return r.config.Networking.IPAMKind != nil }

func (r *ccm) addToManager(ctx context.Context, mgr ctrl.Manager, metalCluster cluster.Cluster) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &corev1.Node{}, nodeProviderIDField, func(obj client.Object) []string {
		return []string{obj.(*corev1.Node).Spec.ProviderID}
	}); err != nil {
		return fmt.Errorf("indexing Nodes by provider ID: %w", err)
	}
	if err := indexer.IndexField(ctx, &corev1.Node{}, nodeSystemUUIDField, func(obj client.Object) []string {
		if uuid := obj.(*corev1.Node).Status.NodeInfo.SystemUUID; uuid != "" {
			return []string{strings.ToLower(uuid)}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("indexing Nodes by system UUID: %w", err)
	}
	metalCache := metalCluster.GetCache()
	b := ctrl.NewControllerManagedBy(mgr).
		Named("ccm-standin").
		For(&corev1.Node{}).
		WatchesRawSource(source.Kind(metalCache, &metalv1alpha1.ServerClaim{},
			handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, claim *metalv1alpha1.ServerClaim) []reconcile.Request {
				// A claim may belong to a Node that has no provider ID yet.
				return append(r.nodesWith(ctx, nodeProviderIDField, driver.ProviderID(claim.Namespace, claim.Name)), r.nodesWith(ctx, nodeProviderIDField, "")...)
			}))).
		WatchesRawSource(source.Kind(metalCache, &metalv1alpha1.Server{},
			handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, server *metalv1alpha1.Server) []reconcile.Request {
				requests := r.nodesWith(ctx, nodeSystemUUIDField, strings.ToLower(server.Spec.SystemUUID))
				if ref := server.Spec.ServerClaimRef; ref != nil {
					requests = append(requests, r.nodesWith(ctx, nodeProviderIDField, driver.ProviderID(ref.Namespace, ref.Name))...)
				}
				return requests
			})))
	// Only with ipamKind does the metal CCM read IPAM objects (instances_v2.go getNodeAddresses), so only then does
	// it need permissions for them.
	if r.ipam() {
		b = b.WatchesRawSource(source.Kind(metalCache, &ipamv1beta2.IPAddressClaim{},
			handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, ipClaim *ipamv1beta2.IPAddressClaim) []reconcile.Request {
				name, namespace := ipClaim.Labels[metal.ServerClaimNameLabel], ipClaim.Labels[metal.ServerClaimNamespaceLabel]
				if name == "" || namespace == "" {
					return nil
				}
				return r.nodesWith(ctx, nodeProviderIDField, driver.ProviderID(namespace, name))
			})))
	}
	if err := b.Complete(r); err != nil {
		return fmt.Errorf("adding the CCM stand-in: %w", err)
	}
	return nil
}

func (r *ccm) nodesWith(ctx context.Context, field, value string) []reconcile.Request {
	if field == nodeSystemUUIDField && value == "" {
		return nil
	}
	nodes := &corev1.NodeList{}
	if err := r.shoot.List(ctx, nodes, client.MatchingFields{field: value}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing Nodes", "field", field, "value", value)
		return nil
	}
	requests := make([]reconcile.Request, 0, len(nodes.Items))
	for _, node := range nodes.Items {
		requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&node)})
	}
	return requests
}

// Reconcile does for one Node what the cloud node controller does with the metal CCM's InstancesV2: syncNode
// initializes a tainted Node, UpdateNodeStatus keeps an initialized Node's addresses (k8s.io/cloud-provider
// controllers/node/node_controller.go). Both ask InstanceMetadata, which labels and powers the ServerClaim.
func (r *ccm) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	node := &corev1.Node{}
	if err := r.shoot.Get(ctx, req.NamespacedName, node); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if err := r.setPodCIDR(ctx, node); err != nil {
		return ctrl.Result{}, err
	}
	claim, err := r.claimOfNode(ctx, node)
	if err != nil {
		return ctrl.Result{}, err
	}
	if claim == nil {
		// cloud-provider-metal v0.3.0 InstanceExists answers InstanceNotFound as an error, so the cloud node
		// lifecycle controller never deletes such a Node; machine-controller-manager does when it deletes the
		// Machine.
		log.Info("no ServerClaim for the Node; leaving it as it is", "providerID", node.Spec.ProviderID)
		return ctrl.Result{}, nil
	}
	if err := r.labelClaim(ctx, claim); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.powerClaim(ctx, node, claim); err != nil {
		return ctrl.Result{}, err
	}
	if claim.Spec.ServerRef == nil {
		return ctrl.Result{}, fmt.Errorf("ServerClaim %s of Node %s is not bound to a Server", client.ObjectKeyFromObject(claim), node.Name)
	}
	server := &metalv1alpha1.Server{}
	if err := r.metal.Get(ctx, client.ObjectKey{Name: claim.Spec.ServerRef.Name}, server); err != nil {
		return ctrl.Result{}, fmt.Errorf("reading Server %s of Node %s: %w", claim.Spec.ServerRef.Name, node.Name, err)
	}
	addresses, err := r.nodeAddresses(ctx, server, claim)
	if err != nil {
		return ctrl.Result{}, err
	}
	if hasUninitializedTaint(node) {
		if node, err = r.initialize(ctx, node, claim, server); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := r.updateAddresses(ctx, node, addresses); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.markShutdown(ctx, node, server)
}

// claimOfNode finds the Node's ServerClaim by its provider ID or, without one, by the system UUID of the claim's
// Server (cloud-provider-metal v0.3.0 instances_v2.go getServerClaimForNode). It returns nil when there is none.
func (r *ccm) claimOfNode(ctx context.Context, node *corev1.Node) (*metalv1alpha1.ServerClaim, error) {
	if node.Spec.ProviderID != "" {
		key, err := r.claimKey(node.Spec.ProviderID)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", node.Name, err)
		}
		claim := &metalv1alpha1.ServerClaim{}
		if err := r.metal.Get(ctx, key, claim); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			return nil, fmt.Errorf("reading ServerClaim %s of Node %s: %w", key, node.Name, err)
		}
		return claim, nil
	}
	// Upstream compares even empty UUIDs; a Node reports its system UUID from its first status on, so the
	// stand-in waits for it instead.
	uuid := node.Status.NodeInfo.SystemUUID
	if uuid == "" {
		return nil, nil
	}
	claims := &metalv1alpha1.ServerClaimList{}
	if err := r.metal.List(ctx, claims, client.InNamespace(r.namespace)); err != nil {
		return nil, fmt.Errorf("listing ServerClaims for Node %s: %w", node.Name, err)
	}
	for i := range claims.Items {
		claim := &claims.Items[i]
		if claim.Spec.ServerRef == nil {
			continue
		}
		server := &metalv1alpha1.Server{}
		if err := r.metal.Get(ctx, client.ObjectKey{Name: claim.Spec.ServerRef.Name}, server); err != nil {
			return nil, fmt.Errorf("reading Server %s of ServerClaim %s for Node %s: %w", claim.Spec.ServerRef.Name, client.ObjectKeyFromObject(claim), node.Name, err)
		}
		if strings.EqualFold(uuid, server.Spec.SystemUUID) {
			return claim, nil
		}
	}
	return nil, nil
}

// claimKey parses a provider ID metal://<namespace>/<claim> (instances_v2.go getObjectKeyFromProviderID).
func (r *ccm) claimKey(id string) (client.ObjectKey, error) {
	u, err := url.Parse(id)
	if err != nil {
		return client.ObjectKey{}, fmt.Errorf("parsing provider ID %q: %w", id, err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	switch {
	case u.Scheme != metal.ProviderIDScheme:
		return client.ObjectKey{}, fmt.Errorf("provider ID %q: unsupported scheme %q", id, u.Scheme)
	case u.Host == "" || name == "" || strings.Contains(name, "/"):
		return client.ObjectKey{}, fmt.Errorf("provider ID %q is not %s://<namespace>/<server claim>", id, metal.ProviderIDScheme)
	case u.Host != r.namespace:
		// Upstream reads it through a cache of the metal namespace only, which fails for any other namespace.
		return client.ObjectKey{}, fmt.Errorf("provider ID %q names namespace %q, not the metal namespace %q", id, u.Host, r.namespace)
	}
	return client.ObjectKey{Namespace: u.Host, Name: name}, nil
}

// labelClaim labels the ServerClaim with the cluster name (instances_v2.go InstanceMetadata).
func (r *ccm) labelClaim(ctx context.Context, claim *metalv1alpha1.ServerClaim) error {
	if claim.Labels[clusterNameLabel] == r.config.ClusterName {
		return nil
	}
	patch := client.MergeFrom(claim.DeepCopy())
	if claim.Labels == nil {
		claim.Labels = map[string]string{}
	}
	claim.Labels[clusterNameLabel] = r.config.ClusterName
	if err := r.metal.Patch(ctx, claim, patch); err != nil {
		return fmt.Errorf("labelling ServerClaim %s with the cluster name: %w", client.ObjectKeyFromObject(claim), err)
	}
	ctrl.LoggerFrom(ctx).Info("labelled ServerClaim", "serverClaim", client.ObjectKeyFromObject(claim), clusterNameLabel, r.config.ClusterName)
	return nil
}

// powerClaim powers the ServerClaim off when the Node carries the power-off annotation and on when it does not
// (instances_v2.go setServerClaimPower).
func (r *ccm) powerClaim(ctx context.Context, node *corev1.Node, claim *metalv1alpha1.ServerClaim) error {
	_, off := node.Annotations[powerOffAnnotation]
	power := metalv1alpha1.PowerOn
	if off {
		power = metalv1alpha1.PowerOff
	}
	// Upstream powers on only a claim that is Off, and leaves a claim without power alone.
	if claim.Spec.Power == power || (!off && claim.Spec.Power != metalv1alpha1.PowerOff) {
		return nil
	}
	patch := client.MergeFrom(claim.DeepCopy())
	claim.Spec.Power = power
	if err := r.metal.Patch(ctx, claim, patch); err != nil {
		return fmt.Errorf("powering ServerClaim %s of Node %s %s: %w", client.ObjectKeyFromObject(claim), node.Name, power, err)
	}
	ctrl.LoggerFrom(ctx).Info("powered ServerClaim", "serverClaim", client.ObjectKeyFromObject(claim), "power", power)
	return nil
}

// nodeAddresses are the InternalIPs of the Node when the cloud config sets configureNodeAddresses: with ipamKind
// the addresses of the claim's IPAddressClaims, otherwise the Server's loopback-address annotation or, without it,
// the IPs of its network interfaces (instances_v2.go getNodeAddresses).
func (r *ccm) nodeAddresses(ctx context.Context, server *metalv1alpha1.Server, claim *metalv1alpha1.ServerClaim) ([]corev1.NodeAddress, error) {
	if !r.config.Networking.ConfigureNodeAddresses {
		return nil, nil
	}
	var ips []string
	switch kind := r.config.Networking.IPAMKind; {
	case kind == nil:
		if loopback, ok := server.Annotations[loopbackAddressAnnotation]; ok {
			ips = append(ips, loopback)
			break
		}
		for _, nic := range server.Status.NetworkInterfaces {
			if nic.IP != nil && len(nic.IPs) == 0 {
				ips = append(ips, nic.IP.String())
			}
			for _, ip := range nic.IPs {
				ips = append(ips, ip.String())
			}
		}
	case kind.APIGroup == ipamv1beta2.GroupVersion.Group && kind.Kind == "IPAddress":
		var err error
		if ips, err = r.ipamAddresses(ctx, claim); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown ipamKind %s/%s used for node ip address assignment", kind.APIGroup, kind.Kind)
	}
	var addresses []corev1.NodeAddress
	for _, ip := range ips {
		address := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip}
		// Upstream lists an IP once per interface that has it; the stand-in lists it once.
		if !slices.Contains(addresses, address) {
			addresses = append(addresses, address)
		}
	}
	return addresses, nil
}

func (r *ccm) ipamAddresses(ctx context.Context, claim *metalv1alpha1.ServerClaim) ([]string, error) {
	ipClaims := &ipamv1beta2.IPAddressClaimList{}
	if err := r.metal.List(ctx, ipClaims, client.InNamespace(r.namespace), client.MatchingLabels{
		metal.ServerClaimNameLabel:      claim.Name,
		metal.ServerClaimNamespaceLabel: claim.Namespace,
	}); err != nil {
		return nil, fmt.Errorf("listing the IPAddressClaims of ServerClaim %s: %w", client.ObjectKeyFromObject(claim), err)
	}
	var ips []string
	for _, ipClaim := range ipClaims.Items {
		if ipClaim.Status.AddressRef.Name == "" {
			continue
		}
		address := &ipamv1beta2.IPAddress{}
		key := client.ObjectKey{Namespace: ipClaim.Namespace, Name: ipClaim.Status.AddressRef.Name}
		if err := r.metal.Get(ctx, key, address); err != nil {
			return nil, fmt.Errorf("reading IPAddress %s of IPAddressClaim %s: %w", key, client.ObjectKeyFromObject(&ipClaim), err)
		}
		ips = append(ips, address.Spec.Address)
	}
	return ips, nil
}

// initialize applies the instance metadata to a tainted Node and removes the taint (node_controller.go syncNode,
// getNodeModifiersFromCloudProvider): the provider ID if the Node has none, instance type, zone and region in
// their stable and beta labels, and the Server's labels as additional labels.
func (r *ccm) initialize(ctx context.Context, node *corev1.Node, claim *metalv1alpha1.ServerClaim, server *metalv1alpha1.Server) (*corev1.Node, error) {
	node = node.DeepCopy()
	if node.Labels == nil {
		node.Labels = map[string]string{}
	}
	if node.Spec.ProviderID == "" {
		node.Spec.ProviderID = driver.ProviderID(r.namespace, claim.Name)
	}
	for _, l := range []struct{ value, stable, beta string }{
		{server.Labels[metal.InstanceTypeLabel], corev1.LabelInstanceTypeStable, corev1.LabelInstanceType},
		{server.Labels[metal.ZoneLabel], corev1.LabelTopologyZone, corev1.LabelFailureDomainBetaZone},
		{server.Labels[metal.RegionLabel], corev1.LabelTopologyRegion, corev1.LabelFailureDomainBetaRegion},
	} {
		if l.value != "" {
			node.Labels[l.stable], node.Labels[l.beta] = l.value, l.value
		}
	}
	for key, value := range server.Labels {
		// The cloud node controller discards additional labels in the kubernetes.io and k8s.io namespaces and
		// keeps a Node's own value of a label.
		if isKubernetesLabel(key) {
			continue
		}
		if _, ok := node.Labels[key]; !ok {
			node.Labels[key] = value
		}
	}
	var taints []corev1.Taint
	for _, taint := range node.Spec.Taints {
		if taint.Key != uninitializedTaint {
			taints = append(taints, taint)
		}
	}
	node.Spec.Taints = taints
	// An update, as upstream does: a conflict with the kubelet is retried.
	if err := r.shoot.Update(ctx, node); err != nil {
		return nil, fmt.Errorf("initializing Node %s: %w", node.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("initialized Node", "providerID", node.Spec.ProviderID, "server", server.Name,
		"zone", node.Labels[corev1.LabelTopologyZone], "instanceType", node.Labels[corev1.LabelInstanceTypeStable])
	return node, nil
}

// updateAddresses sets the Node's addresses, keeping its Hostname addresses, unless there are none to set
// (node_controller.go updateNodeAddress). It leaves a tainted Node alone.
func (r *ccm) updateAddresses(ctx context.Context, node *corev1.Node, addresses []corev1.NodeAddress) error {
	if hasUninitializedTaint(node) || len(addresses) == 0 {
		return nil
	}
	if !slices.ContainsFunc(addresses, func(a corev1.NodeAddress) bool { return a.Type == corev1.NodeHostName }) {
		for _, address := range node.Status.Addresses {
			if address.Type == corev1.NodeHostName {
				addresses = append(addresses, address)
			}
		}
	}
	if slices.Equal(node.Status.Addresses, addresses) {
		return nil
	}
	patch := client.MergeFrom(node.DeepCopy())
	node.Status.Addresses = addresses
	if err := r.shoot.Status().Patch(ctx, node, patch); err != nil {
		return fmt.Errorf("setting the addresses of Node %s: %w", node.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("set Node addresses", "addresses", addresses)
	return nil
}

// setPodCIDR gives a Node without pod CIDR its first InternalIP masked to the pod prefix size
// (cloud-provider-metal v0.3.0 pkg/cloudprovider/metal/node_controller.go reconcilePodCIDR).
func (r *ccm) setPodCIDR(ctx context.Context, node *corev1.Node) error {
	if r.podPrefixSize <= 0 || node.Spec.PodCIDR != "" {
		return nil
	}
	for _, address := range node.Status.Addresses {
		if address.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(address.Address)
		if err != nil {
			return fmt.Errorf("node %s has an invalid InternalIP %q: %w", node.Name, address.Address, err)
		}
		prefix, err := ip.Prefix(r.podPrefixSize)
		if err != nil {
			return fmt.Errorf("masking InternalIP %s of Node %s to /%d: %w", ip, node.Name, r.podPrefixSize, err)
		}
		patch := client.MergeFrom(node.DeepCopy())
		node.Spec.PodCIDR = prefix.String()
		node.Spec.PodCIDRs = append(node.Spec.PodCIDRs, prefix.String())
		if err := r.shoot.Patch(ctx, node, patch); err != nil {
			return fmt.Errorf("setting the pod CIDR of Node %s: %w", node.Name, err)
		}
		ctrl.LoggerFrom(ctx).Info("set Node pod CIDR", "podCIDR", node.Spec.PodCIDR)
		return nil
	}
	return nil
}

// markShutdown taints a NotReady Node whose Server is powered off and untaints it once it is Ready again, as the
// cloud node lifecycle controller does with InstanceShutdown (k8s.io/cloud-provider controllers/nodelifecycle
// MonitorNodes; cloud-provider-metal v0.3.0 instances_v2.go InstanceShutdown: the Server's power state is Off).
func (r *ccm) markShutdown(ctx context.Context, node *corev1.Node, server *metalv1alpha1.Server) error {
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = c.Status == corev1.ConditionTrue
		}
	}
	tainted := slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == shutdownTaint })
	patch := client.MergeFrom(node.DeepCopy())
	switch {
	case ready && tainted:
		node.Spec.Taints = slices.DeleteFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == shutdownTaint })
	case !ready && !tainted && server.Status.PowerState == metalv1alpha1.ServerOffPowerState:
		node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: shutdownTaint, Effect: corev1.TaintEffectNoSchedule})
	default:
		return nil
	}
	if err := r.shoot.Patch(ctx, node, patch); err != nil {
		return fmt.Errorf("updating the shutdown taint of Node %s: %w", node.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("updated the shutdown taint", "shutdown", !ready, "serverPowerState", server.Status.PowerState)
	return nil
}

func hasUninitializedTaint(node *corev1.Node) bool {
	for _, taint := range node.Spec.Taints {
		if taint.Key == uninitializedTaint {
			return true
		}
	}
	return false
}

// isKubernetesLabel matches the label namespaces the cloud node controller reserves: (^|\.)(kubernetes|k8s)\.io/.
func isKubernetesLabel(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	for _, domain := range []string{"kubernetes.io", "k8s.io"} {
		if prefix == domain || strings.HasSuffix(prefix, "."+domain) {
			return true
		}
	}
	return false
}
