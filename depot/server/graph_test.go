package server_test

import (
	"context"
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgs"
)

// TestReleaseGraph: a release's page shows its dependency graph in DOT,
// and /pkgs/ORIGIN/NAME/VERSION/RELEASE/graph.dot serves it: the bytes
// hab pkg dependencies --graph prints for the same packages installed
// (a store on disk read by core/pkgs), edges from the depot's record of
// each dependency; a dependency the depot lacks is a node without edges;
// an unknown target or release is 404.
func TestReleaseGraph(t *testing.T) {
	e := newEnv(t, "", 0)
	e.createOrigin("bobo", "acme")
	key := e.generatedKey("bobo", "acme")
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
