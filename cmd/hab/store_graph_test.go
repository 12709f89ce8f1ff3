package main

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dotGraph is a DOT digraph as hab pkg dependencies --graph writes it,
// read back line by line: every line must be the header, an attribute,
// a node, an edge or the closing brace.
type dotGraph struct {
	name  string
	nodes []string
	edges []string // "from -> to"
}

var (
	dotHeader = regexp.MustCompile(`^digraph "((?:[^"\\]|\\.)*)" \{$`)
	dotAttr   = regexp.MustCompile(`^  (rankdir=LR|node \[shape=box\]);$`)
	dotNode   = regexp.MustCompile(`^  "((?:[^"\\]|\\.)*)";$`)
	dotEdge   = regexp.MustCompile(`^  "((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)";$`)
)

func parseDOT(t *testing.T, s string) dotGraph {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	var g dotGraph
	m := dotHeader.FindStringSubmatch(lines[0])
	if m == nil || lines[len(lines)-1] != "}" {
		t.Fatalf("not a DOT digraph:\n%s", s)
	}
	g.name = m[1]
	for _, l := range lines[1 : len(lines)-1] {
		switch {
		case dotAttr.MatchString(l):
		case dotNode.MatchString(l):
			g.nodes = append(g.nodes, dotNode.FindStringSubmatch(l)[1])
		case dotEdge.MatchString(l):
			e := dotEdge.FindStringSubmatch(l)
			if !slices.Contains(g.nodes, e[1]) || !slices.Contains(g.nodes, e[2]) {
				t.Errorf("edge %s -> %s between undeclared nodes", e[1], e[2])
			}
			g.edges = append(g.edges, e[1]+" -> "+e[2])
		default:
			t.Fatalf("line %q is no DOT statement hab writes:\n%s", l, s)
		}
	}
	return g
}

// TestPkgDependenciesGraphAndJSON: --graph prints the closure (or the
// reverse closure) as a DOT digraph with an edge from each package to each
// direct dependency; --json prints one object; dot itself accepts the
// graph when Graphviz is installed.
func TestPkgDependenciesGraphAndJSON(t *testing.T) {
	e := newStoreEnv(t)
	const (
		app = "acme/app/1.0.0/20200101000000"
		lib = "acme/lib/1.0.0/20200101000000"
		c   = "core/c/1.0.0/20200101000000"
		gcc = "core/gcc-libs/1.0.0/20200101000000"
		cli = "acme/cli/1.0.0/20200101000000"
	)
	storeWriteTree(t, e.root, app, map[string]string{"DEPS": lib + "\n" + c + "\n", "TDEPS": lib + "\n" + c + "\n" + gcc + "\n"})
	storeWriteTree(t, e.root, lib, map[string]string{"DEPS": c + "\n" + gcc + "\n", "TDEPS": c + "\n" + gcc + "\n"})
	storeWriteTree(t, e.root, c, map[string]string{"DEPS": gcc + "\n", "TDEPS": gcc + "\n"})
	storeWriteTree(t, e.root, gcc, nil)
	storeWriteTree(t, e.root, cli, map[string]string{"DEPS": lib + "\n"})

	out := e.mustRun("pkg", "dependencies", "--graph", "acme/app")
	g := parseDOT(t, out)
	if g.name != app || !slices.Equal(g.nodes, []string{app, lib, c, gcc}) {
		t.Errorf("graph %q nodes %v", g.name, g.nodes)
	}
	wantEdges := []string{app + " -> " + lib, app + " -> " + c, lib + " -> " + c, lib + " -> " + gcc, c + " -> " + gcc}
	if !slices.Equal(g.edges, wantEdges) {
		t.Errorf("edges\n%s\nwant\n%s", strings.Join(g.edges, "\n"), strings.Join(wantEdges, "\n"))
	}
	if again := e.mustRun("pkg", "dependencies", "--graph", "acme/app"); again != out {
		t.Errorf("the same graph printed differently:\n%s\n%s", out, again)
	}
	r := parseDOT(t, e.mustRun("pkg", "dependencies", "--graph", "--reverse", "core/c"))
	slices.Sort(r.nodes)
	if !slices.Equal(r.nodes, []string{app, cli, lib, c}) || !slices.Contains(r.edges, cli+" -> "+lib) || slices.Contains(r.edges, c+" -> "+gcc) {
		t.Errorf("reverse graph: nodes %v edges %v", r.nodes, r.edges)
	}
	if dot, err := exec.LookPath("dot"); err == nil {
		cmd := exec.Command(dot, "-Tplain")
		cmd.Stdin = strings.NewReader(out)
		if plain, err := cmd.CombinedOutput(); err != nil || strings.Count(string(plain), "\nedge ") != len(wantEdges) {
			t.Errorf("dot -Tplain: %v\n%s", err, plain)
		}
	} else {
		t.Log("Graphviz's dot is not installed: the graph was checked by the parser above only")
	}

	var deps storeDepsJSON
	if err := json.Unmarshal([]byte(e.mustRun("pkg", "dependencies", "--json", "-t", "acme/app")), &deps); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range deps.Packages {
		got = append(got, p.Ident)
		if p.Origin+"/"+p.Name+"/"+p.Version+"/"+p.Release != p.Ident {
			t.Errorf("package parts %+v", p)
		}
	}
	if deps.Ident != app || !deps.Transitive || deps.Reverse || !slices.Equal(got, []string{lib, c, gcc}) {
		t.Errorf("dependencies --json: %+v", deps)
	}
	var list []storeIdentJSON
	if err := json.Unmarshal([]byte(e.mustRun("pkg", "list", "--json", "--origin", "acme")), &list); err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, p := range list {
		got = append(got, p.Ident)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{app, cli, lib}) {
		t.Errorf("list --json: %v", got)
	}
	if out := e.mustRun("pkg", "list", "--json", "acme/none"); strings.TrimSpace(out) != "[]" {
		t.Errorf("list --json of nothing: %q, want []", out)
	}
	e.mustFail(exitUsage, "--graph and --json cannot be used together", "pkg", "dependencies", "--graph", "--json", "acme/app")
	e.mustFail(exitError, "acme/none", "pkg", "dependencies", "--graph", "acme/none")
}
