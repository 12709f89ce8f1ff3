// Package server answers Habitat Builder's HTTP API (under /v1) from a
// metadata store (depot/sqlstore) and a content-addressed blob store: the
// routes, auth rules, status codes and JSON shapes of the original, with
// uploads verified as they stream in.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/sqlstore"
)

// BlobWriter receives one blob; Commit publishes it under the digest the
// caller computed from the same bytes (the upload's verification hashes
// them once).
type BlobWriter interface {
	io.Writer
	Commit(ctx context.Context, digest string) error
	Abort()
}

// Config is what a depot serves from and how.
type Config struct {
	Store Store
	Blobs BlobStore
	Log   *slog.Logger
	// DevAuth accepts "Authorization: Bearer NAME" as account NAME (for
	// local work and tests); Serve refuses it on a non-loopback listener.
	DevAuth bool
	// MaxUploadSize bounds an uploaded package, in bytes (0: no bound).
	MaxUploadSize int64
	// Targets the depot accepts packages for (default x86_64-linux and
	// x86_64-windows, as the original).
	Targets []ident.Target
}

// BlobStore stores package files by content digest (depot/blobs.Dir,
// through depot.Open).
type BlobStore interface {
	Create(ctx context.Context) (BlobWriter, error)
	Open(ctx context.Context, digest string) (io.ReadSeekCloser, int64, error)
}

// Server is the depot's HTTP handler.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	targets map[ident.Target]bool
	metrics *metrics
}

// New builds the handler.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Targets) == 0 {
		cfg.Targets = []ident.Target{ident.X86_64Linux, ident.X86_64Windows}
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), targets: map[ident.Target]bool{}, metrics: newMetrics()}
	for _, t := range cfg.Targets {
		s.targets[t] = true
	}
	s.routes()
	return s
}

// TokenHash is how tokens are stored: hex SHA-256 (tokens are 256-bit
// random values, so no slow hash is needed).
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Serve answers on every listener until ctx ends, then shuts down
// gracefully (in-flight requests get up to grace to finish). With DevAuth
// every listener must be on a loopback address.
func (s *Server) Serve(ctx context.Context, grace time.Duration, listeners ...net.Listener) error {
	if s.cfg.DevAuth {
		if err := DevAuthListeners(listeners...); err != nil {
			return err
		}
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second, BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	errs := make(chan error, len(listeners))
	for _, l := range listeners {
		s.cfg.Log.Info("depot listening", "addr", l.Addr().String())
		go func() { errs <- srv.Serve(l) }()
	}
	select {
	case err := <-errs:
		srv.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.cfg.Log.Info("depot shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// DevAuthListeners refuses dev-auth unless every listener is on a
// loopback address (Serve checks it; a command checks it before it opens
// a store, so that a refused start creates nothing).
func DevAuthListeners(listeners ...net.Listener) error {
	for _, l := range listeners {
		if !isLoopback(l.Addr()) {
			return fmt.Errorf("--dev-auth accepts any name as an account: refused on %s, which is not a loopback address", l.Addr())
		}
	}
	return nil
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

type ctxKey int

const accountKey ctxKey = 0

// statusWriter records the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, r)
	w.n += n
	return n, err
}

// ServeHTTP logs, refuses unclean paths, authenticates, and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		d := time.Since(start)
		s.metrics.observe(r.Pattern, r.Method, sw.status, d)
		s.cfg.Log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "bytes", sw.n,
			"duration_ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
	}()
	if bad := uncleanPath(r.URL.Path); bad != "" {
		text(sw, http.StatusBadRequest, "bad request path: "+bad)
		return
	}
	if h := r.Header.Get("Authorization"); h != "" {
		a, err := s.authenticate(r.Context(), h)
		var refused authError
		if errors.As(err, &refused) {
			text(sw, http.StatusUnauthorized, err.Error())
			return
		}
		if err != nil {
			s.fail(sw, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), accountKey, a))
	}
	if o, ok := originPkgsPath(r); ok {
		r.SetPathValue("o", o)
		s.settingNames(sw, r)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// originPkgsPath recognises GET /v1/depot/{o}/pkgs.
func originPkgsPath(r *http.Request) (string, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "", false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/depot/")
	if !ok {
		return "", false
	}
	o, ok := strings.CutSuffix(rest, "/pkgs")
	if !ok || strings.Contains(o, "/") || o == "origins" || o == "pkgs" || o == "channels" {
		return "", false
	}
	return o, true
}

// uncleanPath says what is wrong with a path the router would otherwise
// redirect: empty, "." or ".." segments (also percent-encoded), NUL.
func uncleanPath(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if i == 0 {
			continue
		}
		if seg == "" && i != len(segs)-1 {
			return "empty path segment"
		}
		if seg == "." || seg == ".." {
			return "path segment " + strconv.Quote(seg)
		}
		if strings.ContainsAny(seg, "\x00\\") {
			return "path segment with NUL or backslash"
		}
	}
	return ""
}

// authError is a refusal of the credentials (401); any other error of
// authenticate is the store's failure (500).
type authError string

func (e authError) Error() string { return string(e) }

func (s *Server) authenticate(ctx context.Context, header string) (sqlstore.Account, error) {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || tok == "" {
		return sqlstore.Account{}, authError("Authorization header is not \"Bearer TOKEN\"")
	}
	if strings.HasPrefix(tok, "_") {
		a, err := s.cfg.Store.AccountByToken(ctx, TokenHash(tok))
		if errors.Is(err, sqlstore.ErrNotFound) {
			return sqlstore.Account{}, authError("invalid or revoked token")
		}
		if err != nil {
			return sqlstore.Account{}, fmt.Errorf("look up token: %w", err)
		}
		return a, nil
	}
	if s.cfg.DevAuth && validAccountName(tok) {
		a, err := s.cfg.Store.EnsureAccount(ctx, tok)
		if err != nil {
			return sqlstore.Account{}, fmt.Errorf("dev-auth account %s: %w", tok, err)
		}
		return a, nil
	}
	return sqlstore.Account{}, authError("invalid token")
}

// validAccountName: letters, digits, '-' and '_', not starting with '_'
// (tokens start with '_'), at most 64 characters.
func validAccountName(n string) bool {
	if n == "" || len(n) > 64 || n[0] == '_' {
		return false
	}
	for _, c := range n {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func session(r *http.Request) (sqlstore.Account, bool) {
	a, ok := r.Context().Value(accountKey).(sqlstore.Account)
	return a, ok
}

// text writes a plain-text error body (the original's errors are never
// JSON).
func text(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	if msg != "" {
		io.WriteString(w, msg+"\n")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		text(w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// fail maps a store error to a status: not found 404, conflict 409,
// refused 422, anything else 500 (logged).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ref *sqlstore.Refused
	switch {
	case errors.Is(err, sqlstore.ErrNotFound):
		text(w, http.StatusNotFound, err.Error())
	case errors.Is(err, sqlstore.ErrConflict):
		text(w, http.StatusConflict, err.Error())
	case errors.As(err, &ref):
		text(w, http.StatusUnprocessableEntity, ref.Reason)
	case errors.Is(err, context.Canceled):
		text(w, 499, "request cancelled")
	default:
		s.cfg.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		text(w, http.StatusInternalServerError, "internal error")
	}
}

// reply answers status when err is nil, else as fail does.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, err error, status int) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(status)
}

// replyJSON answers v as JSON with 200, or the store error as fail maps it.
func (s *Server) replyJSON(w http.ResponseWriter, r *http.Request, err error, v any) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// id formats a database id as the original does: a JSON string.
func id(n int64) string { return strconv.FormatInt(n, 10) }

// Roles from lowest to highest.
var roles = []string{"readonly_member", "member", "maintainer", "administrator", "owner"}

func roleRank(r string) int {
	for i, v := range roles {
		if v == r {
			return i
		}
	}
	return -1
}

// Minimum roles, by name.
const (
	roReadonly = "readonly_member"
	roMember   = "member"
	roMaint    = "maintainer"
	roAdmin    = "administrator"
	roOwner    = "owner"
)

// authorize checks that the caller holds at least role min in origin: 401
// with no session (or, with always401, for any refusal: the channel routes), 404 for an
// unknown origin, 403 otherwise. It writes the answer and returns false on
// failure.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, origin, min string, always401 bool) (sqlstore.Account, sqlstore.Origin, bool) {
	a, o, _, ok := s.authorizeRole(w, r, origin, min, always401)
	return a, o, ok
}

// authorizeRole is authorize, also returning the caller's role, for a
// handler whose rule depends on it (one lookup, so that a store failure
// is answered once, as a 500).
func (s *Server) authorizeRole(w http.ResponseWriter, r *http.Request, origin, min string, always401 bool) (sqlstore.Account, sqlstore.Origin, string, bool) {
	a, ok := session(r)
	if !ok {
		text(w, http.StatusUnauthorized, "authentication required")
		return a, sqlstore.Origin{}, "", false
	}
	if !ident.ValidOrigin(origin) {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("invalid origin name %q", origin))
		return a, sqlstore.Origin{}, "", false
	}
	o, err := s.cfg.Store.Origin(r.Context(), origin)
	if err != nil {
		s.fail(w, r, err)
		return a, o, "", false
	}
	role, err := s.cfg.Store.Role(r.Context(), o.ID, a.ID)
	if err != nil && !errors.Is(err, sqlstore.ErrNotFound) {
		s.fail(w, r, err)
		return a, o, "", false
	}
	deny := http.StatusForbidden
	if always401 {
		deny = http.StatusUnauthorized
	}
	if err != nil {
		text(w, deny, fmt.Sprintf("%s is not a member of origin %s", a.Name, origin))
		return a, o, "", false
	}
	if roleRank(role) < roleRank(min) {
		text(w, deny, fmt.Sprintf("%s is %s of origin %s; this needs %s or higher", a.Name, role, origin, min))
		return a, o, "", false
	}
	return a, o, role, true
}

// isMember reports whether the caller belongs to the origin (any role);
// the error is the store's failure to tell.
func (s *Server) isMember(r *http.Request, originID int64) (bool, error) {
	a, ok := session(r)
	if !ok {
		return false, nil
	}
	_, err := s.cfg.Store.Role(r.Context(), originID, a.ID)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// target is the request's target: ?target=, else the User-Agent's
// "hab/VERSION (TARGET; ...)", else x86_64-linux. ok is false (and the
// answer written) for an invalid ?target.
func target(w http.ResponseWriter, r *http.Request) (ident.Target, bool) {
	if t := r.URL.Query().Get("target"); t != "" {
		pt, err := ident.ParseTarget(t)
		if err != nil {
			text(w, http.StatusUnprocessableEntity, err.Error())
			return "", false
		}
		return pt, true
	}
	ua := r.Header.Get("User-Agent")
	if i := strings.Index(ua, "("); i >= 0 {
		rest := ua[i+1:]
		if j := strings.IndexAny(rest, ";)"); j >= 0 {
			if t, err := ident.ParseTarget(strings.TrimSpace(rest[:j])); err == nil {
				return t, true
			}
		}
	}
	return ident.X86_64Linux, true
}

// readJSON decodes a bounded JSON body into v, answering 400 on failure.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeJSON(w, r, v, false)
}

// readOptionalJSON is readJSON for a body that may be left out: an empty
// one leaves v as it is.
func readOptionalJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeJSON(w, r, v, true)
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v)
	if err == nil || optional && errors.Is(err, io.EOF) {
		return true
	}
	text(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
	return false
}
