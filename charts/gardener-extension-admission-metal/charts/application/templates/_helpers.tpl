{{- define "name" -}}
gardener-extension-admission-metal
{{- end -}}

{{- define "labels" -}}
app.kubernetes.io/name: {{ include "name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "webhookmode" -}}
{{- if or (eq .Values.webhookConfig.mode "service") (eq .Values.webhookConfig.mode "url") -}}
{{ .Values.webhookConfig.mode }}
{{- else -}}
{{ fail (printf "webhookConfig.mode must be service or url, not %q" .Values.webhookConfig.mode) }}
{{- end -}}
{{- end -}}

{{/* clientconfig renders the clientConfig of the webhook served at the given path, as the component builds it. */}}
{{- define "clientconfig" -}}
{{- $ := index . 0 -}}
{{- $path := index . 1 -}}
clientConfig:
  {{- if eq (include "webhookmode" $) "url" }}
  url: https://{{ $.Values.webhookConfig.url | default (printf "%s.%s" (include "name" $) $.Values.webhookConfig.serviceNamespace) }}{{ $path }}
  {{- else }}
  service:
    name: {{ include "name" $ }}
    namespace: {{ $.Values.webhookConfig.serviceNamespace }}
    path: {{ $path }}
    port: {{ $.Values.webhookConfig.servicePort }}
  {{- end }}
  {{- with $.Values.webhookConfig.caBundle }}
  caBundle: {{ b64enc . }}
  {{- end }}
{{- end -}}

{{- define "webhookdefaults" -}}
admissionReviewVersions:
- v1
- v1beta1
failurePolicy: Fail
matchPolicy: Exact
sideEffects: None
timeoutSeconds: 10
{{- end -}}
