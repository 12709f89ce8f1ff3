package pkgs

import (
	"context"
	"fmt"
	"slices"

	"github.com/habgo/hab/core/ident"
)

// Graph is the dependency graph of the installed packages, built from
// their DEPS files as the original builds it: an edge from each package to
// each of its direct runtime dependencies. Dependencies that are not
// installed are nodes too.
type Graph struct {
	deps  map[ident.Ident][]ident.Ident
	rdeps map[ident.Ident][]ident.Ident
}

// Graph reads the DEPS of every installed package of the active target.
// A package whose DEPS cannot be parsed fails the whole graph, naming it.
func (s *Store) Graph(ctx context.Context) (*Graph, error) {
	ids, err := s.List(ctx, ident.Ident{})
	if err != nil {
		return nil, err
	}
	g := &Graph{deps: map[ident.Ident][]ident.Ident{}, rdeps: map[ident.Ident][]ident.Ident{}}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		files := map[string][]byte{}
		if data, err := readOptional(s.PathFor(id), FileDeps); err != nil {
			return nil, fmt.Errorf("dependency graph: %s: %w", id, err)
		} else if data != nil {
			files[FileDeps] = data
		}
		m, err := ParseMetadata(id, files)
		if err != nil {
			return nil, fmt.Errorf("dependency graph: %w", err)
		}
		g.add(id, m.Deps)
	}
	for id := range g.rdeps {
		slices.SortFunc(g.rdeps[id], ident.Compare)
	}
	return g, nil
}

func (g *Graph) add(id ident.Ident, deps []ident.Ident) {
	if _, ok := g.deps[id]; !ok {
		g.deps[id] = nil
	}
	for _, d := range deps {
		if slices.Contains(g.deps[id], d) {
			continue
		}
		g.deps[id] = append(g.deps[id], d)
		if _, ok := g.deps[d]; !ok {
			g.deps[d] = nil
		}
		g.rdeps[d] = append(g.rdeps[d], id)
	}
}

// Has reports whether id is a node of the graph.
func (g *Graph) Has(id ident.Ident) bool {
	_, ok := g.deps[id]
	return ok
}

// Deps returns the direct dependencies of id, in DEPS order.
func (g *Graph) Deps(id ident.Ident) []ident.Ident { return slices.Clone(g.deps[id]) }

// RDeps returns the packages that depend directly on id, sorted.
func (g *Graph) RDeps(id ident.Ident) []ident.Ident { return slices.Clone(g.rdeps[id]) }

// CountRDeps returns how many packages depend directly on id, and false
// when id is not in the graph.
func (g *Graph) CountRDeps(id ident.Ident) (int, bool) {
	if !g.Has(id) {
		return 0, false
	}
	return len(g.rdeps[id]), true
}

// OrderedDeps returns every transitive dependency of id, breadth first.
func (g *Graph) OrderedDeps(id ident.Ident) []ident.Ident { return g.bfs(id, g.deps) }

// OrderedRDeps returns every package that depends on id, directly or not,
// breadth first.
func (g *Graph) OrderedRDeps(id ident.Ident) []ident.Ident { return g.bfs(id, g.rdeps) }

func (g *Graph) bfs(start ident.Ident, edges map[ident.Ident][]ident.Ident) []ident.Ident {
	if !g.Has(start) {
		return nil
	}
	seen := map[ident.Ident]bool{start: true}
	queue := []ident.Ident{start}
	var out []ident.Ident
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range edges[n] {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
				queue = append(queue, m)
			}
		}
	}
	return out
}

// Remove takes id out of the graph when nothing depends on it, and reports
// whether it did.
func (g *Graph) Remove(id ident.Ident) bool {
	if n, ok := g.CountRDeps(id); !ok || n > 0 {
		return false
	}
	for _, d := range g.deps[id] {
		g.rdeps[d] = slices.DeleteFunc(g.rdeps[d], func(x ident.Ident) bool { return x == id })
	}
	delete(g.deps, id)
	delete(g.rdeps, id)
	return true
}

// ReverseDependencies returns the installed packages whose DEPS name id
// (direct reverse dependencies), or, when transitive, every installed
// package that needs id directly or through others.
func (s *Store) ReverseDependencies(ctx context.Context, id ident.Ident, transitive bool) ([]ident.Ident, error) {
	g, err := s.Graph(ctx)
	if err != nil {
		return nil, err
	}
	if transitive {
		return g.OrderedRDeps(id), nil
	}
	return g.RDeps(id), nil
}
