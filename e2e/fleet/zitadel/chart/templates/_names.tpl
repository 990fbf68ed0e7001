{{- define "zitadel.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name }}{{ else }}{{ printf "%s-%s" .Release.Name .Chart.Name }}{{ end -}}
{{- end }}
{{- define "zitadel.labels" -}}
app.kubernetes.io/name: zitadel
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
