package e2e_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/openkcm/gardener-extension-provider-metal/test/landscape"
)

var _ = Describe("The local landscape", func() {
	rounds, seed, roundsErr := faultRounds()
	// One run covers the happy path, a pool larger than its zone's free Servers, added once the shoot is up, and
	// the fault rounds (LANDSCAPE_FAULT_ROUNDS, default 1, with LANDSCAPE_FAULT_SEED): a second landscape run
	// would double the CI time.
	It("brings the example shoot's machines up without an error phase, reports a short pool where it belongs, converges through every scenario and fault and deletes the shoot without leftovers", func(ctx SpecContext) {
		Expect(roundsErr).NotTo(HaveOccurred())
		out := gbytes.NewBuffer()
		err := landscape.Run(ctx, landscape.Options{
			Root:            filepath.Join("..", ".."),
			StateDir:        stateDir(),
			Binaries:        binaries,
			MachinesPerZone: 2,
			ShortPool:       2,
			Timeout:         3 * time.Minute,
			Faults:          landscape.FaultOptions{Rounds: rounds, Seed: seed},
			Out:             io.MultiWriter(out, GinkgoWriter),
		})
		Expect(err).NotTo(HaveOccurred())

		Expect(out).To(gbytes.Say(`the seed's kube-controller-manager and kube-scheduler run`))
		Expect(out).To(gbytes.Say(`metal-operator discovered 6 Servers in 2 zones`))
		Expect(out).To(gbytes.Say(`Server network: 6 Servers on layer-2 segment 10\.253\.0\.0/24`))
		Expect(out).To(gbytes.Say(`BIND serves zone landscape\.local\.`))
		Expect(out).To(gbytes.Say(`extension is ready`))
		Expect(out).To(gbytes.Say(`node seed-node-0 of the seed is Ready \(process kubelet\)`))
		Expect(out).To(gbytes.Say(`seed pod garden/gardener-resource-manager-\S+: Running 1/1 ready`))
		Expect(out).To(gbytes.Say(`the seed system resources \(ManagedResource garden/system\) is ready`))
		Expect(out).To(gbytes.Say(`applied \d+ objects of example/landscape`))
		Expect(out).To(gbytes.Say(`backups: BackupBucket \S+ and BackupEntry shoot--local--metal--\S+ Succeeded on SeaweedFS at http://127\.0\.0\.1:\d+; stand-in snapshot shoot--local--metal--\S+/v2/Full-\S+ stored with the etcd-backup secret`))
		Expect(out).To(gbytes.Say(`the shoot's gardener-resource-manager is ready`))
		Expect(out).To(gbytes.Say(`the shoot's kube-controller-manager is ready`))
		Expect(out).To(gbytes.Say(`the shoot's kube-scheduler is ready`))
		Expect(out).To(gbytes.Say(`machine-controller-manager is ready`))
		// The pod watcher's line and the component's wait race for the output.
		Expect(string(out.Contents())).To(MatchRegexp(`seed pod shoot--local--metal/machine-controller-manager-\S+: Running 2/2 ready`))
		Expect(out).To(gbytes.Say(`controlplane=Succeeded dnsrecord=Succeeded infrastructure=Succeeded worker=Succeeded \| machines \[Running:4\] \| claims 4 \(bound 4, powered on 4\) \| nodes ready 4 \| dns 127\.0\.0\.1`))
		Expect(out).To(gbytes.Say(`shoot is up`))
		Expect(out).To(gbytes.Say(`ManagedResource shoot--local--metal/extension-controlplane-shoot \(class shoot\): ResourcesApplied=True ResourcesHealthy=True`))
		Expect(out).To(gbytes.Say(`shoot access secrets: (\d+) of \d+ hold tokens the shoot accepts: .*shoot-access-machine-controller-manager \(system:serviceaccount:kube-system:machine-controller-manager\)`))
		Expect(out).To(gbytes.Say(`ControlPlane health conditions: .*SystemComponentsHealthy=True`))
		Expect(out).To(gbytes.Say(`Worker health conditions: ControlPlaneHealthy=True EveryNodeReady=True`))
		Expect(out).To(gbytes.Say(`machine-controller-manager pod \S+ container machine-controller-manager-provider-metal \(ghcr\.io/openkcm/machine-controller-manager-provider-metal:\S+\) --metal-kubeconfig=/etc/metal/kubeconfig --node-name-policy=\S+`))
		By("the shoot side: each booted Server's kubelet registered its Node, the CCM initialized it, kube-controller-manager gave it a pod CIDR")
		for range 4 {
			Expect(out).To(gbytes.Say(`shoot node shoot--local--metal-worker-z[12]-\S+: server bmc-\d+-system-0, zone zone-[ab], region region-1, instance type m1\.large, pool worker, InternalIP 10\.253\.0\.\d+, pod CIDR 100\.\d+\.\d+\.0/24, not tainted uninitialized`))
		}
		Expect(string(out.Contents())).To(ContainSubstring("cloud-controller-manager: no upstream binary given; the CCM stand-in runs with the rendered Deployment's configuration"))
		By("local storage: the scheduler and the PV binder put the claim on a zone-b Node's local volume, the pod writes into it")
		Expect(out).To(gbytes.Say(`local volume: claim default/local-volume-user \(StorageClass local, WaitForFirstConsumer\) bound to local-shoot--local--metal-worker-z2-\S+; pod local-volume-user scheduled to shoot--local--metal-worker-z2-\S+ in zone-b, Running, wrote "written by shoot--local--metal-worker-z2-\S+"`))
		By("load balancing: MetalLB from the shoot chart gives a LoadBalancer Service the pool's address, one node answers ARP for it, it survives restarts and is released on deletion")
		Expect(out).To(gbytes.Say(`load balancing: Service default/lb-demo got 10\.253\.0\.200 from MetalLB's pool; ARP on the segment answered by shoot--local--metal-worker-z[12]-\S+ \(Server bmc-\d+-system-0, eth0 \S+\)`))
		Expect(out).To(gbytes.Say(`load balancing: MetalLB restarted \(controller's process killed, 4 speaker pods replaced\) and ready again`))
		Expect(out).To(gbytes.Say(`load balancing: the extension restarted and reconciled the ControlPlane again`))
		Expect(out).To(gbytes.Say(`load balancing: after MetalLB and the extension restarted, Service default/lb-demo keeps 10\.253\.0\.200; ARP answered by shoot--local--metal-worker-`))
		Expect(out).To(gbytes.Say(`load balancing: Service default/lb-demo deleted, its address released: Service default/lb-demo-2 got 10\.253\.0\.200; ARP answered by shoot--local--metal-worker-`))
		By("a Server powered off through the CCM's power-off annotation: its kubelet stops, the Node goes NotReady, and comes back when it powers on")
		Expect(out).To(gbytes.Say(`power cycle: Node shoot--local--metal-worker-\S+ annotated metal\.ironcore\.dev/power-off: Server bmc-\d+-system-0 is off, its kubelet stopped, the Node NotReady after \d+s`))
		Expect(out).To(gbytes.Say(`power cycle: annotation removed: Server bmc-\d+-system-0 is on, its kubelet heartbeats, Node shoot--local--metal-worker-\S+ Ready again after \d+s`))
		happyPath, _, _ := strings.Cut(string(out.Contents()), "shoot is up")
		for _, bad := range []string{"CrashLoopBackOff", "Failed", "Error"} {
			Expect(happyPath).NotTo(ContainSubstring(bad), "the happy path shows no error phase or state")
		}
		Expect(out).To(gbytes.Say(`summary: 4 machines`))
		for range 4 {
			Expect(out).To(gbytes.Say(`shoot--local--metal-worker-z[12]-\S+ +Running +server bmc-\d+-system-0 +node shoot--local--metal-worker-z`))
		}
		Expect(out).To(gbytes.Say(`summary: 4 shoot nodes`))
		Expect(out).To(gbytes.Say(`summary: local volume: claim default/local-volume-user`))
		Expect(out).To(gbytes.Say(`summary: Service default/lb-demo-2 type LoadBalancer, address 10\.253\.0\.200`))
		By("the seed's pods: what the extension and Gardener render runs; the cloud-controller-manager, whose binary the module proxy does not serve, waits with its image named")
		Expect(out).To(gbytes.Say(`summary: \d+ seed pods`))
		Expect(out).To(gbytes.Say(`shoot--local--metal/cloud-controller-manager-\S+ +seed-node-0 containers cloud-controller-manager \| Pending 0/1 ready \| cloud-controller-manager: ImageNotBuildable \(image "ghcr\.io/ironcore-dev/metal-cloud-controller-manager:v0\.5\.0" has no binary`))

		By("a pool larger than its zone's free Servers: the machines say ResourceExhausted with the selector, the other pool runs, the Infrastructure succeeds with the shortage in its status")
		Expect(out).To(gbytes.Say(`added pool "short": 2 machines in zone-a`))
		Expect(out).To(gbytes.Say(`infrastructure=Succeeded .*\| machines \[CrashLoopBackOff:2 Running:4\] .*\| nodes ready 4 .*\| ResourceExhausted 2`))
		Expect(out).To(gbytes.Say(`the short pool is reported, the other pool runs`))
		Expect(out).To(gbytes.Say(`short pool machines: CrashLoopBackOff ResourceExhausted: .*no free Server in zone zone-a matches selector landscape\.local/pool=short,metal\.ironcore\.dev/machine-type=m1\.large,topology\.kubernetes\.io/region=region-1,topology\.kubernetes\.io/zone=zone-a`))
		Expect(out).To(gbytes.Say(`infrastructure status: pool short zone zone-a: 0 of 2 available`))

		By("the fault rounds: every scenario step converges with its faults, no invariant is violated")
		for round := range rounds {
			Expect(out).To(gbytes.Say(fmt.Sprintf(`fault round %d of %d \(seed %d\)`, round+1, rounds, seed+int64(round))))
			Expect(out).To(gbytes.Say(`step scale-up converged after .*, 0 violations`))
			Expect(out).To(gbytes.Say(`step compete converged after .*, 0 violations; B's Infrastructure: pool worker zone zone-[ab]: 0 of 1 available`))
			Expect(out).To(gbytes.Say(`step scale-down converged after .*, 0 violations`))
			Expect(out).To(gbytes.Say(`step beyond converged after .*, 0 violations`))
			Expect(out).To(gbytes.Say(`B: roll in progress: machine shoot--local--other-worker-z[12]-\S+ of the new class`))
			Expect(out).To(gbytes.Say(`step delete-while-rolling converged after .*, 0 violations; B left nothing`))
			Expect(out).To(gbytes.Say(`step hibernate converged after .*, 0 violations`))
			Expect(out).To(gbytes.Say(`step wake-up converged after .*, 0 violations; ServerClaim \S+ on Server bmc-\d+-system-0 never became a Node: replaced`))
			Expect(out).To(gbytes.Say(`step roll converged after .*, 0 violations; 4 old Servers released`))
			Expect(out).To(gbytes.Say(`bad config: the Worker reports the field path extraServerLabels\[topology\.kubernetes\.io/zone\]; nothing created or changed`))
			Expect(out).To(gbytes.Say(`bad config: the ControlPlane reports the field path nodeNamePolicy; nothing created or changed`))
			Expect(out).To(gbytes.Say(`bad config: the Infrastructure reports the field path networks\[0\]\.cidr; nothing created or changed`))
			Expect(out).To(gbytes.Say(`step bad-configs converged after .*, 0 violations`))
		}
		Expect(out).To(gbytes.Say(fmt.Sprintf(`fault table: %d faults; invariants checked \d+ times .*, 0 violations`, 9*rounds)))
		Expect(string(out.Contents())).NotTo(ContainSubstring("INVARIANT VIOLATED"))
		Expect(out).To(gbytes.Say(`shoot workloads deleted: LoadBalancer Services, pods, claim local-volume-user, \d+ PersistentVolumes`))
		Expect(out).To(gbytes.Say(`shoot deleted`))
		Expect(out).To(gbytes.Say(`nothing left: no machines, ServerClaims, Secrets, IP claims, Nodes, LoadBalancer Services, volumes or DNS records; all 6 Servers Available`))
		Expect(out).To(gbytes.Say(`backups: BackupEntry and BackupBucket deleted; no object left, bucket gone`))
	}, NodeTimeout(time.Duration(20+20*rounds)*time.Minute))
})

// faultRounds reads LANDSCAPE_FAULT_ROUNDS (default 1) and LANDSCAPE_FAULT_SEED (default 1).
func faultRounds() (int, int64, error) {
	rounds, seed := 1, int64(1)
	if v := os.Getenv("LANDSCAPE_FAULT_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, fmt.Errorf("LANDSCAPE_FAULT_ROUNDS: %w", err)
		}
		rounds = n
	}
	if v := os.Getenv("LANDSCAPE_FAULT_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("LANDSCAPE_FAULT_SEED: %w", err)
		}
		seed = n
	}
	return rounds, seed, nil
}

// stateDir is LANDSCAPE_STATE_DIR when set (the logs stay for inspection), else a folder removed after the test.
func stateDir() string {
	if dir := os.Getenv("LANDSCAPE_STATE_DIR"); dir != "" {
		return dir
	}
	return GinkgoT().TempDir()
}
