package server

import (
	"context"
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
// is a node without edges of its own. The records of the whole closure
// are read in one FindReleases, whatever its size.
func (s *Server) releaseGraph(ctx context.Context, p sqlstore.Package) ([]byte, error) {
	root, err := ident.Parse(p.Ident())
	if err != nil {
		return nil, fmt.Errorf("dependency graph of %s: %w", p.Ident(), err)
	}
	deps, err := parseIdents(p.Deps)
	if err != nil {
		return nil, fmt.Errorf("dependency graph of %s: %w", p.Ident(), err)
	}
	tdeps, err := parseIdents(p.TDeps)
	if err != nil {
		return nil, fmt.Errorf("dependency graph of %s: %w", p.Ident(), err)
	}
	names := make([]string, len(tdeps))
	for i, id := range tdeps {
		names[i] = id.String()
	}
	recs, err := s.cfg.Store.FindReleases(ctx, names, p.Target, []string{"public"})
	if err != nil {
		return nil, fmt.Errorf("dependency graph of %s: %w", p.Ident(), err)
	}
	byIdent := make(map[string]sqlstore.Package, len(recs))
	for _, d := range recs {
		byIdent[d.Ident()] = d
	}
	g := pkgs.NewGraph()
	g.Add(root, deps)
	for i, id := range tdeps {
		d, ok := byIdent[names[i]]
		if !ok {
			g.Add(id, nil)
			continue
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
