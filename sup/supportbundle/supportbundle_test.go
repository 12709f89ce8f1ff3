package supportbundle

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/paths"
)

const (
	ctlSecret = "c2VjcmV0LW9mLXRoZS1jb250cm9sLWdhdGV3YXk="
	ringKey   = "SYM-SEC-1\nring-20260101000000\n\nUmluZ0tleVNlY3JldEJ5dGVz"
	authToken = "_Qk9YLTEKYmxkci0yMDE3MDgxNjAx"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readBundle is the bundle's entries, name to content (a link's target
// after "-> "), and the whole tar stream, uncompressed.
func readBundle(t *testing.T, path string) (map[string]string, []byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := Entries(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, e := range entries {
		out[name] = string(e.Data)
		if e.Linkname != "" {
			out[name] = "-> " + e.Linkname
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out, raw
}

// TestBundle: the supervisor's tree, the services' logs, the machine,
// the environment and the reports go in (a failed report as NAME.error);
// the control secret, key files and secret environment values do not,
// anywhere in the bundle; links stay links, a socket is left out and
// listed.
func TestBundle(t *testing.T) {
	dir := t.TempDir()
	root := paths.At(dir)
	sup := root.Join("hab", "sup", "default")
	write(t, filepath.Join(sup, "CTL_SECRET"), ctlSecret)
	write(t, filepath.Join(sup, "MEMBER_ID"), "0123abcd")
	write(t, filepath.Join(sup, "specs", "web.spec"), "ident = 'acme/web'\n")
	write(t, filepath.Join(sup, "data", "ring-20260101000000.sym.key"), ringKey)
	write(t, root.Join("hab", "svc", "web", "logs", "web.log"), "started\n")
	write(t, root.Join("hab", "svc", "web", "config", "secret.toml"), "password = 'pw'\n")
	if err := os.Symlink("specs/web.spec", filepath.Join(sup, "link")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(sup, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	now := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	o := Options{
		Root: root, Host: "box", Version: "1.2.3", Now: now,
		Env: []string{"PATH=/usr/bin", "HAB_CTL_SECRET=" + ctlSecret, "HAB_AUTH_TOKEN=" + authToken, "HAB_RING_KEY=" + ringKey,
			"HAB_CACHE_KEY_PATH=/keys", "HAB_LISTEN_CTL=127.0.0.1:9632"},
		Reports: []Report{
			{Name: "gateway/census.json", Fetch: func(context.Context) ([]byte, error) { return []byte(`{"census_groups":{}}`), nil }},
			{Name: "svc-status.txt", Fetch: func(context.Context) ([]byte, error) { return nil, errors.New("no supervisor is running") }},
		},
	}
	s, err := Create(context.Background(), dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, FileName("box", now)); s.Path != want || !strings.HasPrefix(filepath.Base(want), "support-bundle-box-2026") {
		t.Errorf("bundle at %s, want %s", s.Path, want)
	}
	got, raw := readBundle(t, s.Path)
	for name, want := range map[string]string{
		"hab/sup/":                       "",
		"hab/sup/default/":               "",
		"hab/sup/default/MEMBER_ID":      "0123abcd",
		"hab/sup/default/specs/":         "",
		"hab/sup/default/specs/web.spec": "ident = 'acme/web'\n",
		"hab/sup/default/data/":          "",
		"hab/sup/default/link":           "-> specs/web.spec",
		"hab/svc/web/logs/":              "",
		"hab/svc/web/logs/web.log":       "started\n",
		"gateway/census.json":            `{"census_groups":{}}`,
		"svc-status.txt.error":           "no supervisor is running\n",
		"environment.txt":                "HAB_AUTH_TOKEN=<redacted>\nHAB_CACHE_KEY_PATH=/keys\nHAB_CTL_SECRET=<redacted>\nHAB_LISTEN_CTL=127.0.0.1:9632\nHAB_RING_KEY=<redacted>\nPATH=/usr/bin\n",
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s: %q (present %v), want %q", name, v, ok, want)
		}
	}
	for _, name := range []string{"hab/sup/default/CTL_SECRET", "hab/sup/default/data/ring-20260101000000.sym.key", "hab/sup/default/sock",
		"hab/svc/web/config/", "hab/svc/web/config/secret.toml"} {
		if _, ok := got[name]; ok {
			t.Errorf("%s is in the bundle", name)
		}
	}
	if v := got["system.txt"]; !strings.Contains(v, "hab 1.2.3\nhost box\n") {
		t.Errorf("system.txt: %q", v)
	}
	for _, w := range []string{"hab/sup/default/CTL_SECRET: a secret", "hab/sup/default/data/ring-20260101000000.sym.key: a secret", "hab/sup/default/sock: not a regular file"} {
		if !strings.Contains(got["left-out.txt"], w) {
			t.Errorf("left-out.txt lacks %q:\n%s", w, got["left-out.txt"])
		}
	}
	for _, secret := range []string{ctlSecret, authToken, "UmluZ0tleVNlY3JldEJ5dGVz"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the bundle holds the secret %q", secret)
		}
	}
	if s.Files != 3 {
		t.Errorf("%d files, want 3 (MEMBER_ID, web.spec, web.log)", s.Files)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("%d entries beside the root, want the bundle only", len(ents)-1)
	}
}

// TestBundleRefuses: without a supervisor tree there is no bundle, and a
// cancelled bundle leaves no file; both say why.
func TestBundleRefuses(t *testing.T) {
	dir := t.TempDir()
	o := Options{Root: paths.At(filepath.Join(dir, "root")), Host: "box", Now: time.Now()}
	if _, err := Create(context.Background(), dir, o); !errors.Is(err, ErrNoSupervisor) || !strings.Contains(err.Error(), filepath.Join(dir, "root", "hab", "sup")) {
		t.Errorf("no supervisor: %v", err)
	}
	write(t, filepath.Join(dir, "root", "hab", "sup", "default", "MEMBER_ID"), "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Create(ctx, dir, o); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d entries left, want the root only", len(ents))
	}
	if _, err := Entries(strings.NewReader("not gzip")); err == nil || !strings.Contains(err.Error(), "read support bundle") {
		t.Errorf("Entries of a non-bundle: %v", err)
	}
	// The bundle's directory cannot be written to.
	if _, err := Create(context.Background(), filepath.Join(dir, "missing"), o); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "missing")) {
		t.Errorf("unwritable directory: %v", err)
	}
}

// TestRedact: secret-holding variables are redacted, paths and addresses
// are not.
func TestRedact(t *testing.T) {
	for _, tt := range []struct {
		kv     string
		redact bool
	}{
		{"HAB_CTL_SECRET=x", true}, {"HAB_AUTH_TOKEN=x", true}, {"HAB_RING_KEY=x", true},
		{"HAB_STUDIO_SECRET_DB=x", true}, {"HAB_SUP_GATEWAY_AUTH_TOKEN=x", true}, {"AWS_SECRET_ACCESS_KEY=x", true},
		{"PGPASSWORD=x", true}, {"HAB_CACHE_KEY_PATH=/k", false}, {"HAB_LISTEN_CTL=1", false}, {"PATH=/bin", false}, {"HAB_ORIGIN=core", false},
	} {
		got := Redact([]string{tt.kv})[0]
		if (got != tt.kv) != tt.redact {
			t.Errorf("Redact(%q) = %q, redact %v", tt.kv, got, tt.redact)
		}
	}
}
