package pkgs

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgmeta"
)

// installEnv is a throw-away FS_ROOT with a key cache holding one origin
// key pair, an artifact cache, and a directory for harts given by path.
type installEnv struct {
	t         *testing.T
	store     *Store
	keys      crypto.Cache
	artifacts string
	harts     string // where "given" harts are written
	sec       *crypto.SigningSecretKey
	rec       *recorder
}

func newInstallEnv(t *testing.T) *installEnv {
	t.Helper()
	root := t.TempDir()
	e := &installEnv{
		t:         t,
		store:     New(paths.At(root), ident.X86_64Linux),
		keys:      crypto.Cache{Dir: filepath.Join(t.TempDir(), "keys")},
		artifacts: filepath.Join(root, "hab", "cache", "artifacts"),
		harts:     t.TempDir(),
		rec:       &recorder{},
	}
	pub, sec, err := crypto.GenerateSigningPair("acme", time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.keys.Write(pub.KeyFile()); err != nil {
		t.Fatal(err)
	}
	e.sec = sec
	return e
}

func (e *installEnv) installer() *Installer {
	return &Installer{Store: e.store, Keys: e.keys, ArtifactCache: e.artifacts, Reporter: e.rec, XZ: hart.XZGo}
}

// spec describes a package to build into a hart.
type spec struct {
	id     string
	target string            // TARGET; x86_64-linux when empty
	deps   []string          // DEPS
	tdeps  []string          // TDEPS
	files  map[string]string // extra files, relative to the package directory
	modes  map[string]os.FileMode
	key    *crypto.SigningSecretKey // signer; the env's key when nil
}

// build makes a hart of s with hart.Write in dir and returns its path,
// named as the artifact cache names harts.
func (e *installEnv) build(dir string, s spec) string {
	t := e.t
	t.Helper()
	id := ident.MustParse(s.id)
	tree := t.TempDir()
	pkg := filepath.Join(tree, "hab", "pkgs", id.Origin, id.Name, id.Version, id.Release)
	target := s.target
	if target == "" {
		target = "x86_64-linux"
	}
	files := map[string]string{pkgmeta.FileIdent: s.id + "\n", pkgmeta.FileTarget: target + "\n", "bin/" + id.Name: "#!/bin/sh\necho " + id.Name + "\n"}
	if len(s.deps) > 0 {
		files[pkgmeta.FileDeps] = strings.Join(s.deps, "\n") + "\n"
	}
	if len(s.tdeps) > 0 {
		files[pkgmeta.FileTDeps] = strings.Join(s.tdeps, "\n") + "\n"
	}
	files[pkgmeta.FilePath] = pkgmeta.InstallPrefix(id) + "/bin\n"
	for k, v := range s.files {
		files[k] = v
	}
	for name, content := range files {
		p := filepath.Join(pkg, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "bin/") {
			mode = 0o755
		}
		if m, ok := s.modes[name]; ok {
			mode = m
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	key := s.key
	if key == nil {
		key = e.sec
	}
	var buf bytes.Buffer
	if err := hart.Write(context.Background(), &buf, tree, id, key, hart.WriteOptions{XZ: hart.XZGo, Level: 1, TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	name, _ := id.ArchiveName(ident.Target(target))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// tarEntry is one entry of a hand-made payload.
type tarEntry struct {
	name, link, body string
	typ              byte
}

// rawHart makes a hart from hand-written tar entries (xz-compressed,
// signed with key): payloads hart.Write would never produce.
func (e *installEnv) rawHart(name string, key *crypto.SigningSecretKey, entries []tarEntry) string {
	t := e.t
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, en := range entries {
		typ := en.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: en.name, Linkname: en.link, Typeflag: typ, Mode: 0o644, Size: int64(len(en.body)), ModTime: time.Unix(1500000000, 0)}
		if typ == tar.TypeDir {
			h.Mode = 0o755
		}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(en.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var xzBuf bytes.Buffer
	xw, err := xz.NewWriter(&xzBuf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xw.Write(tarBuf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := hart.Sign(context.Background(), &xzBuf, &out, key); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(e.harts, name)
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *installEnv) installed() []string {
	e.t.Helper()
	ids, err := e.store.List(context.Background(), ident.Ident{})
	if err != nil {
		e.t.Fatal(err)
	}
	return identStrings(ids)
}

// assertClean checks that no temporary is left in the store or the
// artifact cache.
func (e *installEnv) assertClean() {
	e.t.Helper()
	for _, dir := range []string{e.store.Dir, e.artifacts} {
		entries, _ := os.ReadDir(dir)
		for _, en := range entries {
			if strings.HasPrefix(en.Name(), ".") && en.Name() != LockFile {
				e.t.Errorf("temporary %s left in %s", en.Name(), dir)
			}
		}
	}
}

func (e *installEnv) cached() []string {
	entries, _ := os.ReadDir(e.artifacts)
	var out []string
	for _, en := range entries {
		out = append(out, en.Name())
	}
	return out
}

func TestInstallWithDependencies(t *testing.T) {
	ctx := context.Background()
	e := newInstallEnv(t)
	e.build(e.artifacts, spec{id: "core/libc/2.0/20200101000000"})
	e.build(e.artifacts, spec{id: "core/zlib/1.2/20200101000000", deps: []string{"core/libc/2.0/20200101000000"}, tdeps: []string{"core/libc/2.0/20200101000000"}})
	app := e.build(e.harts, spec{
		id:    "acme/app/1.0/20200202000000",
		deps:  []string{"core/zlib/1.2/20200101000000"},
		tdeps: []string{"core/libc/2.0/20200101000000", "core/zlib/1.2/20200101000000"},
		files: map[string]string{"hooks/run": "#!/bin/sh\nexec app\n", "default.toml": "port = 80\n", "share/secret": "s", "lib/readonly.so": "elf"},
		modes: map[string]os.FileMode{"share/secret": 0o600, "lib/readonly.so": 0o555},
	})

	res, err := e.installer().InstallAll(ctx, []string{app})
	if err != nil {
		t.Fatalf("%v\n%s", err, e.rec)
	}
	if got := identStrings(res[0].Installed); !slices.Equal(got, []string{"core/zlib/1.2/20200101000000", "core/libc/2.0/20200101000000", "acme/app/1.0/20200202000000"}) {
		// The original installs TDEPS in reverse file order, then the package.
		t.Errorf("installed in order %v", got)
	}
	if got := e.installed(); !slices.Equal(got, []string{"acme/app/1.0/20200202000000", "core/libc/2.0/20200101000000", "core/zlib/1.2/20200101000000"}) {
		t.Errorf("store holds %v", got)
	}
	p := res[0].Package
	if p.Path != filepath.Join(e.store.FSRoot, "hab/pkgs/acme/app/1.0/20200202000000") {
		t.Errorf("package path %s", p.Path)
	}
	for name, want := range map[string]os.FileMode{"share/secret": 0o600, "lib/readonly.so": 0o555, "bin/app": 0o755, "default.toml": 0o644} {
		fi, err := os.Stat(filepath.Join(p.Path, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	if cfg, err := p.DefaultConfig(); err != nil || string(cfg) != "port = 80\n" {
		t.Errorf("default.toml = %q, %v", cfg, err)
	}
	m, err := p.Metadata()
	if err != nil || len(m.TDeps) != 2 {
		t.Fatalf("metadata: %+v %v", m, err)
	}
	// The hart given by path is now in the artifact cache, as the original does.
	if got := e.cached(); !slices.Contains(got, "acme-app-1.0-20200202000000-x86_64-linux.hart") {
		t.Errorf("artifact cache holds %v", got)
	}
	e.assertClean()
	for _, want := range []string{"begin Installing " + app, "Verifying acme/app/1.0/20200202000000", "Installed core/zlib/1.2/20200101000000", "end Install of acme/app/1.0/20200202000000 complete with 3 new packages installed."} {
		if !strings.Contains(e.rec.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, e.rec)
		}
	}

	// Installing again does nothing.
	before, _ := os.Stat(filepath.Join(p.Path, "IDENT"))
	e.rec.lines = nil
	for _, arg := range []string{app, "acme/app", "acme/app/1.0/20200202000000"} {
		res, err = e.installer().InstallAll(ctx, []string{arg})
		if err != nil {
			t.Fatal(err)
		}
		if len(res[0].Installed) != 0 || res[0].Package.Ident.String() != "acme/app/1.0/20200202000000" {
			t.Errorf("reinstall of %s: %+v", arg, res[0])
		}
	}
	after, _ := os.Stat(filepath.Join(p.Path, "IDENT"))
	if !os.SameFile(before, after) {
		t.Error("reinstall replaced the package")
	}
	if !strings.Contains(e.rec.String(), "(already installed)") || !strings.Contains(e.rec.String(), "complete with 0 new packages installed.") {
		t.Errorf("report:\n%s", e.rec)
	}
}

func TestInstallIdentFromArtifactCache(t *testing.T) {
	ctx := context.Background()
	e := newInstallEnv(t)
	for _, v := range []string{"1.9", "1.10", "1.2.3-beta2"} {
		e.build(e.artifacts, spec{id: "acme/tool/" + v + "/20200101000000"})
	}
	// A package of another name that shares the prefix, and one for another target.
	e.build(e.artifacts, spec{id: "acme/tool-extra/9.0/20200101000000"})
	e.build(e.artifacts, spec{id: "acme/tool/99/20200101000000", target: "x86_64-windows"})

	res, err := e.installer().InstallAll(ctx, []string{"acme/tool"})
	if err != nil {
		t.Fatalf("%v\n%s", err, e.rec)
	}
	if got := res[0].Package.Ident.String(); got != "acme/tool/1.10/20200101000000" {
		t.Errorf("installed %s, want the latest 1.10", got)
	}
	res, err = e.installer().InstallAll(ctx, []string{"acme/tool/1.9"})
	if err != nil || res[0].Package.Ident.String() != "acme/tool/1.9/20200101000000" {
		t.Fatalf("acme/tool/1.9: %v %v", res, err)
	}
	// An installed release newer than any cached one is used as is.
	put(t, e.store, fakePkg{id: "acme/tool/2.0/20200101000000"})
	e.rec.lines = nil
	res, err = e.installer().InstallAll(ctx, []string{"acme/tool"})
	if err != nil || res[0].Package.Ident.String() != "acme/tool/2.0/20200101000000" || len(res[0].Installed) != 0 {
		t.Fatalf("with 2.0 installed: %+v %v", res, err)
	}

	// Not installed and not cached: the error names the cache.
	_, err = e.installer().InstallAll(ctx, []string{"acme/nothing"})
	if !errors.Is(err, ErrArtifactNotFound) || !strings.Contains(err.Error(), e.artifacts) || !strings.Contains(err.Error(), "acme/nothing") {
		t.Errorf("missing ident: %v", err)
	}
	// A misnamed file in the cache is not taken for what its name says.
	good := e.build(t.TempDir(), spec{id: "acme/other/1.0/20200101000000"})
	data, _ := os.ReadFile(good)
	if err := os.WriteFile(filepath.Join(e.artifacts, "acme-liar-5.0-20200101000000-x86_64-linux.hart"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.installer().InstallAll(ctx, []string{"acme/liar"}); !errors.Is(err, ErrArtifactNotFound) {
		t.Errorf("misnamed hart: %v", err)
	}
	e.assertClean()
}

// TestInstallBadInputs: each bad input fails with an error naming the
// culprit, and leaves nothing installed and no temporary behind.
func TestInstallBadInputs(t *testing.T) {
	ctx := context.Background()
	_, stranger, err := crypto.GenerateSigningPair("stranger", time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	prefix := "hab/pkgs/acme/evil/1.0/20200101000000/"
	base := []tarEntry{
		{name: "hab/", typ: tar.TypeDir}, {name: "hab/pkgs/", typ: tar.TypeDir},
		{name: prefix, typ: tar.TypeDir},
		{name: prefix + "IDENT", body: "acme/evil/1.0/20200101000000\n"},
		{name: prefix + "TARGET", body: "x86_64-linux\n"},
	}
	with := func(extra ...tarEntry) []tarEntry { return append(slices.Clone(base), extra...) }

	tests := []struct {
		name  string
		args  func(e *installEnv) []string
		is    error
		wants []string
	}{
		{"tampered payload", func(e *installEnv) []string {
			p := e.build(e.harts, spec{id: "acme/app/1.0/20200101000000", files: map[string]string{"share/data": strings.Repeat("data ", 1000)}})
			data, _ := os.ReadFile(p)
			data[len(data)-100] ^= 0x55
			os.WriteFile(p, data, 0o644)
			return []string{p}
		}, crypto.ErrBadSignature, []string{"acme-app-1.0-20200101000000-x86_64-linux.hart"}},
		{"signer key not in the cache", func(e *installEnv) []string {
			return []string{e.build(e.harts, spec{id: "acme/app/1.0/20200101000000", key: stranger})}
		}, crypto.ErrKeyNotFound, []string{stranger.NamedRevision.String(), "not in the key cache"}},
		{"dependency signed by an unknown key", func(e *installEnv) []string {
			e.build(e.artifacts, spec{id: "core/dep/1.0/20200101000000", key: stranger})
			return []string{e.build(e.harts, spec{id: "acme/app/1.0/20200101000000", tdeps: []string{"core/dep/1.0/20200101000000"}})}
		}, crypto.ErrKeyNotFound, []string{stranger.NamedRevision.String(), "core-dep-1.0-20200101000000-x86_64-linux.hart"}},
		{"missing dependency", func(e *installEnv) []string {
			e.build(e.artifacts, spec{id: "core/present/1.0/20200101000000"})
			return []string{e.build(e.harts, spec{id: "acme/app/1.0/20200101000000", tdeps: []string{"core/present/1.0/20200101000000", "core/absent/3.0/20200101000000"}})}
		}, ErrArtifactNotFound, []string{"core/absent/3.0/20200101000000", "artifact cache"}},
		{"tampered dependency", func(e *installEnv) []string {
			d := e.build(e.artifacts, spec{id: "core/dep/1.0/20200101000000", files: map[string]string{"share/x": strings.Repeat("y", 5000)}})
			data, _ := os.ReadFile(d)
			data[len(data)-50] ^= 1
			os.WriteFile(d, data, 0o644)
			e.build(e.artifacts, spec{id: "core/fine/1.0/20200101000000"})
			return []string{e.build(e.harts, spec{id: "acme/app/1.0/20200101000000", tdeps: []string{"core/dep/1.0/20200101000000", "core/fine/1.0/20200101000000"}})}
		}, crypto.ErrBadSignature, []string{"core-dep-1.0-20200101000000-x86_64-linux.hart"}},
		{"misnamed dependency", func(e *installEnv) []string {
			d := e.build(t.TempDir(), spec{id: "core/other/1.0/20200101000000"})
			data, _ := os.ReadFile(d)
			os.MkdirAll(e.artifacts, 0o755)
			os.WriteFile(filepath.Join(e.artifacts, "core-dep-1.0-20200101000000-x86_64-linux.hart"), data, 0o644)
			return []string{e.build(e.harts, spec{id: "acme/app/1.0/20200101000000", tdeps: []string{"core/dep/1.0/20200101000000"}})}
		}, ErrIdentMismatch, []string{"core/other/1.0/20200101000000", "core/dep/1.0/20200101000000"}},
		{"another target", func(e *installEnv) []string {
			return []string{e.build(e.harts, spec{id: "acme/app/1.0/20200101000000", target: "x86_64-windows"})}
		}, ErrWrongTarget, []string{"x86_64-windows", "acme/app/1.0/20200101000000"}},
		{"unknown target", func(e *installEnv) []string {
			return []string{e.rawHart("unknown-target.hart", e.sec, []tarEntry{
				{name: prefix, typ: tar.TypeDir},
				{name: prefix + "IDENT", body: "acme/evil/1.0/20200101000000\n"},
				{name: prefix + "TARGET", body: "sparc-solaris\n"},
			})}
		}, hart.ErrFormat, []string{"sparc-solaris", "unknown-target.hart"}},
		{"dot-dot entry", func(e *installEnv) []string {
			return []string{e.rawHart("dotdot.hart", e.sec, with(tarEntry{name: prefix + "../../../../../../etc/passwd", body: "root::0:0::/:/bin/sh\n"}))}
		}, hart.ErrUnsafeEntry, []string{"etc/passwd"}},
		{"absolute entry", func(e *installEnv) []string {
			return []string{e.rawHart("absolute.hart", e.sec, with(tarEntry{name: "/etc/cron.d/evil", body: "x"}))}
		}, hart.ErrUnsafeEntry, []string{"/etc/cron.d/evil"}},
		{"entry in another package", func(e *installEnv) []string {
			return []string{e.rawHart("other-prefix.hart", e.sec, with(tarEntry{name: "hab/pkgs/core/glibc/2.27/20190115002733/lib/libc.so.6", body: "x"}))}
		}, hart.ErrUnsafeEntry, []string{"hab/pkgs/core/glibc/2.27/20190115002733/lib/libc.so.6"}},
		{"escaping symlink then write through it", func(e *installEnv) []string {
			return []string{e.rawHart("symlink.hart", e.sec, with(
				tarEntry{name: prefix + "escape", link: "../../../../../../tmp", typ: tar.TypeSymlink},
				tarEntry{name: prefix + "escape/pwned", body: "x"}))}
		}, hart.ErrUnsafeEntry, []string{prefix + "escape"}},
		{"hard link outside", func(e *installEnv) []string {
			return []string{e.rawHart("hardlink.hart", e.sec, with(tarEntry{name: prefix + "shadow", link: "etc/shadow", typ: tar.TypeLink}))}
		}, hart.ErrUnsafeEntry, []string{prefix + "shadow"}},
		{"not a hart", func(e *installEnv) []string {
			p := filepath.Join(e.harts, "garbage.hart")
			os.WriteFile(p, []byte("this is not a hart\n"), 0o644)
			return []string{p}
		}, hart.ErrFormat, []string{"garbage.hart"}},
		{"hart file that does not exist", func(e *installEnv) []string {
			return []string{filepath.Join(e.harts, "nope.hart")}
		}, fs.ErrNotExist, []string{"nope.hart"}},
		{"bad identifier", func(e *installEnv) []string { return []string{"Not/An/Ident!"} }, ident.ErrInvalid, []string{"Not/An/Ident!"}},
		// Not regular files: refused before anything reads them (a FIFO
		// would block the first read, and could not be read three times).
		{"FIFO named .hart", func(e *installEnv) []string {
			p := filepath.Join(e.harts, "pipe.hart")
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{p}
		}, ErrNotRegular, []string{"pipe.hart", "named pipe (FIFO)"}},
		{"FIFO with any name", func(e *installEnv) []string {
			p := filepath.Join(e.harts, "incoming")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{p}
		}, ErrNotRegular, []string{"incoming", "named pipe (FIFO)"}},
		{"symlink to a FIFO", func(e *installEnv) []string {
			p := filepath.Join(e.harts, "fifo")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			l := filepath.Join(e.harts, "link.hart")
			if err := os.Symlink(p, l); err != nil {
				t.Fatal(err)
			}
			return []string{l}
		}, ErrNotRegular, []string{"link.hart", "named pipe (FIFO)"}},
		{"character device", func(e *installEnv) []string { return []string{"/dev/null"} }, ErrNotRegular, []string{"/dev/null", "character device"}},
		{"directory named .hart", func(e *installEnv) []string {
			p := filepath.Join(e.harts, "dir.hart")
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return []string{p}
		}, ErrNotRegular, []string{"dir.hart", "a directory"}},
		{"directory", func(e *installEnv) []string { return []string{e.harts} }, ErrNotRegular, []string{"a directory"}},
		{"FIFO second: the first hart is not installed either", func(e *installEnv) []string {
			p := filepath.Join(e.harts, "second.hart")
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{e.build(e.harts, spec{id: "acme/first/1.0/20200101000000"}), p}
		}, ErrNotRegular, []string{"second.hart"}},
		{"second argument bad: the first stays installed", func(e *installEnv) []string {
			return []string{e.build(e.harts, spec{id: "acme/first/1.0/20200101000000"}), filepath.Join(e.harts, "nope.hart")}
		}, fs.ErrNotExist, []string{"nope.hart"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newInstallEnv(t)
			args := tt.args(e)
			cachedBefore := e.cached()
			_, err := e.installer().InstallAll(ctx, args)
			if err == nil {
				t.Fatalf("install succeeded\n%s", e.rec)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if got := e.installed(); len(got) != 0 {
				t.Errorf("installed %v after a failure", got)
			}
			if got := e.cached(); !slices.Equal(got, cachedBefore) {
				t.Errorf("artifact cache changed from %v to %v", cachedBefore, got)
			}
			e.assertClean()
			if _, err := os.Stat(filepath.Join(os.TempDir(), "pwned")); err == nil {
				t.Error("an entry was written outside the root")
			}
		})
	}
}

func TestInstallImportsKeyBesideHart(t *testing.T) {
	ctx := context.Background()
	e := newInstallEnv(t)
	pub, other, err := crypto.GenerateSigningPair("other", time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	p := e.build(e.harts, spec{id: "other/app/1.0/20220101000000", key: other})
	// A key file beside the hart that is not the signer's is no help.
	wrong := pub.KeyFile()
	wrong.Key = bytes.Repeat([]byte{7}, 32)
	if err := os.WriteFile(filepath.Join(e.harts, "unrelated-20220101000000.pub"), wrong.Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.harts, pub.NamedRevision.String()+".pub"), pub.KeyFile().Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.installer().InstallAll(ctx, []string{p}); err != nil {
		t.Fatalf("%v\n%s", err, e.rec)
	}
	if _, err := e.keys.SigningPublicKey(pub.NamedRevision.String()); err != nil {
		t.Errorf("key not imported: %v", err)
	}
	if !strings.Contains(e.rec.String(), "Cached "+pub.NamedRevision.String()+" public origin key") {
		t.Errorf("report:\n%s", e.rec)
	}

	// A .pub beside the hart with the right name but the wrong key type
	// is refused, naming it.
	e2 := newInstallEnv(t)
	p2 := e2.build(e2.harts, spec{id: "other/app/1.0/20220101000000", key: other})
	_, box, _ := crypto.GenerateSigningPair("other", time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC))
	bad := box.Public().KeyFile()
	bad.Type = crypto.BoxPublic
	if err := os.WriteFile(filepath.Join(e2.harts, pub.NamedRevision.String()+".pub"), bad.Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.installer().InstallAll(ctx, []string{p2}); err == nil || !strings.Contains(err.Error(), pub.NamedRevision.String()+".pub") {
		t.Errorf("wrong key type beside the hart: %v", err)
	}
	if len(e2.installed()) != 0 {
		t.Error("installed with a wrong key")
	}
}

// bigTree writes n bytes of mixed content into dir: incompressible chunks
// and repetitive text.
func bigTree(t *testing.T, files map[string]string, n int) {
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	for i := 0; n > 0; i++ {
		size := min(n, 256<<10)
		b := make([]byte, size)
		if i%2 == 0 {
			rng.Read(b)
		} else {
			copy(b, bytes.Repeat([]byte(fmt.Sprintf("line %d of some text\n", i)), size))
		}
		files[fmt.Sprintf("share/blob%03d", i)] = string(b)
		n -= size
	}
}

func TestInstallCancelled(t *testing.T) {
	e := newInstallEnv(t)
	files := map[string]string{}
	bigTree(t, files, 6<<20)
	e.build(e.artifacts, spec{id: "core/dep/1.0/20200101000000"})
	p := e.build(e.harts, spec{id: "acme/big/1.0/20200101000000", files: files, tdeps: []string{"core/dep/1.0/20200101000000"}})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := e.installer()
	cancelledAt := int64(-1)
	in.Progress = func(id ident.Ident, done, total int64) {
		// Cancel once the big hart is a third extracted (the dependency
		// before it is then fully staged).
		if id.Name == "big" && done > total/3 && cancelledAt < 0 {
			cancelledAt = done
			cancel()
		}
	}
	_, err := in.InstallAll(ctx, []string{p})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if cancelledAt < 0 {
		t.Fatal("progress never reported")
	}
	if got := e.installed(); len(got) != 0 {
		t.Errorf("installed %v after cancellation", got)
	}
	e.assertClean()
	if got := e.cached(); slices.Contains(got, "acme-big-1.0-20200101000000-x86_64-linux.hart") {
		t.Error("cancelled hart stored in the artifact cache")
	}
	// The same install then succeeds.
	if _, err := e.installer().InstallAll(context.Background(), []string{p}); err != nil {
		t.Fatal(err)
	}
	if got := e.installed(); len(got) != 2 {
		t.Errorf("installed %v", got)
	}
}

func TestInstallCleansCrashLeftovers(t *testing.T) {
	e := newInstallEnv(t)
	// What a crash (SIGKILL) during an install leaves: an unlocked
	// temporary in the store and one in the artifact cache.
	stale := filepath.Join(e.store.Dir, installTmpPrefix+"app-20200101000000-123456")
	if err := os.MkdirAll(filepath.Join(stale, "hab", "pkgs", "acme", "app", "1.0", "20200101000000", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	staleCopy := filepath.Join(e.artifacts, installTmpPrefix+"acme-app-1.0-20200101000000-x86_64-linux.hart-999")
	if err := os.WriteFile(staleCopy, []byte("half a hart"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := e.build(e.harts, spec{id: "acme/app/1.0/20200101000000"})
	if _, err := e.installer().InstallAll(context.Background(), []string{p}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{stale, staleCopy} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s not cleaned: %v", f, err)
		}
	}
	e.assertClean()
}

// TestInstallKilled kills a real `go test` child process in the middle of
// an install (SIGKILL: no cleanup runs) and checks that the store holds no
// partial package, and that the next install cleans up and succeeds.
func TestInstallKilled(t *testing.T) {
	if os.Getenv("HAB_PKGS_TEST_CHILD") != "" {
		in := &Installer{Store: New(paths.At(os.Getenv("HAB_PKGS_TEST_ROOT")), ident.X86_64Linux), Keys: crypto.Cache{Dir: os.Getenv("HAB_PKGS_TEST_KEYS")},
			ArtifactCache: os.Getenv("HAB_PKGS_TEST_ARTIFACTS"), XZ: hart.XZGo}
		in.Progress = func(_ ident.Ident, done, total int64) {
			if done > total/2 {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
		in.InstallAll(context.Background(), []string{os.Getenv("HAB_PKGS_TEST_HART")})
		os.Exit(3) // not reached
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	e := newInstallEnv(t)
	files := map[string]string{}
	bigTree(t, files, 4<<20)
	p := e.build(e.harts, spec{id: "acme/big/1.0/20200101000000", files: files})
	cmd := exec.Command(os.Args[0], "-test.run=^TestInstallKilled$")
	cmd.Env = append(os.Environ(), "HAB_PKGS_TEST_CHILD=1", "HAB_PKGS_TEST_ROOT="+e.store.FSRoot, "HAB_PKGS_TEST_KEYS="+e.keys.Dir,
		"HAB_PKGS_TEST_ARTIFACTS="+e.artifacts, "HAB_PKGS_TEST_HART="+p)
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}
	if got := e.installed(); len(got) != 0 {
		t.Fatalf("partial install visible: %v", got)
	}
	if _, err := os.Stat(e.store.PathFor(ident.MustParse("acme/big/1.0/20200101000000"))); !os.IsNotExist(err) {
		t.Fatalf("package directory exists after the crash: %v", err)
	}
	entries, _ := os.ReadDir(e.store.Dir)
	if len(entries) == 0 {
		t.Fatal("the crash left no temporary: the install did not get far enough to test anything")
	}
	if _, err := e.installer().InstallAll(context.Background(), []string{p}); err != nil {
		t.Fatal(err)
	}
	e.assertClean()
}

// TestInstallFullDisk installs onto a 2 MiB tmpfs a hart that needs more:
// once with the artifact cache on the small disk too (the copy into the
// cache and the extraction race to fill it), once with the cache elsewhere
// (the extraction fills it).
func TestInstallFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root (CI runs as root)")
	}
	files := map[string]string{}
	bigTree(t, files, 6<<20)
	for _, cacheOnDisk := range []bool{true, false} {
		t.Run(fmt.Sprintf("cache on the full disk %v", cacheOnDisk), func(t *testing.T) {
			e := newInstallEnv(t)
			mnt := t.TempDir()
			if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
				t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
			}
			t.Cleanup(func() { exec.Command("umount", mnt).Run() })
			p := e.build(e.harts, spec{id: "acme/big/1.0/20200101000000", files: files})
			e.store = New(paths.At(mnt), ident.X86_64Linux)
			if cacheOnDisk {
				e.artifacts = filepath.Join(mnt, "hab", "cache", "artifacts")
			}

			_, err := e.installer().InstallAll(context.Background(), []string{p})
			if err == nil {
				t.Fatal("install onto a full disk succeeded")
			}
			t.Logf("full disk: %v", err)
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") {
				t.Errorf("error %v, want one saying no space left on device", err)
			}
			if got := e.installed(); len(got) != 0 {
				t.Errorf("installed %v", got)
			}
			e.assertClean()
			// Nothing but empty directories (and the store's lock) is left
			// on the small disk.
			filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && d.Name() != LockFile {
					t.Errorf("left on the full disk: %s", p)
				}
				return nil
			})
			// A small package still fits afterwards: the space was given back.
			small := e.build(e.harts, spec{id: "acme/small/1.0/20200101000000"})
			if _, err := e.installer().InstallAll(context.Background(), []string{small}); err != nil {
				t.Fatalf("small install after the failure: %v", err)
			}
		})
	}
}
