// Package helm writes a Helm chart directory for an exported package:
// Chart.yaml, values.yaml (the original exporter's keys) and templates
// that render the Habitat operator's resource, or with Plain a
// Deployment (a StatefulSet for the leader topology) and a Service.
package helm

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"sigs.k8s.io/yaml"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/exporters/kubernetes"
)

// Chart is Chart.yaml's information (--chart, --version, --desc, ...).
type Chart struct {
	Name        string   // --chart; the package name when empty
	Version     string   // --version; the package version when it is X.Y.Z, else 0.0.1
	Description string   // --desc
	Keywords    []string // --keyword
	Home        string
	Icon        string
	Sources     []string
	Maintainers []Maintainer
	Deprecated  bool
}

// Maintainer is --maint NAME[,EMAIL[,URL]].
type Maintainer struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

type chartFile struct {
	APIVersion  string       `json:"apiVersion"`
	Name        string       `json:"name"`
	Version     string       `json:"version"`
	AppVersion  string       `json:"appVersion"`
	Description string       `json:"description,omitempty"`
	Type        string       `json:"type"`
	Keywords    []string     `json:"keywords,omitempty"`
	Home        string       `json:"home,omitempty"`
	Icon        string       `json:"icon,omitempty"`
	Sources     []string     `json:"sources,omitempty"`
	Maintainers []Maintainer `json:"maintainers,omitempty"`
	Deprecated  bool         `json:"deprecated,omitempty"`
}

var semver = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// Write writes the chart of package id into outDir/NAME and returns the
// chart directory. An existing chart directory is replaced whole.
func Write(outDir string, id ident.Ident, c Chart, o kubernetes.Options, plain bool) (string, error) {
	if err := o.Complete(id); err != nil {
		return "", err
	}
	if c.Name == "" {
		c.Name = id.Name
	}
	if c.Version == "" {
		c.Version = "0.0.1"
		if semver.MatchString(id.Version) {
			c.Version = id.Version
		}
	}
	cf := chartFile{APIVersion: "v2", Name: c.Name, Version: c.Version, AppVersion: id.Version + "-" + id.Release, Type: "application",
		Description: c.Description, Keywords: c.Keywords, Home: c.Home, Icon: c.Icon, Sources: c.Sources, Maintainers: c.Maintainers, Deprecated: c.Deprecated}
	chartYAML, err := yaml.Marshal(cf)
	if err != nil {
		return "", err
	}
	files := map[string][]byte{
		"Chart.yaml":  chartYAML,
		"values.yaml": values(id, o),
	}
	if plain {
		files["templates/workload.yaml"] = []byte(plainTemplate)
	} else {
		files["templates/habitat.yaml"] = []byte(operatorTemplate)
	}
	dir := filepath.Join(outDir, c.Name)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("chart %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(outDir, "."+c.Name+".*")
	if err != nil {
		return "", fmt.Errorf("chart %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)
	for name, data := range files {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("chart %s: %w", dir, err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", fmt.Errorf("chart %s: write %s: %w", dir, name, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("chart %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("chart %s: %w", dir, err)
	}
	return dir, nil
}

// values is values.yaml: one quoted `key: "value"` line per setting, with
// the original's keys.
func values(id ident.Ident, o kubernetes.Options) []byte {
	var b bytes.Buffer
	kv := func(k, v string) { fmt.Fprintf(&b, "%s: %s\n", k, strconv.Quote(v)) }
	kv("metadataName", o.Name)
	kv("serviceName", id.Name)
	kv("imageName", o.Image)
	fmt.Fprintf(&b, "instanceCount: %d\n", o.Count)
	kv("serviceTopology", o.Topology)
	if o.Group != "" {
		kv("serviceGroup", o.Group)
	}
	if o.Config != nil {
		kv("config", base64.StdEncoding.EncodeToString(o.Config))
	}
	if o.RingSecretName != "" {
		kv("ringSecretName", o.RingSecretName)
	}
	if s := o.Storage; s != nil {
		kv("persistentStorageSize", s.Size)
		kv("persistentStoragePath", s.MountPath)
		kv("persistentStorageClass", s.StorageClass)
	}
	for i, bd := range o.Binds {
		kv("bindName"+strconv.Itoa(i), bd.Name)
		kv("bindService"+strconv.Itoa(i), bd.Service)
		kv("bindGroup"+strconv.Itoa(i), bd.Group)
	}
	for i, e := range o.Env {
		kv("envName"+strconv.Itoa(i), e.Name)
		kv("envValue"+strconv.Itoa(i), e.Value)
	}
	fmt.Fprintf(&b, "binds: %d\nenvs: %d\n", len(o.Binds), len(o.Env))
	b.WriteString("servicePorts: [")
	for i, p := range o.Ports {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d", p)
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// The binds and variables are numbered keys, as the original's values.
const bindsAndEnv = `{{- define "habitat.env" }}
{{- range $i, $_ := until (int .Values.envs) }}
- name: {{ index $.Values (printf "envName%d" $i) | quote }}
  value: {{ index $.Values (printf "envValue%d" $i) | quote }}
{{- end }}
{{- end }}
`

// configSecret is the Secret holding the user.toml, when there is one.
const configSecret = `{{- if .Values.config }}
apiVersion: v1
kind: Secret
metadata:
  name: user-toml-secret
type: Opaque
data:
  user.toml: {{ .Values.config | quote }}
---
{{- end }}
`

const operatorTemplate = bindsAndEnv + configSecret + `apiVersion: habitat.sh/v1beta1
kind: Habitat
customVersion: v1beta2
metadata:
  name: {{ .Values.metadataName | quote }}
spec:
  v1beta2:
    image: {{ .Values.imageName | quote }}
    count: {{ .Values.instanceCount }}
    {{- if gt (int .Values.envs) 0 }}
    env:
      {{- include "habitat.env" . | indent 6 }}
    {{- end }}
    {{- if .Values.persistentStorageSize }}
    persistentStorage:
      size: {{ .Values.persistentStorageSize | quote }}
      storageClassName: {{ .Values.persistentStorageClass | quote }}
      mountPath: {{ .Values.persistentStoragePath | quote }}
    {{- end }}
    service:
      name: {{ .Values.serviceName | quote }}
      topology: {{ .Values.serviceTopology | quote }}
      {{- if .Values.serviceGroup }}
      group: {{ .Values.serviceGroup | quote }}
      {{- end }}
      {{- if .Values.config }}
      configSecretName: user-toml-secret
      {{- end }}
      {{- if .Values.ringSecretName }}
      ringSecretName: {{ .Values.ringSecretName | quote }}
      {{- end }}
      {{- if gt (int .Values.binds) 0 }}
      bind:
      {{- range $i, $_ := until (int .Values.binds) }}
      - name: {{ index $.Values (printf "bindName%d" $i) | quote }}
        service: {{ index $.Values (printf "bindService%d" $i) | quote }}
        group: {{ index $.Values (printf "bindGroup%d" $i) | quote }}
      {{- end }}
      {{- end }}
`

const plainTemplate = bindsAndEnv + `{{- $stateful := or (eq .Values.serviceTopology "leader") .Values.persistentStorageSize }}
` + configSecret + `apiVersion: apps/v1
kind: {{ if $stateful }}StatefulSet{{ else }}Deployment{{ end }}
metadata:
  name: {{ .Values.metadataName | quote }}
  labels:
    app.kubernetes.io/name: {{ .Values.serviceName | quote }}
    habitat.sh/name: {{ .Values.metadataName | quote }}
spec:
  replicas: {{ .Values.instanceCount }}
  {{- if $stateful }}
  serviceName: {{ .Values.metadataName | quote }}
  podManagementPolicy: Parallel
  {{- end }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Values.serviceName | quote }}
      habitat.sh/name: {{ .Values.metadataName | quote }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .Values.serviceName | quote }}
        habitat.sh/name: {{ .Values.metadataName | quote }}
    spec:
      containers:
      - name: {{ .Values.serviceName | quote }}
        image: {{ .Values.imageName | quote }}
        args:
        - --topology
        - {{ .Values.serviceTopology | quote }}
        {{- if .Values.serviceGroup }}
        - --group
        - {{ .Values.serviceGroup | quote }}
        {{- end }}
        {{- range $i, $_ := until (int .Values.binds) }}
        - --bind
        - {{ printf "%s:%s.%s" (index $.Values (printf "bindName%d" $i)) (index $.Values (printf "bindService%d" $i)) (index $.Values (printf "bindGroup%d" $i)) | quote }}
        {{- end }}
        {{- if $stateful }}
        - --peer
        - {{ printf "%s-0.%s" .Values.metadataName .Values.metadataName | quote }}
        {{- end }}
        ports:
        - name: http-gateway
          containerPort: 9631
        - name: gossip
          containerPort: 9638
        {{- range .Values.servicePorts }}
        - name: {{ printf "port-%d" (int .) | quote }}
          containerPort: {{ . }}
        {{- end }}
        {{- if gt (int .Values.envs) 0 }}
        env:
          {{- include "habitat.env" . | indent 10 }}
        {{- end }}
        volumeMounts:
        {{- if .Values.config }}
        - name: config
          mountPath: {{ printf "/hab/user/%s/config" .Values.serviceName | quote }}
          readOnly: true
        {{- end }}
        {{- if .Values.ringSecretName }}
        - name: ring-key
          mountPath: /hab/cache/keys
          readOnly: true
        {{- end }}
        {{- if .Values.persistentStorageSize }}
        - name: persistent
          mountPath: {{ .Values.persistentStoragePath | quote }}
        {{- end }}
      volumes:
      {{- if .Values.config }}
      - name: config
        secret:
          secretName: user-toml-secret
      {{- end }}
      {{- if .Values.ringSecretName }}
      - name: ring-key
        secret:
          secretName: {{ .Values.ringSecretName | quote }}
      {{- end }}
  {{- if .Values.persistentStorageSize }}
  volumeClaimTemplates:
  - metadata:
      name: persistent
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: {{ .Values.persistentStorageClass | quote }}
      resources:
        requests:
          storage: {{ .Values.persistentStorageSize | quote }}
  {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Values.metadataName | quote }}
  labels:
    app.kubernetes.io/name: {{ .Values.serviceName | quote }}
    habitat.sh/name: {{ .Values.metadataName | quote }}
spec:
  {{- if $stateful }}
  clusterIP: None
  publishNotReadyAddresses: true
  {{- end }}
  selector:
    app.kubernetes.io/name: {{ .Values.serviceName | quote }}
    habitat.sh/name: {{ .Values.metadataName | quote }}
  ports:
  - name: http-gateway
    port: 9631
    targetPort: 9631
  - name: gossip
    port: 9638
    targetPort: 9638
  {{- range .Values.servicePorts }}
  - name: {{ printf "port-%d" (int .) | quote }}
    port: {{ . }}
    targetPort: {{ . }}
  {{- end }}
`
