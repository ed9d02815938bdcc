package controlplane

import (
	"context"
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/log"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	extensionswebhook "github.com/gardener/gardener/extensions/pkg/webhook"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
)

const namespace = "shoot--project--name"

func newMutator(families []gardencorev1beta1.IPFamily, controlPlaneConfig string) extensionswebhook.Mutator {
	shoot := &gardencorev1beta1.Shoot{
		TypeMeta: metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Shoot"},
		Spec: gardencorev1beta1.ShootSpec{
			Kubernetes: gardencorev1beta1.Kubernetes{Version: "1.36.1"},
			Networking: &gardencorev1beta1.Networking{IPFamilies: families},
		},
	}
	if controlPlaneConfig != "" {
		shoot.Spec.Provider.ControlPlaneConfig = &runtime.RawExtension{Raw: []byte(controlPlaneConfig)}
	}
	raw, err := json.Marshal(shoot)
	Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	Expect(extensionscontroller.AddToScheme(scheme)).To(Succeed())
	c := fakeclient.NewClientBuilder().WithScheme(scheme).WithObjects(&extensionsv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: namespace},
		Spec: extensionsv1alpha1.ClusterSpec{
			Shoot:        runtime.RawExtension{Raw: raw},
			CloudProfile: runtime.RawExtension{Raw: []byte(`{"apiVersion":"core.gardener.cloud/v1beta1","kind":"CloudProfile"}`)},
			Seed:         &runtime.RawExtension{Raw: []byte(`{"apiVersion":"core.gardener.cloud/v1beta1","kind":"Seed"}`)},
		},
	}).Build()
	return NewMutator(c, log.Log)
}

func deployment(name string, command ...string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: name, Command: command}},
		}}},
	}
}

// mutateTwice admits the object and then its result again, as happens on every later update, and checks that the
// second admission changes nothing.
func mutateTwice[T client.Object](m extensionswebhook.Mutator, obj T) T {
	Expect(m.Mutate(context.Background(), obj, nil)).To(Succeed())
	once := obj.DeepCopyObject().(T)
	Expect(m.Mutate(context.Background(), obj, once)).To(Succeed())
	Expect(obj).To(Equal(once), "a repeated admission changed the object")
	return obj
}

var ipv4 = []gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv4}
var ipv6 = []gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv6}
var dualStack = []gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv4, gardencorev1beta1.IPFamilyIPv6}

var _ = Describe("Mutator", func() {
	It("removes in-tree cloud provider flags from the kube-apiserver", func() {
		dep := mutateTwice(newMutator(ipv4, ""), deployment("kube-apiserver",
			"/usr/local/bin/kube-apiserver", "--cloud-provider=aws", "--cloud-config=/etc/cloud.conf", "--secure-port=443"))
		Expect(dep.Spec.Template.Spec.Containers[0].Command).To(Equal([]string{"/usr/local/bin/kube-apiserver", "--secure-port=443"}))
	})

	// The node IPAM flags are Gardener's (pkg/component/kubernetes/controllermanager, computeCommand: the generic
	// --node-cidr-mask-size with one pod network, the per-family flags with two); kube-controller-manager checks them
	// against --cluster-cidr, not against spec.networking.ipFamilies (k8s.io/kubernetes v1.36
	// cmd/kube-controller-manager/app/core.go, setNodeCIDRMaskSizes), so the webhook must leave them alone.
	DescribeTable("makes the kube-controller-manager use the external cloud provider and keeps Gardener's node IPAM flags",
		func(families []gardencorev1beta1.IPFamily, controlPlaneConfig string, ipam []string, expectedIPAM []string) {
			cmd := append([]string{"/usr/local/bin/kube-controller-manager", "--cloud-provider=aws", "--cloud-config=/etc/cloud.conf", "--external-cloud-volume-plugin=aws"}, ipam...)
			dep := mutateTwice(newMutator(families, controlPlaneConfig), deployment("kube-controller-manager", cmd...))
			Expect(dep.Spec.Template.Spec.Containers[0].Command).To(Equal(append([]string{"/usr/local/bin/kube-controller-manager", "--cloud-provider=external"}, expectedIPAM...)))
		},
		Entry("IPv4", ipv4, "",
			[]string{"--node-cidr-mask-size=25", "--allocate-node-cidrs=true", "--cluster-cidr=100.96.0.0/11"},
			[]string{"--node-cidr-mask-size=25", "--allocate-node-cidrs=true", "--cluster-cidr=100.96.0.0/11"}),
		Entry("IPv6", ipv6, "",
			[]string{"--node-cidr-mask-size=64", "--allocate-node-cidrs=true", "--cluster-cidr=2001:db8:1::/48"},
			[]string{"--node-cidr-mask-size=64", "--allocate-node-cidrs=true", "--cluster-cidr=2001:db8:1::/48"}),
		// During a migration to dual-stack the shoot lists both families while kube-controller-manager still gets one
		// pod network; an added --node-cidr-mask-size-ipv6 would make it exit ("usage of --node-cidr-mask-size-ipv6 is
		// not allowed for a single-stack IPv4 cluster").
		Entry("IPv4 migrating to dual-stack", dualStack, "",
			[]string{"--allocate-node-cidrs=true", "--cluster-cidr=100.96.0.0/11"},
			[]string{"--allocate-node-cidrs=true", "--cluster-cidr=100.96.0.0/11"}),
		Entry("dual-stack", dualStack, "",
			[]string{"--node-cidr-mask-size-ipv4=23", "--node-cidr-mask-size-ipv6=72", "--allocate-node-cidrs=true", "--cluster-cidr=100.96.0.0/11,2001:db8:1::/48"},
			[]string{"--node-cidr-mask-size-ipv4=23", "--node-cidr-mask-size-ipv6=72", "--allocate-node-cidrs=true", "--cluster-cidr=100.96.0.0/11,2001:db8:1::/48"}),
		// The CCM fills only an empty spec.podCIDR (cloud-provider-metal node_controller.go, reconcilePodCIDR).
		Entry("the cloud-controller-manager assigns pod CIDRs", ipv6, `{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"ControlPlaneConfig","cloudControllerManager":{"podPrefixSize":64}}`,
			[]string{"--node-cidr-mask-size=64", "--allocate-node-cidrs=true", "--cluster-cidr=2001:db8:1::/48"},
			[]string{"--node-cidr-mask-size=64", "--allocate-node-cidrs=false", "--cluster-cidr=2001:db8:1::/48"}),
	)

	It("fails on a ControlPlaneConfig it cannot decode", func() {
		err := newMutator(ipv4, `{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"ControlPlaneConfig","cloudControllerManager":{"podPrefixSize":"x"}}`).
			Mutate(context.Background(), deployment("kube-controller-manager", "--allocate-node-cidrs=true"), nil)
		Expect(err).To(MatchError(ContainSubstring("spec.provider.controlPlaneConfig")))
	})

	It("leaves other Deployments alone", func() {
		dep := deployment("kube-scheduler", "--cloud-provider=aws")
		Expect(newMutator(ipv4, "").Mutate(context.Background(), dep, nil)).To(Succeed())
		Expect(dep.Spec.Template.Spec.Containers[0].Command).To(Equal([]string{"--cloud-provider=aws"}))
	})

	It("starts the kubelet with --cloud-provider=external", func() {
		unit := `[Unit]
Description=kubelet daemon

[Service]
Restart=always
ExecStart=/opt/bin/kubelet \
    --config=/var/lib/kubelet/config/kubelet \
    --v=2
`
		osc := &extensionsv1alpha1.OperatingSystemConfig{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "osc"},
			Spec: extensionsv1alpha1.OperatingSystemConfigSpec{
				Purpose: extensionsv1alpha1.OperatingSystemConfigPurposeReconcile,
				Units:   []extensionsv1alpha1.Unit{{Name: "kubelet.service", Content: ptr.To(unit)}, {Name: "other.service", Content: ptr.To("[Service]\nExecStart=/bin/true\n")}},
			},
		}
		osc = mutateTwice(newMutator(ipv4, ""), osc)
		Expect(*osc.Spec.Units[0].Content).To(ContainSubstring("--cloud-provider=external"))
		Expect(*osc.Spec.Units[0].Content).To(ContainSubstring("--config=/var/lib/kubelet/config/kubelet"))
		Expect(*osc.Spec.Units[1].Content).To(Equal("[Service]\nExecStart=/bin/true\n"))
	})

	It("leaves the provision OperatingSystemConfig alone", func() {
		osc := &extensionsv1alpha1.OperatingSystemConfig{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "osc"},
			Spec: extensionsv1alpha1.OperatingSystemConfigSpec{
				Purpose: extensionsv1alpha1.OperatingSystemConfigPurposeProvision,
				Units:   []extensionsv1alpha1.Unit{{Name: "kubelet.service", Content: ptr.To("[Service]\nExecStart=/opt/bin/kubelet\n")}},
			},
		}
		Expect(newMutator(ipv4, "").Mutate(context.Background(), osc, nil)).To(Succeed())
		Expect(*osc.Spec.Units[0].Content).To(Equal("[Service]\nExecStart=/opt/bin/kubelet\n"))
	})
})
