package metalapi_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
	"github.com/openkcm/gardener-extension-provider-metal/test/landscape/metalapi"
	"github.com/openkcm/gardener-extension-provider-metal/test/landscape/standins"
)

var _ = Describe("the metal API of the landscape", Ordered, func() {
	const (
		namespace = "shoot--local--metal"
		claimName = "machine-0"
	)
	var (
		api    *metalapi.MetalAPI
		metalC client.Client
		// stopStandins runs once, from the last spec or from the cleanup of a failed run.
		stopStandins func() error
		ownPIDs      map[int]bool
		ownGroups    map[int]bool
		timings      []string
		// started is when Start returned; failed keeps the logs.
		started time.Time
		failed  bool
	)
	record := func(what string, d time.Duration) {
		timings = append(timings, fmt.Sprintf("%-48s %6.2fs", what, d.Seconds()))
		AddReportEntry(what, d.String())
	}
	fast := func(cfg *rest.Config) *rest.Config {
		c := rest.CopyConfig(cfg)
		// Timing polls every 20 ms; the default client-side rate limit would be what is measured.
		c.QPS, c.Burst = 1000, 2000
		return c
	}

	BeforeAll(func(ctx SpecContext) {
		Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS is not set: export KUBEBUILDER_ASSETS=$(hack/envtest.sh)")
		Expect(os.Getenv(metalapi.AssetsEnv)).NotTo(BeEmpty(), "%s is not set: export %s=$(hack/metal-operator.sh)", metalapi.AssetsEnv, metalapi.AssetsEnv)

		// The logs stay for inspection when a spec fails.
		stateDir, err := os.MkdirTemp("", "metalapi-test-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			if failed {
				_, _ = fmt.Fprintf(GinkgoWriter, "logs and kubeconfigs kept in %s\n", stateDir)
				return
			}
			Expect(os.RemoveAll(stateDir)).To(Succeed())
		})

		start := time.Now()
		api, err = metalapi.Start(ctx, metalapi.Options{
			Servers: []metalapi.ServerSpec{
				{Zone: "zone-a", Rack: "r1", MachineType: "m1"},
				{Zone: "zone-a", Rack: "r2", MachineType: "m2"},
				{Zone: "zone-b", Rack: "r3", MachineType: "m1"},
			},
			Region:   "local",
			StateDir: stateDir,
			Log:      GinkgoWriter,
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(api.Stop()).To(Succeed()) })
		started = time.Now()
		record("start-up (apiserver, mocks, metal-operator)", started.Sub(start))
		metalC, err = client.New(fast(api.Config), client.Options{Scheme: metalapi.Scheme()})
		Expect(err).NotTo(HaveOccurred())

		// The boot operator is needed for discovery already, so the stand-ins start right away.
		standsCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- standins.Run(standsCtx, api.Config, standins.Options{Log: GinkgoWriter}) }()
		stopStandins = sync.OnceValue(func() error {
			cancel()
			select {
			case err := <-done:
				return err
			case <-time.After(30 * time.Second):
				return errors.New("the stand-ins did not stop within 30s")
			}
		})
		DeferCleanup(func() { Expect(stopStandins()).To(Succeed()) })
	})

	AfterEach(func() {
		if CurrentSpecReport().Failed() {
			failed = true
		}
	})

	AfterAll(func() {
		_, _ = fmt.Fprintf(GinkgoWriter, "\ntimings:\n  %s\n", strings.Join(timings, "\n  "))
	})

	It("runs metal-operator and the mocks in a private network namespace when it may create one", func() {
		operator := descendantNamed("metal-operator")
		Expect(operator).NotTo(BeZero(), "metal-operator is not a descendant of the test")
		if !api.Isolated {
			_, _ = fmt.Fprintln(GinkgoWriter, "no private network namespace here: metal-operator shares the host's network")
			return
		}
		Expect(netNamespace(operator)).NotTo(Equal(netNamespace(os.Getpid())))
		Expect(netNamespace(descendantNamed("redfish-mock"))).To(Equal(netNamespace(operator)))
	})

	It("discovers every Server, with its BMC's labels, and makes it Available", func(ctx SpecContext) {
		waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		Expect(api.WaitAvailable(waitCtx, 3)).To(Succeed())
		record("all 3 Servers Available (after Start returned)", time.Since(started))

		servers := &metalv1alpha1.ServerList{}
		Expect(metalC.List(ctx, servers)).To(Succeed())
		Expect(servers.Items).To(HaveLen(3))
		uuids := map[string]bool{}
		for _, s := range servers.Items {
			uuids[s.Spec.SystemUUID] = true
			Expect(s.Labels).To(HaveKeyWithValue(metal.RegionLabel, "local"))
			Expect(s.Labels).To(HaveKey(metal.ZoneLabel))
			Expect(s.Labels).To(HaveKey(metalapi.MachineTypeLabel))
			Expect(s.Labels).To(HaveKey(metalapi.RackLabel))
		}
		Expect(uuids).To(HaveLen(3), "every mock reports a system UUID of its own")
		Expect(serverNamed(servers, "bmc-0-system-0").Labels).To(SatisfyAll(
			HaveKeyWithValue(metal.ZoneLabel, "zone-a"), HaveKeyWithValue(metalapi.RackLabel, "r1"), HaveKeyWithValue(metalapi.MachineTypeLabel, "m1")))
	}, SpecTimeout(3*time.Minute))

	It("binds a claim to a matching Server, and powers it on", func(ctx SpecContext) {
		Expect(metalC.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
		Expect(metalC.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: claimName + "-ignition", Namespace: namespace},
			Data:       map[string][]byte{metal.IgnitionSecretKey: []byte(`{"ignition":{"version":"3.4.0"}}`)},
		})).To(Succeed())
		claim := &metalv1alpha1.ServerClaim{
			ObjectMeta: metav1.ObjectMeta{Name: claimName, Namespace: namespace},
			Spec: metalv1alpha1.ServerClaimSpec{
				Power: metalv1alpha1.PowerOn,
				Image: "landscape.invalid/os:1.0",
				ServerSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
					metal.ZoneLabel: "zone-a", metalapi.MachineTypeLabel: "m1",
				}},
				IgnitionSecretRef: &corev1.LocalObjectReference{Name: claimName + "-ignition"},
			},
		}
		start := time.Now()
		Expect(metalC.Create(ctx, claim)).To(Succeed())

		Eventually(ctx, func(g Gomega) {
			g.Expect(metalC.Get(ctx, client.ObjectKeyFromObject(claim), claim)).To(Succeed())
			g.Expect(claim.Status.Phase).To(Equal(metalv1alpha1.PhaseBound))
		}).WithPolling(20 * time.Millisecond).WithTimeout(time.Minute).Should(Succeed())
		record("claim Bound (after creation)", time.Since(start))
		Expect(claim.Spec.ServerRef).NotTo(BeNil())
		Expect(claim.Spec.ServerRef.Name).To(Equal("bmc-0-system-0"), "the only Server in zone-a with machine type m1")

		server := &metalv1alpha1.Server{}
		Eventually(ctx, func(g Gomega) {
			g.Expect(metalC.Get(ctx, client.ObjectKey{Name: claim.Spec.ServerRef.Name}, server)).To(Succeed())
			g.Expect(server.Status.State).To(Equal(metalv1alpha1.ServerStateReserved))
			g.Expect(server.Status.PowerState).To(Equal(metalv1alpha1.ServerOnPowerState))
		}).WithPolling(20 * time.Millisecond).WithTimeout(time.Minute).Should(Succeed())
		record("claimed Server powered On (after creation)", time.Since(start))
	}, SpecTimeout(3*time.Minute))

	It("keeps the claim bound and the Server on when metal-operator and the Server's BMC are SIGKILLed and restarted", func(ctx SpecContext) {
		start := time.Now()
		Expect(api.KillOperator(ctx)).To(Succeed())
		Expect(api.KillBMC(ctx, 0)).To(Succeed())
		record("metal-operator and BMC killed and restarted", time.Since(start))

		claim := &metalv1alpha1.ServerClaim{ObjectMeta: metav1.ObjectMeta{Name: claimName, Namespace: namespace}}
		server := &metalv1alpha1.Server{}
		Eventually(ctx, func(g Gomega) {
			g.Expect(metalC.Get(ctx, client.ObjectKeyFromObject(claim), claim)).To(Succeed())
			g.Expect(claim.Status.Phase).To(Equal(metalv1alpha1.PhaseBound))
			g.Expect(claim.Spec.ServerRef).NotTo(BeNil())
			g.Expect(claim.Spec.ServerRef.Name).To(Equal("bmc-0-system-0"))
			g.Expect(metalC.Get(ctx, client.ObjectKey{Name: "bmc-0-system-0"}, server)).To(Succeed())
			g.Expect(server.Status.State).To(Equal(metalv1alpha1.ServerStateReserved))
			g.Expect(server.Status.PowerState).To(Equal(metalv1alpha1.ServerOnPowerState))
		}).WithPolling(200 * time.Millisecond).WithTimeout(time.Minute).Should(Succeed())
		// The restarted metal-operator still reconciles: the next spec releases the Server through it.
	}, SpecTimeout(3*time.Minute))

	It("releases the Server when the claim is deleted", func(ctx SpecContext) {
		claim := &metalv1alpha1.ServerClaim{ObjectMeta: metav1.ObjectMeta{Name: claimName, Namespace: namespace}}
		start := time.Now()
		Expect(metalC.Delete(ctx, claim)).To(Succeed())

		Eventually(ctx, func(g Gomega) {
			err := metalC.Get(ctx, client.ObjectKeyFromObject(claim), claim)
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "claim still there: %v", err)
		}).WithPolling(20 * time.Millisecond).WithTimeout(time.Minute).Should(Succeed())
		record("claim gone (after deletion)", time.Since(start))

		server := &metalv1alpha1.Server{}
		Eventually(ctx, func(g Gomega) {
			g.Expect(metalC.Get(ctx, client.ObjectKey{Name: "bmc-0-system-0"}, server)).To(Succeed())
			g.Expect(server.Spec.ServerClaimRef).To(BeNil())
			g.Expect(server.Status.State).To(Equal(metalv1alpha1.ServerStateAvailable))
			g.Expect(server.Status.PowerState).To(Equal(metalv1alpha1.ServerOffPowerState))
		}).WithPolling(20 * time.Millisecond).WithTimeout(2 * time.Minute).Should(Succeed())
		record("Server Available and Off again (after deletion)", time.Since(start))
	}, SpecTimeout(4*time.Minute))

	It("stops everything cleanly and leaves no process behind", func() {
		ownPIDs, ownGroups = descendants()
		// etcd and kube-apiserver of the metal API, metal-operator and three mocks.
		Expect(len(ownPIDs)).To(BeNumerically(">=", 6), "descendants: %v", ownPIDs)

		Expect(stopStandins()).To(Succeed())
		start := time.Now()
		Expect(api.Stop()).To(Succeed())
		record("stop", time.Since(start))

		Eventually(func() []string { return survivors(ownPIDs, ownGroups) }).WithTimeout(10 * time.Second).Should(BeEmpty())
	})
})

// descendants returns the processes below this one and their process groups (other than this one's).
func descendants() (map[int]bool, map[int]bool) {
	self := os.Getpid()
	pids, groups := map[int]bool{}, map[int]bool{}
	parents := map[int]int{}
	pgids := map[int]int{}
	for _, pid := range allPIDs() {
		ppid, pgid, ok := stat(pid)
		if ok {
			parents[pid], pgids[pid] = ppid, pgid
		}
	}
	ownGroup := pgids[self]
	for pid := range parents {
		for p := parents[pid]; p > 1; p = parents[p] {
			if p == self {
				pids[pid] = true
				if pgids[pid] != ownGroup {
					groups[pgids[pid]] = true
				}
				break
			}
		}
	}
	return pids, groups
}

// survivors describes the processes still running that were descendants or belong to their process groups.
func survivors(pids, groups map[int]bool) []string {
	var alive []string
	for _, pid := range allPIDs() {
		_, pgid, ok := stat(pid)
		if ok && (pids[pid] || groups[pgid]) {
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
			alive = append(alive, fmt.Sprintf("%d (%s)", pid, exe))
		}
	}
	return alive
}

// descendantNamed returns the PID of a descendant whose executable has the base name, or 0.
func descendantNamed(name string) int {
	pids, _ := descendants()
	for pid := range pids {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && filepath.Base(exe) == name {
			return pid
		}
	}
	return 0
}

func netNamespace(pid int) string {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return ns
}

func allPIDs() []int {
	entries, err := os.ReadDir("/proc")
	ExpectWithOffset(2, err).NotTo(HaveOccurred())
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// stat reads parent and process group of a process; ok is false for processes that ended meanwhile or are zombies.
func stat(pid int) (ppid, pgid int, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The command name in parentheses may contain spaces; the fields after it are: state ppid pgrp ...
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(fields) < 3 || fields[0] == "Z" {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(fields[1])
	pgid, _ = strconv.Atoi(fields[2])
	return ppid, pgid, true
}

func serverNamed(servers *metalv1alpha1.ServerList, name string) *metalv1alpha1.Server {
	for i := range servers.Items {
		if servers.Items[i].Name == name {
			return &servers.Items[i]
		}
	}
	Fail("no Server " + name)
	return nil
}
