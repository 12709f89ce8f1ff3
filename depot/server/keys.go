package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/depot/sqlstore"
)

func (s *Server) keyRoutes() {
	m := s.mux
	m.HandleFunc("GET /v1/depot/origins/{o}/keys", s.listKeys)
	m.HandleFunc("GET /v1/depot/origins/{o}/keys/latest", s.getKey)
	m.HandleFunc("GET /v1/depot/origins/{o}/keys/{rev}", s.getKey)
	m.HandleFunc("POST /v1/depot/origins/{o}/keys/{rev}", s.uploadKey)
	m.HandleFunc("POST /v1/depot/origins/{o}/keys", s.generateKeys)
	m.HandleFunc("POST /v1/depot/origins/{o}/secret_keys/{rev}", s.uploadSecretKey)
	m.HandleFunc("GET /v1/depot/origins/{o}/secret_keys/latest", s.getSecretKey)
	m.HandleFunc("GET /v1/depot/origins/{o}/encryption_key", s.getEncryptionKey)
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	o := r.PathValue("o")
	if _, ok := pathIdent(w, r); !ok {
		return
	}
	revs, err := s.cfg.Store.PublicKeyRevisions(r.Context(), o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []map[string]any{}
	for _, rev := range revs {
		out = append(out, map[string]any{"origin": o, "revision": rev, "location": "/origins/" + o + "/keys/" + rev})
	}
	writeJSON(w, http.StatusOK, out)
}

// download answers a key file with the headers the client needs.
func download(w http.ResponseWriter, filename string, body []byte) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(filename))
	w.Header().Set("X-Filename", filename)
	w.Header().Set("Cache-Control", "private, no-cache, no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request) {
	o := r.PathValue("o")
	rev, body, err := s.cfg.Store.PublicKey(r.Context(), o, r.PathValue("rev"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	download(w, o+"-"+rev+".pub", []byte(body))
}

// readKey reads a key file body of the wanted type for origin.
func readKey(w http.ResponseWriter, r *http.Request, origin string, kt crypto.KeyType) (*crypto.KeyFile, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		text(w, http.StatusUnprocessableEntity, "read key: "+err.Error())
		return nil, false
	}
	kf, err := crypto.ParseKeyFile(b, "uploaded key")
	if err != nil {
		text(w, http.StatusUnprocessableEntity, err.Error())
		return nil, false
	}
	if kf.Type != kt {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("uploaded key is %s, expected %s", kf.Type, kt))
		return nil, false
	}
	if kf.Name != origin {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("uploaded key %s is not a key of origin %s", kf.NamedRevision, origin))
		return nil, false
	}
	return kf, true
}

func (s *Server) uploadKey(w http.ResponseWriter, r *http.Request) {
	a, o, role, ok := s.authorizeRole(w, r, r.PathValue("o"), roMember, false)
	if !ok {
		return
	}
	rev := r.PathValue("rev")
	_, _, err := s.cfg.Store.PublicKey(r.Context(), o.Name, rev)
	if err == nil {
		text(w, http.StatusConflict, fmt.Sprintf("key %s-%s exists", o.Name, rev))
		return
	}
	if !errors.Is(err, sqlstore.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	if roleRank(role) < roleRank(roAdmin) {
		text(w, http.StatusForbidden, fmt.Sprintf("uploading a new key of origin %s needs administrator or higher", o.Name))
		return
	}
	kf, ok := readKey(w, r, o.Name, crypto.SigPublic)
	if !ok {
		return
	}
	if kf.Revision != rev {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("uploaded key is revision %s, the URL says %s", kf.Revision, rev))
		return
	}
	if err := s.cfg.Store.PutPublicKey(r.Context(), o.ID, rev, string(kf.Encode()), a.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	loc := "/origins/" + o.Name + "/keys/" + rev
	w.Header().Set("Location", r.URL.RequestURI())
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, loc)
}

func (s *Server) generateKeys(w http.ResponseWriter, r *http.Request) {
	a, o, ok := s.authorize(w, r, r.PathValue("o"), roAdmin, false)
	if !ok {
		return
	}
	pub, sec, err := crypto.GenerateSigningPair(o.Name, time.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.cfg.Store.PutPublicKey(r.Context(), o.ID, pub.Revision, string(pub.KeyFile().Encode()), a.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, s.cfg.Store.PutSecretKey(r.Context(), o.ID, sec.Revision, string(sec.KeyFile().Encode()), a.ID), http.StatusCreated)
}

func (s *Server) uploadSecretKey(w http.ResponseWriter, r *http.Request) {
	a, o, ok := s.authorize(w, r, r.PathValue("o"), roAdmin, false)
	if !ok {
		return
	}
	kf, ok := readKey(w, r, o.Name, crypto.SigSecret)
	if !ok {
		return
	}
	s.reply(w, r, s.cfg.Store.PutSecretKey(r.Context(), o.ID, kf.Revision, string(kf.Encode()), a.ID), http.StatusCreated)
}

func (s *Server) getSecretKey(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roMember, false)
	if !ok {
		return
	}
	rev, body, err := s.cfg.Store.SecretKey(r.Context(), o.Name, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	download(w, o.Name+"-"+rev+".sig.key", []byte(body))
}

// encryptionKey returns the origin's box pair, generated on first use.
func (s *Server) encryptionKey(r *http.Request, o sqlstore.Origin) (rev, public, secret string, err error) {
	return s.cfg.Store.EncryptionKey(r.Context(), o.ID, func() (string, string, string, error) {
		pub, sec, err := crypto.GenerateBoxPair(o.Name, time.Now())
		if err != nil {
			return "", "", "", err
		}
		return pub.KeyFile().Revision, string(pub.KeyFile().Encode()), string(sec.KeyFile().Encode()), nil
	})
}

func (s *Server) getEncryptionKey(w http.ResponseWriter, r *http.Request) {
	_, o, ok := s.authorize(w, r, r.PathValue("o"), roReadonly, false)
	if !ok {
		return
	}
	rev, pub, _, err := s.encryptionKey(r, o)
	if err != nil {
		s.fail(w, r, errors.Join(err))
		return
	}
	download(w, o.Name+"-"+rev+".pub", []byte(pub))
}
