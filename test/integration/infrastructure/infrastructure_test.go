package infrastructure_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/openkcm/gardener-extension-provider-metal/test/utils/manifests"
	"github.com/openkcm/gardener-extension-provider-metal/test/utils/requests"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/utils/ptr"
	ipamv1beta2 "sigs.k8s.io/cluster-api/api/ipam/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gardencorev1beta1 "github.com/gardener/gardener/pkg/apis/core/v1beta1"
	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	extensionsv1alpha1 "github.com/gardener/gardener/pkg/apis/extensions/v1alpha1"
	securityv1alpha1constants "github.com/gardener/gardener/pkg/apis/security/v1alpha1/constants"
	metalv1alpha1 "github.com/ironcore-dev/metal-operator/api/v1alpha1"

	"github.com/openkcm/gardener-extension-provider-metal/pkg/apis/metal/v1alpha1"
	"github.com/openkcm/gardener-extension-provider-metal/pkg/metal"
)

const region = "region-1"

// shoot is one shoot's objects: its control plane namespace in the seed and its namespace in the metal API.
type shoot struct {
	seedNamespace, metalNamespace string
	machineType                   string
	uid                           types.UID
	ipFamilies                    []gardencorev1beta1.IPFamily
	hibernated, forceDelete       bool
	infra                         *extensionsv1alpha1.Infrastructure
}

var allPermissions = []rbacv1.PolicyRule{
	{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"serverclaims", "servermaintenances"}, Verbs: []string{"*"}},
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"ipam.cluster.x-k8s.io"}, Resources: []string{"ipaddressclaims", "ipaddresses", "inclusterippools"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
}

var serverPermissions = []rbacv1.PolicyRule{
	{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"servers"}, Verbs: []string{"get", "list", "watch"}},
}

var _ = Describe("Infrastructure controller", func() {
	// First in the file, so that no failing shoot of another spec retries against the metal API meanwhile.
	It("sends no metal API write and at most 2 reads for an unchanged Infrastructure, and re-checks rotated credentials", func(ctx SpecContext) {
		s := newShoot(ctx, allPermissions, serverPermissions)
		s.server(ctx, "z1", metalv1alpha1.ServerStateAvailable)
		s.create(ctx, []gardencorev1beta1.Worker{s.pool("a", 1, "z1"), s.pool("b", 1, "z1")}, &v1alpha1.InfrastructureConfig{Networks: []v1alpha1.Network{{
			Name: "nodes", CIDR: "10.250.0.0/16",
			IPAMPoolRef: &v1alpha1.IPAMPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "nodes"},
		}}})
		s.ipamPool(ctx, "nodes")
		s.expectSucceeded(ctx)

		metalRequests.Reset()
		s.reconcile(ctx)
		s.expectSucceeded(ctx)
		// The reconcile may still run when the annotation is gone: wait for its reads, then make sure nothing else
		// follows.
		expected := []string{
			"GET /apis/ipam.cluster.x-k8s.io/v1alpha2/namespaces/" + s.metalNamespace + "/inclusterippools/nodes",
			"GET /apis/metal.ironcore.dev/v1alpha1/namespaces/" + s.metalNamespace + "/serverclaims",
		}
		Eventually(metalReadsAndWrites).WithTimeout(30 * time.Second).Should(Equal(readsAndWrites{reads: expected}))
		// No access reviews (they are writes), no discovery, no Server list: the Servers come from the watch.
		Consistently(metalReadsAndWrites).WithTimeout(3 * time.Second).Should(Equal(readsAndWrites{reads: expected}))

		By("rotating the token, the next reconcile uses a new client and reviews the permissions again")
		secret := &corev1.Secret{}
		Expect(seedClient.Get(ctx, client.ObjectKey{Namespace: s.seedNamespace, Name: v1beta1constants.SecretNameCloudProvider}, secret)).To(Succeed())
		secret.Data[metal.TokenKey] = []byte(s.token(ctx))
		Expect(seedClient.Update(ctx, secret)).To(Succeed())
		metalRequests.Reset()
		s.reconcile(ctx)
		s.expectSucceeded(ctx)
		Eventually(metalRequests.Recorded).WithTimeout(30 * time.Second).Should(ContainElement(HaveField("Path", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews")))
	})

	It("counts the Servers each pool and zone can claim and reports the networks", func(ctx SpecContext) {
		s := newShoot(ctx, allPermissions, serverPermissions)
		// Zone z1 has three claimable Servers of the machine type, one claimed by someone else, one with a
		// taint the pool does not tolerate, one that is not Available and one that is marked unclaimable.
		for range 3 {
			s.server(ctx, "z1", metalv1alpha1.ServerStateAvailable)
		}
		other := s.server(ctx, "z1", metalv1alpha1.ServerStateReserved)
		claimServer(ctx, other, "someone-else", "claim")
		tainted := s.server(ctx, "z1", metalv1alpha1.ServerStateAvailable)
		tainted.Spec.Taints = []metalv1alpha1.Taint{{Key: "dedicated", Value: "gpu", Effect: metalv1alpha1.TaintEffectNoBind}}
		Expect(metalAdmin.Update(ctx, tainted)).To(Succeed())
		s.server(ctx, "z1", metalv1alpha1.ServerStateDiscovery)
		unclaimable := s.server(ctx, "z1", metalv1alpha1.ServerStateAvailable)
		unclaimable.Spec.Unclaimable = true
		Expect(metalAdmin.Update(ctx, unclaimable)).To(Succeed())
		// Zone z2 has two claimable Servers and one already claimed by this shoot, which it keeps.
		for range 2 {
			s.server(ctx, "z2", metalv1alpha1.ServerStateAvailable)
		}
		own := s.server(ctx, "z2", metalv1alpha1.ServerStateReserved)
		s.claim(ctx, "machine-0")
		claimServer(ctx, own, s.metalNamespace, "machine-0")
		// Servers of another region with the same zone name, or without a region, do not count.
		relabel(ctx, s.server(ctx, "z2", metalv1alpha1.ServerStateAvailable), metal.RegionLabel, "region-2")
		relabel(ctx, s.server(ctx, "z2", metalv1alpha1.ServerStateAvailable), metal.RegionLabel, "")
		// A Server without the instance type label can be claimed, but its Node would lack the instance type.
		relabel(ctx, s.server(ctx, "z2", metalv1alpha1.ServerStateAvailable), metal.InstanceTypeLabel, "")

		s.create(ctx, []gardencorev1beta1.Worker{
			s.pool("a", 4, "z1", "z2"),
			s.pool("b", 1, "z2"),
			// The tolerating pool can have the tainted Server too.
			withTolerations(s.pool("gpu", 0, "z1"), v1alpha1.ServerToleration{Key: "dedicated", Operator: "Equal", Value: "gpu"}),
		}, &v1alpha1.InfrastructureConfig{Networks: []v1alpha1.Network{{
			Name: "nodes", CIDR: "10.250.0.0/16",
			IPAMPoolRef: &v1alpha1.IPAMPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "nodes"},
		}}})
		s.ipamPool(ctx, "nodes")

		s.expectSucceeded(ctx)
		status := s.providerStatus(ctx)
		Expect(status.Networks).To(ConsistOf(v1alpha1.NetworkStatus{Name: "nodes", CIDR: "10.250.0.0/16"}))
		Expect(status.ServerCapacity).To(ConsistOf(
			v1alpha1.ServerCapacity{Pool: "a", Zone: "z1", MachineType: s.machineType, Matching: 7, Available: 3, Minimum: 2},
			v1alpha1.ServerCapacity{Pool: "a", Zone: "z2", MachineType: s.machineType, Matching: 4, Available: 4, Minimum: 2, WithoutInstanceType: 1},
			v1alpha1.ServerCapacity{Pool: "b", Zone: "z2", MachineType: s.machineType, Matching: 4, Available: 4, Minimum: 1, WithoutInstanceType: 1},
			v1alpha1.ServerCapacity{Pool: "gpu", Zone: "z1", MachineType: s.machineType, Matching: 7, Available: 4, Minimum: 0},
		))
		condition := s.condition(ctx, "ServersAvailable")
		Expect(condition.Status).To(Equal(gardencorev1beta1.ConditionTrue))
		Expect(condition.Message).To(ContainSubstring(`pool "a" zone "z2": 1 of 4 matching Servers lack the label metal.ironcore.dev/instance-type=` + s.machineType))
		Expect(s.infra.Status.Networking).To(Equal(&extensionsv1alpha1.InfrastructureStatusNetworking{
			Nodes: []string{"10.250.0.0/16"}, Pods: []string{"100.96.0.0/11"}, Services: []string{"100.64.0.0/13"},
		}))
	})

	It("reports a shortage in the status, a condition and an event without failing, and counts nothing when hibernated", func(ctx SpecContext) {
		s := newShoot(ctx, allPermissions, serverPermissions)
		s.server(ctx, "z1", metalv1alpha1.ServerStateAvailable)
		s.create(ctx, []gardencorev1beta1.Worker{s.pool("big", 3, "z1")}, nil)

		s.expectSucceeded(ctx)
		Expect(s.providerStatus(ctx).ServerCapacity).To(ConsistOf(
			v1alpha1.ServerCapacity{Pool: "big", Zone: "z1", MachineType: s.machineType, Matching: 1, Available: 1, Minimum: 3},
		))
		condition := s.condition(ctx, "ServersAvailable")
		Expect(condition.Status).To(Equal(gardencorev1beta1.ConditionFalse))
		Expect(condition.Reason).To(Equal("InsufficientServers"))
		Expect(condition.Message).To(ContainSubstring(`pool "big" zone "z1" needs 3, 1 can be claimed`))
		Expect(condition.Message).To(ContainSubstring(metal.ZoneLabel + "=z1"))
		Eventually(func(g Gomega) {
			events := &eventsv1.EventList{}
			g.Expect(seedClient.List(ctx, events, client.InNamespace(s.seedNamespace))).To(Succeed())
			g.Expect(events.Items).To(ContainElement(And(
				HaveField("Reason", "InsufficientServers"),
				HaveField("Type", corev1.EventTypeWarning),
				HaveField("Regarding.Name", s.infra.Name),
			)))
		}).Should(Succeed())

		By("adding Servers, the condition turns true")
		s.server(ctx, "z1", metalv1alpha1.ServerStateAvailable)
		s.server(ctx, "z1", metalv1alpha1.ServerStateAvailable)
		Eventually(func(g Gomega) {
			s.reconcile(ctx)
			s.expectSucceeded(ctx)
			g.Expect(s.condition(ctx, "ServersAvailable").Status).To(Equal(gardencorev1beta1.ConditionTrue))
		}).WithTimeout(time.Minute).Should(Succeed())

		By("a hibernated shoot counts nothing")
		h := newShoot(ctx, allPermissions, serverPermissions)
		h.hibernated = true
		h.create(ctx, []gardencorev1beta1.Worker{h.pool("big", 3, "z1")}, nil)
		h.expectSucceeded(ctx)
		Expect(h.providerStatus(ctx).ServerCapacity).To(BeEmpty())
		Expect(h.condition(ctx, "ServersAvailable").Reason).To(Equal("Hibernated"))
	})

	It("reports every node network of the InfrastructureConfig, of both IP families, in status.networking", func(ctx SpecContext) {
		s := newShoot(ctx, allPermissions, serverPermissions)
		s.ipFamilies = []gardencorev1beta1.IPFamily{gardencorev1beta1.IPFamilyIPv4, gardencorev1beta1.IPFamilyIPv6}
		s.create(ctx, nil, &v1alpha1.InfrastructureConfig{Networks: []v1alpha1.Network{
			{Name: "nodes", CIDR: "10.250.0.0/17"},
			{Name: "nodes-v6", CIDR: "2001:db8::/64"},
			{Name: "storage", CIDR: "10.250.128.0/17"},
		}})
		s.expectSucceeded(ctx)
		Expect(s.infra.Status.Networking).To(Equal(&extensionsv1alpha1.InfrastructureStatusNetworking{
			Nodes:    []string{"10.250.0.0/16", "10.250.0.0/17", "2001:db8::/64", "10.250.128.0/17"},
			Pods:     []string{"100.96.0.0/11"},
			Services: []string{"100.64.0.0/13"},
		}))
	})

	It("names the permission that the credentials lack", func(ctx SpecContext) {
		withoutClaimCreate := []rbacv1.PolicyRule{
			{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"serverclaims"}, Verbs: []string{"get", "list", "watch", "update", "patch", "delete"}},
			{APIGroups: []string{"metal.ironcore.dev"}, Resources: []string{"servermaintenances"}, Verbs: []string{"*"}},
			allPermissions[1], allPermissions[2],
		}
		s := newShoot(ctx, withoutClaimCreate, serverPermissions)
		s.create(ctx, nil, nil)

		lastError := s.expectError(ctx, gardencorev1beta1.ErrorInfraUnauthorized)
		Expect(lastError.Description).To(ContainSubstring("create serverclaims.metal.ironcore.dev"))
		Expect(lastError.Description).To(ContainSubstring("namespace " + s.metalNamespace))
	})

	It("names cluster-scoped permissions that the credentials lack", func(ctx SpecContext) {
		s := newShoot(ctx, allPermissions, nil)
		s.create(ctx, nil, nil)

		lastError := s.expectError(ctx, gardencorev1beta1.ErrorInfraUnauthorized)
		Expect(lastError.Description).To(ContainSubstring("list servers.metal.ironcore.dev"))
	})

	It("requires watch on IPAddressClaims, which the cloud-controller-manager's cache needs", func(ctx SpecContext) {
		withoutWatch := []rbacv1.PolicyRule{
			allPermissions[0], allPermissions[1],
			{APIGroups: []string{"ipam.cluster.x-k8s.io"}, Resources: []string{"ipaddressclaims"}, Verbs: []string{"get", "list", "create", "patch", "delete"}},
			{APIGroups: []string{"ipam.cluster.x-k8s.io"}, Resources: []string{"ipaddresses"}, Verbs: []string{"get", "list", "watch"}},
		}
		s := newShoot(ctx, withoutWatch, serverPermissions)
		s.create(ctx, nil, nil)

		lastError := s.expectError(ctx, gardencorev1beta1.ErrorInfraUnauthorized)
		Expect(lastError.Description).To(ContainSubstring("watch ipaddressclaims.ipam.cluster.x-k8s.io"))
	})

	It("accepts the Role of example/landscape/metal, which grants no ServerMaintenance writes, and reports that in a condition", func(ctx SpecContext) {
		objects, err := manifests.Read(filepath.Join("..", "..", "..", "example", "landscape", "metal", "rbac.yaml"), map[string]string{"METAL_NAMESPACE": "unused"})
		Expect(err).NotTo(HaveOccurred())
		var rules, clusterRules []rbacv1.PolicyRule
		for _, obj := range objects {
			switch obj.GetKind() {
			case "Role":
				role := &rbacv1.Role{}
				Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, role)).To(Succeed())
				rules = role.Rules
			case "ClusterRole":
				role := &rbacv1.ClusterRole{}
				Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, role)).To(Succeed())
				clusterRules = role.Rules
			}
		}
		Expect(rules).NotTo(BeEmpty())
		Expect(clusterRules).NotTo(BeEmpty())
		s := newShoot(ctx, rules, clusterRules)
		s.create(ctx, nil, nil)
		s.expectSucceeded(ctx)
		condition := s.condition(ctx, "ServerMaintenancePermitted")
		Expect(condition.Status).To(Equal(gardencorev1beta1.ConditionFalse))
		Expect(condition.Message).To(ContainSubstring("create servermaintenances.metal.ironcore.dev"))

		t := newShoot(ctx, allPermissions, serverPermissions)
		t.create(ctx, nil, nil)
		t.expectSucceeded(ctx)
		Expect(t.condition(ctx, "ServerMaintenancePermitted").Status).To(Equal(gardencorev1beta1.ConditionTrue))
	})

	It("reports rejected credentials as unauthenticated", func(ctx SpecContext) {
		s := newShoot(ctx, allPermissions, serverPermissions)
		s.create(ctx, nil, nil)
		s.expectSucceeded(ctx)

		secret := &corev1.Secret{}
		Expect(seedClient.Get(ctx, client.ObjectKey{Namespace: s.seedNamespace, Name: v1beta1constants.SecretNameCloudProvider}, secret)).To(Succeed())
		secret.Data[metal.TokenKey] = []byte("not-a-token")
		Expect(seedClient.Update(ctx, secret)).To(Succeed())
		s.reconcile(ctx)
		s.expectError(ctx, gardencorev1beta1.ErrorInfraUnauthenticated)
	})

	It("works with workload identity credentials, whose namespace comes from the WorkloadIdentity's config", func(ctx SpecContext) {
		s := newShoot(ctx, allPermissions, serverPermissions)
		secret := &corev1.Secret{}
		Expect(seedClient.Get(ctx, client.ObjectKey{Namespace: s.seedNamespace, Name: v1beta1constants.SecretNameCloudProvider}, secret)).To(Succeed())
		metav1.SetMetaDataLabel(&secret.ObjectMeta, securityv1alpha1constants.LabelPurpose, securityv1alpha1constants.LabelPurposeWorkloadIdentityTokenRequestor)
		secret.Data = map[string][]byte{
			securityv1alpha1constants.DataKeyToken:  secret.Data[metal.TokenKey],
			securityv1alpha1constants.DataKeyConfig: []byte(`{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"WorkloadIdentityConfig","namespace":"` + s.metalNamespace + `"}`),
		}
		Expect(seedClient.Update(ctx, secret)).To(Succeed())

		s.create(ctx, nil, nil)
		s.expectSucceeded(ctx)
	})

	It("reports an IPAM pool that does not exist with its field path", func(ctx SpecContext) {
		s := newShoot(ctx, allPermissions, serverPermissions)
		s.create(ctx, nil, &v1alpha1.InfrastructureConfig{Networks: []v1alpha1.Network{{
			Name: "nodes", CIDR: "10.250.0.0/16",
			IPAMPoolRef: &v1alpha1.IPAMPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "missing"},
		}}})

		lastError := s.expectError(ctx, gardencorev1beta1.ErrorConfigurationProblem)
		Expect(lastError.Description).To(ContainSubstring("spec.providerConfig.networks[0].ipamPoolRef"))
		Expect(lastError.Description).To(ContainSubstring(`InClusterIPPool "` + s.metalNamespace + `/missing" does not exist`))
	})

	It("rejects an invalid or unknown providerConfig at reconcile with the field path", func(ctx SpecContext) {
		s := newShoot(ctx, allPermissions, serverPermissions)
		s.createRaw(ctx, nil, []byte(`{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"InfrastructureConfig","networks":[{"name":"nodes","cidr":"10.250.0.0/33"}]}`))
		lastError := s.expectError(ctx, gardencorev1beta1.ErrorConfigurationProblem)
		Expect(lastError.Description).To(ContainSubstring("spec.providerConfig.networks[0].cidr"))

		t := newShoot(ctx, allPermissions, serverPermissions)
		t.createRaw(ctx, nil, []byte(`{"apiVersion":"metal.provider.extensions.gardener.cloud/v1alpha1","kind":"InfrastructureConfig","netwerks":[]}`))
		lastError = t.expectError(ctx, gardencorev1beta1.ErrorConfigurationProblem)
		Expect(lastError.Description).To(ContainSubstring(`unknown field "netwerks"`))

		By("a node network outside spec.networking.nodes, which admission would have rejected")
		u := newShoot(ctx, allPermissions, serverPermissions)
		u.create(ctx, nil, &v1alpha1.InfrastructureConfig{Networks: []v1alpha1.Network{{Name: "nodes", CIDR: "10.251.0.0/16"}}})
		lastError = u.expectError(ctx, gardencorev1beta1.ErrorConfigurationProblem)
		Expect(lastError.Description).To(ContainSubstring("spec.providerConfig.networks[0].cidr"))
	})

	It("adds its finalizer to new Infrastructures without a conflict", func(ctx SpecContext) {
		// gardenlet creates them with the reconcile annotation: Gardener's wrapper removes it with a patch, and the
		// reconciler's optimistic-locking finalizer patch conflicted when it read the object from the cache.
		var shoots []*shoot
		for range 5 {
			s := newShoot(ctx, allPermissions, serverPermissions)
			shoots = append(shoots, s)
		}
		seedWrites.Reset()
		for _, s := range shoots {
			s.create(ctx, nil, nil)
		}
		for _, s := range shoots {
			s.expectSucceeded(ctx)
			Expect(s.infra.Finalizers).NotTo(BeEmpty())
		}
		for _, req := range seedWrites.Recorded() {
			Expect(req.Status).NotTo(Equal(http.StatusConflict), "%s %s: %s", req.Method, req.Path, req.Body)
		}
	})

	It("writes nothing but Gardener's bookkeeping when reconciling an unchanged Infrastructure", func(ctx SpecContext) {
		s := newShoot(ctx, allPermissions, serverPermissions)
		s.server(ctx, "z1", metalv1alpha1.ServerStateAvailable)
		s.create(ctx, []gardencorev1beta1.Worker{s.pool("a", 1, "z1")}, nil)
		s.expectSucceeded(ctx)

		seedWrites.Reset()
		s.reconcile(ctx)
		s.expectSucceeded(ctx)

		infraPath := fmt.Sprintf("/apis/extensions.gardener.cloud/v1alpha1/namespaces/%s/infrastructures/%s", s.seedNamespace, s.infra.Name)
		var ownWrites []requests.Request
		for _, req := range seedWrites.Recorded() {
			if req.IsWrite() && strings.Contains(req.Path, "/namespaces/"+s.seedNamespace+"/") {
				ownWrites = append(ownWrites, req)
			}
		}
		Expect(ownWrites).NotTo(BeEmpty())
		// Gardener's contract: the operation annotation is removed and status.lastOperation is updated. Any
		// other request, even an empty patch, is a write the unchanged Infrastructure did not need.
		for _, req := range ownWrites {
			switch req.Path {
			case infraPath:
				Expect(req.Body).To(ContainSubstring(`"annotations"`), "write to the Infrastructure: %s", req.Body)
			case infraPath + "/status":
				Expect(req.Body).To(ContainSubstring("lastOperation"), "status write: %s", req.Body)
				Expect(req.Body).NotTo(ContainSubstring("providerStatus"))
				Expect(req.Body).NotTo(ContainSubstring(`"networking"`))
			default:
				Fail(fmt.Sprintf("unexpected write %s %s", req.Method, req.Path))
			}
		}
	})

	It("deletes the shoot's leftover claims, their Secrets and IP claims, waiting with retryable errors, and nothing else", func(ctx SpecContext) {
		s := newShoot(ctx, allPermissions, serverPermissions)
		s.create(ctx, nil, nil)
		s.expectSucceeded(ctx)
		// The finalizers stand in for metal-operator's on the ServerClaim and the IPAM provider's on the
		// IPAddressClaim, which hold the objects until those controllers are done.
		claim := s.claim(ctx, "leftover", "test.metal/operator")
		secret := s.secret(ctx, "leftover-ignition")
		claim.Spec.IgnitionSecretRef = &corev1.LocalObjectReference{Name: secret.Name}
		Expect(metalAdmin.Update(ctx, claim)).To(Succeed())
		ipClaim := s.ipClaim(ctx, "leftover-nodes", "test.metal/ipam")
		server := s.server(ctx, "z1", metalv1alpha1.ServerStateReserved)
		claimServer(ctx, server, s.metalNamespace, claim.Name)
		server.Status.PowerState = metalv1alpha1.ServerOnPowerState
		Expect(metalAdmin.Status().Update(ctx, server)).To(Succeed())
		foreign := &metalv1alpha1.ServerClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.metalNamespace, Name: "foreign", Labels: map[string]string{metal.ShootLabel: "shoot--other--garden"}},
			Spec:       metalv1alpha1.ServerClaimSpec{Power: metalv1alpha1.PowerOff, Image: "registry.example.com/os:1"},
		}
		Expect(metalAdmin.Create(ctx, foreign)).To(Succeed())
		// A shoot of another garden that shares the metal namespace may have the same technical ID.
		otherGarden := &metalv1alpha1.ServerClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.metalNamespace, Name: "other-garden", Labels: metal.ScopeLabels(s.seedNamespace, "other-garden-uid")},
			Spec:       metalv1alpha1.ServerClaimSpec{Power: metalv1alpha1.PowerOff, Image: "registry.example.com/os:1"},
		}
		Expect(metalAdmin.Create(ctx, otherGarden)).To(Succeed())

		Expect(seedClient.Delete(ctx, s.infra)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(metalAdmin.Get(ctx, client.ObjectKeyFromObject(claim), claim)).To(Succeed())
			g.Expect(claim.DeletionTimestamp).NotTo(BeNil())
		}).Should(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(metalAdmin.Get(ctx, client.ObjectKeyFromObject(secret), secret))
		}).Should(BeTrue())
		lastError := s.expectLastError(ctx, "waiting for 1 ServerClaims of the shoot")
		Expect(lastError.Codes).To(BeEmpty(), "waiting is retryable")
		Expect(s.infra.Status.LastOperation.State).NotTo(Equal(gardencorev1beta1.LastOperationStateFailed))

		By("once metal-operator lets the claim go, the IP claim waits for the Server to power off")
		removeFinalizers(ctx, claim)
		s.expectLastError(ctx, "waiting for Servers "+server.Name+" to power off")
		Expect(metalAdmin.Get(ctx, client.ObjectKeyFromObject(ipClaim), ipClaim)).To(Succeed())
		Expect(ipClaim.DeletionTimestamp).To(BeNil())

		server.Status.PowerState = metalv1alpha1.ServerOffPowerState
		Expect(metalAdmin.Status().Update(ctx, server)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(metalAdmin.Get(ctx, client.ObjectKeyFromObject(ipClaim), ipClaim)).To(Succeed())
			g.Expect(ipClaim.DeletionTimestamp).NotTo(BeNil())
		}).WithTimeout(time.Minute).Should(Succeed())
		removeFinalizers(ctx, ipClaim)

		Eventually(func() bool {
			return apierrors.IsNotFound(seedClient.Get(ctx, client.ObjectKeyFromObject(s.infra), &extensionsv1alpha1.Infrastructure{}))
		}).WithTimeout(time.Minute).Should(BeTrue())
		for _, other := range []*metalv1alpha1.ServerClaim{foreign, otherGarden} {
			Expect(metalAdmin.Get(ctx, client.ObjectKeyFromObject(other), other)).To(Succeed())
			Expect(other.DeletionTimestamp).To(BeNil(), other.Name)
		}
	})

	It("force deletion powers the shoot's claims off and deletes them without waiting", func(ctx SpecContext) {
		s := newShoot(ctx, allPermissions, serverPermissions)
		s.forceDelete = true
		s.create(ctx, nil, nil)
		s.expectSucceeded(ctx)
		claim := s.claim(ctx, "leftover", "test.metal/operator")
		claim.Spec.Power = metalv1alpha1.PowerOn
		Expect(metalAdmin.Update(ctx, claim)).To(Succeed())
		ipClaim := s.ipClaim(ctx, "leftover-nodes", "test.metal/ipam")

		Expect(seedClient.Delete(ctx, s.infra)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(seedClient.Get(ctx, client.ObjectKeyFromObject(s.infra), &extensionsv1alpha1.Infrastructure{}))
		}).WithTimeout(time.Minute).Should(BeTrue())
		Expect(metalAdmin.Get(ctx, client.ObjectKeyFromObject(claim), claim)).To(Succeed())
		Expect(claim.Spec.Power).To(Equal(metalv1alpha1.PowerOff))
		Expect(claim.DeletionTimestamp).NotTo(BeNil())
		Expect(metalAdmin.Get(ctx, client.ObjectKeyFromObject(ipClaim), ipClaim)).To(Succeed())
		Expect(ipClaim.DeletionTimestamp).NotTo(BeNil())
		removeFinalizers(ctx, claim)
		removeFinalizers(ctx, ipClaim)
	})
})

// readsAndWrites are the metal API requests recorded, as "METHOD path".
type readsAndWrites struct{ reads, writes []string }

func metalReadsAndWrites() readsAndWrites {
	var result readsAndWrites
	for _, req := range metalRequests.Recorded() {
		switch {
		case req.IsWrite():
			result.writes = append(result.writes, req.Method+" "+req.Path)
		case req.IsRead():
			result.reads = append(result.reads, req.Method+" "+req.Path)
		}
	}
	return result
}

func newShoot(ctx SpecContext, rules, clusterRules []rbacv1.PolicyRule) *shoot {
	id := rand.String(6)
	s := &shoot{
		seedNamespace:  "shoot--test--" + id,
		metalNamespace: "metal-" + id,
		machineType:    "type-" + id,
		uid:            uuid.NewUUID(),
	}
	for _, ns := range []string{s.metalNamespace} {
		Expect(metalAdmin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	Expect(seedClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.seedNamespace}})).To(Succeed())

	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: s.metalNamespace, Name: "shoot"}}
	Expect(metalAdmin.Create(ctx, sa)).To(Succeed())
	subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: s.metalNamespace, Name: sa.Name}
	if len(rules) > 0 {
		Expect(metalAdmin.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: s.metalNamespace, Name: "shoot"}, Rules: rules})).To(Succeed())
		Expect(metalAdmin.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.metalNamespace, Name: "shoot"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "shoot"},
			Subjects:   []rbacv1.Subject{subject},
		})).To(Succeed())
	}
	if len(clusterRules) > 0 {
		name := "shoot-" + id
		Expect(metalAdmin.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: clusterRules})).To(Succeed())
		Expect(metalAdmin.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects:   []rbacv1.Subject{subject},
		})).To(Succeed())
	}
	Expect(seedClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.seedNamespace, Name: v1beta1constants.SecretNameCloudProvider},
		Data: map[string][]byte{
			metal.NamespaceKey: []byte(s.metalNamespace),
			metal.TokenKey:     []byte(s.token(ctx)),
		},
	})).To(Succeed())
	return s
}

// token requests a new token of the shoot's ServiceAccount in the metal API.
func (s *shoot) token(ctx SpecContext) string {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: s.metalNamespace, Name: "shoot"}}
	tokenRequest := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
	Expect(metalAdmin.SubResource("token").Create(ctx, sa, tokenRequest)).To(Succeed())
	return tokenRequest.Status.Token
}

// server creates a Server of the shoot's machine type in the zone with the given state.
func (s *shoot) server(ctx SpecContext, zone string, state metalv1alpha1.ServerState) *metalv1alpha1.Server {
	server := &metalv1alpha1.Server{
		ObjectMeta: metav1.ObjectMeta{
			Name:   "server-" + rand.String(8),
			Labels: map[string]string{"machine-type": s.machineType, metal.InstanceTypeLabel: s.machineType, metal.RegionLabel: region, metal.ZoneLabel: zone},
		},
		Spec: metalv1alpha1.ServerSpec{SystemUUID: string(uuid.NewUUID())},
	}
	Expect(metalAdmin.Create(ctx, server)).To(Succeed())
	server.Status.State = state
	Expect(metalAdmin.Status().Update(ctx, server)).To(Succeed())
	return server
}

func claimServer(ctx SpecContext, server *metalv1alpha1.Server, namespace, name string) {
	server.Spec.ServerClaimRef = &metalv1alpha1.ImmutableObjectReference{Namespace: namespace, Name: name}
	Expect(metalAdmin.Update(ctx, server)).To(Succeed())
}

// claim creates a ServerClaim of this shoot, as the machine-controller-manager driver does.
func (s *shoot) claim(ctx SpecContext, name string, finalizers ...string) *metalv1alpha1.ServerClaim {
	claim := &metalv1alpha1.ServerClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.metalNamespace, Name: name, Labels: s.scope(), Finalizers: finalizers},
		Spec:       metalv1alpha1.ServerClaimSpec{Power: metalv1alpha1.PowerOff, Image: "registry.example.com/os:1"},
	}
	Expect(metalAdmin.Create(ctx, claim)).To(Succeed())
	return claim
}

// scope are the labels the driver puts on the shoot's objects.
func (s *shoot) scope() map[string]string {
	return metal.ScopeLabels(s.seedNamespace, string(s.uid))
}

// secret creates an ignition Secret of this shoot, as the driver does.
func (s *shoot) secret(ctx SpecContext, name string) *corev1.Secret {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.metalNamespace, Name: name, Labels: s.scope()},
		Data:       map[string][]byte{metal.IgnitionSecretKey: []byte("{}")},
	}
	Expect(metalAdmin.Create(ctx, secret)).To(Succeed())
	return secret
}

// ipClaim creates an IPAddressClaim of this shoot, as the driver does.
func (s *shoot) ipClaim(ctx SpecContext, name string, finalizers ...string) *ipamv1beta2.IPAddressClaim {
	ipClaim := &ipamv1beta2.IPAddressClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.metalNamespace, Name: name, Labels: s.scope(), Finalizers: finalizers},
		Spec:       ipamv1beta2.IPAddressClaimSpec{PoolRef: ipamv1beta2.IPPoolReference{APIGroup: "ipam.cluster.x-k8s.io", Kind: "InClusterIPPool", Name: "nodes"}},
	}
	Expect(metalAdmin.Create(ctx, ipClaim)).To(Succeed())
	return ipClaim
}

// relabel sets a label of a Server; an empty value removes it.
func relabel(ctx SpecContext, server *metalv1alpha1.Server, key, value string) {
	if value == "" {
		delete(server.Labels, key)
	} else {
		server.Labels[key] = value
	}
	Expect(metalAdmin.Update(ctx, server)).To(Succeed())
}

// removeFinalizers lets an object go, as its controller would once done.
func removeFinalizers(ctx SpecContext, obj client.Object) {
	Expect(metalAdmin.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	obj.SetFinalizers(nil)
	Expect(metalAdmin.Update(ctx, obj)).To(Succeed())
}

// ipamPool creates an in-cluster IPAM pool in the shoot's metal namespace.
func (s *shoot) ipamPool(ctx SpecContext, name string) {
	pool := &unstructured.Unstructured{}
	pool.SetAPIVersion("ipam.cluster.x-k8s.io/v1alpha2")
	pool.SetKind("InClusterIPPool")
	pool.SetNamespace(s.metalNamespace)
	pool.SetName(name)
	Expect(metalAdmin.Create(ctx, pool)).To(Succeed())
}

func (s *shoot) pool(name string, minimum int32, zones ...string) gardencorev1beta1.Worker {
	return gardencorev1beta1.Worker{
		Name:    name,
		Minimum: minimum,
		Maximum: minimum + 2,
		Machine: gardencorev1beta1.Machine{Type: s.machineType},
		Zones:   zones,
	}
}

func withTolerations(pool gardencorev1beta1.Worker, tolerations ...v1alpha1.ServerToleration) gardencorev1beta1.Worker {
	pool.ProviderConfig = &runtime.RawExtension{Raw: encode(&v1alpha1.WorkerConfig{
		TypeMeta:          metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "WorkerConfig"},
		ServerTolerations: tolerations,
	})}
	return pool
}

func (s *shoot) create(ctx SpecContext, workers []gardencorev1beta1.Worker, config *v1alpha1.InfrastructureConfig) {
	var raw []byte
	if config != nil {
		config.TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "InfrastructureConfig"}
		raw = encode(config)
	}
	s.createRaw(ctx, workers, raw)
}

func (s *shoot) createRaw(ctx SpecContext, workers []gardencorev1beta1.Worker, providerConfig []byte) {
	cloudProfileConfig := &v1alpha1.CloudProfileConfig{
		TypeMeta:      metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "CloudProfileConfig"},
		MachineTypes:  []v1alpha1.MachineType{{Name: s.machineType, ServerLabels: map[string]string{"machine-type": s.machineType}}},
		RegionConfigs: []v1alpha1.RegionConfig{{Name: region, Server: metalConfig.Host, CertificateAuthorityData: metalConfig.CAData}},
	}
	cloudProfile := &gardencorev1beta1.CloudProfile{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "CloudProfile"},
		ObjectMeta: metav1.ObjectMeta{Name: "metal"},
		Spec:       gardencorev1beta1.CloudProfileSpec{Type: metal.Type, ProviderConfig: &runtime.RawExtension{Raw: encode(cloudProfileConfig)}},
	}
	shootObj := &gardencorev1beta1.Shoot{
		TypeMeta:   metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Shoot"},
		ObjectMeta: metav1.ObjectMeta{Name: "shoot", Namespace: "garden-test", UID: s.uid, Annotations: map[string]string{}},
		Spec: gardencorev1beta1.ShootSpec{
			Region:   region,
			Provider: gardencorev1beta1.Provider{Type: metal.Type, Workers: workers},
			Networking: &gardencorev1beta1.Networking{
				Nodes: ptr.To("10.250.0.0/16"), Pods: ptr.To("100.96.0.0/11"), Services: ptr.To("100.64.0.0/13"),
				IPFamilies: s.ipFamilies,
			},
		},
		Status: gardencorev1beta1.ShootStatus{TechnicalID: s.seedNamespace, IsHibernated: s.hibernated},
	}
	if s.hibernated {
		shootObj.Spec.Hibernation = &gardencorev1beta1.Hibernation{Enabled: ptr.To(true)}
	}
	if s.forceDelete {
		shootObj.Annotations[v1beta1constants.AnnotationConfirmationForceDeletion] = "true"
	}
	seed := &gardencorev1beta1.Seed{TypeMeta: metav1.TypeMeta{APIVersion: gardencorev1beta1.SchemeGroupVersion.String(), Kind: "Seed"}}
	Expect(seedClient.Create(ctx, &extensionsv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: s.seedNamespace},
		Spec: extensionsv1alpha1.ClusterSpec{
			CloudProfile: runtime.RawExtension{Raw: encode(cloudProfile)},
			Seed:         &runtime.RawExtension{Raw: encode(seed)},
			Shoot:        runtime.RawExtension{Raw: encode(shootObj)},
		},
	})).To(Succeed())

	s.infra = &extensionsv1alpha1.Infrastructure{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   s.seedNamespace,
			Name:        "shoot",
			Annotations: map[string]string{v1beta1constants.GardenerOperation: v1beta1constants.GardenerOperationReconcile},
		},
		Spec: extensionsv1alpha1.InfrastructureSpec{
			DefaultSpec: extensionsv1alpha1.DefaultSpec{Type: metal.Type},
			Region:      region,
			SecretRef:   corev1.SecretReference{Namespace: s.seedNamespace, Name: v1beta1constants.SecretNameCloudProvider},
		},
	}
	if providerConfig != nil {
		s.infra.Spec.ProviderConfig = &runtime.RawExtension{Raw: providerConfig}
	}
	Expect(seedClient.Create(ctx, s.infra)).To(Succeed())
}

// reconcile asks for a reconcile the way gardenlet does.
func (s *shoot) reconcile(ctx SpecContext) {
	Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.infra), s.infra)).To(Succeed())
	patch := client.MergeFrom(s.infra.DeepCopy())
	metav1.SetMetaDataAnnotation(&s.infra.ObjectMeta, v1beta1constants.GardenerOperation, v1beta1constants.GardenerOperationReconcile)
	Expect(seedClient.Patch(ctx, s.infra, patch)).To(Succeed())
	// The controller removes the annotation when it picks the request up.
	Eventually(func(g Gomega) {
		g.Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.infra), s.infra)).To(Succeed())
		g.Expect(s.infra.Annotations).NotTo(HaveKey(v1beta1constants.GardenerOperation))
	}).WithTimeout(time.Minute).Should(Succeed())
}

func (s *shoot) expectSucceeded(ctx SpecContext) {
	Eventually(func(g Gomega) {
		g.Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.infra), s.infra)).To(Succeed())
		g.Expect(s.infra.Annotations).NotTo(HaveKey(v1beta1constants.GardenerOperation))
		g.Expect(s.infra.Status.LastOperation).NotTo(BeNil())
		g.Expect(s.infra.Status.LastError).To(BeNil())
		g.Expect(s.infra.Status.LastOperation.State).To(Equal(gardencorev1beta1.LastOperationStateSucceeded))
		g.Expect(s.infra.Status.ObservedGeneration).To(Equal(s.infra.Generation))
	}).WithTimeout(time.Minute).Should(Succeed())
}

func (s *shoot) expectError(ctx SpecContext, code gardencorev1beta1.ErrorCode) *gardencorev1beta1.LastError {
	Eventually(func(g Gomega) {
		g.Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.infra), s.infra)).To(Succeed())
		g.Expect(s.infra.Status.LastError).NotTo(BeNil())
		g.Expect(s.infra.Status.LastError.Codes).To(ContainElement(code), s.infra.Status.LastError.Description)
	}).WithTimeout(time.Minute).Should(Succeed())
	return s.infra.Status.LastError
}

// expectLastError waits for a last error whose description contains the text.
func (s *shoot) expectLastError(ctx SpecContext, text string) *gardencorev1beta1.LastError {
	Eventually(func(g Gomega) {
		g.Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.infra), s.infra)).To(Succeed())
		g.Expect(s.infra.Status.LastError).NotTo(BeNil())
		g.Expect(s.infra.Status.LastError.Description).To(ContainSubstring(text))
	}).WithTimeout(time.Minute).Should(Succeed())
	return s.infra.Status.LastError
}

// condition returns the Infrastructure's condition of the type.
func (s *shoot) condition(ctx SpecContext, conditionType gardencorev1beta1.ConditionType) gardencorev1beta1.Condition {
	Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.infra), s.infra)).To(Succeed())
	for _, c := range s.infra.Status.Conditions {
		if c.Type == conditionType {
			return c
		}
	}
	Fail(fmt.Sprintf("the Infrastructure has no condition %s: %v", conditionType, s.infra.Status.Conditions))
	return gardencorev1beta1.Condition{}
}

func (s *shoot) providerStatus(ctx SpecContext) *v1alpha1.InfrastructureStatus {
	Expect(seedClient.Get(ctx, client.ObjectKeyFromObject(s.infra), s.infra)).To(Succeed())
	Expect(s.infra.Status.ProviderStatus).NotTo(BeNil())
	status := &v1alpha1.InfrastructureStatus{}
	Expect(json.Unmarshal(s.infra.Status.ProviderStatus.Raw, status)).To(Succeed())
	Expect(status.APIVersion).To(Equal(v1alpha1.SchemeGroupVersion.String()))
	Expect(status.Kind).To(Equal("InfrastructureStatus"))
	return status
}

func encode(obj any) []byte {
	data, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())
	return data
}
