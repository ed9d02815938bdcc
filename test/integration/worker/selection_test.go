package worker_test

import (
	"strings"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

var _ = Describe("Server selection and class names", func() {
	It("selects only Servers of the shoot's region where one metal API serves the same zone names in several regions", func(ctx SpecContext) {
		s := newShoot(ctx)
		s.createWorker(ctx, generalPool())
		s.expectSucceeded(ctx)

		suffix := rand.String(6)
		labels := func(serverRegion string) map[string]string {
			return map[string]string{"machine-type": "small", metal.ZoneLabel: "z1", metal.RegionLabel: serverRegion}
		}
		for name, serverLabels := range map[string]map[string]string{
			"own-" + suffix:   labels(region),
			"other-" + suffix: labels("region-2"),
		} {
			server := &metalv1alpha1.Server{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: serverLabels},
				Spec:       metalv1alpha1.ServerSpec{SystemUUID: name},
			}
			Expect(seedClient.Create(ctx, server)).To(Succeed())
			DeferCleanup(func(ctx SpecContext) { Expect(client.IgnoreNotFound(seedClient.Delete(ctx, server))).To(Succeed()) })
		}

		// metal-operator v0.7.0 (internal/controller/serverclaim_controller.go, claimServer) matches a claim's
		// serverSelector with metav1.LabelSelectorAsSelector against the Servers' labels: the API server's label
		// selection is the same selection.
		selector, err := metav1.LabelSelectorAsSelector(s.providerSpec(s.machineClasses(ctx)[s.namespace+"-general-z1"]).ServerSelector)
		Expect(err).NotTo(HaveOccurred())
		servers := &metalv1alpha1.ServerList{}
		Expect(seedClient.List(ctx, servers, client.MatchingLabelsSelector{Selector: selector})).To(Succeed())
		var selected []string
		for _, server := range servers.Items {
			if strings.HasSuffix(server.Name, suffix) {
				selected = append(selected, server.Name)
			}
		}
		Expect(selected).To(ConsistOf("own-" + suffix))
	})

	It("applies CloudProfile edits to the existing classes in place, so that no machine is replaced", func(ctx SpecContext) {
		s := newShoot(ctx)
		s.createWorker(ctx, generalPool(), gpuPool())
		s.expectSucceeded(ctx)
		before := s.machineClasses(ctx)

		By("rebuilding the image of the same version, relabelling the machine type, changing DNS servers and Ignition")
		s.profileConfig.MachineImages[0].Versions[0].Image = amd64Image + "-rebuilt"
		s.profileConfig.MachineTypes[0].ServerLabels["generation"] = "2"
		s.profileConfig.DNSServers = []string{"10.0.0.54"}
		s.profileConfig.Ignition = ptr.To(`{"ignition":{"version":"3.5.0"},"storage":{"files":[{"path":"/etc/profile-file-2"}]}}`)
		s.writeCluster(ctx)
		s.reconcile(ctx)

		after := s.machineClasses(ctx)
		Expect(after).To(HaveLen(len(before)))
		for name, class := range after {
			Expect(class.Name).To(Equal(before[name].Name), "the class of %s keeps its name", name)
		}
		general := after[s.namespace+"-general-z1"]
		spec := s.providerSpec(general)
		Expect(spec.Image).To(Equal(amd64Image+"-rebuilt"), "new machines get the CloudProfile's new values")
		Expect(spec.ServerSelector.MatchLabels).To(HaveKeyWithValue("generation", "2"))
		Expect(spec.DNSServers).To(Equal([]string{"10.0.0.54"}))
		Expect(string(s.classSecret(ctx, general).Data[metal.ExtraIgnitionSecretKey])).To(ContainSubstring("/etc/profile-file-2"))
	})
})
