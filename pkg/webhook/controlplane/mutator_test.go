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

func newMutator(families []gardencorev1beta1.IPFamily, kcm *gardencorev1beta1.KubeControllerManagerConfig) extensionswebhook.Mutator {
	shoot := &gardencorev1beta1.Shoot{
		TypeMeta: metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Shoot"},
		Spec: gardencorev1beta1.ShootSpec{
			Kubernetes: gardencorev1beta1.Kubernetes{Version: "1.33.2", KubeControllerManager: kcm},
			Networking: &gardencorev1beta1.Networking{IPFamilies: families},
		},
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
		dep := mutateTwice(newMutator(ipv4, nil), deployment("kube-apiserver",
			"/usr/local/bin/kube-apiserver", "--cloud-provider=aws", "--cloud-config=/etc/cloud.conf", "--secure-port=443"))
		Expect(dep.Spec.Template.Spec.Containers[0].Command).To(Equal([]string{"/usr/local/bin/kube-apiserver", "--secure-port=443"}))
	})

	DescribeTable("makes the kube-controller-manager use the external cloud provider and allocate node CIDRs per IP family",
		func(families []gardencorev1beta1.IPFamily, kcm *gardencorev1beta1.KubeControllerManagerConfig, command []string, expected []string) {
			cmd := append([]string{"/usr/local/bin/kube-controller-manager", "--cloud-provider=aws", "--cloud-config=/etc/cloud.conf", "--external-cloud-volume-plugin=aws"}, command...)
			dep := mutateTwice(newMutator(families, kcm), deployment("kube-controller-manager", cmd...))
			got := dep.Spec.Template.Spec.Containers[0].Command
			Expect(got).To(ContainElements(append([]string{"--cloud-provider=external", "--allocate-node-cidrs=true"}, expected...)))
			Expect(got).NotTo(ContainElement(HavePrefix("--cloud-config")))
			Expect(got).NotTo(ContainElement(HavePrefix("--external-cloud-volume-plugin")))
			Expect(got).NotTo(ContainElement(HavePrefix("--node-cidr-mask-size=")))
			var masks []string
			for _, flag := range got {
				if len(flag) > len("--node-cidr-mask-size") && flag[:len("--node-cidr-mask-size")] == "--node-cidr-mask-size" {
					masks = append(masks, flag)
				}
			}
			Expect(masks).To(ConsistOf(expected))
		},
		Entry("IPv4, generic mask from gardenlet", ipv4, nil, []string{"--allocate-node-cidrs=true", "--node-cidr-mask-size=25"}, []string{"--node-cidr-mask-size-ipv4=25"}),
		Entry("IPv4, no mask", ipv4, nil, nil, []string{"--node-cidr-mask-size-ipv4=24"}),
		Entry("IPv4, mask from the shoot", ipv4, &gardencorev1beta1.KubeControllerManagerConfig{NodeCIDRMaskSize: ptr.To[int32](26)}, nil, []string{"--node-cidr-mask-size-ipv4=26"}),
		Entry("IPv6, generic mask from gardenlet", ipv6, nil, []string{"--node-cidr-mask-size=80"}, []string{"--node-cidr-mask-size-ipv6=80"}),
		Entry("IPv6, stale IPv4 flag", ipv6, nil, []string{"--node-cidr-mask-size-ipv4=24"}, []string{"--node-cidr-mask-size-ipv6=64"}),
		Entry("dual-stack, per-family masks from gardenlet", dualStack, nil, []string{"--node-cidr-mask-size-ipv4=23", "--node-cidr-mask-size-ipv6=72"}, []string{"--node-cidr-mask-size-ipv4=23", "--node-cidr-mask-size-ipv6=72"}),
		Entry("dual-stack, only the IPv4 mask set", dualStack, &gardencorev1beta1.KubeControllerManagerConfig{NodeCIDRMaskSizeIPv6: ptr.To[int32](76)}, []string{"--node-cidr-mask-size-ipv4=24"}, []string{"--node-cidr-mask-size-ipv4=24", "--node-cidr-mask-size-ipv6=76"}),
	)

	It("rejects a mask size that is not a number", func() {
		err := newMutator(ipv4, nil).Mutate(context.Background(), deployment("kube-controller-manager", "--node-cidr-mask-size=x"), nil)
		Expect(err).To(MatchError(ContainSubstring("--node-cidr-mask-size=x")))
	})

	It("leaves other Deployments alone", func() {
		dep := deployment("kube-scheduler", "--cloud-provider=aws")
		Expect(newMutator(ipv4, nil).Mutate(context.Background(), dep, nil)).To(Succeed())
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
		osc = mutateTwice(newMutator(ipv4, nil), osc)
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
		Expect(newMutator(ipv4, nil).Mutate(context.Background(), osc, nil)).To(Succeed())
		Expect(*osc.Spec.Units[0].Content).To(Equal("[Service]\nExecStart=/opt/bin/kubelet\n"))
	})
})
