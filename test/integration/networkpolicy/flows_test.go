package networkpolicy_test

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
)

// flow is a connection from one endpoint to a port of another.
type flow struct {
	from, to string
	port     int
	protocol corev1.Protocol
}

func (f flow) String() string {
	port := fmt.Sprint(f.port)
	if f.port == 0 {
		port = "<endpoint port>"
	}
	return fmt.Sprintf("%s -> %s %s/%s", f.from, f.to, f.protocol, port)
}

func tcp(from, to string, port int) flow {
	return flow{from: from, to: to, port: port, protocol: corev1.ProtocolTCP}
}
func udp(from, to string, port int) flow {
	return flow{from: from, to: to, port: port, protocol: corev1.ProtocolUDP}
}

// requiredFlows are the connections the seed needs. The ports are the containers' (the policies apply behind the
// Services): the webhook server 10250 and metrics 8080 of the extension and of the admission component (charts'
// values), the CCM's secure port 10258, the kube-apiserver's 443, DNS 53 and CoreDNS's 8053.
var requiredFlows = []flow{
	// Webhooks: the extension's (controlplane, cloudprovider) are called by the seed's kube-apiserver from outside the
	// cluster and may be by a shoot's kube-apiserver pod; the admission component's by the garden's kube-apiserver, from
	// outside the cluster or, for a virtual garden, from its pod in the garden namespace.
	tcp("seed kube-apiserver", "extension", 10250),
	tcp("shoot kube-apiserver", "extension", 10250),
	tcp("garden kube-apiserver", "admission", 10250),
	tcp("virtual-garden kube-apiserver", "admission", 10250),

	// The extension itself reaches the shoots' kube-apiservers, DNS and the metal API.
	tcp("extension", "shoot kube-apiserver", 443),
	udp("extension", "coredns", 53),
	tcp("extension", "metal API (public)", 443),
	tcp("extension", "metal API (private)", 443),

	// The shoot's control plane components we deploy.
	tcp("cloud-controller-manager", "shoot kube-apiserver", 443),
	udp("cloud-controller-manager", "coredns", 53),
	tcp("cloud-controller-manager", "coredns", 53),
	tcp("cloud-controller-manager", "coredns", 8053),
	udp("cloud-controller-manager", "node-local-dns", 53),
	tcp("cloud-controller-manager", "metal API (public)", 443),
	tcp("cloud-controller-manager", "metal API (private)", 443),
	// The metal API inside the seed: the runtime cluster's kube-apiserver (at its endpoint's port) or a Service.
	tcp("cloud-controller-manager (metal API = runtime kube-apiserver)", "runtime kube-apiserver", 0),
	tcp("cloud-controller-manager (metal API = seed Service)", "metal API (seed Service)", 443),
	tcp("metal-load-balancer-controller-manager", "shoot kube-apiserver", 443),
	udp("metal-load-balancer-controller-manager", "coredns", 53),
	tcp("metal-load-balancer-controller-manager", "coredns", 53),
	tcp("metal-load-balancer-controller-manager", "coredns", 8053),

	// Scraping, where our charts declare it: the extension's pods are annotated for the seed's Prometheus, the CCM has
	// a ServiceMonitor for the shoot's Prometheus. (The LB controller manager serves no metrics.)
	tcp("seed prometheus", "extension", 8080),
	tcp("shoot prometheus", "cloud-controller-manager", 10258),
}

// deniedFlows must stay blocked.
var deniedFlows = []flow{
	tcp("random pod", "cloud-controller-manager", 10258),
	tcp("random pod", "extension", 8080),
	// gardener-resource-manager creates no policies for a Service in a namespace it does not handle (its namespace
	// selectors: garden, shoot, extension and istio namespaces, plus gardenlet's additionalNamespaceSelectors), so the
	// CCM's egress label allows nothing; docs/operations/operations.md says so.
	tcp("cloud-controller-manager (metal API = Service in an unhandled namespace)", "metal API (Service in an unhandled namespace)", 443),
}

var _ = Describe("Gardener's NetworkPolicies", Ordered, func() {
	var s *seed

	BeforeAll(func(ctx SpecContext) {
		s = deploySeed(ctx)

		By("waiting for gardenlet's policies in every namespace our workloads run in")
		gardenletPolicies := []string{"deny-all", "allow-to-dns", "allow-to-runtime-apiserver", "allow-to-public-networks", "allow-to-private-networks", "allow-to-blocked-cidrs"}
		Eventually(func(g Gomega) {
			for _, namespace := range append([]string{v1beta1constants.GardenNamespace, s.extensionNamespace}, s.shootNamespaces...) {
				g.Expect(policyNames(ctx, g, namespace)).To(ContainElements(gardenletPolicies), namespace)
			}
		}).WithTimeout(time.Minute).Should(Succeed())
	})

	It("allow every flow the seed needs", func(ctx SpecContext) {
		verdicts := map[flow]string{}
		DeferCleanup(func() { printTable(requiredFlows, verdicts) })
		// gardener-resource-manager creates its policies asynchronously, as pods and Services appear.
		Eventually(func(g Gomega) {
			var blocked []string
			for _, f := range requiredFlows {
				result, verdict := s.evaluate(ctx, g, f)
				verdicts[f] = verdict
				if !result.IsAllowed() {
					blocked = append(blocked, f.String()+": "+verdict)
				}
			}
			g.Expect(blocked).To(BeEmpty(), "flows blocked by Gardener's NetworkPolicies")
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("deny other namespaces' pods the metrics ports", func(ctx SpecContext) {
		verdicts := map[flow]string{}
		DeferCleanup(func() { printTable(deniedFlows, verdicts) })
		for _, f := range deniedFlows {
			result, verdict := s.evaluate(ctx, Default, f)
			verdicts[f] = verdict
			Expect(result.IsAllowed()).To(BeFalse(), "%s is allowed: %s", f, verdict)
		}
	})
})

// evaluate evaluates a flow against the NetworkPolicies the API server holds and describes the verdict: per direction
// whether it is allowed and by which policies (or which policies select the pod without allowing it).
func (s *seed) evaluate(ctx SpecContext, g Gomega, f flow) (*matcher.AllowedResult, string) {
	policies := &networkingv1.NetworkPolicyList{}
	g.Expect(testClient.List(ctx, policies)).To(Succeed())
	netpols := make([]*networkingv1.NetworkPolicy, 0, len(policies.Items))
	for i := range policies.Items {
		netpols = append(netpols, &policies.Items[i])
	}
	from, to := s.endpoints[f.from], s.endpoints[f.to]
	g.Expect(from).NotTo(BeNil(), f.from)
	g.Expect(to).NotTo(BeNil(), f.to)
	if f.port == 0 {
		f.port = to.port
	}

	result := matcher.BuildNetworkPolicies(false, netpols).IsTrafficAllowed(&matcher.Traffic{
		Source:           from.trafficPeer(),
		Destination:      to.trafficPeer(),
		ResolvedPort:     f.port,
		ResolvedPortName: to.portName(f.port, f.protocol),
		Protocol:         f.protocol,
	})
	peers := map[bool]*matcher.TrafficPeer{true: from.trafficPeer(), false: to.trafficPeer()}
	deciding := func(e *endpoint, result *matcher.DirectionResult, isIngress bool) string {
		return direction(e, result, func(policy *networkingv1.NetworkPolicy) bool {
			return policyAllows(policy, isIngress, peers[isIngress], f, to)
		})
	}
	return result, fmt.Sprintf("egress %s; ingress %s", deciding(from, result.Egress, false), deciding(to, result.Ingress, true))
}

// policyAllows tells whether one policy alone allows the flow in a direction. cyclonus merges the policies that select
// the same pods into one target; this picks out those of them that decide.
func policyAllows(policy *networkingv1.NetworkPolicy, isIngress bool, peer *matcher.TrafficPeer, f flow, to *endpoint) bool {
	ingress, egress := matcher.BuildTarget(policy)
	target := egress
	if isIngress {
		target = ingress
	}
	return target != nil && target.Allows(peer, f.port, to.portName(f.port, f.protocol), f.protocol)
}

func (e *endpoint) trafficPeer() *matcher.TrafficPeer {
	if e.pod == nil {
		return &matcher.TrafficPeer{IP: e.ip}
	}
	return &matcher.TrafficPeer{IP: e.ip, Internal: &matcher.InternalPeer{
		PodLabels:       e.pod.Labels,
		NamespaceLabels: e.namespace.Labels,
		Namespace:       e.namespace.Name,
	}}
}

// portName is the name of the container port a flow reaches, which policies may name instead of its number.
func (e *endpoint) portName(port int, protocol corev1.Protocol) string {
	if e.pod == nil {
		return ""
	}
	for _, container := range e.pod.Spec.Containers {
		for _, p := range container.Ports {
			if int(p.ContainerPort) == port && (p.Protocol == protocol || p.Protocol == "" && protocol == corev1.ProtocolTCP) {
				return p.Name
			}
		}
	}
	return ""
}

// direction describes the verdict of one direction: the policies that allow the flow, or those that select the pod
// (and so deny what none of them allows).
func direction(e *endpoint, result *matcher.DirectionResult, allows func(*networkingv1.NetworkPolicy) bool) string {
	switch {
	case e.pod == nil:
		return "n/a (outside the cluster)"
	case len(result.AllowingTargets) == 0 && len(result.DenyingTargets) == 0:
		return "allowed (no policy selects the pod)"
	case result.IsAllowed():
		return "allowed by " + strings.Join(policyNamesOf(result.AllowingTargets, allows), ", ")
	default:
		return "DENIED, selected by " + strings.Join(policyNamesOf(result.DenyingTargets, nil), ", ")
	}
}

func policyNamesOf(targets []*matcher.Target, filter func(*networkingv1.NetworkPolicy) bool) []string {
	var names []string
	for _, target := range targets {
		for _, policy := range target.SourceRules {
			if filter == nil || filter(policy) {
				names = append(names, policy.Namespace+"/"+policy.Name)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func policyNames(ctx SpecContext, g Gomega, namespace string) []string {
	policies := &networkingv1.NetworkPolicyList{}
	g.Expect(testClient.List(ctx, policies, client.InNamespace(namespace))).To(Succeed())
	var names []string
	for _, policy := range policies.Items {
		names = append(names, policy.Name)
	}
	return names
}

func printTable(flows []flow, verdicts map[flow]string) {
	w := tabwriter.NewWriter(GinkgoWriter, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(w, "FLOW\tVERDICT")
	for _, f := range flows {
		if verdict, ok := verdicts[f]; ok {
			_, _ = fmt.Fprintf(w, "%s\t%s\n", f, verdict)
		}
	}
	_ = w.Flush()
}
