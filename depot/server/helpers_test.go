package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"golang.org/x/crypto/blake2b"

	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/depot"
	"github.com/habgo/hab/depot/pgtest"
	"github.com/habgo/hab/internal/conformance"
)

// The PostgreSQL cluster the package's tests share (one database each).
var (
	cluster  *pgtest.Cluster
	pgReason string
)

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, func(c *pgtest.Cluster, reason string) { cluster, pgReason = c, reason }))
}

// env is a depot on a loopback port, with dev-auth.
type env struct {
	t    *testing.T
	url  string
	dp   *depot.Depot
	data string
}

// eachStore runs fn against a fresh depot on the embedded database, on
// PostgreSQL, and on the embedded database with its blobs in S3-compatible
// object storage (an in-process gofakes3 server).
func eachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newEnv(t, "", 0)) })
	t.Run("postgres", func(t *testing.T) {
		if cluster == nil {
			t.Skip(pgReason)
		}
		fn(t, newEnv(t, cluster.NewDatabase(t), 0))
	})
	t.Run("s3", func(t *testing.T) { fn(t, newEnvWith(t, depot.Options{BlobURL: fakeS3(t)})) })
}

// fakeS3 starts an in-process S3 server and returns a blob URL for it.
func fakeS3(t *testing.T) string {
	ts := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(ts.Close)
	return "s3+http://key:secret@" + strings.TrimPrefix(ts.URL, "http://") + "/depot/blobs?region=us-east-1"
}

func newEnv(t *testing.T, dsn string, maxUpload int64) *env {
	return newEnvWith(t, depot.Options{DatabaseURL: dsn, MaxUploadSize: maxUpload})
}

func newEnvWith(t *testing.T, o depot.Options) *env {
	t.Helper()
	data := t.TempDir()
	o.DataDir, o.DevAuth = data, true
	dp, err := depot.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(dp.Server)
	t.Cleanup(func() { ts.Close(); dp.Close() })
	return &env{t: t, url: ts.URL, dp: dp, data: data}
}

type resp struct {
	status int
	body   []byte
	header http.Header
}

func (r resp) String() string { return string(r.body) }

// do sends a request; token "" sends no Authorization header.
func (e *env) do(method, path, token string, body io.Reader) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Errorf("%s %s: %v", method, path, err)
		return resp{}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		// Errorf, not Fatalf: do is also called from goroutines.
		e.t.Errorf("%s %s: %v", method, path, err)
		return resp{}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: b, header: res.Header}
}

// want checks a response's status.
func (e *env) want(r resp, status int, what string) resp {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("%s: status %d, want %d; body %q", what, r.status, status, r.body)
	}
	return r
}

func (e *env) json(r resp, v any) {
	e.t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		e.t.Fatalf("decode %q: %v", r.body, err)
	}
}

func blakeHex(b []byte) string {
	h := blake2b.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (e *env) createOrigin(token, name string) {
	e.t.Helper()
	e.want(e.do("POST", "/v1/depot/origins", token, strings.NewReader(`{"name":"`+name+`"}`)), 201, "create origin "+name)
}

func builderPath(t testing.TB, elem ...string) string {
	return conformance.Path(t, append([]string{"builder"}, elem...)...)
}

const neurosisKey = "neurosis-20171211220037"

// neurosis creates origin neurosis owned by bobo, with its public key.
func (e *env) neurosis() {
	e.t.Helper()
	e.createOrigin("bobo", "neurosis")
	key, err := os.ReadFile(builderPath(e.t, neurosisKey+".pub"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.want(e.do("POST", "/v1/depot/origins/neurosis/keys/20171211220037", "bobo", bytes.NewReader(key)), 201, "upload key")
}

// hartIdent reads a hart's ident and target from its metadata.
func hartIdent(t testing.TB, path string) (ident, target string) {
	md, err := hart.ReadMetadata(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return md.Ident.String(), string(md.Target)
}

// upload posts a hart file to its own ident with its checksum and target.
func (e *env) upload(token, path, extra string) resp {
	e.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	id, tgt := hartIdent(e.t, path)
	sum := blakeHex(b)
	return e.do("POST", "/v1/depot/pkgs/"+id+"?checksum="+sum+"&target="+tgt+extra, token, bytes.NewReader(b))
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
