package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/sqlstore"
)

// pageSize is the original's page length.
const pageSize = 50

func (s *Server) packageRoutes() {
	m := s.mux
	m.HandleFunc("POST /v1/depot/pkgs/{o}/{n}/{v}/{r}", s.upload)
	m.HandleFunc("GET /v1/depot/pkgs/{o}/{n}/{v}/{r}", s.showPackage)
	m.HandleFunc("DELETE /v1/depot/pkgs/{o}/{n}/{v}/{r}", s.deletePackage)
	m.HandleFunc("GET /v1/depot/pkgs/{o}/{n}/latest", s.latestPackage)
	m.HandleFunc("GET /v1/depot/pkgs/{o}/{n}/{v}/latest", s.latestPackage)
	m.HandleFunc("GET /v1/depot/pkgs/{o}", s.listPackages)
	m.HandleFunc("GET /v1/depot/pkgs/{o}/{n}", s.listPackages)
	m.HandleFunc("GET /v1/depot/pkgs/{o}/{n}/{v}", s.listPackages)
	m.HandleFunc("GET /v1/depot/pkgs/{o}/{n}/versions", s.versions)
	m.HandleFunc("GET /v1/depot/pkgs/search/{q}", s.search)
	m.HandleFunc("GET /v1/depot/pkgs/{o}/{n}/{v}/{r}/download", s.downloadPackage)
	m.HandleFunc("GET /v1/depot/pkgs/{o}/{n}/{v}/{r}/channels", s.packageChannels)
	m.HandleFunc("PATCH /v1/depot/pkgs/{o}/{n}/{v}/{r}/{visibility}", s.setVisibility)
	m.HandleFunc("GET /v1/rdeps/{o}/{n}", s.reverseDeps)
}

// identJSON renders "o/n[/v[/r]]" as the original's ident object.
func identJSON(s string) map[string]any {
	p := strings.SplitN(s, "/", 4)
	out := map[string]any{"origin": p[0], "name": "", "version": nil, "release": nil}
	if len(p) > 1 {
		out["name"] = p[1]
	}
	if len(p) > 2 && p[2] != "" {
		out["version"] = p[2]
	}
	if len(p) > 3 && p[3] != "" {
		out["release"] = p[3]
	}
	return out
}

func identsJSON(l []string) []map[string]any {
	out := []map[string]any{}
	for _, s := range l {
		out = append(out, identJSON(s))
	}
	return out
}

// packageJSON renders a package row as the original's Package.
func packageJSON(p sqlstore.Package, channels []string, blank bool) map[string]any {
	manifest, config := p.Manifest, p.Config
	if blank {
		manifest, config = "", ""
	}
	exposes := p.Exposes
	if exposes == nil {
		exposes = []int{}
	}
	if channels == nil {
		channels = []string{}
	}
	return map[string]any{
		"id": id(p.ID), "owner_id": id(p.OwnerID), "name": p.Name,
		"ident":       identJSON(p.Ident()),
		"ident_array": []string{p.Origin, p.Name, p.Version, p.Release},
		"checksum":    p.Checksum, "manifest": manifest, "config": config, "target": p.Target,
		"deps": identsJSON(p.Deps), "tdeps": identsJSON(p.TDeps), "build_deps": identsJSON(p.BuildDeps), "build_tdeps": identsJSON(p.BuildTDeps),
		"exposes": exposes, "visibility": p.Visibility, "created_at": p.CreatedAt, "updated_at": p.UpdatedAt,
		"origin": p.Origin, "package_type": p.PackageType,
		"channels": channels, "is_a_service": p.IsService,
	}
}

// visibilities lists what the caller may see of origin's packages: all to
// its members, public (and, for downloads, hidden) to everyone else. A
// store failure is answered (500) and false returned: it must not pass
// for "not a member".
func (s *Server) visibilities(w http.ResponseWriter, r *http.Request, o sqlstore.Origin, download bool) ([]string, bool) {
	member, err := s.isMember(r, o.ID)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if member {
		return nil, true
	}
	if download {
		return []string{"public", "hidden"}, true
	}
	return []string{"public"}, true
}

// packageOrigin validates the path ident and finds its origin; an unknown
// origin is answered 404.
func (s *Server) packageOrigin(w http.ResponseWriter, r *http.Request) (ident.Ident, sqlstore.Origin, bool) {
	id, ok := pathIdent(w, r)
	if !ok {
		return id, sqlstore.Origin{}, false
	}
	o, err := s.cfg.Store.Origin(r.Context(), id.Origin)
	if err != nil {
		s.fail(w, r, err)
		return id, o, false
	}
	return id, o, true
}

// channelNames lists the names of the channels holding each of l, by
// package id, sorted; one store call for them all.
func (s *Server) channelNames(ctx context.Context, l []sqlstore.Package) (map[int64][]string, error) {
	ids := make([]int64, len(l))
	for i, p := range l {
		ids[i] = p.ID
	}
	m, err := s.cfg.Store.ChannelsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64][]string, len(m))
	for id, cs := range m {
		names := make([]string, len(cs))
		for i, c := range cs {
			names[i] = c.Name
		}
		sort.Strings(names)
		out[id] = names
	}
	return out, nil
}

func (s *Server) respondPackage(w http.ResponseWriter, r *http.Request, p sqlstore.Package, blank, size bool, cache string) {
	chs, err := s.channelNames(r.Context(), []sqlstore.Package{p})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := packageJSON(p, chs[p.ID], blank)
	if size {
		out["size"] = p.Size
	}
	w.Header().Set("Cache-Control", cache)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) showPackage(w http.ResponseWriter, r *http.Request) {
	id, o, ok := s.packageOrigin(w, r)
	if !ok {
		return
	}
	vis, ok := s.visibilities(w, r, o, false)
	if !ok {
		return
	}
	p, err := s.cfg.Store.FindPackage(r.Context(), sqlstore.Filter{Origin: id.Origin, Name: id.Name, Version: id.Version, Release: id.Release,
		Visibilities: vis})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.respondPackage(w, r, p, true, true, "public, max-age=31536000")
}

func (s *Server) latestPackage(w http.ResponseWriter, r *http.Request) {
	id, o, ok := s.packageOrigin(w, r)
	if !ok {
		return
	}
	t, ok := target(w, r)
	if !ok {
		return
	}
	vis, ok := s.visibilities(w, r, o, false)
	if !ok {
		return
	}
	p, err := s.cfg.Store.LatestPackage(r.Context(), sqlstore.Filter{Origin: id.Origin, Name: id.Name, Version: id.Version,
		Target: string(t), Visibilities: vis})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.respondPackage(w, r, p, true, true, "private, no-cache, no-store")
}

// rangeParam reads ?range (default 0), answering 400 when it is not an
// integer.
func rangeParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("range")
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		text(w, http.StatusBadRequest, fmt.Sprintf("range %q is not an integer", v))
		return 0, false
	}
	return n, true
}

// paginated answers the original's page: 206 while more follow.
func paginated(w http.ResponseWriter, start, total int, data []any) {
	end := start + len(data) - 1
	if len(data) == 0 {
		end = total
	}
	status := http.StatusOK
	if total > end+1 {
		status = http.StatusPartialContent
	}
	writeJSON(w, status, map[string]any{"range_start": start, "range_end": end, "total_count": total, "data": data})
}

func (s *Server) listPackages(w http.ResponseWriter, r *http.Request) {
	id, o, ok := s.packageOrigin(w, r)
	if !ok {
		return
	}
	start, ok := rangeParam(w, r)
	if !ok {
		return
	}
	distinct := r.URL.Query().Get("distinct") == "true"
	vis, ok := s.visibilities(w, r, o, false)
	if !ok {
		return
	}
	f := sqlstore.Filter{Origin: id.Origin, Name: id.Name, Version: id.Version, Visibilities: vis}
	limit := pageSize
	if start < 0 {
		limit = -1
	}
	l, total, err := s.cfg.Store.ListIdents(r.Context(), f, distinct, max(start, 0), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := []any{}
	if distinct {
		for _, v := range l {
			data = append(data, map[string]any{"origin": id.Origin, "name": v, "version": nil, "release": nil, "channels": []string{}, "platforms": []string{}})
		}
		paginated(w, max(start, 0), total, data)
		return
	}
	// The page's platforms and channels in one call each.
	platforms, err := s.cfg.Store.Platforms(r.Context(), l, vis)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	chs, err := s.cfg.Store.ChannelNamesOfIdents(r.Context(), l)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, v := range l {
		item := identJSON(v)
		item["channels"], item["platforms"] = nonNil(chs[v]), nonNil(platforms[v])
		data = append(data, item)
	}
	paginated(w, max(start, 0), total, data)
}

// nonNil is l, or an empty list for none (answered [] rather than null).
func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	id, o, ok := s.packageOrigin(w, r)
	if !ok {
		return
	}
	vis, ok := s.visibilities(w, r, o, false)
	if !ok {
		return
	}
	l, err := s.cfg.Store.ListReleases(r.Context(), sqlstore.Filter{Origin: id.Origin, Name: id.Name, Visibilities: vis})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type group struct {
		version, visibility string
		releases            map[string]bool
		latest              string
		platforms           map[string]bool
	}
	groups := map[[2]string]*group{}
	var order []*group
	for _, p := range l {
		k := [2]string{p.Version, p.Visibility}
		g := groups[k]
		if g == nil {
			g = &group{version: p.Version, visibility: p.Visibility, releases: map[string]bool{}, platforms: map[string]bool{}}
			groups[k] = g
			order = append(order, g)
		}
		g.releases[p.Release] = true
		g.platforms[p.Target] = true
		if p.Release > g.latest {
			g.latest = p.Release
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		if c := ident.CompareVersions(order[i].version, order[j].version); c != 0 {
			return c > 0
		}
		return order[i].visibility < order[j].visibility
	})
	out := []map[string]any{}
	for _, g := range order {
		var platforms []string
		for t := range g.platforms {
			platforms = append(platforms, t)
		}
		sort.Strings(platforms)
		out = append(out, map[string]any{"origin": id.Origin, "name": id.Name, "version": g.version, "release_count": strconv.Itoa(len(g.releases)),
			"latest": g.latest, "platforms": platforms, "visibility": g.visibility})
	}
	writeJSON(w, http.StatusOK, out)
}

// privateOrigins lists the ids of the origins whose private packages the
// signed-in account may find by searching: its origins, with owned only
// those it owns; none without a session.
func (s *Server) privateOrigins(r *http.Request, owned bool) ([]int64, error) {
	a, ok := session(r)
	if !ok {
		return nil, nil
	}
	l, err := s.cfg.Store.UserOrigins(r.Context(), a.ID)
	if err != nil {
		return nil, err
	}
	var private []int64
	for _, o := range l {
		if !owned || o.OwnerID == a.ID {
			private = append(private, o.ID)
		}
	}
	return private, nil
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSuffix(r.PathValue("q"), "/")
	var terms []string
	for _, t := range strings.FieldsFunc(q, func(c rune) bool { return c == '/' || c == ' ' || c == '&' }) {
		terms = append(terms, t)
	}
	if len(terms) == 0 {
		text(w, http.StatusUnprocessableEntity, "empty search query")
		return
	}
	start, ok := rangeParam(w, r)
	if !ok {
		return
	}
	distinct := r.URL.Query().Get("distinct") == "true"
	private, err := s.privateOrigins(r, distinct)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	offset := max(start, 0) / pageSize * pageSize
	res, total, err := s.cfg.Store.Search(r.Context(), terms, private, distinct, offset, pageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := []any{}
	for _, v := range res {
		data = append(data, identJSON(strings.Join([]string{v.Origin, v.Name, v.Version, v.Release}, "/")))
	}
	paginated(w, max(start, 0), total, data)
}

func (s *Server) downloadPackage(w http.ResponseWriter, r *http.Request) {
	id, o, ok := s.packageOrigin(w, r)
	if !ok {
		return
	}
	t, ok := target(w, r)
	if !ok {
		return
	}
	if !s.targets[t] {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("target %s is not served by this depot", t))
		return
	}
	vis, ok := s.visibilities(w, r, o, true)
	if !ok {
		return
	}
	p, err := s.cfg.Store.FindPackage(r.Context(), sqlstore.Filter{Origin: id.Origin, Name: id.Name, Version: id.Version, Release: id.Release,
		Target: string(t), Visibilities: vis})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, _, err := s.cfg.Blobs.Open(r.Context(), p.Checksum)
	if err != nil {
		s.fail(w, r, fmt.Errorf("package %s (%s): %w", p.Ident(), p.Target, err))
		return
	}
	defer f.Close()
	name, _ := id.ArchiveName(t)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", "attachment; filename=\""+name+"\"")
	w.Header().Set("X-Filename", name)
	if p.Visibility == "public" {
		w.Header().Set("Cache-Control", "public, max-age=31536000")
	} else {
		w.Header().Set("Cache-Control", "private, max-age=300")
	}
	http.ServeContent(w, r, "", time.Time{}, f)
}

func (s *Server) packageChannels(w http.ResponseWriter, r *http.Request) {
	id, ok := pathIdent(w, r)
	if !ok {
		return
	}
	t, ok := target(w, r)
	if !ok {
		return
	}
	// An unknown origin or release has no channels (an empty list, as
	// the original answers); a store failure is a 500.
	out := []map[string]any{}
	o, err := s.cfg.Store.Origin(r.Context(), id.Origin)
	if errors.Is(err, sqlstore.ErrNotFound) {
		writeJSON(w, http.StatusOK, out)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vis, ok := s.visibilities(w, r, o, false)
	if !ok {
		return
	}
	p, err := s.cfg.Store.FindPackage(r.Context(), sqlstore.Filter{Origin: id.Origin, Name: id.Name, Version: id.Version, Release: id.Release,
		Target: string(t), Visibilities: vis})
	if errors.Is(err, sqlstore.ErrNotFound) {
		writeJSON(w, http.StatusOK, out)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cs, err := s.cfg.Store.ChannelsOf(r.Context(), []int64{p.ID})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, c := range cs[p.ID] {
		out = append(out, map[string]any{"name": c.Name, "created_at": c.CreatedAt, "promoted_at": c.PromotedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) setVisibility(w http.ResponseWriter, r *http.Request) {
	id, ok := pathIdent(w, r)
	if !ok {
		return
	}
	vis := r.PathValue("visibility")
	if vis != "public" && vis != "private" {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("visibility %q: a package can be made public or private", vis))
		return
	}
	if _, _, ok := s.authorize(w, r, id.Origin, roMaint, false); !ok {
		return
	}
	s.reply(w, r, s.cfg.Store.SetVisibility(r.Context(), id.String(), vis), http.StatusOK)
}

func (s *Server) deletePackage(w http.ResponseWriter, r *http.Request) {
	id, ok := pathIdent(w, r)
	if !ok {
		return
	}
	_, _, ok = s.authorize(w, r, id.Origin, roMember, false)
	if !ok {
		return
	}
	t, ok := target(w, r)
	if !ok {
		return
	}
	p, err := s.cfg.Store.FindPackage(r.Context(), sqlstore.Filter{Origin: id.Origin, Name: id.Name, Version: id.Version, Release: id.Release, Target: string(t)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, s.cfg.Store.DeletePackage(r.Context(), p.ID), http.StatusNoContent)
}

func (s *Server) reverseDeps(w http.ResponseWriter, r *http.Request) {
	id, ok := pathIdent(w, r)
	if !ok {
		return
	}
	t, ok := target(w, r)
	if !ok {
		return
	}
	l, err := s.cfg.Store.ReverseDeps(r.Context(), id.Origin, id.Name, string(t))
	if err != nil && !errors.Is(err, sqlstore.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	if l == nil {
		l = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"origin": id.Origin, "name": id.Name, "rdeps": l})
}
