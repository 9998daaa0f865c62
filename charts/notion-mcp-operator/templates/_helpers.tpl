{{/* Chart name, truncated to 63 characters. */}}
{{- define "notion-mcp-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already contains the chart name. */}}
{{- define "notion-mcp-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "notion-mcp-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "notion-mcp-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "notion-mcp-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "notion-mcp-operator.commonLabels" -}}
helm.sh/chart: {{ include "notion-mcp-operator.chart" . }}
{{ include "notion-mcp-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "notion-mcp-operator.labels" -}}
{{ include "notion-mcp-operator.commonLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "notion-mcp-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "notion-mcp-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: repository@digest, else repository:tag (tag defaults to the appVersion). */}}
{{- define "notion-mcp-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Rules the operator needs where NotionMcpRemote resources live, derived from operator/src:
- notionmcpremotes: list+watch (controller), patch (finalizer merge patch); status: patch (server-side apply).
  No notionmcpremotes/finalizers: the operator sets no blockOwnerDeletion on owner references.
- children: list+watch (.owns() watches), create+patch (server-side apply; an apply that creates is authorized
  as create), delete (pruning children no longer rendered). No get: observed state comes from lists.
- secrets: get (referenced Secrets), list+watch (metadata watch, grant counting), create+patch (generated key
  Secret, grant adoption). update and delete are not used by the operator itself, but the Role it creates for
  each server grants them, and Kubernetes only lets it grant permissions it holds.
- servicemonitors and prometheusrules: like the children above but not watched (created only when their CRDs
  are served at start-up; the dashboard ConfigMap is covered by configmaps).
- events.k8s.io events: create, patch (event series).
*/}}
{{- define "notion-mcp-operator.rules" -}}
- apiGroups: [notionmcp.dev]
  resources: [notionmcpremotes]
  verbs: [list, watch, patch]
- apiGroups: [notionmcp.dev]
  resources: [notionmcpremotes/status]
  verbs: [patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [""]
  resources: [configmaps, persistentvolumeclaims, services, serviceaccounts]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [ingresses, networkpolicies]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [list, watch, create, patch, delete]
{{- if .Values.rbac.serviceMonitors }}
- apiGroups: [monitoring.coreos.com]
  resources: [servicemonitors]
  verbs: [list, create, patch, delete]
{{- end }}
{{- if .Values.rbac.prometheusRules }}
- apiGroups: [monitoring.coreos.com]
  resources: [prometheusrules]
  verbs: [list, create, patch, delete]
{{- end }}
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}
