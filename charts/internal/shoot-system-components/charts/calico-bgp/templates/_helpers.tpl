{{- define "calico-bgp.cidrs" -}}
{{- range . }}
- cidr: {{ . | quote }}
{{- end }}
{{- end -}}

{{- define "calico-bgp.rules" -}}
{{- range . }}
- cidr: {{ .cidr | quote }}
  matchOperator: {{ .matchOperator }}
  action: {{ .action }}
{{- end }}
{{- end -}}
