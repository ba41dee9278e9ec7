{{/* Names, labels and shared pod fragments of the quant-platform chart. */}}

{{- define "qp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "qp.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* qp.componentName: "<fullname>-<component>"; call with (dict "root" $ "component" "x"). */}}
{{- define "qp.componentName" -}}
{{- printf "%s-%s" (include "qp.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "qp.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}

{{/* Selector labels of a component; call with (dict "root" $ "component" "x"). */}}
{{- define "qp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "qp.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of a component; call with (dict "root" $ "component" "x"). */}}
{{- define "qp.labels" -}}
{{ include "qp.selectorLabels" . }}
app.kubernetes.io/part-of: quant-platform
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
quant-platform.io/component: {{ .component }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "qp.settingsName" -}}
{{- printf "%s-settings" (include "qp.fullname" .) -}}
{{- end -}}

{{/* Pod annotation that rolls pods when the settings ConfigMap changes. */}}
{{- define "qp.settingsChecksum" -}}
checksum/settings: {{ include (print .Template.BasePath "/platform/configmap.yaml") . | sha256sum }}
{{- end -}}

{{- define "qp.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end -}}

{{- define "qp.containerSecurityContext" -}}
{{ toYaml .Values.containerSecurityContext }}
{{- end -}}

{{- define "qp.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "qp.kafkaBootstrap" -}}
{{- if .Values.kafka.strimzi.enabled -}}
{{- printf "%s-kafka-bootstrap:9092" .Values.kafka.strimzi.clusterName -}}
{{- else -}}
{{- .Values.kafka.externalBootstrapServers -}}
{{- end -}}
{{- end -}}

{{- define "qp.questdbHost" -}}
{{- if .Values.questdb.enabled -}}
{{- include "qp.componentName" (dict "root" . "component" "questdb") -}}
{{- else -}}
{{- .Values.questdb.external.host -}}
{{- end -}}
{{- end -}}

{{/*
Secret-backed env shared by every platform container: Upstox app credentials, QuestDB
and PostgreSQL logins. Values never appear in the chart; only Secret names and keys.
The Upstox access token is not an env var (no settings object has such a field, and the
sections reject unknown keys): it is the mounted file QUANT_UPSTOX__TOKEN_FILE names.
*/}}
{{- define "qp.secretEnv" -}}
- name: QUANT_UPSTOX__CLIENT_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.upstox.credentialsSecret.name }}
      key: {{ .Values.upstox.credentialsSecret.clientIdKey }}
      optional: true
- name: QUANT_UPSTOX__CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.upstox.credentialsSecret.name }}
      key: {{ .Values.upstox.credentialsSecret.clientSecretKey }}
      optional: true
- name: QUANT_QUESTDB__USER
  valueFrom:
    secretKeyRef:
      name: {{ .Values.questdb.credentialsSecret }}
      key: user
- name: QUANT_QUESTDB__PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.questdb.credentialsSecret }}
      key: password
{{ include "qp.postgresEnv" . }}
{{- end -}}

{{/* The PostgreSQL DSN (from the credentials Secret): the whole of it for an external
server, else the password composed into the in-cluster server's DSN. */}}
{{- define "qp.postgresEnv" -}}
{{- if .Values.postgres.external -}}
- name: QUANT_POSTGRES__DSN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgres.credentialsSecret }}
      key: dsn
{{- else -}}
- name: QUANT_POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgres.credentialsSecret }}
      key: password
- name: QUANT_POSTGRES__DSN
  value: {{ printf "postgresql://%s:$(QUANT_POSTGRES_PASSWORD)@%s:%d/%s" .Values.postgres.user (include "qp.componentName" (dict "root" . "component" "postgres")) (int .Values.postgres.port) .Values.postgres.database | quote }}
{{- end -}}
{{- end -}}

{{/* Rupees for a QUANT_RISK__* value: a string as written, a whole number in digits
(never 1e+06). */}}
{{- define "qp.rupees" -}}
{{- if kindIs "string" . -}}{{ . | quote }}{{- else -}}{{ . | int64 | quote }}{{- end -}}
{{- end -}}

{{- define "qp.executionSettingsName" -}}
{{- printf "%s-execution" (include "qp.fullname" .) -}}
{{- end -}}

{{/* Base URL of the execution API inside the namespace (the gateway forwards to it). */}}
{{- define "qp.executionUrl" -}}
{{- printf "http://%s:%d" (include "qp.componentName" (dict "root" . "component" "execution")) (int .Values.execution.service.port) -}}
{{- end -}}

{{/* The ConfigMap the strategy Deployment reads its strategies from (the operator writes it). */}}
{{- define "qp.strategiesConfigMap" -}}
{{- include "qp.componentName" (dict "root" . "component" "strategies") -}}
{{- end -}}

{{/* Volumes every platform pod mounts: a writable /tmp and the Upstox token Secret. */}}
{{- define "qp.platformVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
- name: upstox-token
  secret:
    secretName: {{ .Values.upstox.tokenSecret.name }}
    optional: true
{{- end -}}

{{- define "qp.platformVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: upstox-token
  mountPath: /var/run/secrets/quant-platform/upstox
  readOnly: true
{{- end -}}
