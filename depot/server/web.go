package server

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/sqlstore"
)

// The web page: server-rendered HTML for browsing origins, packages,
// releases and channels, read through the same store and visibility rules
// as the API (a browser sends no Authorization header, so it sees what an
// anonymous caller sees).

//go:embed web/page.html
var webFiles embed.FS

var pages = template.Must(template.ParseFS(webFiles, "web/page.html"))

func (s *Server) webRoutes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.webIndex)
	m.HandleFunc("GET /search", s.webSearch)
	m.HandleFunc("GET /pkgs/{o}", s.webOrigin)
	m.HandleFunc("GET /pkgs/{o}/{n}", s.webPackage)
	m.HandleFunc("GET /pkgs/{o}/{n}/{v}/{r}", s.webRelease)
	m.HandleFunc("GET /pkgs/{o}/{n}/{v}/{r}/graph.dot", s.webGraph)
	m.HandleFunc("GET /channels/{o}/{c}", s.webChannel)
}

type crumb struct{ Href, Text string }

// page is what every template gets; the fields a page does not use stay
// empty.
type page struct {
	Title, Query, Origin string
	Crumbs               []crumb
	Origins, Names       []string
	Channels, Idents     []string
	Releases             []webRelease
	Targets              []webTarget
	Next                 string
}

type webRelease struct {
	Origin, Name, Version, Release, Target string
	Channels                               []string
}

type webTarget struct {
	Target, Checksum, Visibility, CreatedAt string
	Size                                    int64
	Channels, Deps                          []string
	// Graph is the release's dependency graph in DOT (releaseGraph),
	// GraphHref the same as a file.
	Graph, GraphHref         string
	Download, File, Manifest string
}

// render executes a template into a buffer first, so that a failure is
// answered 500 rather than with half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, p); err != nil {
		s.fail(w, r, fmt.Errorf("render page %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'")
	w.Write(b.Bytes())
}

func (s *Server) webIndex(w http.ResponseWriter, r *http.Request) {
	l, err := s.cfg.Store.OriginNames(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "index", page{Title: "Origins", Origins: l})
}

func (s *Server) webOrigin(w http.ResponseWriter, r *http.Request) {
	o, ok := s.origin(w, r)
	if !ok {
		return
	}
	vis, ok := s.visibilities(w, r, o, false)
	if !ok {
		return
	}
	names, _, err := s.cfg.Store.ListIdents(r.Context(), sqlstore.Filter{Origin: o.Name, Visibilities: vis}, true, 0, -1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	chs, err := s.cfg.Store.ChannelNames(r.Context(), o.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "origin", page{Title: o.Name, Origin: o.Name, Names: names, Channels: chs})
}

// newestFirst orders releases as "latest" does: version (core/ident's
// order), then release, newest first; then target.
func newestFirst(l []sqlstore.Package) {
	sort.SliceStable(l, func(i, j int) bool {
		if c := ident.CompareVersions(l[i].Version, l[j].Version); c != 0 {
			return c > 0
		}
		if l[i].Release != l[j].Release {
			return l[i].Release > l[j].Release
		}
		return l[i].Target < l[j].Target
	})
}

// visibleReleases lists the releases the path names (a package, or one
// release's targets) that the caller may see; none is answered 404.
func (s *Server) visibleReleases(w http.ResponseWriter, r *http.Request) (ident.Ident, []sqlstore.Package, bool) {
	id, o, ok := s.packageOrigin(w, r)
	if !ok {
		return id, nil, false
	}
	vis, ok := s.visibilities(w, r, o, false)
	if !ok {
		return id, nil, false
	}
	l, err := s.cfg.Store.ListReleases(r.Context(), sqlstore.Filter{Origin: id.Origin, Name: id.Name, Version: id.Version, Release: id.Release,
		Visibilities: vis})
	if err != nil {
		s.fail(w, r, err)
		return id, nil, false
	}
	if len(l) == 0 {
		text(w, http.StatusNotFound, fmt.Sprintf("package %s not found", id))
		return id, nil, false
	}
	return id, l, true
}

func (s *Server) webPackage(w http.ResponseWriter, r *http.Request) {
	id, l, ok := s.visibleReleases(w, r)
	if !ok {
		return
	}
	newestFirst(l)
	chs, err := s.channelNames(r.Context(), l)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rel := make([]webRelease, len(l))
	for i, p := range l {
		rel[i] = webRelease{Origin: p.Origin, Name: p.Name, Version: p.Version, Release: p.Release, Target: p.Target, Channels: chs[p.ID]}
	}
	s.render(w, r, "package", page{Title: id.Origin + "/" + id.Name, Origin: id.Origin, Releases: rel,
		Crumbs: []crumb{{"/pkgs/" + id.Origin, id.Origin}}})
}

func (s *Server) webRelease(w http.ResponseWriter, r *http.Request) {
	id, l, ok := s.visibleReleases(w, r)
	if !ok {
		return
	}
	chs, err := s.channelNames(r.Context(), l)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var ts []webTarget
	for _, p := range l {
		file, _ := id.ArchiveName(ident.Target(p.Target))
		dot, err := s.releaseGraph(r.Context(), p)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ts = append(ts, webTarget{Graph: string(dot), GraphHref: "/pkgs/" + id.String() + "/graph.dot?target=" + url.QueryEscape(p.Target),
			Target: p.Target, Checksum: p.Checksum, Visibility: p.Visibility, CreatedAt: p.CreatedAt, Size: p.Size,
			Channels: chs[p.ID], Deps: p.Deps, File: file, Manifest: p.Manifest,
			Download: "/v1/depot/pkgs/" + id.String() + "/download?target=" + url.QueryEscape(p.Target)})
	}
	s.render(w, r, "release", page{Title: id.String(), Origin: id.Origin, Targets: ts,
		Crumbs: []crumb{{"/pkgs/" + id.Origin, id.Origin}, {"/pkgs/" + id.Origin + "/" + id.Name, id.Name}}})
}

// webPage reads ?range (a multiple of the page size) for the paged lists.
func webPage(w http.ResponseWriter, r *http.Request) (int, bool) {
	start, ok := rangeParam(w, r)
	return max(start, 0) / pageSize * pageSize, ok
}

// nextHref links the next page when more than one page's worth remain.
func nextHref(base string, q url.Values, start, total int) string {
	if start+pageSize >= total {
		return ""
	}
	q.Set("range", strconv.Itoa(start+pageSize))
	return base + "?" + q.Encode()
}

func (s *Server) webChannel(w http.ResponseWriter, r *http.Request) {
	o, ok := s.origin(w, r)
	if !ok {
		return
	}
	c := r.PathValue("c")
	if _, err := s.cfg.Store.Channel(r.Context(), o.ID, c); err != nil {
		s.fail(w, r, err)
		return
	}
	start, ok := webPage(w, r)
	if !ok {
		return
	}
	vis, ok := s.visibilities(w, r, o, false)
	if !ok {
		return
	}
	l, total, err := s.cfg.Store.ListIdents(r.Context(), sqlstore.Filter{Origin: o.Name, Channel: c, Visibilities: vis}, false, start, pageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "list", page{Title: "Channel " + c, Origin: o.Name, Idents: l, Next: nextHref(r.URL.Path, url.Values{}, start, total),
		Crumbs: []crumb{{"/pkgs/" + o.Name, o.Name}}})
}

func (s *Server) webSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	terms := strings.Fields(q)
	if len(terms) == 0 {
		s.render(w, r, "list", page{Title: "Search"})
		return
	}
	start, ok := webPage(w, r)
	if !ok {
		return
	}
	private, err := s.privateOrigins(r, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, total, err := s.cfg.Store.Search(r.Context(), terms, private, false, start, pageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := make([]string, len(res))
	for i, v := range res {
		l[i] = strings.Join([]string{v.Origin, v.Name, v.Version, v.Release}, "/")
	}
	s.render(w, r, "list", page{Title: "Search: " + q, Query: q, Idents: l, Next: nextHref("/search", url.Values{"q": {q}}, start, total)})
}
