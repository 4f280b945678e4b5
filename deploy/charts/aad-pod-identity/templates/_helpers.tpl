{{/* Names, as the original chart: objects are <fullname>-mic and <fullname>-nmi, fullname cut to 59. */}}
{{- define "aad-pod-identity.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 59 | trimSuffix "-" -}}
{{- end -}}

{{- define "aad-pod-identity.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 59 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 59 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 59 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "aad-pod-identity.mic.fullname" -}}
{{- printf "%s-mic" (include "aad-pod-identity.fullname" .) -}}
{{- end -}}

{{- define "aad-pod-identity.nmi.fullname" -}}
{{- printf "%s-nmi" (include "aad-pod-identity.fullname" .) -}}
{{- end -}}

{{- define "aad-pod-identity.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "aad-pod-identity.labels" -}}
app.kubernetes.io/name: {{ include "aad-pod-identity.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "aad-pod-identity.chart" . }}
{{- end -}}

{{- define "aad-pod-identity.mic.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aad-pod-identity.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: mic
{{- end -}}

{{- define "aad-pod-identity.nmi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aad-pod-identity.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: nmi
tier: node
{{- end -}}

{{- define "aad-pod-identity.standard" -}}
{{- if eq (lower .Values.operationMode) "standard" -}}true{{- end -}}
{{- end -}}

{{- define "aad-pod-identity.managed" -}}
{{- if eq (lower .Values.operationMode) "managed" -}}true{{- end -}}
{{- end -}}

{{- define "aad-pod-identity.replication.secretName" -}}
{{- default (printf "%s-replication-tls" (include "aad-pod-identity.fullname" .)) .Values.replication.tls.existingSecret -}}
{{- end -}}

{{/* The node proxies' service-account user, the only one the replication server answers. */}}
{{- define "aad-pod-identity.nmi.user" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (ternary (include "aad-pod-identity.nmi.fullname" .) "default" .Values.rbac.enabled) -}}
{{- end -}}

{{- define "aad-pod-identity.replication.host" -}}
{{- printf "%s.%s.svc" (include "aad-pod-identity.mic.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "aad-pod-identity.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.repository .component.image .component.tag -}}
{{- end -}}

{{/* Namespace of the original MIC's Endpoints lock: where the original locked (its default: default). */}}
{{- define "aad-pod-identity.mic.legacyLockNamespace" -}}
{{- coalesce .Values.mic.legacyEndpointsLock.namespace .Values.mic.leaderElection.namespace "default" }}
{{- end }}
