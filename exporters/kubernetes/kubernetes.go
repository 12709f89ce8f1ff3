// Package kubernetes writes Kubernetes manifests for an exported package:
// the Habitat operator's custom resource (habitat.sh/v1beta1, kind
// Habitat, with the original exporter's fields), or, with Plain, standard
// objects (a Deployment, or a StatefulSet for the leader topology, and a
// Service) that need no operator. Everything is built from typed objects
// and serialised with sigs.k8s.io/yaml.
package kubernetes

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/habgo/hab/core/ident"
)

// Topologies of a service group.
const (
	Standalone = "standalone"
	Leader     = "leader"
)

// ConfigSecretName is the Secret holding the user.toml (--config).
const ConfigSecretName = "user-toml-secret"

// Env is one --env NAME=VALUE.
type Env struct{ Name, Value string }

// Bind is one --bind name:service.group.
type Bind struct{ Name, Service, Group string }

// Storage is --storage SIZE:PATH:CLASS.
type Storage struct{ Size, MountPath, StorageClass string }

// Options are the exporter's flags.
type Options struct {
	Name           string // --k8s-name; NAME-VERSION-RELEASE when empty
	Image          string // the image reference
	Count          int    // --count (1 when 0)
	Topology       string // --topology
	Group          string // --service-group
	Config         []byte // the --config user.toml, nil when none
	Env            []Env
	Storage        *Storage
	RingSecretName string
	Binds          []Bind
	// Ports are the service's exposed ports (EXPOSES), for Plain.
	Ports []int32
}

// ParseBind parses name:service.group.
func ParseBind(s string) (Bind, error) {
	name, sg, ok := strings.Cut(s, ":")
	svc, group, ok2 := strings.Cut(sg, ".")
	if !ok || !ok2 || name == "" || svc == "" || group == "" {
		return Bind{}, fmt.Errorf("bind %q: want NAME:SERVICE.GROUP", s)
	}
	return Bind{name, svc, group}, nil
}

// ParseEnv parses NAME=VALUE.
func ParseEnv(s string) (Env, error) {
	n, v, ok := strings.Cut(s, "=")
	if !ok || n == "" {
		return Env{}, fmt.Errorf("environment variable %q: want NAME=VALUE", s)
	}
	return Env{n, v}, nil
}

// ParseStorage parses SIZE:PATH:CLASS (a Kubernetes quantity, an absolute
// path, a storage class).
func ParseStorage(s string) (*Storage, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[2] == "" {
		return nil, fmt.Errorf("storage %q: want SIZE:PATH:STORAGE_CLASS", s)
	}
	if _, err := resource.ParseQuantity(parts[0]); err != nil {
		return nil, fmt.Errorf("storage %q: size %q: %w", s, parts[0], err)
	}
	if !path.IsAbs(parts[1]) {
		return nil, fmt.Errorf("storage %q: the mount path %q is not absolute", s, parts[1])
	}
	return &Storage{parts[0], parts[1], parts[2]}, nil
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// DefaultName is the original's metadata name: NAME-VERSION-RELEASE with
// dots turned into dashes (lowercased, for Kubernetes).
func DefaultName(id ident.Ident) string {
	n := id.Name + "-" + id.Version + "-" + id.Release
	return strings.Trim(notDNS.ReplaceAllString(strings.ToLower(strings.ReplaceAll(n, ".", "-")), "-"), "-")
}

// The operator's custom resource, as habitat-operator's v1beta1 types
// (with the v1beta2 spec the original's exporter writes).
type Habitat struct {
	metav1.TypeMeta   `json:",inline"`
	CustomVersion     string `json:"customVersion"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              HabitatSpec `json:"spec"`
}

type HabitatSpec struct {
	V1beta2 *SpecV1beta2 `json:"v1beta2"`
}

type SpecV1beta2 struct {
	Image             string             `json:"image"`
	Count             int                `json:"count"`
	Service           Service            `json:"service"`
	Env               []corev1.EnvVar    `json:"env,omitempty"`
	PersistentStorage *PersistentStorage `json:"persistentStorage,omitempty"`
}

type PersistentStorage struct {
	Size             string `json:"size"`
	StorageClassName string `json:"storageClassName"`
	MountPath        string `json:"mountPath"`
}

type Service struct {
	Name             string        `json:"name"`
	Topology         string        `json:"topology"`
	Group            string        `json:"group,omitempty"`
	ConfigSecretName string        `json:"configSecretName,omitempty"`
	RingSecretName   string        `json:"ringSecretName,omitempty"`
	Bind             []ServiceBind `json:"bind,omitempty"`
}

type ServiceBind struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	Group   string `json:"group"`
}

// Complete checks the options and fills in what the original defaults
// (one pod, standalone, NAME-VERSION-RELEASE, the image ORIGIN/NAME:
// VERSION-RELEASE) for the package id.
func (o *Options) Complete(id ident.Ident) error {
	if o.Count == 0 {
		o.Count = 1
	}
	if o.Count < 0 {
		return fmt.Errorf("--count %d: a natural number is needed", o.Count)
	}
	switch o.Topology {
	case "":
		o.Topology = Standalone
	case Standalone, Leader:
	default:
		return fmt.Errorf("--topology %q: one of standalone, leader", o.Topology)
	}
	if o.Name == "" {
		o.Name = DefaultName(id)
	}
	if o.Image == "" {
		o.Image = id.Origin + "/" + id.Name + ":" + id.Version + "-" + id.Release
	}
	return nil
}

func secret(o Options) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: ConfigSecretName},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"user.toml": o.Config},
	}
}

func envVars(o Options) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, e := range o.Env {
		out = append(out, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	return out
}

// Operator returns the operator manifest of package id: the config
// Secret (with --config) and the Habitat resource.
func Operator(id ident.Ident, o Options) ([]byte, error) {
	if err := o.Complete(id); err != nil {
		return nil, err
	}
	var objs []any
	h := &Habitat{
		TypeMeta:      metav1.TypeMeta{APIVersion: "habitat.sh/v1beta1", Kind: "Habitat"},
		CustomVersion: "v1beta2",
		ObjectMeta:    metav1.ObjectMeta{Name: o.Name},
		Spec: HabitatSpec{V1beta2: &SpecV1beta2{
			Image: o.Image, Count: o.Count, Env: envVars(o),
			Service: Service{Name: id.Name, Topology: o.Topology, Group: o.Group, RingSecretName: o.RingSecretName},
		}},
	}
	if o.Config != nil {
		objs = append(objs, secret(o))
		h.Spec.V1beta2.Service.ConfigSecretName = ConfigSecretName
	}
	if s := o.Storage; s != nil {
		h.Spec.V1beta2.PersistentStorage = &PersistentStorage{Size: s.Size, StorageClassName: s.StorageClass, MountPath: s.MountPath}
	}
	for _, b := range o.Binds {
		h.Spec.V1beta2.Service.Bind = append(h.Spec.V1beta2.Service.Bind, ServiceBind(b))
	}
	return documents(append(objs, h))
}

// Plain returns standard objects for package id: the config Secret (with
// --config), a Deployment (standalone) or a StatefulSet (leader topology,
// or persistent storage) whose pods pass the supervisor its topology,
// group, binds and peer, and a Service for the exposed ports (headless
// for a StatefulSet, so that its pods find each other by name).
func Plain(id ident.Ident, o Options) ([]byte, error) {
	if err := o.Complete(id); err != nil {
		return nil, err
	}
	labels := map[string]string{"app.kubernetes.io/name": id.Name, "habitat.sh/name": o.Name}
	stateful := o.Topology == Leader || o.Storage != nil
	args := []string{"--topology", o.Topology}
	if o.Group != "" {
		args = append(args, "--group", o.Group)
	}
	for _, b := range o.Binds {
		args = append(args, "--bind", b.Name+":"+b.Service+"."+b.Group)
	}
	if stateful {
		args = append(args, "--peer", o.Name+"-0."+o.Name)
	}
	ports := []corev1.ContainerPort{{Name: "http-gateway", ContainerPort: 9631}, {Name: "gossip", ContainerPort: 9638}}
	svcPorts := []corev1.ServicePort{{Name: "http-gateway", Port: 9631, TargetPort: intstr.FromInt32(9631)}, {Name: "gossip", Port: 9638, TargetPort: intstr.FromInt32(9638)}}
	for _, p := range o.Ports {
		n := "port-" + strconv.Itoa(int(p))
		ports = append(ports, corev1.ContainerPort{Name: n, ContainerPort: p})
		svcPorts = append(svcPorts, corev1.ServicePort{Name: n, Port: p, TargetPort: intstr.FromInt32(p)})
	}
	c := corev1.Container{Name: id.Name, Image: o.Image, Args: args, Ports: ports, Env: envVars(o)}
	pod := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{}}
	var objs []any
	if o.Config != nil {
		objs = append(objs, secret(o))
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "config", MountPath: "/hab/user/" + id.Name + "/config", ReadOnly: true})
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: ConfigSecretName}}})
	}
	if o.RingSecretName != "" {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "ring-key", MountPath: "/hab/cache/keys", ReadOnly: true})
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "ring-key", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: o.RingSecretName}}})
	}
	var claims []corev1.PersistentVolumeClaim
	if s := o.Storage; s != nil {
		class := s.StorageClass
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "persistent", MountPath: s.MountPath})
		claims = append(claims, corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "persistent"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: &class,
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(s.Size)}},
			},
		})
	}
	pod.Spec.Containers = []corev1.Container{c}
	replicas := int32(o.Count)
	selector := &metav1.LabelSelector{MatchLabels: labels}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Labels: labels},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: svcPorts},
	}
	if stateful {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
		svc.Spec.PublishNotReadyAddresses = true // peers gossip before they are ready
		objs = append(objs, &appsv1.StatefulSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
			ObjectMeta: metav1.ObjectMeta{Name: o.Name, Labels: labels},
			Spec: appsv1.StatefulSetSpec{Replicas: &replicas, Selector: selector, ServiceName: o.Name, Template: pod,
				VolumeClaimTemplates: claims, PodManagementPolicy: appsv1.ParallelPodManagement},
		})
	} else {
		objs = append(objs, &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Name: o.Name, Labels: labels},
			Spec:       appsv1.DeploymentSpec{Replicas: &replicas, Selector: selector, Template: pod},
		})
	}
	return documents(append(objs, svc))
}

// documents serialises objects as a multi-document YAML stream.
func documents(objs []any) ([]byte, error) {
	var b bytes.Buffer
	for _, o := range objs {
		y, err := yaml.Marshal(o)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.Bytes(), nil
}
