package server_test

import (
	"context"
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgs"
)

// acmeEnv is a depot holding origin acme, owned by bobo, and the secret
// key of the pair the depot generated for it, to sign a test's harts.
func acmeEnv(t *testing.T) (*env, *crypto.SigningSecretKey) {
	t.Helper()
	e := newEnv(t, "", 0)
	e.createOrigin("bobo", "acme")
	return e, e.generatedKey("bobo", "acme")
}

// TestReleaseGraph: a release's page shows its dependency graph in DOT,
// and /pkgs/ORIGIN/NAME/VERSION/RELEASE/graph.dot serves it: the bytes
// hab pkg dependencies --graph prints for the same packages installed
// (a store on disk read by core/pkgs), edges from the depot's record of
// each dependency; a dependency the depot lacks is a node without edges;
// an unknown target or release is 404.
func TestReleaseGraph(t *testing.T) {
	e, key := acmeEnv(t)
	const (
		app  = "acme/app/1.0.0/20240101000000"
		lib  = "acme/lib/1.0.0/20240101000000"
		base = "acme/base/1.0.0/20240101000000"
		gone = "core/gone/1.0.0/20240101000000" // never uploaded
	)
	meta := map[string]map[string]string{
		base: {},
		lib:  {"DEPS": base + "\n", "TDEPS": base + "\n"},
		app:  {"DEPS": lib + "\n" + gone + "\n", "TDEPS": lib + "\n" + base + "\n" + gone + "\n"},
	}
	for _, id := range []string{base, lib, app} {
		files := map[string]string{"MANIFEST": id}
		for k, v := range meta[id] {
			files[k] = v
		}
		e.want(e.post("bobo", id, buildHart(t, key, id, files), ""), 201, "upload "+id)
	}

	// The same packages installed, and core/pkgs' graph of the store.
	root := t.TempDir()
	for id, files := range map[string]map[string]string{base: meta[base], lib: meta[lib], app: meta[app], gone: {}} {
		dir := filepath.Join(append([]string{root, "hab", "pkgs"}, strings.Split(id, "/")...)...)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		all := map[string]string{"IDENT": id + "\n", "TARGET": "x86_64-linux\n"}
		for k, v := range files {
			all[k] = v
		}
		for name, content := range all {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	store := pkgs.New(paths.FromEnv(func(k string) string {
		if k == "FS_ROOT" {
			return root
		}
		return ""
	}), "x86_64-linux")
	g, err := store.Graph(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := string(g.DOT(ident.MustParse(app), false))
	for _, edge := range []string{`"` + app + `" -> "` + lib + `"`, `"` + app + `" -> "` + gone + `"`, `"` + lib + `" -> "` + base + `"`} {
		if !strings.Contains(want, edge) {
			t.Fatalf("the store's graph has no %s:\n%s", edge, want)
		}
	}

	for _, q := range []string{"?target=x86_64-linux", ""} {
		r := e.want(e.do("GET", "/pkgs/"+app+"/graph.dot"+q, "", nil), 200, "graph.dot"+q)
		if r.String() != want || !strings.HasPrefix(r.header.Get("Content-Type"), "text/vnd.graphviz") {
			t.Errorf("graph.dot%s (%s):\n%s\nwant\n%s", q, r.header.Get("Content-Type"), r, want)
		}
	}
	page := e.want(e.do("GET", "/pkgs/"+app, "", nil), 200, "release page").String()
	if !strings.Contains(page, `<pre class="dot">`+template.HTMLEscapeString(want)+`</pre>`) || !strings.Contains(page, `href="/pkgs/`+app+`/graph.dot?target=x86_64-linux"`) {
		t.Errorf("the release page does not show the graph:\n%s", page)
	}
	e.want(e.do("GET", "/pkgs/"+app+"/graph.dot?target=aarch64-linux", "", nil), 404, "graph of another target")
	e.want(e.do("GET", "/pkgs/acme/app/1.0.0/20990101000000/graph.dot", "", nil), 404, "graph of an unknown release")
}

// TestReleaseGraphTargets: a release built for two targets has a graph
// for each, from that target's record; without ?target= it is 404 naming
// the targets to choose from.
func TestReleaseGraphTargets(t *testing.T) {
	e, key := acmeEnv(t)
	const (
		app = "acme/app/1.0.0/20240101000000"
		x86 = "acme/x86lib/1.0.0/20240101000000"
		win = "acme/winlib/1.0.0/20240101000000"
	)
	for target, dep := range map[string]string{"x86_64-linux": x86, "x86_64-windows": win} {
		files := map[string]string{"MANIFEST": app, "TARGET": target + "\n", "DEPS": dep + "\n", "TDEPS": dep + "\n"}
		e.want(e.post("bobo", app, buildHart(t, key, app, files), "&target="+target), 201, "upload "+app+" for "+target)
	}
	for _, tc := range []struct{ target, dep, other string }{{"x86_64-linux", x86, win}, {"x86_64-windows", win, x86}} {
		dot := e.want(e.do("GET", "/pkgs/"+app+"/graph.dot?target="+tc.target, "", nil), 200, "graph for "+tc.target).String()
		if edge := `"` + app + `" -> "` + tc.dep + `"`; !strings.Contains(dot, edge) || strings.Contains(dot, tc.other) {
			t.Errorf("graph for %s lacks %s or names %s:\n%s", tc.target, edge, tc.other, dot)
		}
	}
	r := e.want(e.do("GET", "/pkgs/"+app+"/graph.dot", "", nil), 404, "graph without a target")
	for _, w := range []string{app, "several targets", "x86_64-linux", "x86_64-windows", "?target="} {
		if !strings.Contains(r.String(), w) {
			t.Errorf("answer without a target lacks %q: %s", w, r)
		}
	}
}

// TestReleaseGraphPartialDependency: a TDEPS line that is not fully
// qualified names no release, so it is a node without edges, whatever
// releases of that package the depot holds.
func TestReleaseGraphPartialDependency(t *testing.T) {
	e, key := acmeEnv(t)
	const (
		app  = "acme/app/1.0.0/20240101000000"
		lib  = "acme/lib/1.0.0/20240101000000"
		base = "acme/base/1.0.0/20240101000000"
	)
	for id, files := range map[string]map[string]string{base: {}, lib: {"DEPS": base + "\n", "TDEPS": base + "\n"},
		app: {"DEPS": "acme/lib\n", "TDEPS": "acme/lib\n"}} {
		files["MANIFEST"] = id
		e.want(e.post("bobo", id, buildHart(t, key, id, files), ""), 201, "upload "+id)
	}
	dot := e.want(e.do("GET", "/pkgs/"+app+"/graph.dot", "", nil), 200, "graph of "+app).String()
	if !strings.Contains(dot, `"`+app+`" -> "acme/lib"`) || strings.Contains(dot, base) {
		t.Errorf("graph of %s: want an edge to acme/lib and none from it:\n%s", app, dot)
	}
}
