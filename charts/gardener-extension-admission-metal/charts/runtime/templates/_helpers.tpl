{{- define "name" -}}
gardener-extension-admission-metal
{{- end -}}

{{- define "labels" -}}
app.kubernetes.io/name: {{ include "name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "leaderelectionid" -}}
admission-metal-leader-election
{{- end -}}

{{- /*
webhookmode is webhookConfig.mode, by default url under gardener-operator (gardener.virtualCluster.enabled): the
virtual garden's kube-apiserver resolves a webhook's service reference among the virtual cluster's Services, where
the runtime cluster's Service of this component does not exist (gardener docs/concepts/operator.md, Extension
.spec.deployment.admission); service otherwise.
*/ -}}
{{- define "webhookmode" -}}
{{- $virtual := eq (toString ((.Values.gardener).virtualCluster).enabled) "true" -}}
{{- $mode := .Values.webhookConfig.mode | default (ternary "url" "service" $virtual) -}}
{{- if or (eq $mode "service") (eq $mode "url") -}}
{{ $mode }}
{{- else -}}
{{ fail (printf "webhookConfig.mode must be service or url, not %q" $mode) }}
{{- end -}}
{{- end -}}

{{- define "webhookurl" -}}
{{ .Values.webhookConfig.url | default (printf "%s.%s" (include "name" .) .Release.Namespace) }}
{{- end -}}
