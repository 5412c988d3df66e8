{{/* Chart label value: name-version */}}
{{- define "majlis.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels common to every object. */}}
{{- define "majlis.commonLabels" -}}
helm.sh/chart: {{ include "majlis.chart" . }}
app.kubernetes.io/part-of: majlis
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Selector labels of one workload. Call with (dict "root" $ "name" $name). */}}
{{- define "majlis.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* All labels of one workload (a superset of its selector labels).
     Call with (dict "root" $ "name" $name "component" $component). */}}
{{- define "majlis.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/component: {{ .component }}
{{ include "majlis.commonLabels" .root }}
{{- end -}}

{{/* Image of one workload. Call with (dict "root" $ "name" $name "svc" $svc). */}}
{{- define "majlis.image" -}}
{{- $img := .svc.image | default dict -}}
{{- $repo := $img.repository | default (printf "%s/%s" .root.Values.image.registry .name) -}}
{{- $tag := $img.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}

{{/* Name of the Secret with database-url, redis-url, token-signing-key and the service keys. */}}
{{- define "majlis.secretName" -}}
{{- .Values.secret.existingSecret | default "majlis-secrets" -}}
{{- end -}}

{{/* env entries read from the Secret. Call with (dict "root" $ "database" bool
     "serviceKey" bool "tokenSigningKey" bool "name" $name), or with
     (dict "root" $ "migrate" true) for the migration, which reads the
     database settings only. */}}
{{- define "majlis.secretEnv" -}}
{{- if or .database .migrate }}
- name: MAJLIS_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "majlis.secretName" .root }}
      key: database-url
{{- end }}
{{- if not .migrate }}
- name: MAJLIS_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "majlis.secretName" .root }}
      key: redis-url
{{- end }}
{{- if .tokenSigningKey }}
- name: MAJLIS_TOKEN_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "majlis.secretName" .root }}
      key: token-signing-key
{{- end }}
{{- if .serviceKey }}
- name: MAJLIS_SERVICE_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "majlis.secretName" .root }}
      key: service-key-{{ .name }}
{{- end }}
{{- end -}}

{{/* The gRPC URL of a service by name, e.g. http://auth-svc:9101. */}}
{{- define "majlis.grpcUrl" -}}
{{- $svc := index .root.Values.services .name -}}
{{- printf "http://%s:%v" .name $svc.grpcPort -}}
{{- end -}}
