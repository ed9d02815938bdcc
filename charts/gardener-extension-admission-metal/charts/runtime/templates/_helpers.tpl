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

{{- define "webhookmode" -}}
{{- if or (eq .Values.webhookConfig.mode "service") (eq .Values.webhookConfig.mode "url") -}}
{{ .Values.webhookConfig.mode }}
{{- else -}}
{{ fail (printf "webhookConfig.mode must be service or url, not %q" .Values.webhookConfig.mode) }}
{{- end -}}
{{- end -}}

{{- define "webhookurl" -}}
{{ .Values.webhookConfig.url | default (printf "%s.%s" (include "name" .) .Release.Namespace) }}
{{- end -}}
