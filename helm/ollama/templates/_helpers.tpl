{{/*
This file is the same in helm/vllm, helm/tgi and helm/ollama (test/helm
checks it byte for byte): in the llmbench-engines umbrella every template
shares one namespace, so the three copies must agree. Engine-specific
parts live in each chart's deployment.yaml and tests/.

Shared settings (the model, GPUs, placement, the Hugging Face token) live
under `global:`, so the umbrella sets them once for the three engines; an
engine's own `model:` and `gpu:` keys, when set, win over `global.model`
and `global.gpu`.
*/}}

{{/* Expand the name of the chart. */}}
{{- define "llmbench.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, truncated at 63 characters (DNS names). A release
name that already contains the chart name is used as it is.
*/}}
{{- define "llmbench.fullname" -}}
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

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "llmbench.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The engine: vllm, tgi or ollama. kubectl llmbench discovery trusts the
llmbench.io/engine label on Services and Pods before anything else
(pkg/cluster/engine.go).
*/}}
{{- define "llmbench.engine" -}}
{{- .Chart.Name }}
{{- end }}

{{/* Selector labels: the test Pod has another component, so Services never select it. */}}
{{- define "llmbench.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llmbench.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: serving-engine
{{- end }}

{{/* Labels of every engine object: Deployment, Pods, Service, Route, Ingress, PVC. */}}
{{- define "llmbench.labels" -}}
helm.sh/chart: {{ include "llmbench.chart" . }}
{{ include "llmbench.selectorLabels" . }}
app.kubernetes.io/version: {{ include "llmbench.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: llmbench
llmbench.io/engine: {{ include "llmbench.engine" . }}
{{- end }}

{{/* Labels of the helm test Pod: no llmbench.io/engine, another component. */}}
{{- define "llmbench.testLabels" -}}
helm.sh/chart: {{ include "llmbench.chart" . }}
app.kubernetes.io/name: {{ include "llmbench.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
app.kubernetes.io/version: {{ include "llmbench.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: llmbench
{{- end }}

{{/* The engine version: the image tag, which defaults to appVersion. */}}
{{- define "llmbench.version" -}}
{{- .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "llmbench.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
set overlays the keys of $over that are set (not null, not "") on a copy
of $base; both are maps. Returns YAML: use with fromYaml.
*/}}
{{- define "llmbench.overlay" -}}
{{- $out := deepCopy (index . 0 | default dict) }}
{{- range $k, $v := (index . 1 | default dict) }}
{{- if not (or (kindIs "invalid" $v) (eq (toString $v) "")) }}
{{- $_ := set $out $k $v }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* The model this engine serves: global.model, overridden key by key by model. */}}
{{- define "llmbench.model" -}}
{{- include "llmbench.overlay" (list (dig "model" dict .Values.global) .Values.model) }}
{{- end }}

{{/* The GPUs: global.gpu, overridden key by key by gpu. */}}
{{- define "llmbench.gpu" -}}
{{- include "llmbench.overlay" (list (dig "gpu" dict .Values.global) .Values.gpu) }}
{{- end }}

{{/*
resources with the GPUs in both requests and limits, equal: an extended
resource cannot be overcommitted, and kubectl llmbench validate fails an
engine whose GPU requests and limits differ.
*/}}
{{- define "llmbench.resources" -}}
{{- $gpu := include "llmbench.gpu" . | fromYaml }}
{{- $r := deepCopy (.Values.resources | default dict) }}
{{- $count := int (get $gpu "count" | default 0) }}
{{- if gt $count 0 }}
{{- $name := get $gpu "resource" | default "nvidia.com/gpu" }}
{{- $requests := get $r "requests" | default dict }}
{{- $limits := get $r "limits" | default dict }}
{{- $_ := set $requests $name $count }}
{{- $_ := set $limits $name $count }}
{{- $_ := set $r "requests" $requests }}
{{- $_ := set $r "limits" $limits }}
{{- end }}
{{- toYaml $r }}
{{- end }}

{{/*
affinity: the engine's own affinity plus pod anti-affinity against every
llmbench engine Pod in the namespace (llmbench.io/engine exists, part-of
llmbench), on global.antiAffinity.topologyKey (a node by default), so two
engines, or two replicas of one, never share a GPU node and never compete
for its CPUs, memory bandwidth and PCIe. mode: required (default),
preferred, or none.
*/}}
{{- define "llmbench.affinity" -}}
{{- $anti := dig "antiAffinity" dict .Values.global }}
{{- $mode := get $anti "mode" | default "required" }}
{{- $aff := deepCopy (.Values.affinity | default dict) }}
{{- if ne $mode "none" }}
{{- $selector := dict "matchExpressions" (list (dict "key" "llmbench.io/engine" "operator" "Exists") (dict "key" "app.kubernetes.io/part-of" "operator" "In" "values" (list "llmbench"))) }}
{{- $term := dict "labelSelector" $selector "topologyKey" (get $anti "topologyKey" | default "kubernetes.io/hostname") }}
{{- $pa := get $aff "podAntiAffinity" | default dict }}
{{- if eq $mode "required" }}
{{- $_ := set $pa "requiredDuringSchedulingIgnoredDuringExecution" (append (get $pa "requiredDuringSchedulingIgnoredDuringExecution" | default list) $term) }}
{{- else }}
{{- $_ := set $pa "preferredDuringSchedulingIgnoredDuringExecution" (append (get $pa "preferredDuringSchedulingIgnoredDuringExecution" | default list) (dict "weight" 100 "podAffinityTerm" $term)) }}
{{- end }}
{{- $_ := set $aff "podAntiAffinity" $pa }}
{{- end }}
{{- if $aff }}
{{- toYaml $aff }}
{{- end }}
{{- end }}

{{/*
The Pod spec fields every engine shares: placement (global, then the
engine's own), runtime class, pull secrets, security context. Service links
are off: a Service named vllm would otherwise put VLLM_PORT=tcp://… into
the environment, which vLLM reads as its own port setting and fails on.
*/}}
{{- define "llmbench.podSpec" -}}
{{- $runtimeClass := .Values.runtimeClassName | default (dig "runtimeClassName" "" .Values.global) }}
{{- $nodeSelector := merge (deepCopy (.Values.nodeSelector | default dict)) (deepCopy (dig "nodeSelector" dict .Values.global)) }}
{{- $tolerations := concat (dig "tolerations" list .Values.global) (.Values.tolerations | default list) -}}
enableServiceLinks: false
automountServiceAccountToken: false
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $runtimeClass }}
runtimeClassName: {{ . }}
{{- end }}
{{- with $nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with include "llmbench.affinity" . }}
affinity:
  {{- . | nindent 2 }}
{{- end }}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Pod annotations: the engine's own plus, where it has /metrics, Prometheus' scrape hints. */}}
{{- define "llmbench.podAnnotations" -}}
{{- $a := deepCopy (.Values.podAnnotations | default dict) }}
{{- if and .Values.metrics .Values.metrics.podAnnotations }}
{{- $_ := set $a "prometheus.io/scrape" "true" }}
{{- $_ := set $a "prometheus.io/port" (toString .Values.containerPort) }}
{{- $_ := set $a "prometheus.io/path" "/metrics" }}
{{- end }}
{{- if $a }}
{{- toYaml $a }}
{{- end }}
{{- end }}

{{/* The Hugging Face token, from an existing Secret: never a value in values. */}}
{{- define "llmbench.hfTokenEnv" -}}
{{- $t := dig "hfToken" dict .Values.global }}
{{- with get $t "secretName" -}}
- name: HF_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ get $t "secretKey" | default "token" }}
{{- end }}
{{- end }}

{{/*
Probes on the engine's named port. Startup is generous (download and load
of the model: 30 minutes by default); liveness only starts after it.
*/}}
{{- define "llmbench.probes" -}}
{{- $out := dict }}
{{- range $kind := list "startup" "readiness" "liveness" }}
{{- $p := get $.Values.probes $kind | default dict }}
{{- if get $p "enabled" }}
{{- $_ := set $out (printf "%sProbe" $kind) (merge (dict "httpGet" (dict "path" (get $p "path") "port" "http")) (omit $p "enabled" "path")) }}
{{- end }}
{{- end }}
{{- with $out }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/* /dev/shm in memory (NCCL and PyTorch workers use it) and the model cache. */}}
{{- define "llmbench.volumes" -}}
- name: shm
  emptyDir:
    medium: Memory
    {{- with .Values.shm.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
- name: model-cache
  {{- if eq .Values.modelCache.type "pvc" }}
  persistentVolumeClaim:
    claimName: {{ .Values.modelCache.existingClaim | default (printf "%s-cache" (include "llmbench.fullname" .)) }}
  {{- else }}
  emptyDir:
    {{- with .Values.modelCache.size }}
    sizeLimit: {{ . }}
    {{- end }}
  {{- end }}
{{- end }}
