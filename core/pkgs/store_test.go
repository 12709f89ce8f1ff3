package pkgs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

func TestListAndResolve(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	for _, id := range []string{
		"neurosis/oddversion1/R16B02-5/20190510185527",
		"neurosis/oddversion1/R16B03-1/20190510185500",
		"neurosis/oddversion1/R9Z-9/20190510185946",
		"core/redis/3.2.1/20160101000000",
		"core/redis/3.2.1/20170101000000",
		"core/redis/3.10.0/20150101000000",
		"core/redis-cli/9.9/20200101000000",
		"acme/app/1.0/20200101000000",
	} {
		put(t, s, fakePkg{id: id})
	}
	// Packages for another target, with a broken TARGET, and temporaries
	// are not part of the store.
	put(t, s, fakePkg{id: "core/redis/99.0/20200101000000", files: map[string]string{pkgmeta.FileTarget: "x86_64-windows\n"}})
	put(t, s, fakePkg{id: "core/redis/98.0/20200101000000", files: map[string]string{pkgmeta.FileTarget: "nonsense\n"}})
	if err := os.MkdirAll(filepath.Join(s.Dir, ".hab-pkg-install-x", "hab"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.Dir, "core", "redis", "3.2.1", ".hab-pkg-install-20180101000000abc"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		want ident.Ident
		list []string
	}{
		{ident.Ident{}, []string{
			"acme/app/1.0/20200101000000",
			"core/redis/3.2.1/20160101000000", "core/redis/3.2.1/20170101000000", "core/redis/3.10.0/20150101000000",
			"core/redis-cli/9.9/20200101000000",
			"neurosis/oddversion1/R9Z-9/20190510185946", "neurosis/oddversion1/R16B02-5/20190510185527", "neurosis/oddversion1/R16B03-1/20190510185500",
		}},
		{ident.Ident{Origin: "core"}, []string{"core/redis/3.2.1/20160101000000", "core/redis/3.2.1/20170101000000", "core/redis/3.10.0/20150101000000", "core/redis-cli/9.9/20200101000000"}},
		{ident.MustParse("core/redis/3.2.1"), []string{"core/redis/3.2.1/20160101000000", "core/redis/3.2.1/20170101000000"}},
		{ident.MustParse("core/redis/3.2.1/20160101000000"), []string{"core/redis/3.2.1/20160101000000"}},
		{ident.MustParse("core/redis/3.2.1/20990101000000"), nil},
		{ident.MustParse("core/nothing"), nil},
		{ident.Ident{Origin: "nobody"}, nil},
	}
	for _, tt := range tests {
		got, err := s.List(ctx, tt.want)
		if err != nil {
			t.Fatalf("List(%s): %v", tt.want, err)
		}
		if !slices.Equal(identStrings(got), tt.list) {
			t.Errorf("List(%q) = %v, want %v", tt.want, identStrings(got), tt.list)
		}
	}

	for want, latest := range map[string]string{
		"core/redis":                      "core/redis/3.10.0/20150101000000",
		"core/redis/3.2.1":                "core/redis/3.2.1/20170101000000",
		"core/redis/3.2.1/20160101000000": "core/redis/3.2.1/20160101000000",
		"neurosis/oddversion1":            "neurosis/oddversion1/R16B03-1/20190510185500",
	} {
		p, err := s.Resolve(ctx, ident.MustParse(want))
		if err != nil {
			t.Fatalf("Resolve(%s): %v", want, err)
		}
		if p.Ident.String() != latest || p.Path != s.PathFor(p.Ident) || p.Prefix != "/hab/pkgs/"+latest {
			t.Errorf("Resolve(%s) = %+v, want %s", want, p, latest)
		}
	}
	for _, want := range []string{"core/nothing", "core/redis/99.0", "core/redis/98.0/20200101000000"} {
		_, err := s.Resolve(ctx, ident.MustParse(want))
		if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve(%s) error = %v, want ErrNotInstalled naming it", want, err)
		}
	}
	if s.IsInstalled(ident.MustParse("core/redis/99.0/20200101000000")) {
		t.Error("a package of another target counts as installed")
	}
	if tg, err := s.InstalledTarget(ident.MustParse("core/redis/99.0/20200101000000")); err != nil || tg != ident.X86_64Windows {
		t.Errorf("InstalledTarget = %v, %v", tg, err)
	}
	// A store that does not exist yet is empty.
	empty := testStore(t)
	if got, err := empty.List(ctx, ident.Ident{}); err != nil || len(got) != 0 {
		t.Errorf("empty store: %v %v", got, err)
	}
}

func TestRuntimeEnvironment(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	glibc := put(t, s, fakePkg{id: "core/glibc/2.27/20190115002733", path: "bin"})
	_ = glibc
	put(t, s, fakePkg{id: "core/busybox/1.0/20190115002733", path: "/hab/pkgs/core/busybox/1.0/20190115002733/bin:/hab/pkgs/core/busybox/1.0/20190115002733/sbin:/elsewhere\n"})
	put(t, s, fakePkg{id: "core/hdrs/4.17/20190115002705"}) // no PATH at all

	// A current package: RUNTIME_PATH and RUNTIME_ENVIRONMENT(_PATHS).
	modern := put(t, s, fakePkg{id: "acme/modern/1.0/20200101000000", path: "bin", files: map[string]string{
		pkgmeta.FileRuntimePath:             "/hab/pkgs/acme/modern/1.0/20200101000000/bin:/hab/pkgs/core/glibc/2.27/20190115002733/bin\n",
		pkgmeta.FileRuntimeEnvironment:      "PATH=/stale\nJAVA_HOME=/hab/pkgs/core/jdk/8/1\nSSL_CERT_FILE=/hab/pkgs/core/cacerts/1/2/cert.pem\nLIBS=/a:/b\n",
		pkgmeta.FileRuntimeEnvironmentPaths: "LIBS=/hab/pkgs/acme/modern/1.0/20200101000000/lib\n",
	}})
	env, err := s.RuntimeEnvironment(ctx, modern, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := []EnvVar{
		{"JAVA_HOME", "/hab/pkgs/core/jdk/8/1"},
		{"LIBS", "/hab/pkgs/acme/modern/1.0/20200101000000/lib"},
		{"PATH", "/hab/pkgs/acme/modern/1.0/20200101000000/bin:/hab/pkgs/core/glibc/2.27/20190115002733/bin"},
		{"SSL_CERT_FILE", "/hab/pkgs/core/cacerts/1/2/cert.pem"},
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env = %v\nwant %v", env, want)
	}
	if got, err := ExportLines(env[:1]); err != nil || got != "export JAVA_HOME=\"/hab/pkgs/core/jdk/8/1\"\n" {
		t.Errorf("ExportLines = %q", got)
	}
	// The caller's SSL_CERT_FILE wins over the package's.
	env, _ = s.RuntimeEnvironment(ctx, modern, func(k string) string {
		if k == "SSL_CERT_FILE" {
			return "/etc/ssl/mine.pem"
		}
		return ""
	})
	for _, v := range env {
		if v.Name == "SSL_CERT_FILE" {
			t.Error("SSL_CERT_FILE kept although the caller sets it")
		}
	}

	// A package older than RUNTIME_PATH: own PATH (inside the package
	// only), then DEPS, then TDEPS, without duplicates.
	legacy := put(t, s, fakePkg{id: "acme/legacy/1.0/20170101000000", path: "/hab/pkgs/acme/legacy/1.0/20170101000000/bin:/usr/local/bin\n",
		deps:  []string{"core/busybox/1.0/20190115002733"},
		tdeps: []string{"core/glibc/2.27/20190115002733", "core/busybox/1.0/20190115002733", "core/hdrs/4.17/20190115002705"},
		files: map[string]string{pkgmeta.FileRuntimeEnvironment: "FOO=bar\n"}})
	env, err = s.RuntimeEnvironment(ctx, legacy, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = []EnvVar{
		{"FOO", "bar"},
		{"PATH", "/hab/pkgs/acme/legacy/1.0/20170101000000/bin:/hab/pkgs/core/busybox/1.0/20190115002733/bin:/hab/pkgs/core/busybox/1.0/20190115002733/sbin:/hab/pkgs/core/glibc/2.27/20190115002733/bin"},
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("legacy env = %v\nwant %v", env, want)
	}

	// An empty RUNTIME_PATH means no PATH; nothing at all means no variable.
	bare := put(t, s, fakePkg{id: "acme/bare/1.0/20200101000000", files: map[string]string{pkgmeta.FileRuntimePath: "\n"}})
	if env, err := s.RuntimeEnvironment(ctx, bare, nil); err != nil || len(env) != 0 {
		t.Errorf("bare env = %v, %v", env, err)
	}

	// Legacy packages need their dependencies installed; the error names the dependency.
	orphan := put(t, s, fakePkg{id: "acme/orphan/1.0/20170101000000", deps: []string{"core/gone/1.0/20170101000000"}})
	if _, err := s.RuntimeEnvironment(ctx, orphan, nil); !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "core/gone/1.0/20170101000000") {
		t.Errorf("orphan env error = %v", err)
	}
	// Malformed metadata is named.
	broken := put(t, s, fakePkg{id: "acme/broken/1.0/20170101000000", files: map[string]string{pkgmeta.FileRuntimeEnvironment: "NOEQUALS\n"}})
	if _, err := s.RuntimeEnvironment(ctx, broken, nil); !errors.Is(err, pkgmeta.ErrMalformed) || !strings.Contains(err.Error(), "acme/broken/1.0/20170101000000: RUNTIME_ENVIRONMENT") {
		t.Errorf("broken env error = %v", err)
	}
}

func TestCommandEnvAndFindCommand(t *testing.T) {
	got := CommandEnv([]string{"HOME=/root", "PATH=/usr/bin:/bin", "FOO=old"}, []EnvVar{{"FOO", "new"}, {"PATH", "/hab/pkgs/a/b/1/2/bin"}, {"ZED", "z"}})
	want := []string{"HOME=/root", "PATH=/hab/pkgs/a/b/1/2/bin:/usr/bin:/bin", "FOO=new", "ZED=z"}
	if !slices.Equal(got, want) {
		t.Errorf("CommandEnv = %v, want %v", got, want)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, ok := FindCommand("tool", "/nonexistent:"+dir); !ok || p != filepath.Join(dir, "tool") {
		t.Errorf("FindCommand(tool) = %q %v", p, ok)
	}
	if _, ok := FindCommand("nope", dir); ok {
		t.Error("FindCommand found a missing command")
	}
	if p, ok := FindCommand(filepath.Join(dir, "tool"), ""); !ok || p != filepath.Join(dir, "tool") {
		t.Errorf("FindCommand(absolute) = %q %v", p, ok)
	}
}

func TestGraphAndReverseDependencies(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	put(t, s, fakePkg{id: "core/glibc/2.27/1"})
	put(t, s, fakePkg{id: "core/zlib/1.2/1", deps: []string{"core/glibc/2.27/1"}})
	put(t, s, fakePkg{id: "core/openssl/1.0/1", deps: []string{"core/glibc/2.27/1", "core/zlib/1.2/1"}})
	put(t, s, fakePkg{id: "acme/web/1.0/1", deps: []string{"core/openssl/1.0/1", "core/notinstalled/1/1"}})

	g, err := s.Graph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got []ident.Ident, want ...string) {
		t.Helper()
		if !slices.Equal(identStrings(got), want) {
			t.Errorf("%s = %v, want %v", name, identStrings(got), want)
		}
	}
	check("Deps(web)", g.Deps(ident.MustParse("acme/web/1.0/1")), "core/openssl/1.0/1", "core/notinstalled/1/1")
	check("OrderedDeps(web)", g.OrderedDeps(ident.MustParse("acme/web/1.0/1")), "core/openssl/1.0/1", "core/notinstalled/1/1", "core/glibc/2.27/1", "core/zlib/1.2/1")
	check("RDeps(glibc)", g.RDeps(ident.MustParse("core/glibc/2.27/1")), "core/openssl/1.0/1", "core/zlib/1.2/1")
	check("OrderedRDeps(glibc)", g.OrderedRDeps(ident.MustParse("core/glibc/2.27/1")), "core/openssl/1.0/1", "core/zlib/1.2/1", "acme/web/1.0/1")
	rd, err := s.ReverseDependencies(ctx, ident.MustParse("core/zlib/1.2/1"), false)
	if err != nil {
		t.Fatal(err)
	}
	check("ReverseDependencies(zlib)", rd, "core/openssl/1.0/1")
	if g.Remove(ident.MustParse("core/glibc/2.27/1")) {
		t.Error("removed glibc although packages need it")
	}
	if !g.Remove(ident.MustParse("acme/web/1.0/1")) || g.Has(ident.MustParse("acme/web/1.0/1")) {
		t.Error("could not remove web")
	}
	check("RDeps(openssl) after removing web", g.RDeps(ident.MustParse("core/openssl/1.0/1")))

	put(t, s, fakePkg{id: "acme/bad/1.0/1", deps: []string{"not-an-ident"}})
	if _, err := s.Graph(ctx); err == nil || !strings.Contains(err.Error(), "acme/bad/1.0/1: DEPS") {
		t.Errorf("graph with bad DEPS: %v", err)
	}
}

func TestUninstall(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) *Store {
		s := testStore(t)
		put(t, s, fakePkg{id: "core/glibc/2.27/1"})
		put(t, s, fakePkg{id: "core/zlib/1.2/1", deps: []string{"core/glibc/2.27/1"}})
		put(t, s, fakePkg{id: "acme/web/1.0/1", deps: []string{"core/zlib/1.2/1"}})
		put(t, s, fakePkg{id: "acme/web/1.0/2", deps: []string{"core/zlib/1.2/1"}})
		put(t, s, fakePkg{id: "acme/web/1.1/1", deps: []string{"core/zlib/1.2/1", "core/glibc/2.27/1"}})
		put(t, s, fakePkg{id: "acme/other/1.0/1", deps: []string{"core/glibc/2.27/1"}})
		return s
	}
	installed := func(t *testing.T, s *Store) []string {
		ids, err := s.List(ctx, ident.Ident{})
		if err != nil {
			t.Fatal(err)
		}
		return identStrings(ids)
	}
	keep := func(n int) *int { return &n }

	tests := []struct {
		name    string
		want    string
		opts    UninstallOptions
		removed []string
		left    []string
		err     string
	}{
		{name: "latest and unneeded deps", want: "acme/web/1.1", removed: []string{"acme/web/1.1/1"},
			left: []string{"acme/other/1.0/1", "acme/web/1.0/1", "acme/web/1.0/2", "core/glibc/2.27/1", "core/zlib/1.2/1"}},
		{name: "refuses a needed package", want: "core/zlib", err: "can't remove package core/zlib/1.2/1: it is a dependency of 3 packages (acme/web/1.0/1, acme/web/1.0/2, acme/web/1.1/1)",
			left: []string{"acme/other/1.0/1", "acme/web/1.0/1", "acme/web/1.0/2", "acme/web/1.1/1", "core/glibc/2.27/1", "core/zlib/1.2/1"}},
		{name: "keep latest removes old releases and then zlib", want: "acme/web", opts: UninstallOptions{KeepLatest: keep(0)},
			removed: []string{"acme/web/1.0/1", "acme/web/1.0/2", "acme/web/1.1/1", "core/zlib/1.2/1"},
			left:    []string{"acme/other/1.0/1", "core/glibc/2.27/1"}},
		{name: "keep latest 1", want: "acme/web", opts: UninstallOptions{KeepLatest: keep(1)},
			removed: []string{"acme/web/1.0/1", "acme/web/1.0/2"},
			left:    []string{"acme/other/1.0/1", "acme/web/1.1/1", "core/glibc/2.27/1", "core/zlib/1.2/1"}},
		{name: "keep more than installed", want: "acme/web", opts: UninstallOptions{KeepLatest: keep(5)},
			left: []string{"acme/other/1.0/1", "acme/web/1.0/1", "acme/web/1.0/2", "acme/web/1.1/1", "core/glibc/2.27/1", "core/zlib/1.2/1"}},
		{name: "dry run", want: "acme/web", opts: UninstallOptions{KeepLatest: keep(0), DryRun: true},
			removed: []string{"acme/web/1.0/1", "acme/web/1.0/2", "acme/web/1.1/1", "core/zlib/1.2/1"},
			left:    []string{"acme/other/1.0/1", "acme/web/1.0/1", "acme/web/1.0/2", "acme/web/1.1/1", "core/glibc/2.27/1", "core/zlib/1.2/1"}},
		{name: "no deps", want: "acme/other", opts: UninstallOptions{NoDeps: true}, removed: []string{"acme/other/1.0/1"},
			left: []string{"acme/web/1.0/1", "acme/web/1.0/2", "acme/web/1.1/1", "core/glibc/2.27/1", "core/zlib/1.2/1"}},
		{name: "exclude", want: "acme/web", opts: UninstallOptions{KeepLatest: keep(0), Exclude: idents("core/zlib")},
			removed: []string{"acme/web/1.0/1", "acme/web/1.0/2", "acme/web/1.1/1"},
			left:    []string{"acme/other/1.0/1", "core/glibc/2.27/1", "core/zlib/1.2/1"}},
		{name: "protected", want: "acme/other", opts: UninstallOptions{Protected: func(id ident.Ident) bool { return id.Name == "other" }},
			left: []string{"acme/other/1.0/1", "acme/web/1.0/1", "acme/web/1.0/2", "acme/web/1.1/1", "core/glibc/2.27/1", "core/zlib/1.2/1"}},
		{name: "not installed", want: "acme/nothing", err: "cannot find a release of package acme/nothing",
			left: []string{"acme/other/1.0/1", "acme/web/1.0/1", "acme/web/1.0/2", "acme/web/1.1/1", "core/glibc/2.27/1", "core/zlib/1.2/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := setup(t)
			rec := &recorder{}
			tt.opts.Reporter = rec
			res, err := s.Uninstall(ctx, ident.MustParse(tt.want), tt.opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := identStrings(res.Removed); !slices.Equal(got, tt.removed) {
				t.Errorf("removed %v, want %v\n%s", got, tt.removed, rec)
			}
			if got := installed(t, s); !slices.Equal(got, tt.left) {
				t.Errorf("left %v, want %v", got, tt.left)
			}
			// Nothing is left behind: no temporaries, no empty directories.
			entries, _ := os.ReadDir(s.Dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") && e.Name() != LockFile {
					t.Errorf("temporary %s left in the store", e.Name())
				}
			}
		})
	}

	// Removing the last release prunes the empty version, name and origin
	// directories.
	s := testStore(t)
	put(t, s, fakePkg{id: "solo/pkg/1.0/1"})
	put(t, s, fakePkg{id: "keep/pkg/1.0/1"})
	if _, err := s.Uninstall(ctx, ident.MustParse("solo/pkg"), UninstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "solo")); !os.IsNotExist(err) {
		t.Errorf("empty origin directory left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "keep", "pkg", "1.0", "1")); err != nil {
		t.Errorf("other package touched: %v", err)
	}

	// chef/hab is never removed.
	put(t, s, fakePkg{id: "chef/hab/1.6/1"})
	rec := &recorder{}
	if res, err := s.Uninstall(ctx, ident.MustParse("chef/hab"), UninstallOptions{Reporter: rec}); err != nil || len(res.Removed) != 0 || !strings.Contains(rec.String(), "You can't uninstall chef/hab") {
		t.Errorf("chef/hab: %v %v\n%s", res, err, rec)
	}
}

func TestUninstallReadOnlyTree(t *testing.T) {
	s := testStore(t)
	p := put(t, s, fakePkg{id: "acme/ro/1.0/1", files: map[string]string{"share/doc/README": "x"}})
	for _, d := range []string{filepath.Join(p.Path, "share", "doc"), filepath.Join(p.Path, "share")} {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Uninstall(context.Background(), p.Ident, UninstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.Path); !os.IsNotExist(err) {
		t.Errorf("package still there: %v", err)
	}
}

func TestCleanStale(t *testing.T) {
	s := testStore(t)
	live, err := s.newTemp(installTmpPrefix, "live")
	if err != nil {
		t.Fatal(err)
	}
	defer live.remove()
	stale := filepath.Join(s.Dir, installTmpPrefix+"crashed-123")
	if err := os.MkdirAll(filepath.Join(stale, "hab", "pkgs", "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	staleUn := filepath.Join(s.Dir, uninstallTmpPrefix+"crashed-456")
	if err := os.MkdirAll(staleUn, 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(s.Dir, ".something-else")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	removed, err := s.CleanStale()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if want := []string{stale, staleUn}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, p := range []string{live.path, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	// The live temporary is really locked.
	f, err := os.Open(live.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		t.Error("live temporary is not locked")
	}
}

func TestBinlink(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	p := put(t, s, fakePkg{id: "core/tools/1.0/1", path: "bin", files: map[string]string{
		"bin/hello": "#!/bin/sh\necho hello\n", "bin/bye": "#!/bin/sh\n", "bin/sub/inner": "x",
	}})
	rec := &recorder{}
	if err := s.Binlink(ctx, p, "hello", "/bin", false, rec); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(s.FSRoot, "bin", "hello")
	if target, err := os.Readlink(link); err != nil || target != "/hab/pkgs/core/tools/1.0/1/bin/hello" {
		t.Fatalf("link = %q, %v", target, err)
	}
	if !strings.Contains(rec.String(), "end Binlinked hello from core/tools/1.0/1 to "+link) {
		t.Errorf("report:\n%s", rec)
	}

	// Another package's link is kept without --force and replaced with it.
	q := put(t, s, fakePkg{id: "core/other/2.0/1", path: "bin", files: map[string]string{"bin/hello": "x"}})
	rec = &recorder{}
	if err := s.Binlink(ctx, q, "hello", "/bin", false, rec); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(link); target != "/hab/pkgs/core/tools/1.0/1/bin/hello" || !strings.Contains(rec.String(), "Use --force to overwrite") {
		t.Errorf("without force: link %q\n%s", target, rec)
	}
	if err := s.Binlink(ctx, q, "hello", "/bin", true, nil); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(link); target != "/hab/pkgs/core/other/2.0/1/bin/hello" {
		t.Errorf("with force: link %q", target)
	}

	// All binaries into another directory (created); subdirectories skipped.
	if err := s.BinlinkAll(ctx, p, "/usr/local/bin", false, nil); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(s.FSRoot, "usr", "local", "bin"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"bye", "hello"}) {
		t.Errorf("BinlinkAll linked %v", names)
	}

	// Bad inputs.
	if err := s.Binlink(ctx, p, "missing", "/bin", false, nil); !errors.Is(err, ErrCommandNotFound) || !strings.Contains(err.Error(), "`missing' was not found under any 'PATH' directories in the core/tools/1.0/1 package") {
		t.Errorf("missing binary: %v", err)
	}
	if err := os.WriteFile(filepath.Join(s.FSRoot, "bin", "bye"), []byte("real file"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Binlink(ctx, p, "bye", "/bin", true, nil); err == nil || !strings.Contains(err.Error(), "not a symlink") {
		t.Errorf("over a regular file: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(s.FSRoot, "bin", "bye")); string(data) != "real file" {
		t.Error("regular file replaced")
	}
	if err := s.Binlink(ctx, p, "hello", "relative/bin", false, nil); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("relative destination: %v", err)
	}
}

func TestProvides(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	put(t, s, fakePkg{id: "core/coreutils/8.30/1", files: map[string]string{"bin/ls": "", "bin/cat": ""}})
	put(t, s, fakePkg{id: "core/coreutils/8.32/1", files: map[string]string{"bin/ls": ""}})
	put(t, s, fakePkg{id: "core/busybox/1.0/1", files: map[string]string{"bin/ls": ""}})
	if err := os.MkdirAll(filepath.Join(s.Dir, ".hab-pkg-install-x", "hab", "pkgs", "a", "b", "1", "2", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, ".hab-pkg-install-x", "hab", "pkgs", "a", "b", "1", "2", "bin", "ls"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := s.Provides(ctx, "ls", false)
	if err != nil {
		t.Fatal(err)
	}
	if pk := ProvidingPackages(got); !slices.Equal(pk, []string{"core/busybox", "core/coreutils"}) {
		t.Errorf("packages = %v", pk)
	}
	got, err = s.Provides(ctx, "ls", true)
	if err != nil {
		t.Fatal(err)
	}
	if pk := ProvidingPackages(got); !slices.Equal(pk, []string{"core/busybox/1.0/1", "core/coreutils/8.30/1", "core/coreutils/8.32/1"}) {
		t.Errorf("full releases = %v", pk)
	}
	if got[0].Path != filepath.Join(s.Dir, "core", "busybox", "1.0", "1", "bin", "ls") {
		t.Errorf("path = %s", got[0].Path)
	}
	if _, err := s.Provides(ctx, "nothing-has-this", false); !errors.Is(err, ErrNotProvided) || !strings.Contains(err.Error(), "nothing-has-this") {
		t.Errorf("not provided: %v", err)
	}
}
