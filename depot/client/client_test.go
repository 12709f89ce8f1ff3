package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/internal/conformance"
)

const (
	lib = "acme/lib/1.0/20200101000000"
	app = "acme/app/1.0/20200101000000"
)

// published uploads app (with lib beside it, uploaded as its missing
// dependency) and promotes it to stable.
func (e *depotEnv) published(c *client.Client) (libHart, appHart string) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := c.CreateOrigin(ctx, "acme", ""); err != nil {
		e.t.Fatal(err)
	}
	libHart = e.build(lib)
	appHart = e.build(app, lib)
	var said []string
	if err := c.UploadHart(ctx, appHart, client.UploadOptions{Channel: "stable", Keys: e.keys, Say: func(s string) { said = append(said, s) }}); err != nil {
		e.t.Fatal(err)
	}
	for _, want := range []string{"Uploaded " + e.keyName, "Uploading dependency " + lib, "Uploaded " + lib, "Uploaded " + app, "Promoted " + app + " to stable"} {
		if !slices.ContainsFunc(said, func(s string) bool { return strings.HasPrefix(s, want) }) {
			e.t.Errorf("upload did not say %q:\n%s", want, strings.Join(said, "\n"))
		}
	}
	return libHart, appHart
}

// TestInstallFromDepot: an upload carries its missing dependency and the
// signer's key; an install into an empty root resolves the newest release
// in the channel, downloads the closure and the key it lacks, verifies,
// installs, and leaves the harts (only verified ones) in the artifact
// cache and no temporary.
func TestInstallFromDepot(t *testing.T) {
	ctx := context.Background()
	e := newDepotEnv(t)
	c := e.client()
	libHart, _ := e.published(c)

	// Both are in unstable, where uploads land, and in stable: the
	// dependency uploaded along is promoted too, as in the original.
	for _, tc := range []struct {
		id   string
		want []string
	}{{lib, []string{"stable", "unstable"}}, {app, []string{"stable", "unstable"}}} {
		chs, err := c.PackageChannels(ctx, ident.MustParse(tc.id), ident.X86_64Linux)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ch := range chs {
			names = append(names, ch.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, tc.want) {
			t.Errorf("channels of %s: %v, want %v", tc.id, names, tc.want)
		}
	}

	anon, err := client.New(e.url, client.WithRetry(2, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	f := e.fresh(anon, "stable")
	res, err := f.in.Install(ctx, "acme/app")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Installed; len(got) != 2 || got[0].String() != lib || got[1].String() != app {
		t.Errorf("installed %v", got)
	}
	if _, err := f.keys.SigningPublicKey(e.keyName); err != nil {
		t.Errorf("the signer's key was not cached: %v", err)
	}
	// The download directory goes with the source.
	f.src.Close()
	if got := files(t, f.artifacts); len(got) != 2 || !slices.Contains(got, filepath.Base(libHart)) {
		t.Errorf("artifact cache holds %v", got)
	}
	// Idempotent: installing again installs nothing.
	if res, err := f.in.Install(ctx, "acme/app"); err != nil || len(res.Installed) != 0 {
		t.Errorf("second install: %v %v", res, err)
	}

	// Nothing in the channel: a clear error naming the depot.
	f2 := e.fresh(c, "nosuch")
	_, err = f2.in.Install(ctx, "acme/app")
	if !errors.Is(err, pkgs.ErrArtifactNotFound) || !strings.Contains(err.Error(), "the depot "+e.url+"/v1 (channel nosuch)") {
		t.Errorf("install from an empty channel: %v", err)
	}
	// A fully qualified ident ignores the channel, as in the original.
	if _, err := f2.in.Install(ctx, lib); err != nil {
		t.Errorf("install of %s from channel nosuch: %v", lib, err)
	}
}

// TestTamperedDepot: whatever a depot sends (altered or truncated harts,
// another release, another key under the signer's name, a lying "latest"),
// the client installs nothing that does not verify with the keys it
// trusts, and leaves nothing behind.
func TestTamperedDepot(t *testing.T) {
	ctx := context.Background()
	isDownload := func(r *http.Request, id string) bool {
		return strings.HasSuffix(r.URL.Path, "/pkgs/"+id+"/download")
	}
	// Another pair under the very name of the genuine one.
	other, otherSec, err := crypto.GenerateSigningPair("acme", time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		// trust puts the genuine key in the fresh key cache first.
		trust bool
		alter func(e *depotEnv, r *http.Request, status int, h http.Header, body []byte) (int, []byte)
		want  string
	}{
		{name: "payload byte flipped", alter: func(e *depotEnv, r *http.Request, status int, h http.Header, body []byte) (int, []byte) {
			if isDownload(r, lib) {
				body[len(body)-100] ^= 0x55
			}
			return status, body
		}, want: "signature"},
		{name: "truncated", alter: func(e *depotEnv, r *http.Request, status int, h http.Header, body []byte) (int, []byte) {
			if isDownload(r, app) {
				body = body[:len(body)/2]
			}
			return status, body
		}},
		{name: "another release served", alter: func(e *depotEnv, r *http.Request, status int, h http.Header, body []byte) (int, []byte) {
			if isDownload(r, lib) {
				b, _ := os.ReadFile(filepath.Join(e.harts, "acme-app-1.0-20200101000000-x86_64-linux.hart"))
				return status, b
			}
			return status, body
		}, want: "acme/app"},
		{name: "another key under the signer's name", alter: func(e *depotEnv, r *http.Request, status int, h http.Header, body []byte) (int, []byte) {
			if strings.Contains(r.URL.Path, "/keys/") {
				return status, other.KeyFile().Encode()
			}
			return status, body
		}, want: "signature"},
		{name: "a secret key in place of the public key", alter: func(e *depotEnv, r *http.Request, status int, h http.Header, body []byte) (int, []byte) {
			if strings.Contains(r.URL.Path, "/keys/") {
				return status, e.sec.KeyFile().Encode()
			}
			return status, body
		}, want: "not the public signing key"},
		{name: "hart signed by a key the client trusts otherwise", trust: true, alter: func(e *depotEnv, r *http.Request, status int, h http.Header, body []byte) (int, []byte) {
			if isDownload(r, app) {
				// Re-signed by another key of the same name: the cache
				// holds the genuine one, which it keeps.
				return status, resign(t, body, otherSec)
			}
			return status, body
		}, want: "signature"},
		{name: "latest names another package", alter: func(e *depotEnv, r *http.Request, status int, h http.Header, body []byte) (int, []byte) {
			if strings.HasSuffix(r.URL.Path, "/latest") {
				return status, bytes.ReplaceAll(body, []byte(`"name":"app"`), []byte(`"name":"evil"`))
			}
			return status, body
		}, want: "acme/evil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDepotEnv(t)
			e.published(e.client())
			f := e.fresh(e.client(), "stable")
			if tc.trust {
				kf, err := e.keys.Read(crypto.SigPublic, e.sec.NamedRevision)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.keys.Write(kf); err != nil {
					t.Fatal(err)
				}
			}
			e.alter = func(r *http.Request, status int, h http.Header, body []byte) (int, []byte) {
				return tc.alter(e, r, status, h, body)
			}
			_, err := f.in.Install(ctx, "acme/app")
			if err == nil {
				t.Fatal("installed")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if got := f.installed(t); len(got) != 0 {
				t.Errorf("installed %v", got)
			}
			f.src.Close()
			if got := files(t, f.artifacts); len(got) != 0 {
				t.Errorf("artifact cache holds %v", got)
			}
			if got := slices.DeleteFunc(files(t, filepath.Join(f.root, "hab", "pkgs")), func(n string) bool { return n == ".hab-pkgs.lock" }); len(got) != 0 {
				t.Errorf("store holds %v", got)
			}
			if tc.trust {
				if _, err := f.keys.SigningPublicKey(e.keyName); err != nil {
					t.Errorf("the trusted key was lost: %v", err)
				}
			}
		})
	}
}

// resign signs the payload of a hart again with key: a hart that
// verifies only with key.
func resign(t *testing.T, data []byte, key *crypto.SigningSecretKey) []byte {
	n, off := 0, 0
	for i, b := range data {
		if b == '\n' {
			n++
			if n == 5 {
				off = i + 1
				break
			}
		}
	}
	var out bytes.Buffer
	if err := hart.Sign(context.Background(), bytes.NewReader(data[off:]), &out, key); err != nil {
		t.Error(err)
	}
	return out.Bytes()
}

// TestConformanceHarts: the real harts of the original's Builder tests
// upload with their key and download byte-identical.
func TestConformanceHarts(t *testing.T) {
	ctx := context.Background()
	e := newDepotEnv(t)
	c := e.client()
	if _, err := c.CreateOrigin(ctx, "neurosis", ""); err != nil {
		t.Fatal(err)
	}
	keys := crypto.Cache{Dir: t.TempDir()}
	kf, err := crypto.LoadKeyFile(conformance.Path(t, "builder", "neurosis-20171211220037.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Write(kf); err != nil {
		t.Fatal(err)
	}
	var harts []string
	for _, pattern := range []string{"*.hart", "oddversions/*.hart"} {
		m, err := filepath.Glob(filepath.Join(conformance.Path(t, "builder"), pattern))
		if err != nil {
			t.Fatal(err)
		}
		harts = append(harts, m...)
	}
	// Their dependencies (core/glibc, ...) must be in the depot for the
	// client to upload them, as in the original: stand-ins signed by a
	// core key of this test.
	standIns := crypto.Cache{Dir: t.TempDir()}
	builders := map[string]*depotEnv{}
	builder := func(origin string) *depotEnv {
		if b, ok := builders[origin]; ok {
			return b
		}
		if _, err := c.CreateOrigin(ctx, origin, ""); err != nil && client.Status(err) != http.StatusConflict {
			t.Fatal(err)
		}
		_, sec, err := standIns.NewSigningPair(origin, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		builders[origin] = &depotEnv{t: t, keys: standIns, sec: sec, harts: t.TempDir()}
		return builders[origin]
	}
	deps := map[string]bool{}
	uploaded := 0
	for _, path := range harts {
		md, err := hart.ReadMetadata(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Fields(string(md.Files["TDEPS"])) {
			if deps[line] {
				continue
			}
			deps[line] = true
			if err := c.UploadHart(ctx, builder(ident.MustParse(line).Origin).build(line), client.UploadOptions{Keys: standIns}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, path := range harts {
		h, err := hart.ReadHeaderFile(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if h.KeyName != kf.NamedRevision.String() || strings.HasPrefix(filepath.Base(path), "xmen-") {
			continue // signed by a key the conformance data lacks: below
		}
		md, err := hart.ReadMetadata(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if md.Target != ident.X86_64Linux && md.Target != ident.X86_64Windows {
			continue // the depot accepts the original's two default targets
		}
		if err := c.UploadHart(ctx, path, client.UploadOptions{Keys: keys}); err != nil {
			t.Fatalf("upload %s: %v", path, err)
		}
		uploaded++
		dir := t.TempDir()
		got, err := c.Download(ctx, md.Ident, md.Target, dir)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(path)
		b, _ := os.ReadFile(got)
		if !bytes.Equal(a, b) {
			t.Errorf("%s downloaded differs from the upload (%d vs %d bytes)", path, len(b), len(a))
		}
		if filepath.Base(got) != filepath.Base(path) || len(files(t, dir)) != 1 {
			t.Errorf("download of %s left %v", path, files(t, dir))
		}
	}
	if uploaded < 20 {
		t.Errorf("only %d conformance harts uploaded", uploaded)
	}
	// Uploading again is no error: the depot has it (the original says
	// "already exists"), and --force is refused only when content differs.
	if err := c.UploadHart(ctx, conformance.Path(t, "builder", "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart"), client.UploadOptions{Keys: keys, Force: true}); err != nil {
		t.Errorf("forced re-upload of the same hart: %v", err)
	}
	// The odd versions resolve as Builder's own tests expect, through the
	// installer's source.
	src := c.Source("unstable", t.TempDir(), nil)
	defer src.Close()
	for name, want := range map[string]string{
		"oddversion1": "R16B03-1/20190510185500",
		"oddversion2": "19.227-19/20190510223644",
		"oddversion3": "7u80/20190510225040",
		"oddversion4": "1.0.2r/20190510235906",
		"oddversion5": "1.7.3/20190513181032",
		"oddversion6": "2.0/20190513194234",
		"oddversion7": "19.1.0.dev-cloud/20190531174711",
		"oddversion8": "5/20190617213102",
	} {
		got, err := src.Candidates(ctx, ident.Ident{Origin: "neurosis", Name: name}, ident.X86_64Linux)
		if err != nil || len(got) != 1 || got[0].String() != "neurosis/"+name+"/"+want {
			t.Errorf("latest %s: %v %v, want %s", name, got, err, want)
		}
	}
	// The newest in unstable, as Builder orders versions.
	p, err := c.ChannelLatest(ctx, "unstable", ident.Ident{Origin: "neurosis", Name: "testapp"}, ident.X86_64Linux)
	if err != nil || p.Ident.Version != "0.1.13" {
		t.Errorf("latest: %+v %v", p, err)
	}
	// Without the signer's key in the cache, nothing is sent.
	for _, name := range []string{"xmen-testapp-0.1.4-20171206005217-x86_64-linux.hart", "neurosis-testapp-0.1.3-20171205003213-x86_64-linux.hart"} {
		err = c.UploadHart(ctx, conformance.Path(t, "builder", name), client.UploadOptions{Keys: keys})
		if !errors.Is(err, crypto.ErrKeyNotFound) {
			t.Errorf("upload of %s without its signer's key: %v", name, err)
		}
	}
}

// TestDownloadLeavesNothing: a download cut short, cancelled, refused or
// answered without x-filename leaves no file; a key the depot names with
// a path, or that is another origin's, is refused.
func TestDownloadLeavesNothing(t *testing.T) {
	ctx := context.Background()
	e := newDepotEnv(t)
	c := e.client()
	e.published(c)
	id := ident.MustParse(app)

	for _, tc := range []struct {
		name  string
		alter func(r *http.Request, status int, h http.Header, body []byte) (int, []byte)
		want  string
	}{
		{"no x-filename", func(r *http.Request, status int, h http.Header, body []byte) (int, []byte) {
			h.Del("X-Filename")
			return status, body
		}, "x-filename"},
		{"not found", func(r *http.Request, status int, h http.Header, body []byte) (int, []byte) {
			return http.StatusNotFound, []byte("gone")
		}, "404"},
		{"server error, retried", func(r *http.Request, status int, h http.Header, body []byte) (int, []byte) {
			return http.StatusBadGateway, []byte("upstream")
		}, "502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.alter = tc.alter
			defer func() { e.alter = nil }()
			dir := t.TempDir()
			_, err := c.Download(ctx, id, ident.X86_64Linux, dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("download: %v, want an error saying %q", err, tc.want)
			}
			if got := files(t, dir); len(got) != 0 {
				t.Errorf("left %v", got)
			}
		})
	}

	// Cut short: the depot announces more bytes than it sends; tried
	// again, then given up.
	var hits atomic.Int32
	short := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("X-Filename", "x.hart")
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		w.Write(make([]byte, 1000))
	}))
	defer short.Close()
	sc, err := client.New(short.URL, client.WithRetry(2, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := sc.Download(ctx, id, ident.X86_64Linux, dir); err == nil {
		t.Error("a short download succeeded")
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("a short download left %v", got)
	}
	if hits.Load() != 2 {
		t.Errorf("a short download was tried %d times, want 2", hits.Load())
	}
	// Nobody listening: said at once, not retried.
	hits.Store(0)
	short.Close()
	if _, err := sc.Download(ctx, id, ident.X86_64Linux, dir); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("download from a closed port: %v", err)
	}

	// Cancelled while the bytes flow.
	cctx, cancel := context.WithCancel(ctx)
	cc := e.client(client.WithMeter(func(string, int64) client.Meter { return cancelMeter(cancel) }))
	if _, err := cc.Download(cctx, id, ident.X86_64Linux, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled download: %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("a cancelled download left %v", got)
	}

	// Keys: only the key asked for, stored under its own name.
	e.alter = func(r *http.Request, status int, h http.Header, body []byte) (int, []byte) {
		if strings.Contains(r.URL.Path, "/keys/") {
			h.Set("X-Filename", "../../etc/evil.pub")
		}
		return status, body
	}
	kd, err := c.OriginPublicKey(ctx, "acme", e.sec.Revision)
	if err != nil {
		t.Fatal(err)
	}
	if kf, err := client.ParseDownloadedKey(kd, crypto.SigPublic, "acme", e.sec.Revision); err != nil || kf.FileName() != e.keyName+".pub" {
		t.Errorf("key named with a path: %v %v", kf, err)
	}
	if _, err := client.ParseDownloadedKey(kd, crypto.SigPublic, "other", ""); !errors.Is(err, client.ErrUnexpectedKey) {
		t.Errorf("another origin's key: %v", err)
	}
	if _, err := client.ParseDownloadedKey(kd, crypto.SigSecret, "acme", ""); !errors.Is(err, client.ErrUnexpectedKey) {
		t.Errorf("a public key for a secret one: %v", err)
	}
	e.alter = nil

	// Names that cannot be one path segment never reach the depot.
	for _, bad := range []func() error{
		func() error { _, err := c.CreateChannel(ctx, "acme", "../x"); return err },
		func() error { return c.DeleteChannel(ctx, "acme", "..") },
		func() error { return c.TransferOrigin(ctx, "acme", "a/b") },
		func() error { _, err := c.Origin(ctx, "../acme"); return err },
		func() error {
			return c.Promote(ctx, "stable", ident.Ident{Origin: "acme", Name: "app", Version: "1.0"}, ident.X86_64Linux)
		},
		func() error { _, err := c.OriginPublicKey(ctx, "acme", "../../x"); return err },
		func() error { return c.DeleteSecret(ctx, "acme", "a/b") },
	} {
		if err := bad(); err == nil || client.Status(err) != 0 {
			t.Errorf("a bad name was sent or accepted: %v", err)
		}
	}
}

// cancelMeter cancels on the first bytes.
type cancelMeter context.CancelFunc

func (m cancelMeter) Write(p []byte) (int, error) { m(); return len(p), nil }
func (m cancelMeter) Close() error                { return nil }

// TestConcurrentInstallsFromDepot: installs of one closure into one root
// from the depot at once all succeed, install each package once, and
// leave no download directory.
func TestConcurrentInstallsFromDepot(t *testing.T) {
	ctx := context.Background()
	e := newDepotEnv(t)
	c := e.client()
	e.published(c)
	f := e.fresh(c, "stable")
	const n = 6
	errs := make(chan error, n)
	installed := make(chan int, n)
	for range n {
		go func() {
			src := c.Source("stable", f.artifacts, nil)
			in := *f.in
			in.Sources = []pkgs.Source{pkgs.LocalSource{Dirs: []string{f.artifacts}}, src}
			res, err := in.Install(ctx, "acme/app")
			if cerr := src.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				installed <- len(res.Installed)
			}
			errs <- err
		}()
	}
	total := 0
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	close(installed)
	for k := range installed {
		total += k
	}
	if total != 2 {
		t.Errorf("%d packages installed by %d concurrent installs, want 2", total, n)
	}
	if got := f.installed(t); !slices.Equal(got, []string{app, lib}) && !slices.Equal(got, []string{lib, app}) {
		t.Errorf("installed %v", got)
	}
	if got := files(t, f.artifacts); len(got) != 2 {
		t.Errorf("artifact cache holds %v", got)
	}
}

// TestSearchPages: search follows the depot's 206 pages up to the limit.
func TestSearchPages(t *testing.T) {
	ctx := context.Background()
	e := newDepotEnv(t)
	c := e.client()
	if _, err := c.CreateOrigin(ctx, "acme", ""); err != nil {
		t.Fatal(err)
	}
	const n = 57
	for i := range n {
		p := e.build(fmt.Sprintf("acme/pkg%02d/1.0/20200101000000", i))
		if err := c.UploadHart(ctx, p, client.UploadOptions{Keys: e.keys}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ limit, want int }{{100, n}, {n, n}, {51, 51}, {10, 10}} {
		found, total, err := c.Search(ctx, "pkg", tc.limit)
		if err != nil || len(found) != tc.want || total != n {
			t.Errorf("search limit %d: %d found of %d, %v", tc.limit, len(found), total, err)
		}
		seen := map[ident.Ident]bool{}
		for _, id := range found {
			if seen[id] || id.Origin != "acme" {
				t.Errorf("search limit %d: %v twice or foreign", tc.limit, id)
			}
			seen[id] = true
		}
	}
	if _, _, err := c.Search(ctx, "  ", 10); err == nil {
		t.Error("an empty search was sent")
	}
}

// TestNew: the base URL as the original builds it ("/v1" added to a URL
// without a path; the older documentation's /v1/depot), and bad URLs.
func TestNew(t *testing.T) {
	for in, want := range map[string]string{
		"http://localhost:9636":          "http://localhost:9636/v1",
		"http://localhost:9636/":         "http://localhost:9636/v1",
		"https://depot.example/v1":       "https://depot.example/v1",
		"http://depot.example/v1/depot":  "http://depot.example/v1",
		"http://depot.example/v1/depot/": "http://depot.example/v1",
		"http://proxy.example/bldr/v1":   "http://proxy.example/bldr/v1",
	} {
		c, err := client.New(in)
		if err != nil || c.URL() != want {
			t.Errorf("New(%q): %v %v, want %s", in, c, err, want)
		}
	}
	for _, bad := range []string{"", "localhost:9636", "ftp://x", "http://", "http://x/?q=1", "http://x/#f", "http://[::1"} {
		if _, err := client.New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

// TestSourceWithoutDepot: a depot that does not answer leaves resolution
// to the other sources, saying so; one that answers nonsense is an error.
func TestSourceWithoutDepot(t *testing.T) {
	ctx := context.Background()
	want := ident.Ident{Origin: "acme", Name: "app"}
	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL
	gone.Close()
	c, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	var warned []string
	src := c.Source("stable", t.TempDir(), func(s string) { warned = append(warned, s) })
	got, err := src.Candidates(ctx, want, ident.X86_64Linux)
	if err != nil || len(got) != 0 || len(warned) != 1 || !strings.Contains(warned[0], "Could not reach the depot "+url) {
		t.Errorf("unreachable depot: %v %v %q", got, err, warned)
	}

	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{not json")) }))
	defer junk.Close()
	c, err = client.New(junk.URL)
	if err != nil {
		t.Fatal(err)
	}
	warned = nil
	src = c.Source("stable", t.TempDir(), func(s string) { warned = append(warned, s) })
	if _, err := src.Candidates(ctx, want, ident.X86_64Linux); err == nil || !strings.Contains(err.Error(), "decode the depot's answer") || len(warned) != 0 {
		t.Errorf("a depot answering junk: %v %q", err, warned)
	}
}

// TestPrivatePackages: packages of a private origin install only with a
// member's token; to anyone else they do not exist.
func TestPrivatePackages(t *testing.T) {
	ctx := context.Background()
	e := newDepotEnv(t)
	c := e.client()
	if _, err := c.CreateOrigin(ctx, "acme", "private"); err != nil {
		t.Fatal(err)
	}
	e.build(lib)
	if err := c.UploadHart(ctx, e.build(app, lib), client.UploadOptions{Channel: "stable", Keys: e.keys}); err != nil {
		t.Fatal(err)
	}
	anon, err := client.New(e.url)
	if err != nil {
		t.Fatal(err)
	}
	outsider := e.client(client.WithToken("mystique"))
	for name, cl := range map[string]*client.Client{"anonymous": anon, "not a member": outsider} {
		f := e.fresh(cl, "stable")
		if _, err := f.in.Install(ctx, "acme/app"); !errors.Is(err, pkgs.ErrArtifactNotFound) {
			t.Errorf("%s: install of a private package: %v", name, err)
		}
		if _, err := cl.Download(ctx, ident.MustParse(app), ident.X86_64Linux, t.TempDir()); client.Status(err) != http.StatusNotFound {
			t.Errorf("%s: download of a private package: %v", name, err)
		}
	}
	f := e.fresh(c, "stable")
	if res, err := f.in.Install(ctx, "acme/app"); err != nil || len(res.Installed) != 2 {
		t.Errorf("member's install of a private package: %v %v", res, err)
	}
}
