package helm_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/exporters/helm"
	"github.com/habgo/hab/exporters/kubernetes"
)

var id = ident.MustParse("habtest/service/0.1.0/20260101000001")

// render lints the chart with Helm's linter (no warning or error) and
// renders it with Helm's engine; it returns the rendered documents.
func render(t *testing.T, dir string) []string {
	t.Helper()
	l := lint.RunAll(dir, nil, "default")
	for _, m := range l.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint: %v", m)
		}
	}
	ch, err := loader.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := util.ToRenderValues(ch, ch.Values, common.ReleaseOptions{Name: "test", Namespace: "default"}, common.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Render(ch, vals)
	if err != nil {
		t.Fatalf("helm render: %v", err)
	}
	var docs []string
	for name, s := range out {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, d := range strings.Split(s, "\n---") {
			if strings.TrimSpace(d) != "" {
				docs = append(docs, d)
			}
		}
	}
	return docs
}

func kind(t *testing.T, doc string) string {
	var m struct{ Kind string }
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return m.Kind
}

func options() kubernetes.Options {
	st, _ := kubernetes.ParseStorage("1Gi:/data:standard")
	return kubernetes.Options{Count: 3, Group: "prod", Config: []byte("port = 1\n"), RingSecretName: "ring", Storage: st,
		Binds: []kubernetes.Bind{{Name: "db", Service: "postgres", Group: "default"}}, Env: []kubernetes.Env{{Name: "A", Value: "b c"}}, Ports: []int32{8080}}
}

func TestOperatorChart(t *testing.T) {
	dir, err := helm.Write(t.TempDir(), id, helm.Chart{Description: "the service", Maintainers: []helm.Maintainer{{Name: "me", Email: "me@example.com"}}}, options(), false)
	if err != nil {
		t.Fatal(err)
	}
	docs := render(t, dir)
	var kinds []string
	for _, d := range docs {
		kinds = append(kinds, kind(t, d))
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, []string{"Habitat", "Secret"}) {
		t.Fatalf("kinds %v", kinds)
	}
	for _, d := range docs {
		if kind(t, d) != "Habitat" {
			var s corev1.Secret
			if err := yaml.UnmarshalStrict([]byte(d), &s); err != nil || string(s.Data["user.toml"]) != "port = 1\n" {
				t.Errorf("secret %v:\n%s", err, d)
			}
			continue
		}
		// The same resource the kubernetes exporter writes.
		var got, want kubernetes.Habitat
		if err := yaml.UnmarshalStrict([]byte(d), &got); err != nil {
			t.Fatalf("%v\n%s", err, d)
		}
		k, err := kubernetes.Operator(id, options())
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(string(k), "---\n")
		if err := yaml.UnmarshalStrict([]byte(parts[len(parts)-1]), &want); err != nil {
			t.Fatal(err)
		}
		gy, _ := yaml.Marshal(got)
		wy, _ := yaml.Marshal(want)
		if string(gy) != string(wy) {
			t.Errorf("chart renders\n%s\nthe kubernetes exporter writes\n%s", gy, wy)
		}
	}
}

func TestPlainChart(t *testing.T) {
	for _, topology := range []string{"standalone", "leader"} {
		o := options()
		o.Topology = topology
		o.Storage = nil
		dir, err := helm.Write(t.TempDir(), id, helm.Chart{}, o, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range render(t, dir) {
			var err error
			switch k := kind(t, d); k {
			case "Deployment":
				var x appsv1.Deployment
				err = yaml.UnmarshalStrict([]byte(d), &x)
				if topology != "standalone" || *x.Spec.Replicas != 3 || !slices.Contains(x.Spec.Template.Spec.Containers[0].Args, "db:postgres.default") {
					t.Errorf("%s: deployment %+v", topology, x.Spec)
				}
			case "StatefulSet":
				var x appsv1.StatefulSet
				err = yaml.UnmarshalStrict([]byte(d), &x)
				if topology != "leader" || !slices.Contains(x.Spec.Template.Spec.Containers[0].Args, "--peer") {
					t.Errorf("%s: statefulset %+v", topology, x.Spec)
				}
			case "Service":
				var x corev1.Service
				err = yaml.UnmarshalStrict([]byte(d), &x)
				if len(x.Spec.Ports) != 3 {
					t.Errorf("service ports %v", x.Spec.Ports)
				}
			case "Secret":
				var x corev1.Secret
				err = yaml.UnmarshalStrict([]byte(d), &x)
			default:
				t.Errorf("unexpected %s", k)
			}
			if err != nil {
				t.Errorf("%s: strict decode: %v\n%s", topology, err, d)
			}
		}
	}
}

// TestChartBadOptions: a negative count or an unknown topology fails
// naming the flag, and no chart directory is written.
func TestChartBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		edit       func(*kubernetes.Options)
	}{
		{"negative count", "--count -1", func(o *kubernetes.Options) { o.Count = -1 }},
		{"unknown topology", `--topology "ring"`, func(o *kubernetes.Options) { o.Topology = "ring" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			o := options()
			tc.edit(&o)
			_, err := helm.Write(out, id, helm.Chart{}, o, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error naming %s", err, tc.want)
			}
			if ents, _ := os.ReadDir(out); len(ents) != 0 {
				t.Errorf("a failed chart left %v", ents)
			}
		})
	}
}
