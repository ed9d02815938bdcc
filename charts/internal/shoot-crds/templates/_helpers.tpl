{{- /*
metallb.crd renders a namespaced metallb.io CustomResourceDefinition. Arguments: plural, kind, version, spec (the
openAPIV3Schema of .spec, as YAML), status (whether the kind has a status subresource).
*/ -}}
{{- define "metallb.crd" -}}
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {{ .plural }}.metallb.io
spec:
  group: metallb.io
  names:
    kind: {{ .kind }}
    listKind: {{ .kind }}List
    plural: {{ .plural }}
    singular: {{ lower .kind }}
  scope: Namespaced
  versions:
  - name: {{ .version }}
    served: true
    storage: true
    {{- if .status }}
    subresources:
      status: {}
    {{- end }}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          apiVersion:
            type: string
          kind:
            type: string
          metadata:
            type: object
          spec:
{{ .spec | indent 12 }}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
{{- end -}}
