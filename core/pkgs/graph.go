package pkgs

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

// Graph is the dependency graph of the installed packages, built from
// their DEPS files as the original builds it: an edge from each package to
// each of its direct runtime dependencies. Dependencies that are not
// installed are nodes too. A package naming itself in DEPS has no edge to
// itself. Building it and every query are linear in the number of edges.
type Graph struct {
	deps  map[ident.Ident][]ident.Ident // in DEPS order, without duplicates
	rdeps map[ident.Ident][]ident.Ident // unordered, without duplicates
	// steps counts the edges looked at, so that tests can check that
	// the work stays linear.
	steps int
}

// Graph reads the DEPS of every installed package of the active target.
// A package whose DEPS cannot be parsed (or is larger than pkgmeta
// allows) fails the whole graph, naming it.
func (s *Store) Graph(ctx context.Context) (*Graph, error) {
	ids, err := s.List(ctx, ident.Ident{})
	if err != nil {
		return nil, err
	}
	g := NewGraph()
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		files := map[string][]byte{}
		if data, err := pkgmeta.ReadFile(s.PathFor(id), pkgmeta.FileDeps); err != nil {
			return nil, fmt.Errorf("dependency graph: %s: %w", id, err)
		} else if data != nil {
			files[pkgmeta.FileDeps] = data
		}
		m, err := pkgmeta.Parse(id, files)
		if err != nil {
			return nil, fmt.Errorf("dependency graph: %w", err)
		}
		g.Add(id, m.Deps)
	}
	return g, nil
}

// NewGraph is an empty graph that Add fills: the dependency graph of
// packages known from elsewhere than the store (a depot's records).
func NewGraph() *Graph {
	return &Graph{deps: map[ident.Ident][]ident.Ident{}, rdeps: map[ident.Ident][]ident.Ident{}}
}

func (g *Graph) node(id ident.Ident) {
	if _, ok := g.deps[id]; !ok {
		g.deps[id] = nil
	}
}

// Add adds id with its direct dependencies deps (in DEPS order), as the
// store's graph adds an installed package.
func (g *Graph) Add(id ident.Ident, deps []ident.Ident) {
	g.node(id)
	seen := make(map[ident.Ident]struct{}, len(deps))
	for _, d := range deps {
		g.steps++
		if _, dup := seen[d]; dup || d == id {
			continue
		}
		seen[d] = struct{}{}
		g.deps[id] = append(g.deps[id], d)
		g.node(d)
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
func (g *Graph) RDeps(id ident.Ident) []ident.Ident {
	out := slices.Clone(g.rdeps[id])
	slices.SortFunc(out, ident.Compare)
	return out
}

// OrderedDeps returns every transitive dependency of id, breadth first.
func (g *Graph) OrderedDeps(id ident.Ident) []ident.Ident {
	return g.bfs(id, func(n ident.Ident) []ident.Ident { return g.deps[n] })
}

// OrderedRDeps returns every package that depends on id, directly or not,
// breadth first (the direct ones of each package sorted).
func (g *Graph) OrderedRDeps(id ident.Ident) []ident.Ident { return g.bfs(id, g.RDeps) }

func (g *Graph) bfs(start ident.Ident, edges func(ident.Ident) []ident.Ident) []ident.Ident {
	if !g.Has(start) {
		return nil
	}
	seen := map[ident.Ident]bool{start: true}
	queue := []ident.Ident{start}
	var out []ident.Ident
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range edges(n) {
			g.steps++
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
				queue = append(queue, m)
			}
		}
	}
	return out
}

// Cycle returns the packages in a dependency cycle with id (those that it
// needs and that need it, directly or not), sorted; they can only be
// removed together with it. A package in no cycle gives none.
func (g *Graph) Cycle(id ident.Ident) []ident.Ident {
	up := map[ident.Ident]bool{}
	for _, r := range g.OrderedRDeps(id) {
		up[r] = true
	}
	var out []ident.Ident
	for _, d := range g.OrderedDeps(id) {
		if up[d] && d != id {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, ident.Compare)
	return out
}

// Dependents returns the packages outside the group ids that depend
// directly on a member of it, sorted.
func (g *Graph) Dependents(ids ...ident.Ident) []ident.Ident {
	in := map[ident.Ident]bool{}
	for _, id := range ids {
		in[id] = true
	}
	out := map[ident.Ident]struct{}{}
	for _, id := range ids {
		for _, r := range g.rdeps[id] {
			g.steps++
			if !in[r] {
				out[r] = struct{}{}
			}
		}
	}
	return slices.SortedFunc(maps.Keys(out), ident.Compare)
}

// Remove takes the packages ids out of the graph when nothing outside
// them depends on any of them, and reports whether it did. A package in a
// dependency cycle is removed together with the rest of its cycle.
func (g *Graph) Remove(ids ...ident.Ident) bool {
	for _, id := range ids {
		if !g.Has(id) {
			return false
		}
	}
	if len(g.Dependents(ids...)) > 0 {
		return false
	}
	for _, id := range ids {
		for _, d := range g.deps[id] {
			g.steps += len(g.rdeps[d])
			g.rdeps[d] = slices.DeleteFunc(g.rdeps[d], func(x ident.Ident) bool { return x == id })
		}
		delete(g.deps, id)
		delete(g.rdeps, id)
	}
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
