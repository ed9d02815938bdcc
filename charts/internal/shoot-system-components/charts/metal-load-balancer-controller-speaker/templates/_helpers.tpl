{{- define "metal-load-balancer-controller-speaker.labels" -}}
app.kubernetes.io/name: metal-load-balancer-controller-speaker
app.kubernetes.io/component: speaker
{{- end -}}
