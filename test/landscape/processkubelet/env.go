package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
)

// objects reads the Secrets and ConfigMaps that pods refer to.
type objects interface {
	secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	configMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
}

// podFacts is what the downward API can tell about a pod beyond its object.
type podFacts struct {
	pod      *corev1.Pod
	podIP    string
	hostIP   string
	capacity corev1.ResourceList
}

// containerEnv builds a container's environment as the kubelet does (kubelet_pods.go,
// makeEnvironmentVariables): envFrom first, then env in order, where a literal value may refer to the variables
// defined before it and to the service variables with $(VAR); then the service variables that are not set yet.
// base (PATH, HOME, HOSTNAME, like an image's and the runtime's defaults) applies below all of them.
func containerEnv(ctx context.Context, obj objects, facts podFacts, c *corev1.Container, serviceEnv, base map[string]string) (map[string]string, error) {
	ns := facts.pod.Namespace
	env := map[string]string{}
	mapping := mappingFor(env, serviceEnv)
	for _, from := range c.EnvFrom {
		data, err := envFromData(ctx, obj, ns, from)
		if err != nil {
			return nil, err
		}
		for k, v := range data {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		value := e.Value
		switch {
		case value != "":
			value = expand(value, mapping)
		case e.ValueFrom != nil:
			var err error
			if value, err = envValueFrom(ctx, obj, facts, c, e.ValueFrom); err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
		}
		env[e.Name] = value
	}
	for k, v := range serviceEnv {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	for k, v := range base {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	return env, nil
}

func envFromData(ctx context.Context, obj objects, ns string, from corev1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := obj.configMap(ctx, ns, from.ConfigMapRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(from.ConfigMapRef.Optional) {
				return nil, nil
			}
			return nil, fmt.Errorf("envFrom configMap %s: %w", from.ConfigMapRef.Name, err)
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		s, err := obj.secret(ctx, ns, from.SecretRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(from.SecretRef.Optional) {
				return nil, nil
			}
			return nil, fmt.Errorf("envFrom secret %s: %w", from.SecretRef.Name, err)
		}
		data := map[string]string{}
		for k, v := range s.Data {
			data[k] = string(v)
		}
		return data, nil
	}
	return nil, nil
}

func optional(b *bool) bool { return b != nil && *b }

func envValueFrom(ctx context.Context, obj objects, facts podFacts, c *corev1.Container, from *corev1.EnvVarSource) (string, error) {
	ns := facts.pod.Namespace
	switch {
	case from.FieldRef != nil:
		return fieldValue(facts, from.FieldRef.FieldPath)
	case from.ResourceFieldRef != nil:
		return resourceValue(facts, c, from.ResourceFieldRef)
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := obj.configMap(ctx, ns, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(ref.Optional) {
				return "", nil
			}
			return "", fmt.Errorf("configMap %s: %w", ref.Name, err)
		}
		v, ok := cm.Data[ref.Key]
		if !ok && !optional(ref.Optional) {
			return "", fmt.Errorf("configMap %s has no key %s", ref.Name, ref.Key)
		}
		return v, nil
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		s, err := obj.secret(ctx, ns, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(ref.Optional) {
				return "", nil
			}
			return "", fmt.Errorf("secret %s: %w", ref.Name, err)
		}
		v, ok := s.Data[ref.Key]
		if !ok && !optional(ref.Optional) {
			return "", fmt.Errorf("secret %s has no key %s", ref.Name, ref.Key)
		}
		return string(v), nil
	}
	return "", fmt.Errorf("unsupported valueFrom")
}

// fieldValue resolves a downward-API field path (k8s.io/kubernetes pkg/fieldpath ExtractFieldPathAsString and
// the kubelet's podFieldSelectorRuntimeValue).
func fieldValue(facts podFacts, path string) (string, error) {
	pod := facts.pod
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return facts.podIP, nil
	case "status.hostIP", "status.hostIPs":
		return facts.hostIP, nil
	}
	return "", fmt.Errorf("unsupported fieldPath %q", path)
}

// subscript parses prefix['key'].
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

// formatMap renders labels or annotations as the downward API does: key="value" lines sorted by key.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, m[k])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// resourceValue resolves a resourceFieldRef; a missing limit falls back to the node's capacity as on a kubelet.
func resourceValue(facts podFacts, c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	if ref.ContainerName != "" {
		c = nil
		for i := range facts.pod.Spec.Containers {
			if facts.pod.Spec.Containers[i].Name == ref.ContainerName {
				c = &facts.pod.Spec.Containers[i]
			}
		}
		if c == nil {
			return "", fmt.Errorf("resourceFieldRef: no container %s", ref.ContainerName)
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok {
		return "", fmt.Errorf("unsupported resource %q", ref.Resource)
	}
	list := c.Resources.Limits
	if kind == "requests" {
		list = c.Resources.Requests
	}
	q, ok := list[corev1.ResourceName(name)]
	if !ok {
		q = facts.capacity[corev1.ResourceName(name)]
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == string(corev1.ResourceCPU) {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}

// envList renders an environment map as KEY=VALUE entries sorted by key.
func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}
