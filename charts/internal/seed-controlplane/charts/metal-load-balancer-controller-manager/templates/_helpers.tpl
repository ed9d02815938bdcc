{{- define "metal-load-balancer-controller-manager.labels" -}}
app: kubernetes
role: metal-load-balancer-controller-manager
{{- end -}}
