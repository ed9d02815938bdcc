package controlplane

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/imagevector"
	api "github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal"
)

// metalLBExcludedResources are the only resources whose upstream rules the charts may leave out: the controller
// runs with --webhook-mode=disabled, so it rotates no webhook certificates into webhook configurations and CRDs,
// and PodSecurityPolicies are no longer served (hack/generate-metallb).
var metalLBExcludedResources = []string{"validatingwebhookconfigurations", "customresourcedefinitions", "podsecuritypolicies"}

var _ = Describe("MetalLB manifests", func() {
	var upstream *rendered

	BeforeEach(func() {
		image, err := imagevector.ImageVector().FindImage(imagevector.ImageNameMetalLBController)
		Expect(err).NotTo(HaveOccurred())
		// The module proxy serves go.universe.tf/metallb (github.com/metallb/metallb is not a Go module path); the
		// manifest is the one MetalLB releases for its native mode.
		out, err := exec.Command("go", "mod", "download", "-json", "go.universe.tf/metallb@"+*image.Tag).Output()
		Expect(err).NotTo(HaveOccurred())
		var info struct{ Dir string }
		Expect(json.Unmarshal(out, &info)).To(Succeed())
		manifest, err := os.ReadFile(filepath.Join(info.Dir, "config", "manifests", "metallb-native.yaml"))
		Expect(err).NotTo(HaveOccurred())
		upstream = decodeManifest(manifest)
	})

	It("deploys the MetalLB release that hack/metallb.sh builds for the tests", func() {
		image, err := imagevector.ImageVector().FindImage(imagevector.ImageNameMetalLBSpeaker)
		Expect(err).NotTo(HaveOccurred())
		goMod, err := os.ReadFile(filepath.Join("..", "..", "..", "hack", "tools", "metallb", "go.mod"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(goMod)).To(MatchRegexp(`(?m)^require go\.universe\.tf/metallb ` + regexp.QuoteMeta(*image.Tag) + `$`))
	})

	It("ships the CRDs of the MetalLB release it deploys, serving every version upstream serves", func() {
		charts := renderAll(&api.ControlPlaneConfig{LoadBalancer: metalLBL2Config}, testCluster(ipv4, "cilium"))
		shipped := charts.crds.ofKind("CustomResourceDefinition")
		Expect(shipped).To(HaveLen(len(upstream.ofKind("CustomResourceDefinition"))))
		for _, obj := range upstream.ofKind("CustomResourceDefinition") {
			crd := get[*apiextensionsv1.CustomResourceDefinition](charts.crds, "CustomResourceDefinition", obj.GetName())
			Expect(crd.Spec).To(Equal(obj.(*apiextensionsv1.CustomResourceDefinition).Spec), crd.Name)
		}
		bgpPeers := get[*apiextensionsv1.CustomResourceDefinition](charts.crds, "CustomResourceDefinition", "bgppeers.metallb.io")
		Expect(bgpPeers.Spec.Versions).To(ConsistOf(
			And(HaveField("Name", "v1beta1"), HaveField("Served", true)),
			And(HaveField("Name", "v1beta2"), HaveField("Served", true), HaveField("Storage", true)),
		))
	})

	It("grants MetalLB what upstream grants, except the rules of the disabled webhook", func() {
		charts := renderAll(&api.ControlPlaneConfig{LoadBalancer: metalLBL2Config}, testCluster(ipv4, "cilium"))
		for _, kind := range []string{"Role", "ClusterRole"} {
			for _, obj := range upstream.ofKind(kind) {
				expected := slices.DeleteFunc(rulesOf(obj), func(rule rbacv1.PolicyRule) bool {
					return !slices.ContainsFunc(rule.Resources, func(r string) bool { return !slices.Contains(metalLBExcludedResources, r) })
				})
				Expect(charts.shoot.has(kind, obj.GetName())).To(BeTrue(), "%s %s", kind, obj.GetName())
				Expect(rulesOf(get[client.Object](charts.shoot, kind, obj.GetName()))).To(Equal(expected), "%s %s", kind, obj.GetName())
			}
		}
		for _, kind := range []string{"RoleBinding", "ClusterRoleBinding", "ServiceAccount"} {
			Expect(names(charts.shoot.ofKind(kind))).To(ContainElements(names(upstream.ofKind(kind))), kind)
		}
		// The subjects are upstream's, in the chart's namespace (kube-system, see templates/_helpers.tpl).
		for _, kind := range []string{"RoleBinding", "ClusterRoleBinding"} {
			for _, obj := range upstream.ofKind(kind) {
				var want []rbacv1.Subject
				for _, subject := range subjectsOf(obj) {
					if subject.Namespace == "metallb-system" {
						subject.Namespace = "kube-system"
					}
					want = append(want, subject)
				}
				Expect(want).NotTo(BeEmpty(), "%s %s", kind, obj.GetName())
				Expect(subjectsOf(get[client.Object](charts.shoot, kind, obj.GetName()))).To(Equal(want), "%s %s", kind, obj.GetName())
			}
		}

		By("the facts the hand-written RBAC got wrong")
		controller := get[*rbacv1.Role](charts.shoot, "Role", "controller")
		Expect(controller.Rules).To(ContainElement(rbacv1.PolicyRule{
			APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{"controller"}, Verbs: []string{"get"},
		}), "the controller owns the memberlist secret by its Deployment")
		speaker := get[*rbacv1.ClusterRole](charts.shoot, "ClusterRole", "metallb-system:speaker")
		Expect(speaker.Rules).To(ContainElement(HaveField("Resources", ContainElement("servicel2statuses"))), "the speaker lists servicel2statuses cluster-wide")
	})

	It("runs controller and speaker as upstream's manifest of that release does: args, ports, probes, env and mounts", func() {
		charts := renderAll(&api.ControlPlaneConfig{LoadBalancer: metalLBL2Config}, testCluster(ipv4, "cilium"))
		workloads := []struct {
			shipped, upstream corev1.PodSpec
			// webhookOnly are what upstream has only for the validating webhook, which the charts disable.
			webhookOnly []string
		}{
			{
				shipped:     get[*appsv1.Deployment](charts.shoot, "Deployment", "controller").Spec.Template.Spec,
				upstream:    get[*appsv1.Deployment](upstream, "Deployment", "controller").Spec.Template.Spec,
				webhookOnly: []string{"--tls-min-version=VersionTLS12", "webhook-server", "cert"},
			},
			{
				shipped:  get[*appsv1.DaemonSet](charts.shoot, "DaemonSet", "speaker").Spec.Template.Spec,
				upstream: get[*appsv1.DaemonSet](upstream, "DaemonSet", "speaker").Spec.Template.Spec,
			},
		}
		for _, w := range workloads {
			shipped, want := w.shipped.Containers[0], w.upstream.Containers[0]
			Expect(shipped.Name).To(Equal(want.Name))
			Expect(w.shipped.ServiceAccountName).To(Equal(w.upstream.ServiceAccountName), shipped.Name)
			Expect(w.shipped.HostNetwork).To(Equal(w.upstream.HostNetwork), shipped.Name)
			Expect(shipped.Args).To(ContainElements(slices.DeleteFunc(want.Args, func(arg string) bool { return slices.Contains(w.webhookOnly, arg) })), shipped.Name)
			Expect(withDefaultProtocol(shipped.Ports)).To(ConsistOf(withDefaultProtocol(slices.DeleteFunc(want.Ports, func(p corev1.ContainerPort) bool { return slices.Contains(w.webhookOnly, p.Name) }))), shipped.Name)
			for _, probe := range []struct{ shipped, upstream *corev1.Probe }{{shipped.LivenessProbe, want.LivenessProbe}, {shipped.ReadinessProbe, want.ReadinessProbe}} {
				Expect(probe.shipped.ProbeHandler).To(Equal(probe.upstream.ProbeHandler), shipped.Name)
			}
			Expect(shipped.Env).To(ContainElements(want.Env), shipped.Name)
			Expect(shipped.VolumeMounts).To(ConsistOf(slices.DeleteFunc(want.VolumeMounts, func(m corev1.VolumeMount) bool { return slices.Contains(w.webhookOnly, m.Name) })), shipped.Name)
			Expect(shipped.SecurityContext.Capabilities.Add).To(Equal(want.SecurityContext.Capabilities.Add), shipped.Name)
		}
	})

	It("mounts upstream's layer-2 interface exclusions into the speaker", func() {
		charts := renderAll(&api.ControlPlaneConfig{LoadBalancer: metalLBL2Config}, testCluster(ipv4, "cilium"))
		shipped := get[*corev1.ConfigMap](charts.shoot, "ConfigMap", "metallb-excludel2")
		Expect(shipped.Data).To(Equal(get[*corev1.ConfigMap](upstream, "ConfigMap", "metallb-excludel2").Data))
		Expect(shipped.Data["excludel2.yaml"]).To(And(ContainSubstring(`"^cali.*"`), ContainSubstring(`"^tunl.*"`), ContainSubstring(`"^kube-ipvs.*"`), ContainSubstring(`"^nodelocaldns.*"`)))
		speaker := get[*appsv1.DaemonSet](charts.shoot, "DaemonSet", "speaker").Spec.Template.Spec
		// The speaker reads /etc/metallb/excludel2.yaml (go.universe.tf/metallb speaker/main.go).
		Expect(speaker.Containers[0].VolumeMounts).To(ContainElement(corev1.VolumeMount{Name: "metallb-excludel2", MountPath: "/etc/metallb", ReadOnly: true}))
		Expect(speaker.Volumes).To(ContainElement(HaveField("ConfigMap.Name", "metallb-excludel2")))
	})
})

// withDefaultProtocol sets the protocol the API server defaults a container port to.
func withDefaultProtocol(ports []corev1.ContainerPort) []corev1.ContainerPort {
	result := slices.Clone(ports)
	for i := range result {
		if result[i].Protocol == "" {
			result[i].Protocol = corev1.ProtocolTCP
		}
	}
	return result
}

func rulesOf(obj client.Object) []rbacv1.PolicyRule {
	switch role := obj.(type) {
	case *rbacv1.Role:
		return role.Rules
	case *rbacv1.ClusterRole:
		return role.Rules
	}
	Fail("not a role")
	return nil
}

func names(objects []client.Object) []string {
	var result []string
	for _, obj := range objects {
		result = append(result, obj.GetName())
	}
	return result
}

func subjectsOf(obj client.Object) []rbacv1.Subject {
	switch o := obj.(type) {
	case *rbacv1.RoleBinding:
		return o.Subjects
	case *rbacv1.ClusterRoleBinding:
		return o.Subjects
	}
	return nil
}
