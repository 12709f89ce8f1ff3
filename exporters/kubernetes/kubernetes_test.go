package kubernetes_test

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/exporters/kubernetes"
)

var id = ident.MustParse("habtest/service/0.1.0/20260101000001")

// split decodes the multi-document stream into its documents' kinds and
// bodies.
func split(t *testing.T, data []byte) (kinds []string, docs []string) {
	t.Helper()
	for _, d := range strings.Split(string(data), "---\n") {
		if strings.TrimSpace(d) == "" {
			continue
		}
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(d), &meta); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, meta.Kind)
		docs = append(docs, d)
	}
	return kinds, docs
}

// operatorHabitat is the operator's resource as habitat-operator's types
// read it (v1beta1 with the v1beta2 spec), written here independently.
type operatorHabitat struct {
	APIVersion    string `json:"apiVersion"`
	Kind          string `json:"kind"`
	CustomVersion string `json:"customVersion"`
	Metadata      struct {
		Name              string  `json:"name"`
		CreationTimestamp *string `json:"creationTimestamp"`
	} `json:"metadata"`
	Spec struct {
		V1beta2 struct {
			Image             string          `json:"image"`
			Count             int             `json:"count"`
			Env               []corev1.EnvVar `json:"env"`
			PersistentStorage *struct {
				Size             string `json:"size"`
				StorageClassName string `json:"storageClassName"`
				MountPath        string `json:"mountPath"`
			} `json:"persistentStorage"`
			Service struct {
				Name             string                                  `json:"name"`
				Topology         string                                  `json:"topology"`
				Group            string                                  `json:"group"`
				ConfigSecretName string                                  `json:"configSecretName"`
				RingSecretName   string                                  `json:"ringSecretName"`
				FilesSecretName  string                                  `json:"filesSecretName"`
				Channel          string                                  `json:"channel"`
				Bind             []struct{ Name, Service, Group string } `json:"bind"`
			} `json:"service"`
		} `json:"v1beta2"`
	} `json:"spec"`
}

func TestOperatorManifest(t *testing.T) {
	st, err := kubernetes.ParseStorage("10Gi:/hab/svc/service/data:standard")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := kubernetes.ParseBind("database:postgres.default")
	env, _ := kubernetes.ParseEnv("GREETING=hello world")
	out, err := kubernetes.Operator(id, kubernetes.Options{Count: 3, Topology: "leader", Group: "prod", Config: []byte("port = 9000\n"),
		Env: []kubernetes.Env{env}, Storage: st, RingSecretName: "ring", Binds: []kubernetes.Bind{b}})
	if err != nil {
		t.Fatal(err)
	}
	kinds, docs := split(t, out)
	if !slices.Equal(kinds, []string{"Secret", "Habitat"}) {
		t.Fatalf("kinds %v:\n%s", kinds, out)
	}
	var s corev1.Secret
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &s); err != nil || string(s.Data["user.toml"]) != "port = 9000\n" || s.Name != "user-toml-secret" {
		t.Errorf("secret: %v %+v", err, s)
	}
	var h operatorHabitat
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &h); err != nil {
		t.Fatalf("strict decode of the Habitat resource: %v\n%s", err, docs[1])
	}
	v := h.Spec.V1beta2
	if h.APIVersion != "habitat.sh/v1beta1" || h.CustomVersion != "v1beta2" || h.Metadata.Name != "service-0-1-0-20260101000001" ||
		v.Image != "habtest/service:0.1.0-20260101000001" || v.Count != 3 || v.Service.Name != "service" || v.Service.Topology != "leader" ||
		v.Service.Group != "prod" || v.Service.ConfigSecretName != "user-toml-secret" || v.Service.RingSecretName != "ring" ||
		len(v.Service.Bind) != 1 || v.Service.Bind[0].Service != "postgres" || v.PersistentStorage == nil || v.PersistentStorage.Size != "10Gi" ||
		len(v.Env) != 1 || v.Env[0].Value != "hello world" {
		t.Errorf("habitat resource:\n%s", docs[1])
	}
}

func TestPlainManifests(t *testing.T) {
	for _, tc := range []struct {
		topology string
		kinds    []string
	}{
		{"standalone", []string{"Deployment", "Service"}},
		{"leader", []string{"StatefulSet", "Service"}},
	} {
		out, err := kubernetes.Plain(id, kubernetes.Options{Count: 3, Topology: tc.topology, Group: "prod", Ports: []int32{8080}})
		if err != nil {
			t.Fatal(err)
		}
		kinds, docs := split(t, out)
		if !slices.Equal(kinds, tc.kinds) {
			t.Fatalf("%s: kinds %v", tc.topology, kinds)
		}
		var pod corev1.PodSpec
		if tc.topology == "leader" {
			var ss appsv1.StatefulSet
			if err := yaml.UnmarshalStrict([]byte(docs[0]), &ss); err != nil {
				t.Fatalf("strict decode: %v\n%s", err, docs[0])
			}
			pod = ss.Spec.Template.Spec
			if *ss.Spec.Replicas != 3 || ss.Spec.ServiceName != ss.Name {
				t.Errorf("statefulset %+v", ss.Spec)
			}
		} else {
			var d appsv1.Deployment
			if err := yaml.UnmarshalStrict([]byte(docs[0]), &d); err != nil {
				t.Fatalf("strict decode: %v\n%s", err, docs[0])
			}
			pod = d.Spec.Template.Spec
		}
		args := pod.Containers[0].Args
		if !slices.Contains(args, tc.topology) || !slices.Contains(args, "prod") || (tc.topology == "leader") != slices.Contains(args, "--peer") {
			t.Errorf("%s: args %v", tc.topology, args)
		}
		var svc corev1.Service
		if err := yaml.UnmarshalStrict([]byte(docs[1]), &svc); err != nil {
			t.Fatalf("strict decode: %v\n%s", err, docs[1])
		}
		if len(svc.Spec.Ports) != 3 || svc.Spec.Ports[2].Port != 8080 || (tc.topology == "leader") != (svc.Spec.ClusterIP == "None") {
			t.Errorf("service %+v", svc.Spec)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"storage", "size"}, {"bind", "NAME:SERVICE.GROUP"}, {"env", "NAME=VALUE"}, {"topology", "--topology"}, {"count", "--count"},
	} {
		var err error
		switch tc.name {
		case "storage":
			_, err = kubernetes.ParseStorage("ten:/data:standard")
		case "bind":
			_, err = kubernetes.ParseBind("database")
		case "env":
			_, err = kubernetes.ParseEnv("NOVALUE")
		case "topology":
			_, err = kubernetes.Operator(id, kubernetes.Options{Topology: "ring"})
		case "count":
			_, err = kubernetes.Plain(id, kubernetes.Options{Count: -1})
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := kubernetes.ParseStorage("1Gi:relative:standard"); err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Errorf("relative path: %v", err)
	}
}
