package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/crypto/blake2b"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/blobs"
	"github.com/habgo/hab/depot/sqlstore"
)

// pathIdent reads the {o}/{n}[/{v}[/{r}]] path parameters and validates
// them: 422 on a malformed part.
func pathIdent(w http.ResponseWriter, r *http.Request) (ident.Ident, bool) {
	id := ident.Ident{Origin: r.PathValue("o"), Name: r.PathValue("n"), Version: r.PathValue("v"), Release: r.PathValue("r")}
	if id.Name == "" {
		// Routes that name an origin only.
		if !ident.ValidOrigin(id.Origin) {
			text(w, http.StatusUnprocessableEntity, fmt.Sprintf("invalid origin name %q", id.Origin))
			return id, false
		}
		return id, true
	}
	if err := id.Validate(); err != nil {
		text(w, http.StatusUnprocessableEntity, err.Error())
		return id, false
	}
	for _, p := range []string{id.Version, id.Release} {
		if p == "." || p == ".." || strings.ContainsAny(p, "\\\x00") || strings.ContainsFunc(p, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			text(w, http.StatusUnprocessableEntity, fmt.Sprintf("invalid package identifier %q", id.String()))
			return id, false
		}
	}
	return id, true
}

// uploadError is a refusal of an upload with its status.
type uploadError struct {
	status int
	msg    string
}

func (e *uploadError) Error() string { return e.msg }

func refuse(status int, format string, a ...any) error {
	return &uploadError{status: status, msg: fmt.Sprintf(format, a...)}
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	id, ok := pathIdent(w, r)
	if !ok {
		return
	}
	if !id.FullyQualified() {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("package identifier %s is not fully qualified", id))
		return
	}
	a, o, ok := s.authorize(w, r, id.Origin, roMember, false)
	if !ok {
		return
	}
	t, ok := target(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	forced := q.Get("forced") == "true"
	checksum := strings.ToLower(q.Get("checksum"))
	if len(checksum) != 2*blake2b.Size256 {
		text(w, http.StatusUnprocessableEntity, fmt.Sprintf("ds:up:3: checksum query parameter %q is not a hex BLAKE2b-256 digest", q.Get("checksum")))
		return
	}
	if !forced {
		exists, err := s.cfg.Store.Exists(r.Context(), id.String(), string(t))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if exists {
			text(w, http.StatusConflict, fmt.Sprintf("package %s (%s) already exists", id, t))
			return
		}
	}
	body := r.Body
	if s.cfg.MaxUploadSize > 0 {
		if r.ContentLength > s.cfg.MaxUploadSize {
			text(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("package of %d bytes is larger than the depot's limit of %d bytes", r.ContentLength, s.cfg.MaxUploadSize))
			return
		}
		body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadSize)
	}
	_, err := s.receive(r.Context(), countingReader{body, s.metrics.received}, id, t, checksum, forced, o, a)
	if err != nil {
		s.metrics.uploads.WithLabelValues("refused").Inc()
		var ue *uploadError
		var mb *http.MaxBytesError
		switch {
		case errors.As(err, &mb):
			text(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("package is larger than the depot's limit of %d bytes", s.cfg.MaxUploadSize))
		case errors.As(err, &ue):
			text(w, ue.status, ue.msg)
		default:
			s.fail(w, r, err)
		}
		return
	}
	s.metrics.uploads.WithLabelValues("stored").Inc()
	w.Header().Set("Location", r.URL.RequestURI())
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, "/pkgs/"+id.String()+"/download")
}

// countingReader adds what it reads to a counter.
type countingReader struct {
	r io.Reader
	c interface{ Add(float64) }
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.c.Add(float64(n))
	return n, err
}

// receive streams the body into a new blob while checking it, reading
// each byte once (hart.VerifyStream): the header first (the signer must
// be one of the origin's uploaded public keys, else 422 naming it), the
// payload's digest against the signature, the whole file's digest
// against checksum and the package's metadata (read from the start of
// the same stream) as the last byte arrives; then the metadata is checked
// against the URL. Only then is the blob committed and the row written.
//
// A blob already stored under checksum (a forced re-upload, the same
// hart under another channel's flow) is not written again: the body is
// verified all the same, against that digest, and the row refers to the
// stored file, which is the same bytes. Blobs are never removed, so the
// file cannot go away in between.
func (s *Server) receive(ctx context.Context, body io.Reader, id ident.Ident, t ident.Target, checksum string, forced bool, o sqlstore.Origin, a sqlstore.Account) (sqlstore.Package, error) {
	opts := hart.StreamOptions{Checksum: checksum, Metadata: &hart.ReadOptions{XZ: hart.XZGo}}
	var bw BlobWriter
	stored, err := s.blobStored(ctx, checksum)
	if err != nil {
		return sqlstore.Package{}, err
	}
	if !stored {
		if bw, err = s.cfg.Blobs.Create(ctx); err != nil {
			return sqlstore.Package{}, err
		}
		defer bw.Abort()
		opts.Copy = blobCopy{bw}
	}
	v, err := hart.VerifyStream(ctx, body, originKeys{ctx: ctx, st: s.cfg.Store, origin: o.Name}, opts)
	if err != nil {
		var mb *http.MaxBytesError
		var we *blobWriteError
		switch {
		case errors.As(err, &mb):
			return sqlstore.Package{}, mb
		case errors.As(err, &we), errors.Is(err, context.Canceled):
			return sqlstore.Package{}, err
		case errors.Is(err, crypto.ErrKeyNotFound), errors.Is(err, crypto.ErrBadSignature):
			return sqlstore.Package{}, refuse(http.StatusUnprocessableEntity, "package %s: %v", id, err)
		case errors.Is(err, hart.ErrChecksum):
			return sqlstore.Package{}, refuse(http.StatusUnprocessableEntity, "ds:up:3: package %s: %v", id, err)
		case errors.Is(err, hart.ErrFormat), errors.Is(err, hart.ErrLimit):
			return sqlstore.Package{}, refuse(http.StatusUnprocessableEntity, "ds:up:0: package %s: %v", id, err)
		}
		return sqlstore.Package{}, refuse(http.StatusBadRequest, "receive package %s: %v", id, err)
	}
	md := v.Metadata
	if md.Ident != id {
		return sqlstore.Package{}, refuse(http.StatusUnprocessableEntity, "ds:up:6: the package inside is %s, not %s", md.Ident, id)
	}
	if !s.targets[md.Target] {
		return sqlstore.Package{}, refuse(http.StatusNotImplemented, "package %s is for %s, which this depot does not serve", id, md.Target)
	}
	if md.Target != t {
		return sqlstore.Package{}, refuse(http.StatusUnprocessableEntity, "package %s is for target %s, the request says %s", id, md.Target, t)
	}
	p := packageFromMetadata(md, o, a)
	p.Checksum, p.Size = v.Checksum, v.Size
	prev, err := s.cfg.Store.LatestPackage(ctx, sqlstore.Filter{Origin: id.Origin, Name: id.Name, Target: string(t)})
	switch {
	case err == nil && prev.PackageType != p.PackageType:
		return sqlstore.Package{}, refuse(http.StatusUnprocessableEntity, "Package type mismatch: %s is %s, its latest release %s is %s", id, p.PackageType, prev.Ident(), prev.PackageType)
	case err != nil && !errors.Is(err, sqlstore.ErrNotFound):
		// The check cannot be skipped: the store's failure is the answer.
		return sqlstore.Package{}, fmt.Errorf("package type of the latest release of %s/%s: %w", id.Origin, id.Name, err)
	}
	if bw != nil {
		if err := bw.Commit(ctx, v.Checksum); err != nil {
			return sqlstore.Package{}, err
		}
	}
	return s.cfg.Store.InsertPackage(ctx, p, forced)
}

// blobStored tells whether a blob is stored under digest.
func (s *Server) blobStored(ctx context.Context, digest string) (bool, error) {
	f, _, err := s.cfg.Blobs.Open(ctx, digest)
	switch {
	case err == nil:
		f.Close()
		return true, nil
	case errors.Is(err, blobs.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("look for blob %s: %w", digest, err)
}

// originKeys finds an origin's uploaded public signing keys, and no other
// origin's.
type originKeys struct {
	ctx    context.Context
	st     Keys
	origin string
}

func (k originKeys) SigningPublicKey(nameRev string) (*crypto.SigningPublicKey, error) {
	nr, err := crypto.ParseNamedRevision(nameRev)
	if err != nil {
		return nil, err
	}
	if nr.Name != k.origin {
		return nil, fmt.Errorf("%w: %s is not a key of origin %s", crypto.ErrKeyNotFound, nameRev, k.origin)
	}
	_, text, err := k.st.PublicKey(k.ctx, k.origin, nr.Revision)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: origin %s has not uploaded public key %s (upload it first)", crypto.ErrKeyNotFound, k.origin, nameRev)
	}
	if err != nil {
		return nil, err
	}
	kf, err := crypto.ParseKeyFile([]byte(text), "stored key "+nameRev)
	if err != nil {
		return nil, err
	}
	return crypto.SigningPublicKeyFrom(kf)
}

// blobCopy is the upload's copy into its blob; its errors are the
// depot's failures (500), told apart from the upload's own.
type blobCopy struct{ w io.Writer }

type blobWriteError struct{ err error }

func (e *blobWriteError) Error() string { return e.err.Error() }
func (e *blobWriteError) Unwrap() error { return e.err }

func (c blobCopy) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil {
		return n, &blobWriteError{err}
	}
	return n, nil
}

// packageFromMetadata builds the row for a package from its metadata files.
func packageFromMetadata(md *hart.Metadata, o sqlstore.Origin, a sqlstore.Account) sqlstore.Package {
	lines := func(name string) []string {
		out := []string{}
		for _, l := range strings.Split(string(md.Files[name]), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	exposes := []int{}
	for _, f := range strings.Fields(string(md.Files["EXPOSES"])) {
		if n, err := strconv.Atoi(f); err == nil {
			exposes = append(exposes, n)
		}
	}
	ptype := "Standard"
	if strings.EqualFold(strings.TrimSpace(string(md.Files["PACKAGE_TYPE"])), "native") {
		ptype = "Native"
	}
	manifest := string(md.Files["MANIFEST"])
	return sqlstore.Package{
		OriginID: o.ID, OwnerID: a.ID,
		Origin: md.Ident.Origin, Name: md.Ident.Name, Version: md.Ident.Version, Release: md.Ident.Release,
		Target:   string(md.Target),
		Manifest: manifest,
		Config:   "",
		Deps:     lines("DEPS"), TDeps: lines("TDEPS"), BuildDeps: lines("BUILD_DEPS"), BuildTDeps: lines("BUILD_TDEPS"),
		Exposes:     exposes,
		IsService:   strings.Contains(manifest, "pkg_exposes") || strings.Contains(manifest, "pkg_binds") || strings.Contains(manifest, "pkg_exports"),
		PackageType: ptype,
	}
}
