{{- define "metallb.namespace" -}}
metallb-system
{{- end -}}
