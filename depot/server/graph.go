package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/depot/sqlstore"
)

// releaseGraph is the dependency graph of the release p in Graphviz DOT,
// the bytes hab pkg dependencies --graph prints for the same closure
// installed (both are core/pkgs' Graph.DOT): p and its transitive
// dependencies (TDEPS) as nodes, and an edge from each to each of its
// direct dependencies, read from the depot's public record of that
// release for p's target. A dependency the depot does not hold publicly
// is a node without edges of its own.
func (s *Server) releaseGraph(ctx context.Context, p sqlstore.Package) ([]byte, error) {
	root, err := ident.Parse(p.Ident())
	if err != nil {
		return nil, fmt.Errorf("dependency graph of %s: %w", p.Ident(), err)
	}
	deps, err := parseIdents(p.Deps)
	if err != nil {
		return nil, fmt.Errorf("dependency graph of %s: %w", p.Ident(), err)
	}
	g := pkgs.NewGraph()
	g.Add(root, deps)
	for _, t := range p.TDeps {
		id, err := ident.Parse(t)
		if err != nil {
			return nil, fmt.Errorf("dependency graph of %s: dependency %q: %w", p.Ident(), t, err)
		}
		d, err := s.cfg.Store.FindPackage(ctx, sqlstore.Filter{Origin: id.Origin, Name: id.Name, Version: id.Version, Release: id.Release,
			Target: p.Target, Visibilities: []string{"public"}})
		if errors.Is(err, sqlstore.ErrNotFound) {
			g.Add(id, nil)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("dependency graph of %s: %w", p.Ident(), err)
		}
		dd, err := parseIdents(d.Deps)
		if err != nil {
			return nil, fmt.Errorf("dependency graph of %s: dependencies of %s: %w", p.Ident(), id, err)
		}
		g.Add(id, dd)
	}
	return g.DOT(root, false), nil
}

func parseIdents(l []string) ([]ident.Ident, error) {
	out := make([]ident.Ident, 0, len(l))
	for _, s := range l {
		id, err := ident.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("dependency %q: %w", s, err)
		}
		out = append(out, id)
	}
	return out, nil
}

// webGraph serves a release's dependency graph for one target (?target=,
// the only one when the release has one) as a DOT file: curl it into
// dot -Tsvg to see the picture.
func (s *Server) webGraph(w http.ResponseWriter, r *http.Request) {
	id, l, ok := s.visibleReleases(w, r)
	if !ok {
		return
	}
	target := r.URL.Query().Get("target")
	for _, p := range l {
		if p.Target != target && (target != "" || len(l) > 1) {
			continue
		}
		dot, err := s.releaseGraph(r.Context(), p)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/vnd.graphviz; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", id.Name+".dot"))
		_, _ = w.Write(dot)
		return
	}
	if target == "" {
		targets := make([]string, len(l))
		for i, p := range l {
			targets[i] = p.Target
		}
		text(w, http.StatusNotFound, fmt.Sprintf("package %s is released for several targets (%s): choose one with ?target=", id, strings.Join(targets, ", ")))
		return
	}
	text(w, http.StatusNotFound, fmt.Sprintf("package %s not found for target %q", id, target))
}
