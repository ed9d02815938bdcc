// Command process-kubelet is a node agent for the local landscape: built on virtual-kubelet, it registers one
// Node with a kube-apiserver, keeps it Ready with Lease heartbeats and runs every container of the pods bound
// to it as a local Linux process, with the image mapped to a host binary.
//
// It is a Go module of its own because virtual-kubelet v1.14.1 requires k8s.io/* v0.37 and controller-runtime
// 0.25, while the main module is pinned to k8s.io v0.36 (machine-controller-manager and helm break on 0.37). It
// must not import the main module.
//
// # Images and command lines
//
// --image IMAGE=PATH (repeated) and --image-map FILE map images to binaries; a container's image matches by
// its full reference or by its repository without tag and digest. A pod with an unmapped image stays Pending;
// its containers wait with reason ImageNotBuildable and a message naming the image, which status.message and
// the Ready condition repeat. Without command the binary runs with args. With command, command[0] is replaced by
// the binary when its base name is the binary's file name or the last element of the image repository, or when
// it names no executable on the host (a missing absolute path or path relative to workingDir, a bare name not in
// the container's PATH); otherwise command[0] runs as given (/bin/sh, say; a bare name is looked up in the
// container's PATH). command, args and literal env values are $(VAR)-expanded as by the kubelet.
//
// # Environment
//
// env (value, fieldRef, resourceFieldRef, secretKeyRef, configMapKeyRef) and envFrom as on a kubelet, plus
// KUBERNETES_SERVICE_HOST/PORT from the kubeconfig's server, and PATH, HOME=/root and HOSTNAME=<pod name>
// unless set. The process does not inherit the kubelet's environment.
//
// # Volumes and mounts
//
// Volumes are materialized under <state-dir>/<namespace>/<pod>/volumes/<volume>/: secret, configMap,
// downwardAPI and projected (secret, configMap, downwardAPI, serviceAccountToken requested with TokenRequest,
// bound to the pod) with items, modes and optional; emptyDir (a directory, also for medium Memory); hostPath
// (the host path itself); persistentVolumeClaim of a bound claim whose PersistentVolume is local or hostPath
// (the volume's path, which must exist; the pod waits while the claim is unbound). Secret-like volumes are written like the kubelet's AtomicWriter (a ..data symlink
// swapped by rename) and refreshed every --volume-sync-period; tokens are requested again at 80% of their
// lifetime. Their files belong to the pod's fsGroup and, when all containers run as the same non-root user, to
// that user. They are removed when the pod stops for good; the logs stay.
//
// Each container starts through a re-execution of this binary (hidden subcommand) in a new mount namespace
// (CLONE_NEWNS) that first makes / recursively private, then for each volumeMount in path order binds the
// volume directory (or the subPath, resolved when the container starts) onto mountPath, read-only when the
// mount says so and always for secret, configMap, projected and downwardAPI volumes. A missing mount point (or
// workingDir) is created inside an overlay whose lower layer is its deepest existing ancestor directory and
// whose upper layer is a tmpfs private to the container, so nothing is created on the host; mounts below that
// ancestor are bound back into the overlay. Only when that ancestor is / are the missing directories created on
// the host. readOnlyRootFilesystem remounts / read-only (the root mount only, other host mounts such as /proc or
// /tmp keep their flags), after the volume mounts, which stay writable as requested. Then the child enters
// workingDir, applies runAsGroup (also as the only supplementary group) and runAsUser and execs the binary, so
// the container's pid is the child's.
//
// # Network
//
// Each pod but hostNetwork ones gets a network namespace with only loopback up and a pod IP from --pod-cidr
// (default 127.1.0.0/16, unique per process kubelet; give kubelets on one host disjoint ranges). All of
// 127.0.0.0/8 is local on loopback, so a process may bind 0.0.0.0, 127.0.0.1 or the pod IP inside. A pod IP outside
// 127.0.0.0/8 (the kube-apiserver refuses loopback addresses in Endpoints and EndpointSlices, so pods behind a
// Service that the API server calls, such as a webhook, need one; the landscape gives 10.250.<n>.0/24) is added as
// a /32 to the loopback interface of the host and of the pod's namespace with iproute2's ip, and removed from the
// host's when the pod is gone. For each
// --forward-port P (and the kube-apiserver's port when it is on loopback) the kubelet listens on 127.0.0.1:P
// inside the pod and forwards to 127.0.0.1:P on the host, TCP and UDP (DNS clients use UDP first;
// the host's resolv.conf applies, so a resolver on 127.0.0.1 needs --forward-port 53). For each TCP
// containerPort, and each numeric TCP targetPort of a Service in the pod's namespace selecting the pod when it starts
// (a Service may target a port no container declares), it listens on podIP:port on the host and forwards to podIP:port inside the pod, or to
// 127.0.0.1:port if that is refused. status.podIP is the pod IP, status.hostIP the --node-ip, without one the Node's
// first InternalIP when the pod starts (set by a cloud-controller-manager, as the kubelet takes it), else 127.0.0.1. hostNetwork pods run in the host's namespace with the node's IP as pod IP and no forwarding, or, with
// --host-network-namespace PATH, in that network namespace (made by `ip netns add`, say, with the node IP on an
// interface in it: a node with a network of its own, whose pods may answer ARP on a veth there); the kubelet brings
// its loopback up and forwards the --forward-port ports and the kube-apiserver's from 127.0.0.1 there to the host,
// once for all hostNetwork pods.
// Service IPs (there is no kube-proxy) and traffic from one pod to another pod's IP (127.1.x.y is local inside
// every pod) are not served; the host reaches pods on their declared ports.
//
// # Lifecycle
//
// Init containers run in order and must exit 0; then the regular containers run. Restarts follow restartPolicy
// with the kubelet's back-off (--restart-backoff 10s doubling to --restart-backoff-max 5m, reason
// CrashLoopBackOff while waiting, restartCount, lastState). Probes: httpGet (http, https without verification)
// and tcpSocket to the pod IP inside the pod's namespace, exec through the same re-execution; gRPC probes are
// not supported and count as successes. Readiness sets the container's ready and the pod's ContainersReady and
// Ready conditions; failed liveness and startup probes stop the container, which then restarts per
// restartPolicy. On deletion every container gets SIGTERM to its process group, SIGKILL after the grace period,
// and the pod object is deleted with grace period 0. SIGTERM to the kubelet stops all containers the same way
// (--shutdown-grace-period at most) and leaves the API objects; every container also gets SIGKILL when the
// kubelet dies (parent-death signal).
//
// Each container's stdout and stderr are appended to <state-dir>/<namespace>/<pod>/<container>.log, with a
// line marking each start and exit; <container>.pid holds the pid of the running container. With --kubelet-port
// the kubelet's /containerLogs route (kubectl logs; tailLines, limitBytes) serves those files over TLS on the node
// IP, with a self-signed certificate and without client authentication.
package main
