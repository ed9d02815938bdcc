package metallb_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
)

const (
	metallbNamespace = "kube-system"
	appNamespace     = "default"
)

var _ = Describe("MetalLB from the shoot chart", func() {
	It("runs, gives a LoadBalancer Service the pool's address, keeps it across restarts, answers ARP for it and releases it", func(ctx SpecContext) {
		By("a ControlPlane with a MetalLB pool of one address, announced in layer 2, rendered and applied to the shoot")
		cp := createControlPlane(ctx, &v1alpha1.ControlPlaneConfig{LoadBalancer: &v1alpha1.LoadBalancerConfig{MetalLB: &v1alpha1.MetalLBConfig{
			IPAddressPools: []v1alpha1.MetalLBIPAddressPool{{Name: "public", Addresses: []string{serviceAddress + "/32"}}},
			L2:             &v1alpha1.MetalLBL2Advertisement{},
		}}}, shootVersion(ctx))
		reconcileControlPlane(ctx, cp)
		applyShootResources(ctx)

		By("the controller and a speaker per node run Ready from the rendered Deployment and DaemonSet")
		controller := readyMetalLBPods(ctx, "controller", 1)[0]
		speakers := readyMetalLBPods(ctx, "speaker", len(nodeNames))
		Expect(controller.Spec.ServiceAccountName).To(Equal("controller"))
		for _, speaker := range speakers {
			Expect(speaker.Spec.HostNetwork).To(BeTrue())
			Expect(speaker.Status.PodIP).To(Equal(lan.nodes[speaker.Spec.NodeName].ip))
			By("speaker " + speaker.Name + " acts as system:serviceaccount:kube-system:speaker: the token its in-cluster client reads")
			Expect(tokenUser(ctx, speaker)).To(Equal("system:serviceaccount:" + metallbNamespace + ":speaker"))
		}
		Expect(tokenUser(ctx, controller)).To(Equal("system:serviceaccount:" + metallbNamespace + ":controller"))
		memberlist := &corev1.Secret{}
		Expect(shootClient.Get(ctx, client.ObjectKey{Namespace: metallbNamespace, Name: "memberlist"}, memberlist)).To(Succeed())
		Expect(memberlist.OwnerReferences).To(ContainElement(And(HaveField("Kind", "Deployment"), HaveField("Name", "controller"))),
			"the controller creates the speakers' memberlist secret, owned by its Deployment")

		By("a LoadBalancer Service gets the pool's address and one node announces it")
		createBackend(ctx)
		createLoadBalancer(ctx, "web")
		Eventually(serviceIP).WithContext(ctx).WithArguments("web").WithTimeout(time.Minute).Should(Equal(serviceAddress))
		expectPoolUsage(ctx, 1)
		announcer := announcingNode(ctx, "web")
		Expect(nodeNames).To(ContainElement(announcer))

		By("another host on the segment asks who has " + serviceAddress + ": the announcing node's eth0 answers, and only it")
		Expect(arpAnswerer(ctx)).To(Equal(announcer))

		By("MetalLB restarts: the controller's process is killed, the speaker pods are deleted")
		killContainer(controller, "controller")
		Eventually(func(g Gomega) {
			pod := &corev1.Pod{}
			g.Expect(shootClient.Get(ctx, client.ObjectKeyFromObject(&controller), pod)).To(Succeed())
			g.Expect(pod.Status.ContainerStatuses).To(ContainElement(And(HaveField("RestartCount", BeNumerically(">=", 1)), HaveField("Ready", true))))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		for _, speaker := range speakers {
			Expect(shootClient.Delete(ctx, &speaker)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			for _, pod := range metallbPods(ctx, g, "speaker") {
				g.Expect(speakers).NotTo(ContainElement(HaveField("UID", pod.UID)), "an old speaker is still there")
			}
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		readyMetalLBPods(ctx, "speaker", len(nodeNames))

		By("the extension restarts: a new ControlPlane controller reconciles, its shoot resources are applied again")
		restartExtension()
		reconcileControlPlane(ctx, cp)
		applyShootResources(ctx)
		readyMetalLBPods(ctx, "controller", 1)

		By("the Service keeps its address: a second Service finds the pool exhausted, the address is still answered for")
		createLoadBalancer(ctx, "web2")
		Eventually(serviceEvents).WithContext(ctx).WithArguments("web2").WithTimeout(time.Minute).Should(ContainElement(
			And(HaveField("Reason", "AllocationFailed"), HaveField("Source.Component", "metallb-controller"))))
		Expect(serviceIP(ctx, "web")).To(Equal(serviceAddress))
		Expect(serviceIP(ctx, "web2")).To(BeEmpty())
		// Not the ServiceL2Status: once in four runs, the new v0.15.2 speaker that announced found the status of its
		// predecessor pod (owned by that deleted pod) current and wrote none, and that one was gone afterwards, leaving
		// the Service without status while the ARP answers were right.
		Expect(arpAnswerer(ctx)).To(BeElementOf(nodeNames))

		By("deleting the Service releases the address: the second Service gets it")
		Expect(shootClient.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "web"}})).To(Succeed())
		Eventually(serviceIP).WithContext(ctx).WithArguments("web2").WithTimeout(time.Minute).Should(Equal(serviceAddress))
		Expect(arpAnswerer(ctx)).To(Equal(announcingNode(ctx, "web2")))

		By("deleting that one too leaves the pool unused and nothing announced")
		Expect(shootClient.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "web2"}})).To(Succeed())
		expectPoolUsage(ctx, 0)
		Eventually(lan.ARPWhoHas).WithContext(ctx).WithArguments(netip.MustParseAddr(serviceAddress)).WithTimeout(time.Minute).Should(BeEmpty())

		By("the charts' RBAC let MetalLB do everything it tried: no request was forbidden")
		expectNothingForbidden()
	})
})

// shootVersion is the shoot API server's Kubernetes version, which the charts are rendered for.
func shootVersion(ctx context.Context) string {
	info, err := shootSet.Discovery().ServerVersion()
	Expect(err).NotTo(HaveOccurred())
	return strings.TrimPrefix(strings.SplitN(info.GitVersion, "-", 2)[0], "v")
}

func metallbPods(ctx context.Context, g Gomega, component string) []corev1.Pod {
	list := &corev1.PodList{}
	g.Expect(shootClient.List(ctx, list, client.InNamespace(metallbNamespace), client.MatchingLabels{"app": "metallb", "component": component})).To(Succeed())
	return list.Items
}

// readyMetalLBPods waits until exactly count pods of the component run Ready, on distinct nodes.
func readyMetalLBPods(ctx context.Context, component string, count int) []corev1.Pod {
	var pods []corev1.Pod
	Eventually(func(g Gomega) {
		pods = metallbPods(ctx, g, component)
		g.Expect(pods).To(HaveLen(count))
		nodesOf := map[string]bool{}
		for _, pod := range pods {
			g.Expect(pod.DeletionTimestamp).To(BeNil(), pod.Name)
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodRunning), pod.Name)
			g.Expect(pod.Status.Conditions).To(ContainElement(And(HaveField("Type", corev1.PodReady), HaveField("Status", corev1.ConditionTrue))), pod.Name)
			nodesOf[pod.Spec.NodeName] = true
		}
		g.Expect(nodesOf).To(HaveLen(count))
	}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
	return pods
}

// tokenUser reviews the ServiceAccount token that the node's kubelet mounted into the pod (the projected volume the
// ServiceAccount admission plugin added) and returns whose it is.
func tokenUser(ctx context.Context, pod corev1.Pod) string {
	var volume string
	for _, v := range pod.Spec.Volumes {
		if v.Projected != nil && strings.HasPrefix(v.Name, "kube-api-access-") {
			volume = v.Name
		}
	}
	Expect(volume).NotTo(BeEmpty(), "pod %s has no ServiceAccount token volume", pod.Name)
	Expect(pod.Spec.Containers[0].VolumeMounts).To(ContainElement(And(HaveField("Name", volume), HaveField("MountPath", "/var/run/secrets/kubernetes.io/serviceaccount"))))
	token, err := os.ReadFile(filepath.Join(nodeNamed(pod.Spec.NodeName).stateDir, pod.Namespace, pod.Name, "volumes", volume, "token"))
	Expect(err).NotTo(HaveOccurred())
	review, err := shootSet.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: string(token)}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(review.Status.Authenticated).To(BeTrue(), review.Status.Error)
	return review.Status.User.Username
}

func nodeNamed(name string) *node {
	for _, n := range nodes {
		if n.name == name {
			return n
		}
	}
	Fail("no node " + name)
	return nil
}

// createBackend runs the pods behind the Services: MetalLB announces in layer 2 only Services with a ready endpoint.
func createBackend(ctx context.Context) {
	labels := map[string]string{"app": "backend"}
	Expect(shootClient.Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "backend"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "backend", Image: pauseImage + ":3.10", Args: []string{"infinity"},
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				}}},
			},
		},
	})).To(Succeed())
}

func createLoadBalancer(ctx context.Context, name string) {
	Expect(shootClient.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: name},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "backend"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	})).To(Succeed())
}

// serviceIP is the Service's load balancer address, empty while it has none.
func serviceIP(ctx context.Context, name string) (string, error) {
	svc := &corev1.Service{}
	if err := shootClient.Get(ctx, client.ObjectKey{Namespace: appNamespace, Name: name}, svc); err != nil {
		return "", err
	}
	if len(svc.Status.LoadBalancer.Ingress) == 0 {
		return "", nil
	}
	return svc.Status.LoadBalancer.Ingress[0].IP, nil
}

func serviceEvents(ctx context.Context, name string) ([]corev1.Event, error) {
	list := &corev1.EventList{}
	err := shootClient.List(ctx, list, client.InNamespace(appNamespace), client.MatchingFields{"involvedObject.name": name, "involvedObject.kind": "Service"})
	return list.Items, err
}

// announcingNode is the node whose speaker reports, in the Service's ServiceL2Status, that it announces the Service.
func announcingNode(ctx context.Context, service string) string {
	var announcer string
	Eventually(func(g Gomega) {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("metallb.io/v1beta1")
		list.SetKind("ServiceL2StatusList")
		g.Expect(shootClient.List(ctx, list, client.InNamespace(metallbNamespace))).To(Succeed())
		var announcers []string
		for _, status := range list.Items {
			name, _, _ := unstructured.NestedString(status.Object, "status", "serviceName")
			node, _, _ := unstructured.NestedString(status.Object, "status", "node")
			if name == service && status.GetDeletionTimestamp() == nil {
				announcers = append(announcers, node)
			}
		}
		g.Expect(announcers).To(HaveLen(1), "exactly one speaker announces %s (memberlist elects one)", service)
		announcer = announcers[0]
	}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	return announcer
}

// arpAnswerer asks for the service address on the segment until exactly one node's eth0 answers, and returns that
// node.
func arpAnswerer(ctx context.Context) string {
	var macs []net.HardwareAddr
	Eventually(func(g Gomega) {
		var err error
		macs, err = lan.ARPWhoHas(netip.MustParseAddr(serviceAddress))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(macs).To(HaveLen(1), "one speaker answers")
	}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	node := lan.NodeWithMAC(macs[0])
	Expect(node).NotTo(BeEmpty(), "answered by %s, not a node's eth0", macs[0])
	AddReportEntry("ARP reply for "+serviceAddress, macs[0].String()+" ("+node+" eth0)")
	return node
}

// expectPoolUsage waits until the controller reports the number of assigned addresses in the pool's status.
func expectPoolUsage(ctx context.Context, assigned int64) {
	Eventually(func(g Gomega) {
		pool := &unstructured.Unstructured{}
		pool.SetAPIVersion("metallb.io/v1beta1")
		pool.SetKind("IPAddressPool")
		g.Expect(shootClient.Get(ctx, types.NamespacedName{Namespace: metallbNamespace, Name: "public"}, pool)).To(Succeed())
		used, _, _ := unstructured.NestedInt64(pool.Object, "status", "assignedIPv4")
		available, _, _ := unstructured.NestedInt64(pool.Object, "status", "availableIPv4")
		g.Expect(used).To(Equal(assigned))
		g.Expect(available).To(Equal(1 - assigned))
	}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
}

// killContainer sends SIGKILL to a container's process (its pid file, written by the process kubelet).
func killContainer(pod corev1.Pod, container string) {
	data, err := os.ReadFile(filepath.Join(nodeNamed(pod.Spec.NodeName).stateDir, pod.Namespace, pod.Name, container+".pid"))
	Expect(err).NotTo(HaveOccurred())
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	Expect(err).NotTo(HaveOccurred())
	Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
}

// expectNothingForbidden reads the logs of every MetalLB container that ran on the nodes: a request the RBAC of the
// chart does not allow shows there as "forbidden".
func expectNothingForbidden() {
	var logs []string
	for _, n := range nodes {
		files, err := filepath.Glob(filepath.Join(n.stateDir, metallbNamespace, "*", "*.log"))
		Expect(err).NotTo(HaveOccurred())
		logs = append(logs, files...)
	}
	Expect(logs).NotTo(BeEmpty())
	for _, file := range logs {
		data, err := os.ReadFile(file)
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.ToLower(string(data))).NotTo(ContainSubstring("forbidden"), file)
	}
}
