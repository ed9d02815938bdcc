{{- define "name" -}}
gardener-extension-admission-metal
{{- end -}}

{{- define "labels" -}}
app.kubernetes.io/name: {{ include "name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
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

{{- /* webhookdefaults renders the settings every webhook shares; a dict may set failurePolicy (default Fail). */ -}}
{{- define "webhookdefaults" -}}
admissionReviewVersions:
- v1
- v1beta1
failurePolicy: {{ .failurePolicy | default "Fail" }}
matchPolicy: Exact
sideEffects: None
timeoutSeconds: 10
{{- end -}}
