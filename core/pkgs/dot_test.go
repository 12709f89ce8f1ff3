package pkgs

import (
	"testing"

	"github.com/habgo/hab/core/ident"
)

// TestGraphDOT: the closure's nodes in breadth-first order, an edge per
// direct dependency inside the closure, none for a package naming itself,
// nothing of packages outside the closure; the reverse closure keeps the
// edges' direction (a package to what it needs).
func TestGraphDOT(t *testing.T) {
	id := ident.MustParse
	app, lib, c, other := id("a/app/1/1"), id("a/lib/1/1"), id("core/c/1/1"), id("x/other/1/1")
	g := &Graph{deps: map[ident.Ident][]ident.Ident{}, rdeps: map[ident.Ident][]ident.Ident{}}
	g.Add(app, []ident.Ident{lib, c})
	g.Add(lib, []ident.Ident{c, lib})
	g.Add(c, nil)
	g.Add(other, []ident.Ident{lib})

	want := `digraph "a/app/1/1" {
  rankdir=LR;
  node [shape=box];
  "a/app/1/1";
  "a/lib/1/1";
  "core/c/1/1";
  "a/app/1/1" -> "a/lib/1/1";
  "a/app/1/1" -> "core/c/1/1";
  "a/lib/1/1" -> "core/c/1/1";
}
`
	if got := string(g.DOT(app, false)); got != want {
		t.Errorf("DOT:\n%s\nwant\n%s", got, want)
	}
	want = `digraph "core/c/1/1" {
  rankdir=LR;
  node [shape=box];
  "core/c/1/1";
  "a/app/1/1";
  "a/lib/1/1";
  "x/other/1/1";
  "a/app/1/1" -> "a/lib/1/1";
  "a/app/1/1" -> "core/c/1/1";
  "a/lib/1/1" -> "core/c/1/1";
  "x/other/1/1" -> "a/lib/1/1";
}
`
	if got := string(g.DOT(c, true)); got != want {
		t.Errorf("reverse DOT:\n%s\nwant\n%s", got, want)
	}
	if got := dotID(`a"b\c`); got != `"a\"b\\c"` {
		t.Errorf("dotID: %s", got)
	}
}
