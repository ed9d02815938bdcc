package landscape

import "sigs.k8s.io/controller-runtime/pkg/client"

// shootEnv is one shoot of the landscape: its control plane namespace in the seed, its namespace in the metal API
// and its API server. The example shoot is the first; the fault round adds a second one that competes with it for
// the Servers (secondshoot.go).
type shootEnv struct {
	// seedNamespace is the shoot's control plane namespace in the seed, also the name of its Cluster.
	seedNamespace string
	// metalNamespace holds its ServerClaims and ignition Secrets in the metal API.
	metalNamespace string
	// cluster is the shoot's API server and client a client of it.
	cluster *cluster
	client  client.Client
	// podsDir is where the process kubelets of its Nodes keep their pods.
	podsDir string
	// controllers says whether the shoot's kube-controller-manager and kube-scheduler are deployed.
	controllers bool
	// label prefixes the progress lines about a shoot that is not the example shoot.
	label string
}

// name is what the progress calls one of the shoot's components.
func (t *shootEnv) name(component string) string {
	if t.label == "" {
		return component
	}
	return t.label + ": " + component
}

// mainShoot is the example shoot of example/landscape.
func (l *landscape) mainShoot() *shootEnv {
	return &shootEnv{
		seedNamespace:  seedNamespace,
		metalNamespace: metalNamespace,
		cluster:        l.shootCluster,
		client:         l.shoot,
		podsDir:        l.path("shoot-pods"),
		controllers:    true,
	}
}

// shootEnvs are the shoots whose booted Servers get kubelets.
func (l *landscape) shootEnvs() []*shootEnv {
	l.shootsMu.Lock()
	defer l.shootsMu.Unlock()
	envs := []*shootEnv{l.mainShoot()}
	if l.other != nil {
		envs = append(envs, l.other)
	}
	return envs
}
