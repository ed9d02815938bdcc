{{- define "name" -}}
gardener-extension-provider-metal
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
