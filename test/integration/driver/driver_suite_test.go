package driver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	machinev1alpha1 "github.com/gardener/machine-controller-manager/pkg/apis/machine/v1alpha1"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/metalclient"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

func TestDriver(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "MCM Driver Integration Suite")
}

var (
	crds = filepath.Join("..", "..", "..", "example", "crds")

	// cfg is the one API server that serves the metal API, the control cluster (Machines) and the target
	// cluster (Nodes) alike.
	cfg *rest.Config
	// admin is the test's own client, used to check and to play metal-operator.
	admin client.Client
	// requests counts the requests of the driver's client.
	requests atomic.Int64
	// driverConfig is cfg with the request counter.
	driverConfig *rest.Config
)

var _ = BeforeSuite(func() {
	var stop func() error
	cfg, stop = startAPIServer()
	DeferCleanup(stop)
	driverConfig = countingConfig(cfg, &requests)
	admin = newAdminClient(cfg)
})

// newAdminClient returns the test's client; its rate limit is high, so that test binder and polling never wait.
func newAdminClient(config *rest.Config) client.Client {
	fast := rest.CopyConfig(config)
	fast.QPS, fast.Burst = 1000, 2000
	c, err := client.New(fast, client.Options{Scheme: testScheme()})
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return c
}

// startAPIServer starts an envtest API server with the metal, IPAM and machine CRDs. It fails (never skips) when
// KUBEBUILDER_ASSETS is not set.
func startAPIServer() (*rest.Config, func() error) {
	ExpectWithOffset(1, os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS is not set: export KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(crds, "metal"), filepath.Join(crds, "ipam"), filepath.Join(crds, "machine")},
		ErrorIfCRDPathMissing: true,
	}
	config, err := env.Start()
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return config, env.Stop
}

// countingConfig copies config with a transport that counts every request in counter.
func countingConfig(config *rest.Config, counter *atomic.Int64) *rest.Config {
	counted := rest.CopyConfig(config)
	counted.QPS, counted.Burst = 1000, 2000
	counted.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			counter.Add(1)
			return rt.RoundTrip(req)
		})
	})
	return counted
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func testScheme() *runtime.Scheme {
	scheme := driver.NewScheme()
	utilruntime.Must(machinev1alpha1.AddToScheme(scheme))
	return scheme
}

// newDriver returns a driver with its own client (as a restarted process would have) in namespace ns.
func newDriver(ns string, policy driver.NodeNamePolicy) *driver.Driver {
	c, err := client.New(driverConfig, client.Options{Scheme: driver.NewScheme()})
	Expect(err).NotTo(HaveOccurred())
	return driver.New(metalclient.Static{C: c, Namespace: ns}, policy)
}

// newNamespace creates a namespace with a unique name.
func newNamespace(ctx context.Context, prefix string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	Expect(admin.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// shootLabels are the labels scoping the objects of one shoot: technical ID and Shoot UID.
var shootLabels = metal.ScopeLabels("shoot--p--s", "0c6d8a52-1111-4c1e-9d0a-6c1f7e2a9b11")

// otherGardenLabels scope the objects of a shoot with the same technical ID in another garden.
var otherGardenLabels = metal.ScopeLabels("shoot--p--s", "9f1e2d3c-2222-4c1e-9d0a-6c1f7e2a9b11")

// specJSON is a valid provider spec; mutate adjusts it before it is encoded.
func specJSON(mutate func(map[string]any)) []byte {
	spec := map[string]any{
		"image": "ghcr.io/example/gardenlinux:1877.0",
		"serverSelector": map[string]any{"matchLabels": map[string]any{
			metal.ZoneLabel: "z1",
			"machine-type":  "m1",
		}},
		"serverTolerations": []any{map[string]any{"key": "maintenance", "operator": "Exists", "effect": "NoBind"}},
		"ipamConfig": []any{map[string]any{
			"metadataKey": "node",
			"ipamRef":     map[string]any{"apiGroup": "ipam.cluster.x-k8s.io", "kind": "GlobalInClusterIPPool", "name": "nodes"},
		}},
		"metadata":   map[string]any{"cluster": "shoot--p--s"},
		"dnsServers": []any{"10.0.0.53", "2001:db8::53"},
		"labels":     shootLabels,
	}
	if mutate != nil {
		mutate(spec)
	}
	raw, err := json.Marshal(spec)
	Expect(err).NotTo(HaveOccurred())
	return raw
}

func machineClass(raw []byte) *machinev1alpha1.MachineClass {
	return &machinev1alpha1.MachineClass{
		ObjectMeta:   metav1.ObjectMeta{Name: "pool-z1"},
		Provider:     "metal",
		ProviderSpec: runtime.RawExtension{Raw: raw},
	}
}

func machine(name string) *machinev1alpha1.Machine {
	return &machinev1alpha1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shoot--p--s"}}
}

// userData is what the OS extension would produce; the template braces must arrive untouched.
const userData = "#!/bin/bash\necho '{{ .NotATemplate }}' > /tmp/bootstrapped\n"

func userDataSecret() *corev1.Secret {
	return &corev1.Secret{Data: map[string][]byte{"userData": []byte(userData)}}
}

// testBinder plays metal-operator and the IPAM provider: it binds claims to Servers, powers Servers and assigns
// addresses. It is the only stand-in; everything else runs for real against the API server.
type testBinder struct {
	c client.Client
}

// freeServer creates a Server as metal-operator leaves it after discovery: Available, powered off, unclaimed,
// with a BMC reference and one NIC address, labelled for zone z1 and machine type m1.
func (b testBinder) freeServer(ctx context.Context, serverName string) *metalv1alpha1.Server {
	server := &metalv1alpha1.Server{
		ObjectMeta: metav1.ObjectMeta{Name: serverName, Labels: map[string]string{metal.ZoneLabel: "z1", "machine-type": "m1"}},
		Spec: metalv1alpha1.ServerSpec{
			SystemUUID: serverName,
			BMCRef:     &corev1.LocalObjectReference{Name: "bmc-" + serverName},
		},
	}
	ExpectWithOffset(1, b.c.Create(ctx, server)).To(Succeed())
	server.Status.State = metalv1alpha1.ServerStateAvailable
	server.Status.PowerState = metalv1alpha1.ServerOffPowerState
	server.Status.NetworkInterfaces = []metalv1alpha1.NetworkInterface{{
		Name:       "eth0",
		MACAddress: "aa:bb:cc:dd:ee:ff",
		IPs:        []metalv1alpha1.IP{{Addr: netip.MustParseAddr("10.1.0.7")}},
	}}
	ExpectWithOffset(1, b.c.Status().Update(ctx, server)).To(Succeed())
	return server
}

// bind creates a free Server and binds the claim to it as metal-operator does (serverclaim_controller.go,
// claimServer): the Server references the claim and is Reserved, the claim references the Server and is Bound.
func (b testBinder) bind(ctx context.Context, ns, claimName, serverName string) {
	server := b.freeServer(ctx, serverName)
	claim := &metalv1alpha1.ServerClaim{}
	ExpectWithOffset(1, b.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: claimName}, claim)).To(Succeed())
	server.Spec.ServerClaimRef = &metalv1alpha1.ImmutableObjectReference{Namespace: ns, Name: claimName}
	ExpectWithOffset(1, b.c.Update(ctx, server)).To(Succeed())
	server.Status.State = metalv1alpha1.ServerStateReserved
	ExpectWithOffset(1, b.c.Status().Update(ctx, server)).To(Succeed())
	claim.Spec.ServerRef = &corev1.LocalObjectReference{Name: serverName}
	ExpectWithOffset(1, b.c.Update(ctx, claim)).To(Succeed())
	claim.Status.Phase = metalv1alpha1.PhaseBound
	ExpectWithOffset(1, b.c.Status().Update(ctx, claim)).To(Succeed())
}

// powerServer sets the power state of a Server, as metal-operator does once the BMC reports it.
func (b testBinder) powerServer(ctx context.Context, serverName string, state metalv1alpha1.ServerPowerState) {
	server := &metalv1alpha1.Server{}
	ExpectWithOffset(1, b.c.Get(ctx, client.ObjectKey{Name: serverName}, server)).To(Succeed())
	server.Status.PowerState = state
	ExpectWithOffset(1, b.c.Status().Update(ctx, server)).To(Succeed())
}

// assignAddress creates an IPAddress for an IPAddressClaim and references it from the claim's status.
func (b testBinder) assignAddress(ctx context.Context, ns, ipClaimName, address string) {
	ipClaim := &ipamv1beta2.IPAddressClaim{}
	ExpectWithOffset(1, b.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: ipClaimName}, ipClaim)).To(Succeed())
	ip := &ipamv1beta2.IPAddress{
		ObjectMeta: metav1.ObjectMeta{Name: ipClaimName, Namespace: ns},
		Spec: ipamv1beta2.IPAddressSpec{
			ClaimRef: ipamv1beta2.IPAddressClaimReference{Name: ipClaimName},
			PoolRef:  ipClaim.Spec.PoolRef,
			Address:  address,
			Prefix:   new(int32(24)),
			Gateway:  "10.2.0.1",
		},
	}
	ExpectWithOffset(1, b.c.Create(ctx, ip)).To(Succeed())
	ipClaim.Status.AddressRef = ipamv1beta2.IPAddressReference{Name: ip.Name}
	ExpectWithOffset(1, b.c.Status().Update(ctx, ipClaim)).To(Succeed())
}

// leftovers lists what carries the shoot's labels in ns: claims, secrets and IP claims.
func leftovers(ctx context.Context, ns string) []string {
	var names []string
	claims := &metalv1alpha1.ServerClaimList{}
	ExpectWithOffset(1, admin.List(ctx, claims, client.InNamespace(ns), client.MatchingLabels(shootLabels))).To(Succeed())
	for _, c := range claims.Items {
		names = append(names, fmt.Sprintf("ServerClaim %s", c.Name))
	}
	secrets := &corev1.SecretList{}
	ExpectWithOffset(1, admin.List(ctx, secrets, client.InNamespace(ns), client.MatchingLabels(shootLabels))).To(Succeed())
	for _, s := range secrets.Items {
		names = append(names, fmt.Sprintf("Secret %s", s.Name))
	}
	ipClaims := &ipamv1beta2.IPAddressClaimList{}
	ExpectWithOffset(1, admin.List(ctx, ipClaims, client.InNamespace(ns), client.MatchingLabels(shootLabels))).To(Succeed())
	for _, c := range ipClaims.Items {
		names = append(names, fmt.Sprintf("IPAddressClaim %s", c.Name))
	}
	return names
}
