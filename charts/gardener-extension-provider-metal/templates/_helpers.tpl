{{/* runtime is "true" in a namespace of gardener-operator's runtime-cluster deployments, where the extension only
serves the garden's DNSRecords; the extension then suffixes its webhook names with -runtime, and so does the chart. */}}
{{- define "runtime" -}}
{{ hasPrefix "runtime-extension-" .Release.Namespace }}
{{- end -}}

{{- define "name" -}}
gardener-extension-provider-metal{{ if eq (include "runtime" .) "true" }}-runtime{{ end }}
{{- end -}}

{{- define "labels" -}}
app.kubernetes.io/name: {{ include "name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "leaderelectionid" -}}
provider-metal-leader-election
{{- end -}}

{{- define "config" -}}
apiVersion: metal.provider.extensions.config.gardener.cloud/v1alpha1
kind: ControllerConfiguration
{{ toYaml .Values.config }}
{{- end -}}

{{- define "imagevector-overwrite" -}}
{{ toYaml .Values.imageVectorOverwrite }}
{{- end -}}
