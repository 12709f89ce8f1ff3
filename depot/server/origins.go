package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/sqlstore"
)

func (s *Server) originRoutes() {
	m := s.mux
	m.HandleFunc("POST /v1/depot/origins", s.createOrigin)
	m.HandleFunc("GET /v1/depot/origins/{o}", s.showOrigin)
	m.HandleFunc("PUT /v1/depot/origins/{o}", s.updateOrigin)
	m.HandleFunc("DELETE /v1/depot/origins/{o}", s.deleteOrigin)
	m.HandleFunc("GET /v1/depot/origins/{o}/users", s.members)
	m.HandleFunc("DELETE /v1/depot/origins/{o}/users/{user}", s.removeMember)
	m.HandleFunc("GET /v1/depot/origins/{o}/users/{user}/role", s.memberRole)
	m.HandleFunc("PUT /v1/depot/origins/{o}/users/{user}/role", s.setMemberRole)
	m.HandleFunc("POST /v1/depot/origins/{o}/transfer/{user}", s.transfer)
	m.HandleFunc("POST /v1/depot/origins/{o}/depart", s.depart)
	m.HandleFunc("GET /v1/depot/origins/{o}/invitations", s.originInvitations)
	m.HandleFunc("POST /v1/depot/origins/{o}/users/{user}/invitations", s.invite)
	m.HandleFunc("PUT /v1/depot/origins/{o}/invitations/{id}", s.invitationAction("accept"))
	m.HandleFunc("PUT /v1/depot/origins/{o}/invitations/{id}/ignore", s.invitationAction("ignore"))
	m.HandleFunc("DELETE /v1/depot/origins/{o}/invitations/{id}", s.invitationAction("rescind"))
	m.HandleFunc("GET /v1/depot/origins/{o}/secret", s.listSecrets)
	m.HandleFunc("POST /v1/depot/origins/{o}/secret", s.createSecret)
	m.HandleFunc("DELETE /v1/depot/origins/{o}/secret/{name}", s.deleteSecret)
	m.HandleFunc("GET /v1/depot/origins/{o}/integrations", s.listIntegrations)
	m.HandleFunc("GET /v1/depot/origins/{o}/integrations/{kind}/names", s.integrationNames)
	m.HandleFunc("GET /v1/depot/origins/{o}/integrations/{kind}/{name}", s.getIntegration)
	m.HandleFunc("PUT /v1/depot/origins/{o}/integrations/{kind}/{name}", s.putIntegration)
	m.HandleFunc("DELETE /v1/depot/origins/{o}/integrations/{kind}/{name}", s.deleteIntegration)
	m.HandleFunc("GET /v1/settings/{o}/{name}", s.getSetting)
	m.HandleFunc("POST /v1/settings/{o}/{name}", s.writeSetting(true))
	m.HandleFunc("PUT /v1/settings/{o}/{name}", s.writeSetting(false))
	m.HandleFunc("DELETE /v1/settings/{o}/{name}", s.deleteSetting)
	// GET /v1/depot/{o}/pkgs would conflict with /v1/depot/origins/{o} in
	// the router: ServeHTTP sends it to settingNames.
}

func validVisibility(v string) bool { return v == "public" || v == "private" || v == "hidden" }

// defaultVisibility reads an origin's default_package_visibility
// ("public" when absent), answering 422 when it is not one.
func defaultVisibility(w http.ResponseWriter, v *string) (string, bool) {
	vis := "public"
	if v != nil {
		vis = *v
	}
	if !validVisibility(vis) {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("invalid default_package_visibility %q", vis))
		return "", false
	}
	return vis, true
}

func (s *Server) createOrigin(w http.ResponseWriter, r *http.Request) {
	a, ok := s.user(w, r)
	if !ok {
		return
	}
	var body struct {
		Name       string  `json:"name"`
		Visibility *string `json:"default_package_visibility"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	if !ident.ValidOrigin(body.Name) {
		text(w, http.StatusExpectationFailed, fmt.Sprintf("invalid origin name %q: lowercase letters, digits, '_' and '-', starting with a letter or digit, at most 255 characters", body.Name))
		return
	}
	vis, ok := defaultVisibility(w, body.Visibility)
	if !ok {
		return
	}
	o, err := s.cfg.Store.CreateOrigin(r.Context(), body.Name, a.ID, vis)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"owner_id": id(o.OwnerID), "name": o.Name, "created_at": o.CreatedAt,
		"updated_at": o.UpdatedAt, "default_package_visibility": o.DefaultPackageVisibility})
}

// origin finds the origin named in the path, answering 422/404.
func (s *Server) origin(w http.ResponseWriter, r *http.Request) (sqlstore.Origin, bool) {
	name := r.PathValue("o")
	if !ident.ValidOrigin(name) {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("invalid origin name %q", name))
		return sqlstore.Origin{}, false
	}
	o, err := s.cfg.Store.Origin(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return o, false
	}
	return o, true
}

func (s *Server) showOrigin(w http.ResponseWriter, r *http.Request) {
	o, ok := s.origin(w, r)
	if !ok {
		return
	}
	var priv any
	rev, _, err := s.cfg.Store.SecretKey(r.Context(), o.Name, "")
	switch {
	case err == nil:
		priv = o.Name + "-" + rev
	case !errors.Is(err, sqlstore.ErrNotFound):
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": o.Name, "owner_id": id(o.OwnerID), "owner_account": o.OwnerName,
		"private_key_name": priv, "default_package_visibility": o.DefaultPackageVisibility})
}

func (s *Server) updateOrigin(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roAdmin, false)
	if !ok {
		return
	}
	var body struct {
		Visibility *string `json:"default_package_visibility"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	vis, ok := defaultVisibility(w, body.Visibility)
	if !ok {
		return
	}
	s.reply(w, r, s.cfg.Store.SetOriginVisibility(r.Context(), o.ID, vis), http.StatusNoContent)
}

func (s *Server) deleteOrigin(w http.ResponseWriter, r *http.Request) {
	a, o, ok := s.authorize(w, r, r.PathValue("o"), roOwner, false)
	if !ok {
		return
	}
	if o.OwnerID != a.ID {
		text(w, http.StatusForbidden, "only the origin's owner can delete it")
		return
	}
	err := s.cfg.Store.DeleteOrigin(r.Context(), o.ID)
	var ref *sqlstore.Refused
	if errors.As(err, &ref) {
		text(w, http.StatusConflict, fmt.Sprintf("origin %s cannot be deleted: %s", o.Name, ref.Reason))
		return
	}
	s.reply(w, r, err, http.StatusNoContent)
}

func (s *Server) members(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roReadonly, false)
	if !ok {
		return
	}
	l, err := s.cfg.Store.Members(r.Context(), o.ID)
	s.replyJSON(w, r, err, map[string]any{"origin": o.Name, "members": l})
}

// account finds the account named by the {user} path parameter.
func (s *Server) account(w http.ResponseWriter, r *http.Request) (sqlstore.Account, bool) {
	name := r.PathValue("user")
	if !validAccountName(name) {
		text(w, http.StatusNotFound, fmt.Sprintf("no account %q", name))
		return sqlstore.Account{}, false
	}
	a, err := s.cfg.Store.Account(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return a, false
	}
	return a, true
}

// ownerActsOn answers for the routes only an origin's owner may use on
// another account ({user}): 401 without a session, 404 for an unknown
// origin or account, 403 unless the caller owns the origin, 422 when the
// account is the caller's own (self says why).
func (s *Server) ownerActsOn(w http.ResponseWriter, r *http.Request, what, self string) (sqlstore.Origin, sqlstore.Account, bool) {
	me, ok := s.user(w, r)
	if !ok {
		return sqlstore.Origin{}, me, false
	}
	o, ok := s.origin(w, r)
	if !ok {
		return o, me, false
	}
	if o.OwnerID != me.ID {
		text(w, http.StatusForbidden, "only the origin's owner can "+what)
		return o, me, false
	}
	u, ok := s.account(w, r)
	if !ok {
		return o, u, false
	}
	if u.ID == me.ID {
		text(w, http.StatusUnprocessableEntity, self)
		return o, u, false
	}
	return o, u, true
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	o, u, ok := s.ownerActsOn(w, r, "remove members", "the owner cannot remove themselves")
	if !ok {
		return
	}
	s.reply(w, r, s.cfg.Store.RemoveMember(r.Context(), o.ID, u.ID), http.StatusNoContent)
}

func (s *Server) memberRole(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roMember, false)
	if !ok {
		return
	}
	u, ok := s.account(w, r)
	if !ok {
		return
	}
	role, err := s.cfg.Store.Role(r.Context(), o.ID, u.ID)
	s.replyJSON(w, r, err, map[string]any{"role": role})
}

func (s *Server) setMemberRole(w http.ResponseWriter, r *http.Request) {
	role := r.URL.Query().Get("role")
	if roleRank(role) < 0 {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("invalid role %q: one of readonly_member, member, maintainer, administrator, owner", role))
		return
	}
	me, o, ok := s.authorize(w, r, r.PathValue("o"), roAdmin, false)
	if !ok {
		return
	}
	u, ok := s.account(w, r)
	if !ok {
		return
	}
	if role == roOwner {
		text(w, http.StatusForbidden, "ownership is given by a transfer, not a role change")
		return
	}
	if u.ID == me.ID {
		text(w, http.StatusForbidden, "you cannot change your own role")
		return
	}
	cur, err := s.cfg.Store.Role(r.Context(), o.ID, u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if cur == roOwner {
		text(w, http.StatusForbidden, "the owner's role cannot be changed")
		return
	}
	s.reply(w, r, s.cfg.Store.SetRole(r.Context(), o.ID, u.ID, role), http.StatusNoContent)
}

func (s *Server) transfer(w http.ResponseWriter, r *http.Request) {
	o, u, ok := s.ownerActsOn(w, r, "transfer it", "the origin is already yours")
	if !ok {
		return
	}
	if _, err := s.cfg.Store.Role(r.Context(), o.ID, u.ID); errors.Is(err, sqlstore.ErrNotFound) {
		text(w, http.StatusForbidden, fmt.Sprintf("%s is not a member of origin %s", u.Name, o.Name))
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, s.cfg.Store.Transfer(r.Context(), o.ID, o.OwnerID, u.ID), http.StatusNoContent)
}

func (s *Server) depart(w http.ResponseWriter, r *http.Request) {
	me, ok := s.user(w, r)
	if !ok {
		return
	}
	o, ok := s.origin(w, r)
	if !ok {
		return
	}
	if o.OwnerID == me.ID {
		text(w, http.StatusForbidden, "the owner cannot depart the origin: transfer it first")
		return
	}
	err := s.cfg.Store.RemoveMember(r.Context(), o.ID, me.ID)
	if errors.Is(err, sqlstore.ErrNotFound) {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("%s is not a member of origin %s", me.Name, o.Name))
		return
	}
	s.reply(w, r, err, http.StatusNoContent)
}

func (s *Server) originInvitations(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roReadonly, false)
	if !ok {
		return
	}
	l, err := s.cfg.Store.OriginInvitations(r.Context(), o.ID)
	s.replyJSON(w, r, err, map[string]any{"origin": o.Name, "invitations": invitationsJSON(l)})
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) {
	me, o, ok := s.authorize(w, r, r.PathValue("o"), roMaint, false)
	if !ok {
		return
	}
	u, ok := s.account(w, r)
	if !ok {
		return
	}
	v, err := s.cfg.Store.Invite(r.Context(), o.ID, u.ID, me.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, invitationJSON(v))
}

func (s *Server) invitationAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			text(w, http.StatusUnprocessableEntity, fmt.Sprintf("invitation id %q is not a number", r.PathValue("id")))
			return
		}
		if _, ok := s.user(w, r); !ok {
			return
		}
		o, ok := s.origin(w, r)
		if !ok {
			return
		}
		switch action {
		case "accept":
			err = s.cfg.Store.AcceptInvitation(r.Context(), o.ID, n)
		case "ignore":
			err = s.cfg.Store.IgnoreInvitation(r.Context(), o.ID, n)
		default:
			err = s.cfg.Store.RescindInvitation(r.Context(), o.ID, n)
		}
		s.reply(w, r, err, http.StatusNoContent)
	}
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roAdmin, false)
	if !ok {
		return
	}
	l, err := s.cfg.Store.Secrets(r.Context(), o.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []map[string]any{}
	for _, v := range l {
		out = append(out, map[string]any{"id": id(v.ID), "origin_id": id(o.ID), "name": v.Name, "value": v.Value,
			"owner_id": id(v.OwnerID), "created_at": v.CreatedAt, "updated_at": v.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createSecret(w http.ResponseWriter, r *http.Request) {
	me, o, ok := s.authorize(w, r, r.PathValue("o"), roAdmin, false)
	if !ok {
		return
	}
	var body struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	if !ident.ValidName(body.Name) {
		text(w, http.StatusBadRequest, fmt.Sprintf("invalid secret name %q", body.Name))
		return
	}
	// The value must be a message encrypted for the origin's encryption
	// key, which the depot checks by opening it.
	_, _, secret, err := s.encryptionKey(r, o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := openSecret(secret, body.Value); err != nil {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("secret %s: %v", body.Name, err))
		return
	}
	s.reply(w, r, s.cfg.Store.PutSecret(r.Context(), o.ID, body.Name, body.Value, me.ID), http.StatusCreated)
}

// openSecret checks that value is a box message the origin's encryption
// key opens.
func openSecret(secretKeyFile, value string) error {
	kf, err := crypto.ParseKeyFile([]byte(secretKeyFile), "origin encryption key")
	if err != nil {
		return err
	}
	sk, err := crypto.BoxSecretKeyFrom(kf)
	if err != nil {
		return err
	}
	m, err := crypto.ParseAnonymousBox([]byte(value), "secret value")
	if err != nil {
		return fmt.Errorf("value is not an ANONYMOUS-BOX-1 message for the origin's encryption key: %w", err)
	}
	if _, err := sk.DecryptAnonymous(m); err != nil {
		return fmt.Errorf("value does not open with the origin's encryption key: %w", err)
	}
	return nil
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roAdmin, false)
	if !ok {
		return
	}
	s.reply(w, r, s.cfg.Store.DeleteSecret(r.Context(), o.ID, r.PathValue("name")), http.StatusNoContent)
}

func (s *Server) listIntegrations(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roReadonly, false)
	if !ok {
		return
	}
	out, err := s.cfg.Store.Integrations(r.Context(), o.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) integrationNames(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roReadonly, false)
	if !ok || !validIntegration(w, r, "kind") {
		return
	}
	names, err := s.cfg.Store.IntegrationNames(r.Context(), o.ID, r.PathValue("kind"))
	s.replyJSON(w, r, err, map[string]any{"names": names})
}

func (s *Server) getIntegration(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roReadonly, false)
	if !ok || !validIntegration(w, r, "kind", "name") {
		return
	}
	stored, err := s.cfg.Store.Integration(r.Context(), o.ID, r.PathValue("kind"), r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// As Builder: the body without its password, inside the
	// integration's names.
	var body map[string]any
	if err := json.Unmarshal([]byte(stored), &body); err != nil {
		s.fail(w, r, fmt.Errorf("integration %s/%s: stored body: %w", r.PathValue("kind"), r.PathValue("name"), err))
		return
	}
	delete(body, "password")
	w.Header().Set("Cache-Control", "private, no-cache, no-store")
	writeJSON(w, http.StatusOK, map[string]any{"origin": o.Name, "integration": r.PathValue("kind"), "name": r.PathValue("name"), "body": body})
}

// validIntegration checks the path parameters (kind, name) of an
// integration route.
func validIntegration(w http.ResponseWriter, r *http.Request, params ...string) bool {
	for _, p := range params {
		if v := r.PathValue(p); !ident.ValidName(v) {
			text(w, http.StatusUnprocessableEntity, fmt.Sprintf("invalid integration %s %q: letters, digits, '_' and '-'", p, v))
			return false
		}
	}
	return true
}

func (s *Server) putIntegration(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roMaint, false)
	if !ok || !validIntegration(w, r, "kind", "name") {
		return
	}
	var body map[string]any
	if !readJSON(w, r, &body) {
		return
	}
	b, _ := json.Marshal(body)
	s.reply(w, r, s.cfg.Store.CreateIntegration(r.Context(), o.ID, r.PathValue("kind"), r.PathValue("name"), string(b)), http.StatusCreated)
}

func (s *Server) deleteIntegration(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roMaint, false)
	if !ok || !validIntegration(w, r, "kind", "name") {
		return
	}
	s.reply(w, r, s.cfg.Store.DeleteIntegration(r.Context(), o.ID, r.PathValue("kind"), r.PathValue("name")), http.StatusNoContent)
}

func settingJSON(v sqlstore.Setting) map[string]any {
	return map[string]any{"id": id(v.ID), "origin": v.Origin, "name": v.Name, "visibility": v.Visibility, "owner_id": id(v.OwnerID),
		"hidden": false, "created_at": v.CreatedAt, "updated_at": v.UpdatedAt}
}

func (s *Server) getSetting(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roReadonly, false)
	if !ok {
		return
	}
	v, err := s.cfg.Store.Setting(r.Context(), o.ID, r.PathValue("name"))
	s.replyJSON(w, r, err, settingJSON(v))
}

func (s *Server) writeSetting(create bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		me, o, ok := s.authorize(w, r, r.PathValue("o"), roMaint, false)
		if !ok {
			return
		}
		name := r.PathValue("name")
		if !ident.ValidName(name) {
			text(w, http.StatusUnprocessableEntity, fmt.Sprintf("invalid package name %q", name))
			return
		}
		// Builder creates a row with the origin's default visibility and
		// reads no body; a body's visibility is taken here. An update
		// needs one.
		var body struct {
			Visibility string `json:"visibility"`
		}
		read := readJSON
		if create {
			read = readOptionalJSON
		}
		if !read(w, r, &body) {
			return
		}
		switch {
		case body.Visibility == "" && create:
			body.Visibility = o.DefaultPackageVisibility
		case body.Visibility == "":
			text(w, http.StatusUnprocessableEntity, "missing required package visibility")
			return
		}
		if !validVisibility(body.Visibility) {
			text(w, http.StatusUnprocessableEntity, fmt.Sprintf("invalid visibility %q", body.Visibility))
			return
		}
		var v sqlstore.Setting
		var err error
		if create {
			v, err = s.cfg.Store.CreateSetting(r.Context(), o.ID, name, body.Visibility, me.ID)
		} else {
			v, err = s.cfg.Store.UpdateSetting(r.Context(), o.ID, name, body.Visibility)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		status := http.StatusOK
		if create {
			status = http.StatusCreated
		}
		writeJSON(w, status, settingJSON(v))
	}
}

func (s *Server) deleteSetting(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roMaint, false)
	if !ok {
		return
	}
	err := s.cfg.Store.DeleteSetting(r.Context(), o.ID, r.PathValue("name"))
	var ref *sqlstore.Refused
	if errors.As(err, &ref) {
		text(w, http.StatusConflict, fmt.Sprintf("package settings of %s/%s cannot be deleted: %s", o.Name, r.PathValue("name"), ref.Reason))
		return
	}
	s.reply(w, r, err, http.StatusNoContent)
}

func (s *Server) settingNames(w http.ResponseWriter, r *http.Request) {
	o, ok := s.origin(w, r)
	if !ok {
		return
	}
	start, ok := rangeParam(w, r)
	if !ok {
		return
	}
	offset := max(start, 0) / pageSize * pageSize
	names, total, err := s.cfg.Store.SettingNames(r.Context(), o.ID, offset, pageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := []any{}
	for _, n := range names {
		data = append(data, identJSON(o.Name+"/"+n))
	}
	paginated(w, start, total, data)
}
