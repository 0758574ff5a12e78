{{- define "kotodama.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kotodama.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "kotodama.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kotodama.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kotodama.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "kotodama.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* after the generations' grace: the engine's wait for their last step, then the web server's graceful
shutdown (spring.lifecycle.timeout-per-shutdown-phase) */}}
{{- define "kotodama.engineStepSeconds" -}}10{{- end }}
{{- define "kotodama.webShutdownSeconds" -}}10{{- end }}

{{/* ONNX Runtime's threads: kotodama.threads, or the CPU request rounded up */}}
{{- define "kotodama.threads" -}}
{{- if .Values.kotodama.threads }}
{{- .Values.kotodama.threads }}
{{- else }}
{{- $cpu := toString .Values.resources.requests.cpu }}
{{- if hasSuffix "m" $cpu }}
{{- max 1 (int (ceil (divf (float64 (trimSuffix "m" $cpu)) 1000))) }}
{{- else }}
{{- max 1 (int (ceil (float64 $cpu))) }}
{{- end }}
{{- end }}
{{- end }}
