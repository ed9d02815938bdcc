package controlplane

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"k8s.io/client-go/tools/clientcmd"

	v1beta1constants "github.com/gardener/gardener/pkg/apis/core/v1beta1/constants"
	gardenerutils "github.com/gardener/gardener/pkg/utils/gardener"
)

// metalAPIEgressLabels are the pod labels that let the cloud-controller-manager reach the metal API behind the
// seed's deny-all network policy (Gardener docs/operations/network_policies.md):
//   - the runtime cluster's own API server (kubernetes.default.svc): networking.gardener.cloud/to-runtime-apiserver;
//   - another Service of the seed (<service>.<namespace>.svc[.cluster.local]): the label for which
//     gardener-resource-manager creates the egress policy, networking.resources.gardener.cloud/to-<namespace>-
//     <service>-tcp-<port> (its Service must allow the shoot namespaces with the namespace-selectors annotation);
//   - any other address: the public and private networks, which exclude the seed's own networks.
func metalAPIEgressLabels(kubeconfig []byte) (map[string]any, error) {
	host, port, err := metalAPIServer(kubeconfig)
	if err != nil {
		return nil, err
	}
	service, namespace, inCluster := clusterService(host)
	switch {
	case inCluster && service == "kubernetes" && namespace == "default":
		return map[string]any{v1beta1constants.LabelNetworkPolicyToRuntimeAPIServer: v1beta1constants.LabelNetworkPolicyAllowed}, nil
	case inCluster:
		return map[string]any{gardenerutils.NetworkPolicyLabel(namespace+"-"+service, port): v1beta1constants.LabelNetworkPolicyAllowed}, nil
	default:
		return map[string]any{
			v1beta1constants.LabelNetworkPolicyToPublicNetworks:  v1beta1constants.LabelNetworkPolicyAllowed,
			v1beta1constants.LabelNetworkPolicyToPrivateNetworks: v1beta1constants.LabelNetworkPolicyAllowed,
		}, nil
	}
}

// metalAPIServer returns host and port of the server of the kubeconfig's current context.
func metalAPIServer(kubeconfig []byte) (string, int32, error) {
	config, err := clientcmd.Load(kubeconfig)
	if err != nil {
		// The parser's error may quote the kubeconfig, which holds credentials: it is not passed on.
		return "", 0, errors.New("the metal kubeconfig of the cloudprovider secret cannot be parsed")
	}
	context, ok := config.Contexts[config.CurrentContext]
	if !ok {
		return "", 0, fmt.Errorf("the metal kubeconfig has no current context %q", config.CurrentContext)
	}
	cluster, ok := config.Clusters[context.Cluster]
	if !ok {
		return "", 0, fmt.Errorf("the metal kubeconfig has no cluster %q", context.Cluster)
	}
	server, err := url.Parse(cluster.Server)
	if err != nil || server.Hostname() == "" {
		return "", 0, fmt.Errorf("the metal kubeconfig's server %q is no URL with a host", cluster.Server)
	}
	port := int64(443)
	if p := server.Port(); p != "" {
		if port, err = strconv.ParseInt(p, 10, 32); err != nil {
			return "", 0, fmt.Errorf("the metal kubeconfig's server %q has an invalid port: %w", cluster.Server, err)
		}
	}
	return server.Hostname(), int32(port), nil
}

// clusterService splits an in-cluster Service name <service>.<namespace>.svc[.cluster.local]; it reports false for
// IP addresses and other host names.
func clusterService(host string) (service, namespace string, ok bool) {
	if net.ParseIP(host) != nil {
		return "", "", false
	}
	name := strings.TrimSuffix(strings.TrimSuffix(host, "."), ".cluster.local")
	name, ok = strings.CutSuffix(name, ".svc")
	if !ok {
		return "", "", false
	}
	service, namespace, ok = strings.Cut(name, ".")
	if !ok || service == "" || namespace == "" || strings.Contains(namespace, ".") {
		return "", "", false
	}
	return service, namespace, true
}
