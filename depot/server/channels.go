package server

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/habgo/hab/depot/sqlstore"
)

func (s *Server) channelRoutes() {
	m := s.mux
	const c = "/v1/depot/channels/{o}"
	m.HandleFunc("GET "+c, s.listChannels)
	m.HandleFunc("POST "+c+"/{ch}", s.createChannel)
	m.HandleFunc("DELETE "+c+"/{ch}", s.deleteChannel)
	m.HandleFunc("GET "+c+"/{ch}/pkgs", s.channelPackages)
	m.HandleFunc("GET "+c+"/{ch}/pkgs/{n}", s.channelPackages)
	m.HandleFunc("GET "+c+"/{ch}/pkgs/{n}/{v}", s.channelPackages)
	m.HandleFunc("GET "+c+"/{ch}/pkgs/_latest", s.channelLatestAll)
	m.HandleFunc("GET "+c+"/{ch}/pkgs/{n}/latest", s.channelPackage(true))
	m.HandleFunc("GET "+c+"/{ch}/pkgs/{n}/{v}/latest", s.channelPackage(true))
	m.HandleFunc("GET "+c+"/{ch}/pkgs/{n}/{v}/{r}", s.channelPackage(false))
	m.HandleFunc("PUT "+c+"/{ch}/pkgs/{n}/{v}/{r}/promote", s.promote)
	m.HandleFunc("PUT "+c+"/{ch}/pkgs/{n}/{v}/{r}/demote", s.demote)
	m.HandleFunc("PUT "+c+"/{ch}/pkgs/promote", s.channelToChannel(true))
	m.HandleFunc("PUT "+c+"/{ch}/pkgs/demote", s.channelToChannel(false))
}

// channelRE: the original does not validate channel names; here they are
// letters, digits, '.', '_' and '-' (not "." or ".."), so that a name is
// never a path.
var channelRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`)

func validChannel(w http.ResponseWriter, name string) bool {
	if !channelRE.MatchString(name) || name == "." || name == ".." {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("invalid channel name %q: letters, digits, '.', '_' and '-'", name))
		return false
	}
	return true
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) {
	if _, ok := pathIdent(w, r); !ok {
		return
	}
	names, err := s.cfg.Store.ChannelNames(r.Context(), r.PathValue("o"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sandbox := r.URL.Query().Get("sandbox") == "true"
	out := []map[string]string{}
	for _, n := range names {
		if strings.HasPrefix(n, "bldr-") && !sandbox {
			continue
		}
		out = append(out, map[string]string{"name": n})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createChannel(w http.ResponseWriter, r *http.Request) {
	a, o, ok := s.authorize(w, r, r.PathValue("o"), roMaint, true)
	if !ok {
		return
	}
	name := r.PathValue("ch")
	if !validChannel(w, name) {
		return
	}
	c, err := s.cfg.Store.CreateChannel(r.Context(), o.ID, name, a.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id(c.ID), "owner_id": id(c.OwnerID), "name": c.Name,
		"created_at": c.CreatedAt, "updated_at": c.UpdatedAt, "origin": c.Origin})
}

func (s *Server) deleteChannel(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roMaint, true)
	if !ok {
		return
	}
	name := r.PathValue("ch")
	if name == sqlstore.Stable || name == sqlstore.Unstable {
		text(w, http.StatusForbidden, fmt.Sprintf("channel %s cannot be deleted", name))
		return
	}
	if !validChannel(w, name) {
		return
	}
	s.reply(w, r, s.cfg.Store.DeleteChannel(r.Context(), o.ID, name), http.StatusOK)
}

func (s *Server) channelPackages(w http.ResponseWriter, r *http.Request) {
	start, ok := rangeParam(w, r)
	if !ok {
		return
	}
	ch := r.PathValue("ch")
	if !validChannel(w, ch) {
		return
	}
	id, ok := pathIdent(w, r)
	if !ok {
		return
	}
	data := []any{}
	o, err := s.cfg.Store.Origin(r.Context(), id.Origin)
	if errors.Is(err, sqlstore.ErrNotFound) {
		paginated(w, start, 0, data)
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
	f := sqlstore.Filter{Origin: id.Origin, Name: id.Name, Version: id.Version, Channel: ch, Visibilities: vis}
	if t := r.URL.Query().Get("target"); t != "" {
		tt, ok := target(w, r)
		if !ok {
			return
		}
		f.Target = string(tt)
	}
	l, total, err := s.cfg.Store.PageIdents(r.Context(), f, max(start, 0)/pageSize*pageSize, pageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, v := range l {
		data = append(data, identJSON(v))
	}
	paginated(w, start, total, data)
}

func (s *Server) channelLatestAll(w http.ResponseWriter, r *http.Request) {
	ch := r.PathValue("ch")
	if !validChannel(w, ch) {
		return
	}
	if _, ok := pathIdent(w, r); !ok {
		return
	}
	if r.URL.Query().Get("target") == "" {
		text(w, http.StatusBadRequest, "the target query parameter is required")
		return
	}
	t, ok := target(w, r)
	if !ok {
		return
	}
	out := map[string]any{"channel": ch, "target": string(t), "data": []any{}}
	o, err := s.cfg.Store.Origin(r.Context(), r.PathValue("o"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vis, ok := s.visibilities(w, r, o, false)
	if !ok {
		return
	}
	l, err := s.cfg.Store.LatestPerName(r.Context(), sqlstore.Filter{Origin: o.Name, Target: string(t), Channel: ch, Visibilities: vis})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out["data"] = identsJSON(l)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) channelPackage(latest bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ch := r.PathValue("ch")
		if !validChannel(w, ch) {
			return
		}
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
		f := sqlstore.Filter{Origin: id.Origin, Name: id.Name, Version: id.Version, Release: id.Release, Target: string(t),
			Channel: ch, Visibilities: vis}
		var p sqlstore.Package
		var err error
		if latest {
			p, err = s.cfg.Store.LatestPackage(r.Context(), f)
		} else {
			p, err = s.cfg.Store.FindPackage(r.Context(), f)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.respondPackage(w, r, p, false, false, "private, no-cache, no-store")
	}
}

// channelRelease authorizes a channel write and finds the channel and the
// release for the request's target.
func (s *Server) channelRelease(w http.ResponseWriter, r *http.Request) (sqlstore.Channel, sqlstore.Package, bool) {
	ch := r.PathValue("ch")
	id, ok := pathIdent(w, r)
	if !ok || !validChannel(w, ch) {
		return sqlstore.Channel{}, sqlstore.Package{}, false
	}
	_, o, ok := s.authorize(w, r, id.Origin, roMaint, true)
	if !ok {
		return sqlstore.Channel{}, sqlstore.Package{}, false
	}
	t, ok := target(w, r)
	if !ok {
		return sqlstore.Channel{}, sqlstore.Package{}, false
	}
	c, err := s.cfg.Store.Channel(r.Context(), o.ID, ch)
	if err != nil {
		s.fail(w, r, err)
		return c, sqlstore.Package{}, false
	}
	p, err := s.cfg.Store.FindPackage(r.Context(), sqlstore.Filter{Origin: id.Origin, Name: id.Name, Version: id.Version, Release: id.Release, Target: string(t)})
	if err != nil {
		s.fail(w, r, err)
		return c, p, false
	}
	return c, p, true
}

func (s *Server) promote(w http.ResponseWriter, r *http.Request) {
	c, p, ok := s.channelRelease(w, r)
	if !ok {
		return
	}
	s.reply(w, r, s.cfg.Store.Promote(r.Context(), c.ID, p.ID), http.StatusOK)
}

func (s *Server) demote(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("ch") == sqlstore.Unstable {
		text(w, http.StatusForbidden, "nothing can be demoted from unstable")
		return
	}
	c, p, ok := s.channelRelease(w, r)
	if !ok {
		return
	}
	if err := s.cfg.Store.Demote(r.Context(), c.ID, p.ID); err != nil {
		if errors.Is(err, sqlstore.ErrNotFound) {
			text(w, http.StatusBadRequest, fmt.Sprintf("package %s (%s) is not in channel %s", p.Ident(), p.Target, c.Name))
			return
		}
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) channelToChannel(promote bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		src, dst := r.PathValue("ch"), r.URL.Query().Get("channel")
		if !validChannel(w, src) || !validChannel(w, dst) {
			return
		}
		a, o, ok := s.authorize(w, r, r.PathValue("o"), roMaint, true)
		if !ok {
			return
		}
		switch {
		case src == dst:
			text(w, http.StatusBadRequest, "source and destination channels are the same")
			return
		case dst == sqlstore.Unstable:
			text(w, http.StatusBadRequest, "nothing can be promoted to or demoted from unstable by channel")
			return
		case !promote && src == sqlstore.Unstable:
			text(w, http.StatusBadRequest, "unstable cannot be the source of a channel demotion")
			return
		}
		sc, err := s.cfg.Store.Channel(r.Context(), o.ID, src)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		dc, err := s.cfg.Store.EnsureChannel(r.Context(), o.ID, dst, a.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if promote {
			err = s.cfg.Store.PromoteChannel(r.Context(), sc.ID, dc.ID)
		} else {
			err = s.cfg.Store.DemoteChannel(r.Context(), sc.ID, dc.ID)
		}
		s.reply(w, r, err, http.StatusOK)
	}
}
