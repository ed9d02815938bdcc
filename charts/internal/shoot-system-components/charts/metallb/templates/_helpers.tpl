{{- /* MetalLB runs in the shoot's kube-system, not in upstream's metallb-system: the shoot's
gardener-resource-manager applies objects only in the namespaces of its target cache (kube-system,
kubernetes-dashboard, kube-node-lease) and fails on any other with "unknown namespace for the cache". */ -}}
{{- define "metallb.namespace" -}}
kube-system
{{- end -}}
