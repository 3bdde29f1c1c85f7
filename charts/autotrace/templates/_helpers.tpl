{{/* The prefix of every object's name: the release name when it already says
     autotrace, else <release>-autotrace. */}}
{{- define "autotrace.fullname" -}}
{{- if contains "autotrace" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-autotrace" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "autotrace.labels" -}}
app.kubernetes.io/part-of: autotrace
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: include with (list . "operator"). */}}
{{- define "autotrace.selector" -}}
app.kubernetes.io/name: autotrace-{{ index . 1 }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
{{- end -}}

{{- define "autotrace.image" -}}
{{- $root := index . 0 -}}
{{- printf "%s/%s:%s" $root.Values.image.registry (index . 1) $root.Values.image.tag -}}
{{- end -}}

{{- define "autotrace.agentImage" -}}
{{- default (include "autotrace.image" (list . "agent")) .Values.agent.image -}}
{{- end -}}

{{- define "autotrace.webhookSecret" -}}
{{ include "autotrace.fullname" . }}-webhook-tls
{{- end -}}

{{/* The namespaces no pod of which is ever sent to the webhook. */}}
{{- define "autotrace.excludedNamespaces" -}}
{{- toJson (concat .Values.excludedNamespaces (list .Release.Namespace) | uniq) -}}
{{- end -}}

{{/* Pod security shared by the operator and the webhook: non-root, no privilege. */}}
{{- define "autotrace.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: [ALL]}
{{- end -}}
