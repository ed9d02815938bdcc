package controlplane

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	vpaautoscalingv1 "k8s.io/autoscaler/vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1"

	"github.com/openkcm/gardener-extension-provider-metal/imagevector"
)

var _ = Describe("machine-controller-manager", func() {
	const sidecarName = "machine-controller-manager-provider-metal"

	It("gets the metal driver as its provider sidecar exactly once, with the metal kubeconfig and node name policy", func() {
		dep := mutateTwice(newMutator(ipv4, ""), deployment("machine-controller-manager", "./machine-controller-manager"))

		containers := dep.Spec.Template.Spec.Containers
		Expect(containers).To(HaveLen(2))
		Expect(containers[0].Name).To(Equal("machine-controller-manager"))
		sidecar := containers[1]
		Expect(sidecar.Name).To(Equal(sidecarName))

		image, err := imagevector.ImageVector().FindImage(imagevector.ImageNameMachineControllerManagerProviderMetal)
		Expect(err).NotTo(HaveOccurred())
		Expect(sidecar.Image).To(Equal(image.String()))
		Expect(sidecar.Args).To(ContainElements(
			"--namespace="+namespace,
			"--metal-kubeconfig=/etc/metal/kubeconfig",
			"--node-name-policy=ServerClaimName",
		))
		Expect(sidecar.VolumeMounts).To(ContainElements(
			corev1.VolumeMount{Name: "cloudprovider", MountPath: "/etc/metal", ReadOnly: true},
			corev1.VolumeMount{Name: "cloudprovider", MountPath: "/var/run/secrets/gardener.cloud/workload-identity", ReadOnly: true},
		))
		Expect(dep.Spec.Template.Spec.Volumes).To(ContainElement(corev1.Volume{
			Name:         "cloudprovider",
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "cloudprovider"}},
		}))
	})

	It("lets the VPA control the sidecar's requests, once", func() {
		vpa := &vpaautoscalingv1.VerticalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "machine-controller-manager-vpa"},
			Spec: vpaautoscalingv1.VerticalPodAutoscalerSpec{ResourcePolicy: &vpaautoscalingv1.PodResourcePolicy{
				ContainerPolicies: []vpaautoscalingv1.ContainerResourcePolicy{{ContainerName: "machine-controller-manager"}},
			}},
		}
		vpa = mutateTwice(newMutator(ipv4, ""), vpa)

		policies := vpa.Spec.ResourcePolicy.ContainerPolicies
		Expect(policies).To(HaveLen(2))
		Expect(policies[1].ContainerName).To(Equal(sidecarName))
		Expect(policies[1].ControlledValues).To(HaveValue(Equal(vpaautoscalingv1.ContainerControlledValuesRequestsOnly)))
	})

	It("leaves other VPAs alone", func() {
		vpa := &vpaautoscalingv1.VerticalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "kube-apiserver-vpa"}}
		Expect(newMutator(ipv4, "").Mutate(context.Background(), vpa, nil)).To(Succeed())
		Expect(vpa.Spec.ResourcePolicy).To(BeNil())
	})
})
