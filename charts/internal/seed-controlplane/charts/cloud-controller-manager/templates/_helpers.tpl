{{- define "cloud-controller-manager.labels" -}}
app: kubernetes
role: cloud-controller-manager
{{- end -}}

{{- define "cloud-controller-manager.featureGates" -}}
{{- if .Values.featureGates }}
{{- $gates := list }}
{{- range $name, $enabled := .Values.featureGates }}
{{- $gates = append $gates (printf "%s=%t" $name $enabled) }}
{{- end }}
- --feature-gates={{ join "," $gates }}
{{- end }}
{{- end -}}
