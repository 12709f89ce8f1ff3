package client_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgmeta"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/depot"
	"github.com/habgo/hab/depot/client"
)

// depotEnv is a real depot (embedded store, dev-auth) on a loopback port,
// optionally behind a handler that alters its answers, and a key cache
// holding the acme signing pair.
type depotEnv struct {
	t       *testing.T
	dp      *depot.Depot
	url     string
	keys    crypto.Cache
	sec     *crypto.SigningSecretKey
	keyName string
	harts   string
	alter   func(r *http.Request, status int, h http.Header, body []byte) (int, []byte)
}

func newDepotEnv(t *testing.T) *depotEnv {
	t.Helper()
	dp, err := depot.Open(context.Background(), depot.Options{DataDir: t.TempDir(), DevAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	e := &depotEnv{t: t, dp: dp, keys: crypto.Cache{Dir: filepath.Join(t.TempDir(), "keys")}, harts: t.TempDir()}
	// The real server, behind a handler that lets a test alter what it
	// answers (a compromised or buggy depot).
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.alter == nil {
			dp.Server.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		dp.Server.ServeHTTP(rec, r)
		status, body := e.alter(r, rec.Code, rec.Header(), rec.Body.Bytes())
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(func() { ts.Close(); dp.Close() })
	e.url = ts.URL
	_, sec, err := e.keys.NewSigningPair("acme", time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	e.sec = sec
	e.keyName = sec.NamedRevision.String()
	return e
}

// client is a client of the depot as account bobo (dev-auth), retrying
// quickly.
func (e *depotEnv) client(opts ...client.Option) *client.Client {
	e.t.Helper()
	c, err := client.New(e.url, append([]client.Option{client.WithToken("bobo"), client.WithRetry(2, time.Millisecond)}, opts...)...)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// build writes a signed hart of id (with these TDEPS) into e.harts.
func (e *depotEnv) build(id string, tdeps ...string) string {
	t := e.t
	t.Helper()
	pid := ident.MustParse(id)
	tree := t.TempDir()
	dir := filepath.Join(tree, "hab", "pkgs", pid.Origin, pid.Name, pid.Version, pid.Release)
	files := map[string]string{
		pkgmeta.FileIdent:  id + "\n",
		pkgmeta.FileTarget: "x86_64-linux\n",
		"bin/" + pid.Name:  "#!/bin/sh\necho " + pid.Name + "\n",
		pkgmeta.FilePath:   pkgmeta.InstallPrefix(pid) + "/bin\n",
	}
	if len(tdeps) > 0 {
		files[pkgmeta.FileDeps] = strings.Join(tdeps, "\n") + "\n"
		files[pkgmeta.FileTDeps] = strings.Join(tdeps, "\n") + "\n"
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := hart.Write(context.Background(), &buf, tree, pid, e.sec, hart.WriteOptions{XZ: hart.XZGo, Level: 1, TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	name, _ := pid.ArchiveName(ident.X86_64Linux)
	out := filepath.Join(e.harts, name)
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// fresh is an empty FS_ROOT with an empty key cache, and an installer
// taking packages from the depot (after the artifact cache).
type fresh struct {
	root      string
	keys      crypto.Cache
	artifacts string
	src       *client.Source
	in        *pkgs.Installer
}

func (e *depotEnv) fresh(c *client.Client, channel string) *fresh {
	e.t.Helper()
	root := e.t.TempDir()
	f := &fresh{root: root, keys: crypto.Cache{Dir: filepath.Join(root, "hab", "cache", "keys")}, artifacts: filepath.Join(root, "hab", "cache", "artifacts")}
	f.src = c.Source(channel, f.artifacts, nil)
	e.t.Cleanup(func() { f.src.Close() })
	f.in = &pkgs.Installer{
		Store:         pkgs.New(paths.At(root), ident.X86_64Linux),
		Keys:          f.keys,
		ArtifactCache: f.artifacts,
		Sources:       []pkgs.Source{pkgs.LocalSource{Dirs: []string{f.artifacts}}, f.src},
		XZ:            hart.XZGo,
	}
	return f
}

// installed lists the installed packages.
func (f *fresh) installed(t *testing.T) []string {
	t.Helper()
	ids, err := f.in.Store.List(context.Background(), ident.Ident{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, id := range ids {
		out = append(out, id.String())
	}
	return out
}

// files lists what a directory holds (nothing when it does not exist).
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
