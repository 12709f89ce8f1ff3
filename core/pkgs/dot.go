package pkgs

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/habgo/hab/core/ident"
)

// DOT is the dependency closure of root in Graphviz's DOT language: a
// digraph named after root, root and each package of its closure (the
// packages that depend on it, with reverse) as a node, and an edge from
// each package to each of its direct dependencies within the closure, in
// the closure's order, so that the same graph gives the same bytes.
func (g *Graph) DOT(root ident.Ident, reverse bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "digraph %s {\n", dotID(root.String()))
	b.WriteString("  rankdir=LR;\n  node [shape=box];\n")
	nodes := []ident.Ident{root}
	if reverse {
		nodes = append(nodes, g.OrderedRDeps(root)...)
	} else {
		nodes = append(nodes, g.OrderedDeps(root)...)
	}
	in := make(map[ident.Ident]bool, len(nodes))
	for _, n := range nodes {
		in[n] = true
		fmt.Fprintf(&b, "  %s;\n", dotID(n.String()))
	}
	for _, n := range nodes {
		for _, d := range g.Deps(n) {
			if in[d] && d != n {
				fmt.Fprintf(&b, "  %s -> %s;\n", dotID(n.String()), dotID(d.String()))
			}
		}
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// dotID quotes s as a DOT identifier.
func dotID(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
