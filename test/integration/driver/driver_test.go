package driver_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	v35 "github.com/coreos/ignition/v2/config/v3_5"
	"github.com/coreos/ignition/v2/config/v3_5/types"
	mcmdriver "github.com/gardener/machine-controller-manager/pkg/util/provider/driver"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/codes"
	"github.com/gardener/machine-controller-manager/pkg/util/provider/machinecodes/status"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gomegatypes "github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/driver/ignition"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

// haveCode matches an MCM status error with code and a message containing all substrings.
func haveCode(code codes.Code, substrings ...string) gomegatypes.GomegaMatcher {
	matchers := []gomegatypes.GomegaMatcher{
		WithTransform(func(err error) codes.Code {
			s, _ := status.FromError(err)
			return s.Code()
		}, Equal(code)),
	}
	for _, sub := range substrings {
		matchers = append(matchers, MatchError(ContainSubstring(sub)))
	}
	return SatisfyAll(append([]gomegatypes.GomegaMatcher{HaveOccurred()}, matchers...)...)
}

var _ = Describe("metal machine driver", func() {
	var (
		ctx    context.Context
		ns     string
		d      *driver.Driver
		class  = machineClass(specJSON(nil))
		secret = userDataSecret()
		binder testBinder
	)

	BeforeEach(func() {
		ctx = context.Background()
		// Servers are cluster-scoped: those of earlier specs would match this spec's selector.
		Expect(admin.DeleteAllOf(ctx, &metalv1alpha1.Server{})).To(Succeed())
		ns = newNamespace(ctx, "metal")
		// Without a deletion wait every DeleteMachine call takes one step and answers what remains, so that the
		// specs see each step; the wait itself is covered below and with MCM's machine controller.
		d = newDriver(ns, driver.NodeNameServerClaimName).WithDeletionWait(0)
		binder = testBinder{c: admin}
	})

	create := func(name string) *mcmdriver.CreateMachineResponse {
		resp, err := d.CreateMachine(ctx, &mcmdriver.CreateMachineRequest{Machine: machine(name), MachineClass: class, Secret: secret})
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		return resp
	}
	initialize := func(name string) (*mcmdriver.InitializeMachineResponse, error) {
		return d.InitializeMachine(ctx, &mcmdriver.InitializeMachineRequest{Machine: machine(name), MachineClass: class, Secret: secret})
	}
	getStatus := func(name string) (*mcmdriver.GetMachineStatusResponse, error) {
		return d.GetMachineStatus(ctx, &mcmdriver.GetMachineStatusRequest{Machine: machine(name), MachineClass: class, Secret: secret})
	}
	deleteMachine := func(name string) error {
		_, err := d.DeleteMachine(ctx, &mcmdriver.DeleteMachineRequest{Machine: machine(name), MachineClass: class, Secret: secret})
		return err
	}
	getClaim := func(name string) *metalv1alpha1.ServerClaim {
		claim := &metalv1alpha1.ServerClaim{}
		ExpectWithOffset(1, admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, claim)).To(Succeed())
		return claim
	}
	// initialized runs a machine through create, binding, initialization and power on.
	initialized := func(name, server string) {
		create(name)
		binder.bind(ctx, ns, name, server)
		_, err := initialize(name)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		binder.assignAddress(ctx, ns, name+"-node", "10.2.0.10")
		_, err = initialize(name)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		binder.powerServer(ctx, server, metalv1alpha1.ServerOnPowerState)
	}

	Describe("provider spec", func() {
		DescribeTable("rejects bad specs with InvalidArgument naming the field",
			func(raw []byte, substrings ...string) {
				bad := machineClass(raw)
				_, err := d.CreateMachine(ctx, &mcmdriver.CreateMachineRequest{Machine: machine("m"), MachineClass: bad, Secret: secret})
				Expect(err).To(haveCode(codes.InvalidArgument, substrings...))
				_, err = d.InitializeMachine(ctx, &mcmdriver.InitializeMachineRequest{Machine: machine("m"), MachineClass: bad, Secret: secret})
				Expect(err).To(haveCode(codes.InvalidArgument, substrings...))
				Expect(leftovers(ctx, ns)).To(BeEmpty())
			},
			Entry("unknown field", specJSON(func(s map[string]any) { s["imag"] = "x" }), `unknown field "imag"`),
			Entry("no labels", specJSON(func(s map[string]any) { delete(s, "labels") }), "providerSpec.labels"),
			Entry("no image", specJSON(func(s map[string]any) { delete(s, "image") }), "providerSpec.image"),
			Entry("no selector", specJSON(func(s map[string]any) { delete(s, "serverSelector") }), "providerSpec.serverSelector"),
			Entry("bad toleration operator", specJSON(func(s map[string]any) {
				s["serverTolerations"] = []any{map[string]any{"key": "k", "operator": "Near"}}
			}), "providerSpec.serverTolerations[0].operator"),
			Entry("bad DNS server", specJSON(func(s map[string]any) { s["dnsServers"] = []any{"dns.example.com"} }), "providerSpec.dnsServers[0]"),
			Entry("IPAM entry without pool", specJSON(func(s map[string]any) {
				s["ipamConfig"] = []any{map[string]any{"metadataKey": "node", "ipamRef": map[string]any{}}}
			}), "providerSpec.ipamConfig[0].ipamRef.name"),
			Entry("not JSON", []byte("{"), "cannot decode providerSpec"),
		)

		DescribeTable("finds, lists and deletes machines with only the scope of a spec that no longer validates",
			func(mutate func(map[string]any)) {
				initialized("m1", ns+"-s1")
				old := machineClass(specJSON(mutate))
				list, err := d.ListMachines(ctx, &mcmdriver.ListMachinesRequest{MachineClass: old, Secret: secret})
				Expect(err).NotTo(HaveOccurred())
				Expect(list.MachineList).To(HaveKeyWithValue(fmt.Sprintf("metal://%s/m1", ns), "m1"))
				status, err := d.GetMachineStatus(ctx, &mcmdriver.GetMachineStatusRequest{Machine: machine("m1"), MachineClass: old, Secret: secret})
				Expect(err).NotTo(HaveOccurred())
				Expect(status.NodeName).To(Equal("m1"))
				binder.powerServer(ctx, ns+"-s1", metalv1alpha1.ServerOffPowerState)
				_, err = d.DeleteMachine(ctx, &mcmdriver.DeleteMachineRequest{Machine: machine("m1"), MachineClass: old, Secret: secret})
				Expect(err).NotTo(HaveOccurred())
				Expect(leftovers(ctx, ns)).To(BeEmpty())
			},
			Entry("a field of a newer format", func(s map[string]any) { s["bootMode"] = "uefi" }),
			Entry("no image", func(s map[string]any) { delete(s, "image") }),
			Entry("Ignition that stricter validation rejects", func(s map[string]any) {
				s["extraIgnition"] = map[string]any{"raw": `{"ignition":{"version":"2.2.0"}}`}
			}),
			Entry("an IPAM entry of another shape", func(s map[string]any) { s["ipamConfig"] = map[string]any{"node": "nodes"} }),
		)

		It("needs the scope labels to list or delete", func() {
			bad := machineClass(specJSON(func(s map[string]any) { delete(s, "labels") }))
			_, err := d.ListMachines(ctx, &mcmdriver.ListMachinesRequest{MachineClass: bad, Secret: secret})
			Expect(err).To(haveCode(codes.InvalidArgument, "providerSpec.labels"))
			_, err = d.DeleteMachine(ctx, &mcmdriver.DeleteMachineRequest{Machine: machine("m1"), MachineClass: bad, Secret: secret})
			Expect(err).To(haveCode(codes.InvalidArgument, "providerSpec.labels"))
		})

		It("rejects another provider's MachineClass", func() {
			other := machineClass(specJSON(nil))
			other.Provider = "aws"
			_, err := d.CreateMachine(ctx, &mcmdriver.CreateMachineRequest{Machine: machine("m"), MachineClass: other, Secret: secret})
			Expect(err).To(haveCode(codes.InvalidArgument, `provider "aws"`))
		})
	})

	Describe("CreateMachine", func() {
		It("creates a powered off, labelled ServerClaim named after the Machine", func() {
			resp := create("m1")
			Expect(resp.ProviderID).To(Equal(fmt.Sprintf("metal://%s/m1", ns)))
			Expect(resp.NodeName).To(Equal("m1"))

			claim := getClaim("m1")
			Expect(claim.Labels).To(Equal(shootLabels))
			Expect(claim.Spec.Power).To(Equal(metalv1alpha1.PowerOff))
			Expect(claim.Spec.Image).To(Equal("ghcr.io/example/gardenlinux:1877.0"))
			Expect(claim.Spec.IgnitionSecretRef).To(BeNil())
			Expect(claim.Spec.ServerSelector.MatchLabels).To(Equal(map[string]string{"topology.kubernetes.io/zone": "z1", "machine-type": "m1"}))
			Expect(claim.Spec.Tolerations).To(ConsistOf(metalv1alpha1.Toleration{Key: "maintenance", Operator: "Exists", Effect: "NoBind"}))
			Expect(claim.ManagedFields).To(ContainElement(HaveField("Manager", "machine-controller-manager-provider-metal")))
		})

		It("is idempotent", func() {
			create("m1")
			before := getClaim("m1")
			Expect(create("m1")).To(Equal(&mcmdriver.CreateMachineResponse{ProviderID: fmt.Sprintf("metal://%s/m1", ns), NodeName: "m1"}))
			Expect(getClaim("m1").ResourceVersion).To(Equal(before.ResourceVersion))
		})

		It("refuses a claim of the same name that is not this shoot's", func() {
			foreign := &metalv1alpha1.ServerClaim{}
			foreign.Name, foreign.Namespace = "m1", ns
			foreign.Spec = metalv1alpha1.ServerClaimSpec{Power: metalv1alpha1.PowerOff, Image: "other"}
			Expect(admin.Create(ctx, foreign)).To(Succeed())
			_, err := d.CreateMachine(ctx, &mcmdriver.CreateMachineRequest{Machine: machine("m1"), MachineClass: class, Secret: secret})
			Expect(err).To(haveCode(codes.AlreadyExists, "m1"))
		})

		It("waits for metal-operator to bind the claim with node name policy ServerName while a Server is free", func() {
			d = newDriver(ns, driver.NodeNameServerName)
			binder.freeServer(ctx, ns+"-free")
			go func() {
				defer GinkgoRecover()
				Eventually(func() error {
					return admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1"}, &metalv1alpha1.ServerClaim{})
				}).Should(Succeed())
				binder.bind(ctx, ns, "m1", ns+"-s1")
			}()
			Expect(create("m1").NodeName).To(Equal(ns + "-s1"))
		})

		It("creates 50 claims for 50 concurrent calls (each twice) without duplicates", func() {
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			for i := range 100 {
				wg.Go(func() {
					defer GinkgoRecover()
					_, err := d.CreateMachine(ctx, &mcmdriver.CreateMachineRequest{Machine: machine(fmt.Sprintf("c%02d", i%50)), MachineClass: class, Secret: secret})
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				Expect(err).NotTo(HaveOccurred())
			}
			claims := &metalv1alpha1.ServerClaimList{}
			Expect(admin.List(ctx, claims, client.InNamespace(ns))).To(Succeed())
			Expect(claims.Items).To(HaveLen(50))
			list, err := d.ListMachines(ctx, &mcmdriver.ListMachinesRequest{MachineClass: class, Secret: secret})
			Expect(err).NotTo(HaveOccurred())
			Expect(list.MachineList).To(HaveLen(50))
		})

		It("converges after a driver restart without duplicates and keeps initialized claims powered on", func() {
			initialized("m1", ns+"-s1")
			create("m2")
			restarted := newDriver(ns, driver.NodeNameServerClaimName)
			for _, name := range []string{"m1", "m2", "m3"} {
				_, err := restarted.CreateMachine(ctx, &mcmdriver.CreateMachineRequest{Machine: machine(name), MachineClass: class, Secret: secret})
				Expect(err).NotTo(HaveOccurred())
			}
			claims := &metalv1alpha1.ServerClaimList{}
			Expect(admin.List(ctx, claims, client.InNamespace(ns))).To(Succeed())
			Expect(claims.Items).To(HaveLen(3))
			Expect(getClaim("m1").Spec.Power).To(Equal(metalv1alpha1.PowerOn))
			resp, err := restarted.GetMachineStatus(ctx, &mcmdriver.GetMachineStatusRequest{Machine: machine("m1"), MachineClass: class, Secret: secret})
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.NodeName).To(Equal("m1"))
		})
	})

	Describe("InitializeMachine", func() {
		It("reports a zone without a free matching Server as ResourceExhausted naming selector and zone", func() {
			create("m1")
			taken := binder.freeServer(ctx, ns+"-taken")
			taken.Spec.ServerClaimRef = &metalv1alpha1.ImmutableObjectReference{Namespace: ns, Name: "other"}
			Expect(admin.Update(ctx, taken)).To(Succeed())
			tainted := binder.freeServer(ctx, ns+"-tainted")
			tainted.Spec.Taints = []metalv1alpha1.Taint{{Key: "dedicated", Value: "db", Effect: metalv1alpha1.TaintEffectNoBind}}
			Expect(admin.Update(ctx, tainted)).To(Succeed())

			_, err := initialize("m1")
			Expect(err).To(haveCode(codes.ResourceExhausted, "no free Server in zone z1 matches selector", "machine-type=m1,topology.kubernetes.io/zone=z1", "2 Servers match, none is free"))
			resp, err := getStatus("m1")
			Expect(err).To(haveCode(codes.Uninitialized, "machine-type=m1,topology.kubernetes.io/zone=z1"))
			Expect(resp).To(Equal(&mcmdriver.GetMachineStatusResponse{ProviderID: fmt.Sprintf("metal://%s/m1", ns), NodeName: "m1"}))
			Expect(getClaim("m1").Spec.Power).To(Equal(metalv1alpha1.PowerOff))
		})

		It("waits without an error while a matching Server is free and the claim is not bound yet", func() {
			create("m1")
			binder.freeServer(ctx, ns+"-free")
			resp, err := initialize("m1")
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.ProviderID).To(Equal(fmt.Sprintf("metal://%s/m1", ns)))
			Expect(getClaim("m1").Spec.Power).To(Equal(metalv1alpha1.PowerOff))
			_, err = getStatus("m1")
			Expect(err).To(haveCode(codes.Uninitialized, "not bound"))
		})

		It("reports an exhausted IP pool as ResourceExhausted", func() {
			create("m1")
			binder.bind(ctx, ns, "m1", ns+"-s1")
			_, err := initialize("m1")
			Expect(err).NotTo(HaveOccurred())
			ipClaim := &ipamv1beta2.IPAddressClaim{}
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1-node"}, ipClaim)).To(Succeed())
			ipClaim.Status.Conditions = []metav1.Condition{{
				Type: ipamv1beta2.IPAddressClaimReadyCondition, Status: metav1.ConditionFalse,
				Reason: ipamv1beta2.IPAddressClaimReadyPoolExhaustedReason, Message: "pool has no free addresses",
				LastTransitionTime: metav1.Now(),
			}}
			Expect(admin.Status().Update(ctx, ipClaim)).To(Succeed())
			_, err = initialize("m1")
			Expect(err).To(haveCode(codes.ResourceExhausted, "no IP address left in pool GlobalInClusterIPPool nodes"))
			Expect(getClaim("m1").Spec.Power).To(Equal(metalv1alpha1.PowerOff))
		})

		It("answers NotFound without a claim", func() {
			_, err := initialize("gone")
			Expect(err).To(haveCode(codes.NotFound))
		})

		It("claims addresses, writes the Ignition and powers the claim on", func() {
			create("m1")
			binder.bind(ctx, ns, "m1", ns+"-s1")

			By("waiting for the address without an error")
			_, err := initialize("m1")
			Expect(err).NotTo(HaveOccurred())
			ipClaim := &ipamv1beta2.IPAddressClaim{}
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1-node"}, ipClaim)).To(Succeed())
			Expect(ipClaim.Labels).To(Equal(withLabels(shootLabels, map[string]string{
				"metal.ironcore.dev/server-claim-name":      "m1",
				"metal.ironcore.dev/server-claim-namespace": ns,
			})))
			Expect(ipClaim.Spec.PoolRef).To(Equal(ipamv1beta2.IPPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "GlobalInClusterIPPool", Name: "nodes"}))
			Expect(ipClaim.OwnerReferences).To(BeEmpty(), "garbage collection would release the address with the ServerClaim")
			Expect(getClaim("m1").Spec.Power).To(Equal(metalv1alpha1.PowerOff))
			_, err = getStatus("m1")
			Expect(err).To(haveCode(codes.Uninitialized, "not powered on"))

			By("being found by the labels the metal cloud-controller-manager lists (instances_v2.go, getNodeAddresses)")
			ccmView := &ipamv1beta2.IPAddressClaimList{}
			Expect(admin.List(ctx, ccmView, client.InNamespace(ns), client.MatchingLabels{
				"metal.ironcore.dev/server-claim-name":      "m1",
				"metal.ironcore.dev/server-claim-namespace": ns,
			})).To(Succeed())
			Expect(ccmView.Items).To(ConsistOf(HaveField("Name", "m1-node")))

			By("initializing once the address is assigned")
			binder.assignAddress(ctx, ns, "m1-node", "10.2.0.10")
			resp, err := initialize("m1")
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.ProviderID).To(Equal(fmt.Sprintf("metal://%s/m1", ns)))
			Expect(resp.NodeName).To(Equal("m1"))
			claim := getClaim("m1")
			Expect(claim.Spec.Power).To(Equal(metalv1alpha1.PowerOn))
			Expect(claim.Spec.IgnitionSecretRef).To(Equal(&corev1.LocalObjectReference{Name: "m1-ignition"}))

			ignitionSecret := &corev1.Secret{}
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1-ignition"}, ignitionSecret)).To(Succeed())
			Expect(ignitionSecret.Labels).To(Equal(shootLabels))
			Expect(ignitionSecret.OwnerReferences).To(ConsistOf(HaveField("Name", "m1")))
			cfg, report, err := v35.Parse(ignitionSecret.Data["ignition"])
			Expect(err).NotTo(HaveOccurred(), report.String())
			Expect(fileContent(cfg, ignition.HostnamePath)).To(Equal("m1\n"))
			Expect(fileContent(cfg, ignition.UserDataPath)).To(Equal(userData))
			Expect(fileContent(cfg, ignition.ResolvedDropInPath)).To(Equal("[Resolve]\nDNS=10.0.0.53 2001:db8::53\n"))
			Expect(fileContent(cfg, ignition.MetadataPath)).To(MatchJSON(`{"cluster":"shoot--p--s","node":{"ip":"10.2.0.10","prefix":24,"gateway":"10.2.0.1"}}`))
			Expect(cfg.Systemd.Units).To(ContainElement(HaveField("Name", ignition.UserDataUnitName)))

			By("being initialized once powered on, while the Server still boots (MCM waits for the Node in Pending)")
			status, err := getStatus("m1")
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(&mcmdriver.GetMachineStatusResponse{
				ProviderID: fmt.Sprintf("metal://%s/m1", ns),
				NodeName:   "m1",
				Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.1.0.7"}},
			}))

			By("changing nothing when called again")
			before := getClaim("m1").ResourceVersion
			_, err = initialize("m1")
			Expect(err).NotTo(HaveOccurred())
			Expect(getClaim("m1").ResourceVersion).To(Equal(before))
		})

		It("merges the user's Ignition from the MachineClass secret and keeps it data", func() {
			extra := `{"ignition":{"version":"3.2.0"},"storage":{"files":[{"path":"/etc/motd","contents":{"source":"data:,%7B%7B%20.Evil%20%7D%7D"}}]}}`
			class = machineClass(specJSON(func(s map[string]any) {
				s["extraIgnition"] = map[string]any{}
				delete(s, "ipamConfig")
			}))
			secret.Data[metal.ExtraIgnitionSecretKey] = []byte(extra)
			DeferCleanup(func() { class, secret = machineClass(specJSON(nil)), userDataSecret() })
			create("m1")
			binder.bind(ctx, ns, "m1", ns+"-s1")
			_, err := initialize("m1")
			Expect(err).NotTo(HaveOccurred())
			ignitionSecret := &corev1.Secret{}
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1-ignition"}, ignitionSecret)).To(Succeed())
			cfg, _, err := v35.Parse(ignitionSecret.Data["ignition"])
			Expect(err).NotTo(HaveOccurred())
			Expect(fileSource(cfg, "/etc/motd")).To(Equal("data:,%7B%7B%20.Evil%20%7D%7D"))
			Expect(fileContent(cfg, ignition.HostnamePath)).To(Equal("m1\n"))
		})

		It("rejects a class that announces extra Ignition its secret lacks, and invalid extra Ignition without its content", func() {
			class = machineClass(specJSON(func(s map[string]any) {
				s["extraIgnition"] = map[string]any{}
				delete(s, "ipamConfig")
			}))
			DeferCleanup(func() { class, secret = machineClass(specJSON(nil)), userDataSecret() })
			create("m1")
			binder.bind(ctx, ns, "m1", ns+"-s1")
			_, err := initialize("m1")
			Expect(err).To(haveCode(codes.InvalidArgument, `its secret has no "extraIgnition"`))

			secret.Data[metal.ExtraIgnitionSecretKey] = []byte(`{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"core","passwordHash":"s3cr3t"`)
			_, err = initialize("m1")
			Expect(err).To(haveCode(codes.InvalidArgument, "extraIgnition of the MachineClass secret"))
			Expect(err.Error()).NotTo(ContainSubstring("s3cr3t"))
		})
	})

	Describe("node name policies", func() {
		It("names the Node after the Server with ServerName, once the claim is bound", func() {
			d = newDriver(ns, driver.NodeNameServerName)
			_, err := d.CreateMachine(ctx, &mcmdriver.CreateMachineRequest{Machine: machine("m1"), MachineClass: class, Secret: secret})
			Expect(err).To(haveCode(codes.ResourceExhausted, "topology.kubernetes.io/zone=z1"))
			_, err = getStatus("m1")
			Expect(err).To(haveCode(codes.NotFound, "no Node name yet"))
			binder.bind(ctx, ns, "m1", ns+"-s1")
			Expect(create("m1").NodeName).To(Equal(ns + "-s1"))
			resp, err := initialize("m1")
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.NodeName).To(Equal(ns + "-s1"))
			Expect(getClaim("m1").Spec.Power).To(Equal(metalv1alpha1.PowerOff))
		})

		It("names the Node after the BMC with BMCName", func() {
			d = newDriver(ns, driver.NodeNameBMCName)
			_, err := d.CreateMachine(ctx, &mcmdriver.CreateMachineRequest{Machine: machine("m1"), MachineClass: class, Secret: secret})
			Expect(err).To(haveCode(codes.ResourceExhausted, "not bound"))
			binder.bind(ctx, ns, "m1", ns+"-s1")
			Expect(create("m1").NodeName).To(Equal("bmc-" + ns + "-s1"))
			_, err = initialize("m1")
			Expect(err).NotTo(HaveOccurred())
			binder.assignAddress(ctx, ns, "m1-node", "10.2.0.10")
			_, err = initialize("m1")
			Expect(err).NotTo(HaveOccurred())
			binder.powerServer(ctx, ns+"-s1", metalv1alpha1.ServerOnPowerState)
			resp, err := getStatus("m1")
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.NodeName).To(Equal("bmc-" + ns + "-s1"))
			ignitionSecret := &corev1.Secret{}
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1-ignition"}, ignitionSecret)).To(Succeed())
			cfg, _, err := v35.Parse(ignitionSecret.Data["ignition"])
			Expect(err).NotTo(HaveOccurred())
			Expect(fileContent(cfg, ignition.HostnamePath)).To(Equal("bmc-" + ns + "-s1\n"))
		})
	})

	Describe("GetMachineStatus", func() {
		It("answers NotFound when the claim is gone", func() {
			_, err := getStatus("gone")
			Expect(err).To(haveCode(codes.NotFound, "gone"))
		})

		It("answers Uninitialized while the address is missing", func() {
			create("m1")
			binder.bind(ctx, ns, "m1", ns+"-s1")
			_, err := getStatus("m1")
			Expect(err).To(haveCode(codes.Uninitialized, "not powered on"))
		})
	})

	Describe("ListMachines", func() {
		It("lists only the claims carrying the MachineClass' scope labels", func() {
			create("m1")
			create("m2")
			for name, labels := range map[string]map[string]string{
				"other-shoot":  {"metal.provider.extensions.gardener.cloud/shoot": "shoot--p--other"},
				"other-garden": otherGardenLabels,
			} {
				other := &metalv1alpha1.ServerClaim{}
				other.Name, other.Namespace, other.Labels = name, ns, labels
				other.Spec = metalv1alpha1.ServerClaimSpec{Power: metalv1alpha1.PowerOff, Image: "x"}
				Expect(admin.Create(ctx, other)).To(Succeed())
			}

			list, err := d.ListMachines(ctx, &mcmdriver.ListMachinesRequest{MachineClass: class, Secret: secret})
			Expect(err).NotTo(HaveOccurred())
			Expect(list.MachineList).To(Equal(map[string]string{
				fmt.Sprintf("metal://%s/m1", ns): "m1",
				fmt.Sprintf("metal://%s/m2", ns): "m2",
			}))
		})
	})

	Describe("ownership", func() {
		// foreignObjects creates, for Machine m1, a bound claim, an ignition Secret and an IP claim of a shoot with
		// the same technical ID in another garden.
		foreignObjects := func() {
			other := &metalv1alpha1.ServerClaim{}
			other.Name, other.Namespace, other.Labels = "m1", ns, otherGardenLabels
			other.Spec = metalv1alpha1.ServerClaimSpec{Power: metalv1alpha1.PowerOff, Image: "theirs"}
			Expect(admin.Create(ctx, other)).To(Succeed())
			binder.bind(ctx, ns, "m1", ns+"-theirs")
			theirSecret := &corev1.Secret{}
			theirSecret.Name, theirSecret.Namespace, theirSecret.Labels = "m1-ignition", ns, otherGardenLabels
			theirSecret.Data = map[string][]byte{"ignition": []byte("{}")}
			Expect(admin.Create(ctx, theirSecret)).To(Succeed())
			ipClaim := &ipamv1beta2.IPAddressClaim{}
			ipClaim.Name, ipClaim.Namespace, ipClaim.Labels = "m1-node", ns, otherGardenLabels
			ipClaim.Spec.PoolRef = ipamv1beta2.IPPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "GlobalInClusterIPPool", Name: "theirs"}
			Expect(admin.Create(ctx, ipClaim)).To(Succeed())
		}
		expectUntouched := func() {
			claim := getClaim("m1")
			ExpectWithOffset(1, claim.Labels).To(Equal(otherGardenLabels))
			ExpectWithOffset(1, claim.Spec.Power).To(Equal(metalv1alpha1.PowerOff))
			ExpectWithOffset(1, claim.Spec.IgnitionSecretRef).To(BeNil())
			for _, obj := range []client.Object{&corev1.Secret{}, &ipamv1beta2.IPAddressClaim{}} {
				name := "m1-ignition"
				if _, ok := obj.(*ipamv1beta2.IPAddressClaim); ok {
					name = "m1-node"
				}
				ExpectWithOffset(1, admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
				ExpectWithOffset(1, obj.GetLabels()).To(Equal(otherGardenLabels))
			}
		}

		It("never adopts, powers on or deletes another garden's objects of the same names", func() {
			foreignObjects()
			_, err := getStatus("m1")
			Expect(err).To(haveCode(codes.NotFound, "lacks the labels"))
			_, err = initialize("m1")
			Expect(err).To(haveCode(codes.AlreadyExists, "belongs to someone else"))
			_, err = d.CreateMachine(ctx, &mcmdriver.CreateMachineRequest{Machine: machine("m1"), MachineClass: class, Secret: secret})
			Expect(err).To(haveCode(codes.AlreadyExists, "belongs to someone else"))
			Expect(deleteMachine("m1")).To(Succeed())
			expectUntouched()
		})

		It("writes neither an ignition Secret nor an IP claim over another garden's", func() {
			create("m1")
			binder.bind(ctx, ns, "m1", ns+"-s1")
			theirSecret := &corev1.Secret{}
			theirSecret.Name, theirSecret.Namespace, theirSecret.Labels = "m1-ignition", ns, otherGardenLabels
			Expect(admin.Create(ctx, theirSecret)).To(Succeed())
			class = machineClass(specJSON(func(s map[string]any) { delete(s, "ipamConfig") }))
			DeferCleanup(func() { class = machineClass(specJSON(nil)) })
			_, err := initialize("m1")
			Expect(err).To(haveCode(codes.AlreadyExists, "Secret", "m1-ignition"))
			Expect(getClaim("m1").Spec.Power).To(Equal(metalv1alpha1.PowerOff))

			class = machineClass(specJSON(nil))
			ipClaim := &ipamv1beta2.IPAddressClaim{}
			ipClaim.Name, ipClaim.Namespace, ipClaim.Labels = "m1-node", ns, otherGardenLabels
			ipClaim.Spec.PoolRef = ipamv1beta2.IPPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "GlobalInClusterIPPool", Name: "theirs"}
			Expect(admin.Create(ctx, ipClaim)).To(Succeed())
			_, err = initialize("m1")
			Expect(err).To(haveCode(codes.AlreadyExists, "IPAddressClaim", "m1-node"))
			Expect(admin.Get(ctx, client.ObjectKeyFromObject(ipClaim), ipClaim)).To(Succeed())
			Expect(ipClaim.Labels).To(Equal(otherGardenLabels))
			Expect(ipClaim.Spec.PoolRef.Name).To(Equal("theirs"))
		})
	})

	Describe("DeleteMachine", func() {
		It("deletes claim and Secret without waiting, and the IP claims once the claim is gone and its Server off", func() {
			initialized("m1", ns+"-s1")
			By("playing metal-operator's and the IPAM provider's finalizers")
			for _, obj := range []client.Object{&metalv1alpha1.ServerClaim{}, &ipamv1beta2.IPAddressClaim{}} {
				name := map[bool]string{true: "m1", false: "m1-node"}[isClaim(obj)]
				Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
				obj.SetFinalizers([]string{"test.metal/release"})
				Expect(admin.Update(ctx, obj)).To(Succeed())
			}

			Expect(deleteMachine("m1")).To(haveCode(codes.Unavailable, "ServerClaim", "test.metal/release", "IPAddressClaims (released once"))
			Expect(getClaim("m1").DeletionTimestamp).NotTo(BeNil())
			Expect(apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1-ignition"}, &corev1.Secret{}))).To(BeTrue())
			ipClaim := &ipamv1beta2.IPAddressClaim{}
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1-node"}, ipClaim)).To(Succeed())
			Expect(ipClaim.DeletionTimestamp).To(BeNil(), "the Server still runs with the address")

			By("keeping the address while the released claim's Server is still on")
			claim := getClaim("m1")
			claim.Finalizers = nil
			Expect(admin.Update(ctx, claim)).To(Succeed())
			Expect(deleteMachine("m1")).To(haveCode(codes.Unavailable, "IPAddressClaim", "kept until Server", "powered off"))
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1-node"}, ipClaim)).To(Succeed())
			Expect(ipClaim.DeletionTimestamp).To(BeNil())

			By("releasing the address once metal-operator powered the Server off")
			binder.powerServer(ctx, ns+"-s1", metalv1alpha1.ServerOffPowerState)
			Expect(deleteMachine("m1")).To(haveCode(codes.Unavailable, "IPAddressClaim", "test.metal/release"))
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1-node"}, ipClaim)).To(Succeed())
			ipClaim.Finalizers = nil
			Expect(admin.Update(ctx, ipClaim)).To(Succeed())
			Expect(deleteMachine("m1")).To(Succeed())
			Expect(leftovers(ctx, ns)).To(BeEmpty())
			Expect(deleteMachine("m1")).To(Succeed())
		})

		It("waits within the call while metal-operator releases the claim and powers the Server off, and then succeeds", func() {
			initialized("m1", ns+"-s1")
			waiting := newDriver(ns, driver.NodeNameServerClaimName).WithDeletionWait(time.Minute)
			done := make(chan error, 1)
			go func() {
				_, err := waiting.DeleteMachine(ctx, &mcmdriver.DeleteMachineRequest{Machine: machine("m1"), MachineClass: class, Secret: secret})
				done <- err
			}()
			By("keeping the address while the Server is still on")
			Eventually(func() error {
				return admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1"}, &metalv1alpha1.ServerClaim{})
			}).Should(WithTransform(apierrors.IsNotFound, BeTrue()))
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1-node"}, &ipamv1beta2.IPAddressClaim{})).To(Succeed())
			Expect(done).NotTo(Receive(), "DeleteMachine answered while the Server still runs with the address")

			By("answering success once metal-operator powered the Server off")
			binder.powerServer(ctx, ns+"-s1", metalv1alpha1.ServerOffPowerState)
			Eventually(done).WithTimeout(30 * time.Second).Should(Receive(BeNil()))
			Expect(leftovers(ctx, ns)).To(BeEmpty())
		})

		It("detaches IP claims created with an owner reference before deleting the claim, so that garbage collection keeps them", func() {
			initialized("m1", ns+"-s1")
			claim := getClaim("m1")
			ipClaim := &ipamv1beta2.IPAddressClaim{}
			Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "m1-node"}, ipClaim)).To(Succeed())
			ipClaim.OwnerReferences = []metav1.OwnerReference{{
				APIVersion: metalv1alpha1.GroupVersion.String(), Kind: "ServerClaim", Name: "m1", UID: claim.UID, Controller: new(true),
			}}
			delete(ipClaim.Annotations, "metal.provider.extensions.gardener.cloud/server")
			Expect(admin.Update(ctx, ipClaim)).To(Succeed())

			Expect(deleteMachine("m1")).To(haveCode(codes.Unavailable, "kept until Server"))
			Expect(admin.Get(ctx, client.ObjectKeyFromObject(ipClaim), ipClaim)).To(Succeed())
			Expect(ipClaim.OwnerReferences).To(BeEmpty())
			Expect(ipClaim.Annotations).To(HaveKeyWithValue("metal.provider.extensions.gardener.cloud/server", ns+"-s1"))
		})

		It("releases the addresses when the Server was released to someone else", func() {
			initialized("m1", ns+"-s1")
			Expect(deleteMachine("m1")).To(haveCode(codes.Unavailable, "kept until Server"))
			server := &metalv1alpha1.Server{}
			Expect(admin.Get(ctx, client.ObjectKey{Name: ns + "-s1"}, server)).To(Succeed())
			server.Spec.ServerClaimRef = nil
			Expect(admin.Update(ctx, server)).To(Succeed())
			Expect(deleteMachine("m1")).To(Succeed())
			Expect(leftovers(ctx, ns)).To(BeEmpty())
		})

		It("deletes IP claims of IPAM entries removed from the MachineClass since", func() {
			initialized("m1", ns+"-s1")
			binder.powerServer(ctx, ns+"-s1", metalv1alpha1.ServerOffPowerState)
			class = machineClass(specJSON(func(s map[string]any) { delete(s, "ipamConfig") }))
			DeferCleanup(func() { class = machineClass(specJSON(nil)) })
			Expect(deleteMachine("m1")).To(Succeed())
			Expect(leftovers(ctx, ns)).To(BeEmpty())
		})

		It("succeeds when nothing exists", func() {
			Expect(deleteMachine("never-created")).To(Succeed())
		})

		It("leaves nothing with the shoot's labels after deleting many machines", func() {
			for i := range 5 {
				initialized(fmt.Sprintf("m%d", i), fmt.Sprintf("%s-s%d", ns, i))
				binder.powerServer(ctx, fmt.Sprintf("%s-s%d", ns, i), metalv1alpha1.ServerOffPowerState)
			}
			for i := range 5 {
				Expect(deleteMachine(fmt.Sprintf("m%d", i))).To(Succeed())
			}
			Expect(leftovers(ctx, ns)).To(BeEmpty())
		})
	})

	Describe("volumes and migration", func() {
		It("has no volume IDs", func() {
			resp, err := d.GetVolumeIDs(ctx, &mcmdriver.GetVolumeIDsRequest{PVSpecs: []*corev1.PersistentVolumeSpec{{}}})
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.VolumeIDs).To(BeEmpty())
		})

		It("has no machine class to migrate", func() {
			_, err := d.GenerateMachineClassForMigration(ctx, &mcmdriver.GenerateMachineClassForMigrationRequest{})
			Expect(err).To(haveCode(codes.Unimplemented))
		})
	})

	It("never puts user data or Ignition into errors", func() {
		create("m1")
		binder.bind(ctx, ns, "m1", ns+"-s1")
		for _, err := range []error{
			func() error { _, err := initialize("m1"); return err }(),
			func() error { _, err := getStatus("m1"); return err }(),
			deleteMachine("m1"),
		} {
			if err != nil {
				Expect(err.Error()).NotTo(ContainSubstring("NotATemplate"))
				Expect(err.Error()).NotTo(ContainSubstring(base64.StdEncoding.EncodeToString([]byte(userData))[:20]))
			}
		}
	})
})

// withLabels returns the union of label maps.
func withLabels(sets ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, set := range sets {
		maps.Copy(out, set)
	}
	return out
}

func isClaim(obj client.Object) bool {
	_, ok := obj.(*metalv1alpha1.ServerClaim)
	return ok
}

func fileSource(cfg types.Config, path string) string {
	for _, f := range cfg.Storage.Files {
		if f.Path == path && f.Contents.Source != nil {
			return *f.Contents.Source
		}
	}
	return ""
}

func fileContent(cfg types.Config, path string) string {
	source := fileSource(cfg, path)
	encoded, ok := strings.CutPrefix(source, "data:;base64,")
	ExpectWithOffset(1, ok).To(BeTrue(), "file %s is not a base64 data URL", path)
	decoded, err := base64.StdEncoding.DecodeString(encoded)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return string(decoded)
}
