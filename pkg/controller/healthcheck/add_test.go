package healthcheck

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	extensionscontroller "github.com/gardener/gardener/extensions/pkg/controller"
	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
)

var _ = Describe("Health checks", func() {
	awake := &extensionscontroller.Cluster{Shoot: &gardencorev1beta1.Shoot{}}
	hibernated := &extensionscontroller.Cluster{Shoot: &gardencorev1beta1.Shoot{
		Spec:   gardencorev1beta1.ShootSpec{Hibernation: &gardencorev1beta1.Hibernation{Enabled: ptr.To(true)}},
		Status: gardencorev1beta1.ShootStatus{IsHibernated: true},
	}}
	controlPlane := func(config string) *extensionsv1alpha1.ControlPlane {
		cp := &extensionsv1alpha1.ControlPlane{}
		if config != "" {
			cp.Spec.ProviderConfig = &runtime.RawExtension{Raw: []byte(config)}
		}
		return cp
	}
	const metalLB = `{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"ControlPlaneConfig","loadBalancer":{"metalLoadBalancer":{"vni":1,"metalBondServer":"[::1]:4711"}}}`

	DescribeTable("checks the load balancer manager only where it is deployed",
		func(cp *extensionsv1alpha1.ControlPlane, cluster *extensionscontroller.Cluster, expected bool) {
			Expect(usesMetalLoadBalancer(context.Background(), nil, cp, cluster)).To(Equal(expected))
		},
		Entry("no providerConfig", controlPlane(""), awake, false),
		Entry("metal load balancer", controlPlane(metalLB), awake, true),
		Entry("metal load balancer, hibernated", controlPlane(metalLB), hibernated, false),
		Entry("undecodable providerConfig", controlPlane(`{"kind":"Other"}`), awake, false),
	)

	It("checks the seed components unless the shoot is hibernated", func() {
		Expect(notHibernated(context.Background(), nil, nil, awake)).To(BeTrue())
		Expect(notHibernated(context.Background(), nil, nil, hibernated)).To(BeFalse())
	})

	It("registers checks for both seed deployments and the shoot ManagedResources", func() {
		var conditions []string
		for _, check := range healthChecks() {
			conditions = append(conditions, check.ConditionType)
		}
		Expect(conditions).To(ConsistOf("ControlPlaneHealthy", "ControlPlaneHealthy", "SystemComponentsHealthy", "SystemComponentsHealthy", "SystemComponentsHealthy"))
	})

	It("checks every node of a Worker and the machine-controller-manager unless hibernated", func() {
		checks := workerHealthChecks()
		Expect(checks).To(HaveLen(2))
		Expect(checks[0].ConditionType).To(Equal("EveryNodeReady"))
		Expect(checks[0].PreCheckFunc).To(BeNil())
		Expect(checks[1].ConditionType).To(Equal("ControlPlaneHealthy"))
		Expect(checks[1].PreCheckFunc(context.Background(), nil, nil, hibernated)).To(BeFalse())
	})
})
