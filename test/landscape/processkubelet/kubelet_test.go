package main_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	"golang.org/x/sys/unix"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

const serviceAccount = "workload"

// newNamespace creates a namespace with the ServiceAccount the pods use and the kube-root-ca.crt ConfigMap that
// kube-controller-manager would publish (envtest runs none).
func newNamespace() string {
	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "pk-"}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	_, err = client.CoreV1().ServiceAccounts(ns.Name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: serviceAccount}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	_, err = client.CoreV1().ConfigMaps(ns.Name).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt"},
		Data:       map[string]string{"ca.crt": string(restConfig.CAData)},
	}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return ns.Name
}

// apiAccessVolume is the projected volume the ServiceAccount admission plugin adds (envtest disables it).
func apiAccessVolume() corev1.Volume {
	return corev1.Volume{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: ptr.To[int32](0o644),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
		},
	}}}
}

var apiAccessMount = corev1.VolumeMount{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}

// server is a container that serves testbin's HTTP endpoints on port, ready by an httpGet probe on the named port.
func server(name string, port int32) corev1.Container {
	return corev1.Container{
		Name:  name,
		Image: image + ":latest",
		Args:  []string{"--listen", "$(POD_IP):" + strconv.Itoa(int(port))},
		Env: []corev1.EnvVar{
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		},
		Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: port}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}, PeriodSeconds: 1},
		VolumeMounts:   []corev1.VolumeMount{apiAccessMount},
	}
}

func newPod(ns, name string, restart corev1.RestartPolicy, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			NodeName:                      nodeName,
			ServiceAccountName:            serviceAccount,
			RestartPolicy:                 restart,
			TerminationGracePeriodSeconds: ptr.To[int64](5),
			Containers:                    containers,
			Volumes:                       []corev1.Volume{apiAccessVolume()},
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		},
	}
}

func create(pod *corev1.Pod) *corev1.Pod {
	created, err := client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return created
}

func get(ns, name string) func() (*corev1.Pod, error) {
	return func() (*corev1.Pod, error) { return client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{}) }
}

func ready(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readyPod waits until the pod is Running and Ready.
func readyPod(ns, name string) *corev1.Pod {
	var pod *corev1.Pod
	Eventually(func(g Gomega) {
		var err error
		pod, err = get(ns, name)()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pod.Status.Phase).To(Equal(corev1.PodRunning))
		g.Expect(ready(pod)).To(BeTrue())
	}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
	return pod
}

// fetch GETs a path of a pod's server from the host, through the pod IP's forwarder.
func fetch(podIP string, port int, path string) (string, error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + net.JoinHostPort(podIP, strconv.Itoa(port)) + path)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, body)
	}
	return string(body), err
}

func logOf(ns, pod, container string) func() (string, error) {
	return func() (string, error) {
		data, err := os.ReadFile(filepath.Join(stateDir, ns, pod, container+".log"))
		return string(data), err
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// readPid reads a container's pid file.
func readPid(ns, pod, container string) (int, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, ns, pod, container+".pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// pidOf waits for a container's pid file.
func pidOf(ns, pod, container string) int {
	var pid int
	Eventually(func() (err error) {
		pid, err = readPid(ns, pod, container)
		return err
	}).Should(Succeed())
	return pid
}

var _ = Describe("process kubelet", func() {
	It("registers a Ready node with labels, taints, node info and a lease", func() {
		Eventually(func(g Gomega) {
			node, err := client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(node.Labels).To(HaveKeyWithValue("example.com/role", "test"))
			g.Expect(node.Labels).To(HaveKeyWithValue("kubernetes.io/hostname", nodeName))
			g.Expect(node.Spec.Taints).To(ContainElement(corev1.Taint{Key: "example.com/dedicated", Value: "test", Effect: corev1.TaintEffectNoSchedule}))
			g.Expect(node.Status.NodeInfo.SystemUUID).To(Equal("11111111-2222-3333-4444-555555555555"))
			g.Expect(node.Status.NodeInfo.KubeletVersion).To(Equal("v1.36.3"))
			g.Expect(node.Status.Addresses).To(ContainElement(corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}))
			g.Expect(node.Status.Conditions).To(ContainElement(And(
				HaveField("Type", corev1.NodeReady), HaveField("Status", corev1.ConditionTrue))))
			var lease *coordinationv1.Lease
			lease, err = client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, nodeName, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(lease.Spec.RenewTime).NotTo(BeNil())
		}, 30*time.Second).Should(Succeed())
	})

	It("runs a pod Ready by its probe, with env, fieldRefs, $(VAR) expansion, logs and a pid file", func() {
		ns := newNamespace()
		c := server("main", 8080)
		c.Command = []string{"testbin", "--exit=0"}
		c.Args = append(c.Args, "$(GREETING)-$(UNDEFINED)-$$(GREETING)")
		c.Env = append(c.Env,
			corev1.EnvVar{Name: "GREETING", Value: "hello-$(POD_NAME)"},
			corev1.EnvVar{Name: "LABEL", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			corev1.EnvVar{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			corev1.EnvVar{Name: "SA", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}},
			corev1.EnvVar{Name: "HOST_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
		)
		create(newPod(ns, "web", corev1.RestartPolicyAlways, c))
		pod := readyPod(ns, "web")
		Expect(pod.Status.PodIP).To(HavePrefix("127.1.200."))
		Expect(pod.Status.HostIP).To(Equal("127.0.0.1"))
		Expect(pod.Status.ContainerStatuses).To(ConsistOf(And(HaveField("Ready", true), HaveField("State.Running", Not(BeNil())))))

		Expect(fetch(pod.Status.PodIP, 8080, "/env?name=LABEL")).To(Equal("web"))
		Expect(fetch(pod.Status.PodIP, 8080, "/env?name=NODE")).To(Equal(nodeName))
		Expect(fetch(pod.Status.PodIP, 8080, "/env?name=SA")).To(Equal(serviceAccount))
		Expect(fetch(pod.Status.PodIP, 8080, "/env?name=HOST_IP")).To(Equal("127.0.0.1"))
		Expect(fetch(pod.Status.PodIP, 8080, "/env?name=KUBERNETES_SERVICE_HOST")).To(Equal("127.0.0.1"))
		Eventually(logOf(ns, "web", "main")).Should(And(
			ContainSubstring("==== process-kubelet"),
			ContainSubstring(`"hello-web-$(UNDEFINED)-$(GREETING)"`),
			ContainSubstring("ENV GREETING=hello-web\n"),
			ContainSubstring("ENV POD_IP="+pod.Status.PodIP+"\n"),
			ContainSubstring("ENV HOSTNAME=web\n"),
		))
		Expect(alive(pidOf(ns, "web", "main"))).To(BeTrue())

		By("serving the log through the kube-apiserver (kubectl logs)")
		logs, err := client.CoreV1().Pods(ns).GetLogs("web", &corev1.PodLogOptions{Container: "main"}).DoRaw(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(logs)).To(ContainSubstring("ENV GREETING=hello-web\n"))
		logs, err = client.CoreV1().Pods(ns).GetLogs("web", &corev1.PodLogOptions{Container: "main", TailLines: ptr.To[int64](1)}).DoRaw(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Count(string(logs), "\n")).To(Equal(1))
	})

	It("mounts secrets, configmaps and a token at their paths, refreshes them, and the pod reaches the API server", func() {
		ns := newNamespace()
		_, err := client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"password": []byte("one")},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, err = client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"a": "alpha", "b": "beta"},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, hostErr := os.Stat("/etc/pk-test")
		Expect(os.IsNotExist(hostErr)).To(BeTrue(), "the host must not have /etc/pk-test before the test")

		c := server("main", 8080)
		c.VolumeMounts = append(c.VolumeMounts,
			corev1.VolumeMount{Name: "creds", MountPath: "/etc/pk-test/creds"},
			corev1.VolumeMount{Name: "settings", MountPath: "/etc/pk-test/settings"},
			corev1.VolumeMount{Name: "scratch", MountPath: "/etc/pk-test/scratch"},
		)
		pod := newPod(ns, "mounts", corev1.RestartPolicyAlways, c)
		pod.Spec.Volumes = append(pod.Spec.Volumes,
			corev1.Volume{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
			corev1.Volume{Name: "settings", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "settings"},
				Items:                []corev1.KeyToPath{{Key: "b", Path: "sub/b.txt", Mode: ptr.To[int32](0o600)}},
			}}},
			corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		)
		create(pod)
		pod = readyPod(ns, "mounts")
		ip := pod.Status.PodIP

		Expect(fetch(ip, 8080, "/file?path=/etc/pk-test/creds/password")).To(Equal("one"))
		Expect(fetch(ip, 8080, "/file?path=/etc/pk-test/settings/sub/b.txt")).To(Equal("beta"))
		_, err = fetch(ip, 8080, "/file?path=/etc/pk-test/settings/a")
		Expect(err).To(HaveOccurred(), "only the listed item is projected")
		Expect(fetch(ip, 8080, "/file?path=/var/run/secrets/kubernetes.io/serviceaccount/namespace")).To(Equal(ns))
		_, hostErr = os.Stat("/etc/pk-test")
		Expect(os.IsNotExist(hostErr)).To(BeTrue(), "mount points are created in an overlay, not on the host")
		info, err := os.Stat(filepath.Join(stateDir, ns, "mounts", "volumes", "settings", "sub", "b.txt"))
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))

		token, err := fetch(ip, 8080, "/file?path=/var/run/secrets/kubernetes.io/serviceaccount/token")
		Expect(err).NotTo(HaveOccurred())
		review, err := client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(review.Status.Authenticated).To(BeTrue())
		Expect(review.Status.User.Username).To(Equal("system:serviceaccount:" + ns + ":" + serviceAccount))
		Expect(review.Status.User.Extra).To(HaveKeyWithValue("authentication.kubernetes.io/pod-name", authenticationv1.ExtraValue{"mounts"}))

		By("reaching the kube-apiserver with in-cluster config through the forwarded port")
		Expect(fetch(ip, 8080, "/incluster")).To(ContainSubstring("system:serviceaccount:" + ns + ":" + serviceAccount))

		By("reaching a host UDP service through a forwarded port")
		Expect(fetch(ip, 8080, fmt.Sprintf("/udp?addr=127.0.0.1:%d&msg=ping", udpPort))).To(Equal("echo: ping"))

		By("rotating the secret")
		_, err = client.CoreV1().Secrets(ns).Update(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"password": []byte("two")},
		}, metav1.UpdateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() (string, error) { return fetch(ip, 8080, "/file?path=/etc/pk-test/creds/password") }, 30*time.Second).Should(Equal("two"))
	})

	It("restarts a crashing container with back-off, counting restarts", func() {
		ns := newNamespace()
		create(newPod(ns, "crash", corev1.RestartPolicyAlways, corev1.Container{Name: "main", Image: image, Args: []string{"--exit=3"}}))
		sawBackOff := false
		Eventually(func(g Gomega) {
			pod, err := get(ns, "crash")()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pod.Status.ContainerStatuses).To(HaveLen(1))
			cs := pod.Status.ContainerStatuses[0]
			if cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" {
				sawBackOff = true
			}
			g.Expect(sawBackOff).To(BeTrue())
			g.Expect(cs.RestartCount).To(BeNumerically(">=", 2))
			g.Expect(cs.LastTerminationState.Terminated).NotTo(BeNil())
			g.Expect(cs.LastTerminationState.Terminated.ExitCode).To(Equal(int32(3)))
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodRunning))
		}, 60*time.Second, 100*time.Millisecond).Should(Succeed())
		Expect(logOf(ns, "crash", "main")()).To(ContainSubstring("exited with code 3"))
	})

	It("fails a pod with restartPolicy Never after its init container ran", func() {
		ns := newNamespace()
		pod := newPod(ns, "once", corev1.RestartPolicyNever, corev1.Container{
			Name: "main", Image: "example.com/other:v1", Args: []string{"--exit=7"},
			VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}},
		})
		pod.Spec.InitContainers = []corev1.Container{{
			Name: "init", Image: image, Args: []string{"--write=/shared/done=yes"},
			VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}},
		}}
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		create(pod)
		Eventually(func(g Gomega) {
			pod, err := get(ns, "once")()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodFailed))
			g.Expect(pod.Status.InitContainerStatuses).To(ConsistOf(HaveField("State.Terminated.ExitCode", int32(0))))
			g.Expect(pod.Status.ContainerStatuses).To(ConsistOf(And(
				HaveField("State.Terminated.ExitCode", int32(7)), HaveField("RestartCount", int32(0)))))
		}, 30*time.Second).Should(Succeed())
		Expect(os.ReadFile(filepath.Join(stateDir, ns, "once", "volumes", "shared", "done"))).To(Equal([]byte("yes")))
	})

	It("keeps a pod whose image has no binary Pending, naming the image", func() {
		ns := newNamespace()
		create(newPod(ns, "nobinary", corev1.RestartPolicyAlways, corev1.Container{Name: "main", Image: "example.com/unknown:v2"}))
		Eventually(func(g Gomega) {
			pod, err := get(ns, "nobinary")()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pod.Status.ContainerStatuses).To(ConsistOf(HaveField("State.Waiting", And(
				HaveField("Reason", "ImageNotBuildable"), HaveField("Message", ContainSubstring("example.com/unknown:v2"))))))
			g.Expect(pod.Status.Message).To(ContainSubstring("example.com/unknown:v2"))
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodPending))
		}, 30*time.Second).Should(Succeed())
	})

	It("stops the processes of a deleted pod and removes the pod object", func() {
		ns := newNamespace()
		create(newPod(ns, "doomed", corev1.RestartPolicyAlways, server("main", 8080)))
		readyPod(ns, "doomed")
		By("the pod is ready")
		pid := pidOf(ns, "doomed", "main")
		Expect(alive(pid)).To(BeTrue())
		By("deleting the pod")
		Expect(client.CoreV1().Pods(ns).Delete(ctx, "doomed", metav1.DeleteOptions{})).To(Succeed())
		Eventually(func() bool { return alive(pid) }, 30*time.Second).Should(BeFalse())
		By("the process is gone")
		Eventually(func() error {
			_, err := get(ns, "doomed")()
			return err
		}, 30*time.Second).Should(Satisfy(apierrors.IsNotFound))
		Expect(filepath.Join(stateDir, ns, "doomed", "main.pid")).NotTo(BeAnExistingFile())
		Expect(filepath.Join(stateDir, ns, "doomed", "main.log")).To(BeAnExistingFile())
	})

	It("gives each pod its own network namespace: two pods listen on the same port", func() {
		ns := newNamespace()
		for _, name := range []string{"one", "two"} {
			c := server("main", 9090)
			// Both bind all addresses of their own namespace.
			c.Args = []string{"--listen", ":9090"}
			create(newPod(ns, name, corev1.RestartPolicyAlways, c))
		}
		one, two := readyPod(ns, "one"), readyPod(ns, "two")
		Expect(one.Status.PodIP).NotTo(Equal(two.Status.PodIP))
		Expect(fetch(one.Status.PodIP, 9090, "/env?name=POD_NAME")).To(Equal("one"))
		Expect(fetch(two.Status.PodIP, 9090, "/env?name=POD_NAME")).To(Equal("two"))
	})

	It("reports a pod with resource requests Running (its QoS class kept) and serves a Service's target port no container declares", func() {
		ns := newNamespace()
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "webhook", Namespace: ns},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": "burstable"},
				Ports:    []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromInt32(9443)}},
			},
		}
		_, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		c := server("main", 9090)
		c.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}}
		// A second container serves the port only the Service names.
		hook := server("hook", 9443)
		hook.Ports, hook.ReadinessProbe = nil, nil
		create(newPod(ns, "burstable", corev1.RestartPolicyAlways, c, hook))
		pod := readyPod(ns, "burstable")
		Expect(pod.Status.QOSClass).To(Equal(corev1.PodQOSBurstable))
		Eventually(func() (string, error) { return fetch(pod.Status.PodIP, 9443, "/env?name=POD_NAME") }, 30*time.Second, 200*time.Millisecond).Should(Equal("burstable"))
	})

	It("runs exec probes in the container's mount namespace and restarts a container whose liveness probe fails", func() {
		ns := newNamespace()
		c := server("main", 8080)
		c.ReadinessProbe = &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{
			Command: []string{"/bin/sh", "-c", "test -s /var/run/secrets/kubernetes.io/serviceaccount/token"}}}}
		create(newPod(ns, "exec", corev1.RestartPolicyAlways, c))
		readyPod(ns, "exec")

		c = server("main", 8080)
		c.LivenessProbe = &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 2, ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{
			Command: []string{"/bin/sh", "-c", "test -e /no-such-file"}}}}
		create(newPod(ns, "unhealthy", corev1.RestartPolicyAlways, c))
		Eventually(func(g Gomega) {
			pod, err := get(ns, "unhealthy")()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pod.Status.ContainerStatuses).To(ConsistOf(HaveField("RestartCount", BeNumerically(">=", 1))))
		}, 60*time.Second).Should(Succeed())
	})

	It("runs as the requested user with a read-only root file system and writable volumes", func() {
		ns := newNamespace()
		restricted := &corev1.SecurityContext{RunAsUser: ptr.To[int64](65534), RunAsGroup: ptr.To[int64](65534), ReadOnlyRootFilesystem: ptr.To(true)}
		mounts := []corev1.VolumeMount{{Name: "rw", MountPath: "/etc/pk-test/rw"}, apiAccessMount}
		pod := newPod(ns, "restricted", corev1.RestartPolicyNever,
			corev1.Container{Name: "volume", Image: image, Args: []string{"--write=/etc/pk-test/rw/file=ok"}, SecurityContext: restricted, VolumeMounts: mounts},
			// As root, so that only the read-only mounts stop the writes: / itself and the overlay holding the
			// created mount points.
			corev1.Container{Name: "root", Image: image, Args: []string{"--write=/pk-ro-test=no", "--write=/etc/pk-test/not-a-volume=no"},
				SecurityContext: &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true)}, VolumeMounts: mounts},
		)
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "rw", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		create(pod)
		// Only if / was not read-only after all.
		DeferCleanup(func() { _ = os.Remove("/pk-ro-test") })
		Eventually(func(g Gomega) {
			pod, err := get(ns, "restricted")()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodFailed))
			g.Expect(pod.Status.ContainerStatuses).To(ConsistOf(
				And(HaveField("Name", "volume"), HaveField("State.Terminated.ExitCode", int32(0))),
				And(HaveField("Name", "root"), HaveField("State.Terminated.ExitCode", int32(1))),
			))
		}, 30*time.Second).Should(Succeed())
		Expect(logOf(ns, "restricted", "volume")()).To(ContainSubstring("UID 65534 GID 65534"))
		Expect(logOf(ns, "restricted", "root")()).To(And(
			MatchRegexp("WRITE-ERROR /pk-ro-test: .*read-only file system"),
			MatchRegexp("WRITE-ERROR /etc/pk-test/not-a-volume: .*read-only file system"),
		))
		Expect(os.ReadFile(filepath.Join(stateDir, ns, "restricted", "volumes", "rw", "file"))).To(Equal([]byte("ok")))
	})

	It("mounts the local PersistentVolume of a bound claim and waits while the claim is unbound", func() {
		ns := newNamespace()
		dir := GinkgoT().TempDir()
		pv, err := client.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "pk-local-"},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName:       "local",
				PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
				NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{nodeName}}},
				}}}},
			},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{}) })
		claim, err := client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: ptr.To("local"),
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())

		pod := newPod(ns, "claimer", corev1.RestartPolicyNever, corev1.Container{Name: "main", Image: image,
			Args:         []string{"--write=/data/file=ok"},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, apiAccessMount}})
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}})
		create(pod)
		Consistently(func(g Gomega) {
			pod, err := get(ns, "claimer")()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pod.Status.Phase).To(Or(BeEmpty(), Equal(corev1.PodPending)))
		}, 3*time.Second, 500*time.Millisecond).Should(Succeed())

		// What the PersistentVolume binder does (envtest runs no kube-controller-manager).
		claim.Spec.VolumeName = pv.Name
		claim, err = client.CoreV1().PersistentVolumeClaims(ns).Update(ctx, claim, metav1.UpdateOptions{})
		Expect(err).NotTo(HaveOccurred())
		claim.Status.Phase = corev1.ClaimBound
		_, err = client.CoreV1().PersistentVolumeClaims(ns).UpdateStatus(ctx, claim, metav1.UpdateOptions{})
		Expect(err).NotTo(HaveOccurred())

		Eventually(func(g Gomega) {
			pod, err := get(ns, "claimer")()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodSucceeded))
		}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
		Expect(os.ReadFile(filepath.Join(dir, "file"))).To(Equal([]byte("ok")))
	})

	It("runs hostNetwork pods in the host's network namespace with the node IP", func() {
		ns := newNamespace()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		port := ln.Addr().(*net.TCPAddr).Port
		Expect(ln.Close()).To(Succeed())
		c := server("main", int32(port))
		pod := newPod(ns, "host", corev1.RestartPolicyAlways, c)
		pod.Spec.HostNetwork = true
		create(pod)
		pod = readyPod(ns, "host")
		Expect(pod.Status.PodIP).To(Equal("127.0.0.1"))
		Expect(fetch("127.0.0.1", port, "/env?name=POD_NAME")).To(Equal("host"))
	})

	It("runs hostNetwork pods in the network namespace of --host-network-namespace, from where they reach the API server", func() {
		netns := fmt.Sprintf("pk-node-%d", os.Getpid())
		Expect(exec.Command("ip", "netns", "add", netns).Run()).To(Succeed())
		DeferCleanup(func() { Expect(exec.Command("ip", "netns", "del", netns).Run()).To(Succeed()) })
		netnsPath := filepath.Join("/run/netns", netns)

		By("a second node whose hostNetwork pods run in that namespace")
		const node = "process-node-netns"
		nodeStateDir := filepath.Join(filepath.Dir(stateDir), "pods-netns")
		args := withFlag(withFlag(withFlag(withoutFlag(kubeletCmd[1:], "--kubelet-port"), "--node-name", node), "--pod-cidr", "127.1.201.0/24"), "--state-dir", nodeStateDir)
		second, err := gexec.Start(exec.Command(kubeletCmd[0], append(args, "--host-network-namespace", netnsPath)...), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			second.Terminate()
			Eventually(second, 30*time.Second).Should(gexec.Exit(0))
			Expect(client.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{})).To(Succeed())
		})

		ns := newNamespace()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		port := ln.Addr().(*net.TCPAddr).Port
		Expect(ln.Close()).To(Succeed())
		pod := newPod(ns, "node-net", corev1.RestartPolicyAlways, server("main", int32(port)))
		pod.Spec.NodeName = node
		pod.Spec.HostNetwork = true
		create(pod)
		pod = readyPod(ns, "node-net")
		Expect(pod.Status.PodIP).To(Equal("127.0.0.1"))

		By("the container is in that namespace, not the host's")
		pidData, err := os.ReadFile(filepath.Join(nodeStateDir, ns, "node-net", "main.pid"))
		Expect(err).NotTo(HaveOccurred())
		Expect(inode(filepath.Join("/proc", strings.TrimSpace(string(pidData)), "ns", "net"))).To(Equal(inode(netnsPath)))
		_, err = fetch("127.0.0.1", port, "/healthz")
		Expect(err).To(MatchError(ContainSubstring("connection refused")))

		By("inside it, the pod answers and reaches the kube-apiserver through the kubelet's forwarding")
		Expect(getInNetNS(netnsPath, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "/incluster")).To(ContainSubstring("system:serviceaccount:" + ns + ":" + serviceAccount))
	})

	It("stops its containers on SIGTERM and runs the pods again, with their IPs, when started again", func() {
		ns := newNamespace()
		create(newPod(ns, "survivor", corev1.RestartPolicyAlways, server("main", 8080)))
		before := readyPod(ns, "survivor")
		pid := pidOf(ns, "survivor", "main")

		kubelet.Terminate()
		Eventually(kubelet, 30*time.Second).Should(gexec.Exit(0))
		Expect(alive(pid)).To(BeFalse())
		startKubelet()

		Eventually(func(g Gomega) {
			newPid, err := readPid(ns, "survivor", "main")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(newPid).NotTo(Equal(pid))
			g.Expect(alive(newPid)).To(BeTrue())
			g.Expect(fetch(before.Status.PodIP, 8080, "/env?name=POD_NAME")).To(Equal("survivor"))
		}, 60*time.Second).Should(Succeed())
		after := readyPod(ns, "survivor")
		Expect(after.Status.PodIP).To(Equal(before.Status.PodIP))
	})
})

// withFlag returns args with the value of flag replaced.
func withFlag(args []string, flag, value string) []string {
	result := slices.Clone(args)
	i := slices.Index(result, flag)
	Expect(i).To(BeNumerically(">=", 0), flag)
	result[i+1] = value
	return result
}

// withoutFlag returns args without flag and its value.
func withoutFlag(args []string, flag string) []string {
	i := slices.Index(args, flag)
	Expect(i).To(BeNumerically(">=", 0), flag)
	return slices.Delete(slices.Clone(args), i, i+2)
}

func inode(path string) uint64 {
	var st unix.Stat_t
	Expect(unix.Stat(path, &st)).To(Succeed(), path)
	return st.Ino
}

// getInNetNS GETs path from addr, connecting from inside the network namespace bound at netnsPath: the connection
// is dialed on an OS thread that entered it (and that ends with its goroutine).
func getInNetNS(netnsPath, addr, path string) (string, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	dialed := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(netnsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			dialed <- result{err: err}
			return
		}
		defer func() { _ = unix.Close(fd) }()
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			dialed <- result{err: err}
			return
		}
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		dialed <- result{conn: conn, err: err}
	}()
	r := <-dialed
	if r.err != nil {
		return "", r.err
	}
	defer func() { _ = r.conn.Close() }()
	_ = r.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(r.conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, addr); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(r.conn), nil)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, body)
	}
	return string(body), err
}
