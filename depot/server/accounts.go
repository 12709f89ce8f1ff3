package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/habgo/hab/depot/sqlstore"
)

func (s *Server) routes() {
	m := s.mux
	status := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }
	m.HandleFunc("GET /v1/status", status)
	m.HandleFunc("HEAD /v1/status", status)
	m.Handle("GET /metrics", s.metrics.handler())

	m.HandleFunc("GET /v1/profile", s.profile)
	m.HandleFunc("PATCH /v1/profile", s.updateProfile)
	m.HandleFunc("GET /v1/profile/access-tokens", s.listTokens)
	m.HandleFunc("POST /v1/profile/access-tokens", s.createToken)
	m.HandleFunc("DELETE /v1/profile/access-tokens/{id}", s.deleteToken)
	m.HandleFunc("GET /v1/user/invitations", s.userInvitations)
	m.HandleFunc("GET /v1/user/origins", s.userOrigins)

	s.originRoutes()
	s.keyRoutes()
	s.packageRoutes()
	s.channelRoutes()
	s.webRoutes()
}

// NewToken makes a fresh access token: "_" and base64 of 32 random bytes,
// the shape of the original's.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "_" + base64.RawURLEncoding.EncodeToString(b)
}

// IssueToken creates (or replaces) the access token of account name,
// creating the account; it is what `hab depot token create` calls.
func IssueToken(ctx context.Context, st Accounts, name string) (string, error) {
	if !validAccountName(name) {
		return "", fmt.Errorf("invalid account name %q: letters, digits, '-' and '_', not starting with '_'", name)
	}
	a, err := st.EnsureAccount(ctx, name)
	if err != nil {
		return "", err
	}
	tok := NewToken()
	if _, err := st.SetToken(ctx, a.ID, TokenHash(tok)); err != nil {
		return "", err
	}
	return tok, nil
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) (sqlstore.Account, bool) {
	a, ok := session(r)
	if !ok {
		text(w, http.StatusUnauthorized, "authentication required")
	}
	return a, ok
}

func accountJSON(a sqlstore.Account) map[string]any {
	return map[string]any{"id": id(a.ID), "email": a.Email, "name": a.Name, "created_at": a.CreatedAt, "updated_at": a.UpdatedAt}
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	a, ok := s.user(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, accountJSON(a))
}

func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request) {
	a, ok := s.user(w, r)
	if !ok {
		return
	}
	var body struct {
		Email string `json:"email"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	if body.Email == "" {
		text(w, http.StatusBadRequest, "email is empty")
		return
	}
	s.reply(w, r, s.cfg.Store.SetEmail(r.Context(), a.ID, body.Email), http.StatusOK)
}

// tokenJSON: the stored token is only a hash, so listings carry an empty
// token; only creation returns it.
func tokenJSON(t sqlstore.Token, token string) map[string]any {
	return map[string]any{"id": id(t.ID), "account_id": id(t.AccountID), "token": token, "created_at": t.CreatedAt}
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	a, ok := s.user(w, r)
	if !ok {
		return
	}
	ts, err := s.cfg.Store.Tokens(r.Context(), a.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []map[string]any{}
	for _, t := range ts {
		out = append(out, tokenJSON(t, ""))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	a, ok := s.user(w, r)
	if !ok {
		return
	}
	tok := NewToken()
	t, err := s.cfg.Store.SetToken(r.Context(), a.ID, TokenHash(tok))
	s.replyJSON(w, r, err, tokenJSON(t, tok))
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("token id %q is not a number", r.PathValue("id")))
		return
	}
	a, ok := s.user(w, r)
	if !ok {
		return
	}
	err = s.cfg.Store.DeleteToken(r.Context(), a.ID, n)
	if errors.Is(err, sqlstore.ErrNotFound) {
		text(w, http.StatusUnauthorized, "no such token of yours")
		return
	}
	s.reply(w, r, err, http.StatusOK)
}

func invitationJSON(v sqlstore.Invitation) map[string]any {
	return map[string]any{"id": id(v.ID), "origin": v.Origin, "account_id": id(v.AccountID), "account_name": v.AccountName,
		"owner_id": id(v.OwnerID), "ignored": v.Ignored, "created_at": v.CreatedAt, "updated_at": v.UpdatedAt}
}

func invitationsJSON(l []sqlstore.Invitation) []map[string]any {
	out := []map[string]any{}
	for _, v := range l {
		out = append(out, invitationJSON(v))
	}
	return out
}

func (s *Server) userInvitations(w http.ResponseWriter, r *http.Request) {
	a, ok := s.user(w, r)
	if !ok {
		return
	}
	l, err := s.cfg.Store.AccountInvitations(r.Context(), a.ID)
	s.replyJSON(w, r, err, invitationsJSON(l))
}

func (s *Server) userOrigins(w http.ResponseWriter, r *http.Request) {
	a, ok := s.user(w, r)
	if !ok {
		return
	}
	l, err := s.cfg.Store.UserOrigins(r.Context(), a.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []map[string]any{}
	for _, o := range l {
		out = append(out, map[string]any{"owner_id": id(o.OwnerID), "name": o.Name, "created_at": o.CreatedAt, "updated_at": o.UpdatedAt,
			"default_package_visibility": o.DefaultPackageVisibility, "package_count": o.PackageCount})
	}
	writeJSON(w, http.StatusOK, out)
}
