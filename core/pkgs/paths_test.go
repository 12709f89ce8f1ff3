package pkgs

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

// TestExportLinesShellSafe evaluates `hab pkg env` output in real shells:
// every value comes back exactly, and nothing in it runs.
func TestExportLinesShellSafe(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	values := []string{
		"$(touch " + pwned + ")",
		"`touch " + pwned + "`",
		"\"; touch " + pwned + "; echo \"",
		"'; touch " + pwned + "; echo '",
		"${HOME:?}$((1+1))",
		"back\\slash \\\" \\$(touch " + pwned + ")",
		"line one\nline two; touch " + pwned,
		"!history * ? [a] ~ & | ; < > # %",
		"plain /hab/pkgs/core/glibc/2.27/1/lib",
		"",
		"unicode: héllo ‮ 世界",
	}
	var env []EnvVar
	for i, v := range values {
		env = append(env, EnvVar{Name: "V" + string(rune('A'+i)), Value: v})
	}
	lines, err := ExportLines(env)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "env.sh")
	if err := os.WriteFile(script, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sh := range []string{"sh", "bash", "dash"} {
		if _, err := exec.LookPath(sh); err != nil {
			t.Logf("%s: not installed", sh)
			continue
		}
		t.Run(sh, func(t *testing.T) {
			for _, v := range env {
				// eval, as users run it: eval "$(hab pkg env ...)".
				out, err := exec.Command(sh, "-c", `eval "$(cat "$1")"; printf %s "$`+v.Name+`"`, sh, script).Output()
				if err != nil {
					t.Fatalf("%s: %v", v.Name, err)
				}
				if string(out) != v.Value {
					t.Errorf("%s = %q, want %q", v.Name, out, v.Value)
				}
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Fatal("evaluating the environment ran a command")
			}
		})
	}
	for _, bad := range []string{"", "1X", "A-B", "A B", "$(id)", "X=Y", "É"} {
		if _, err := ExportLines([]EnvVar{{Name: bad, Value: "v"}}); err == nil {
			t.Errorf("ExportLines accepted the name %q", bad)
		}
	}
}

// TestRuntimeEnvironmentRefusesBadNames: a variable name that is not one is
// an error naming the package and the file, for `hab pkg env`, `exec` and
// hooks alike.
func TestRuntimeEnvironmentRefusesBadNames(t *testing.T) {
	ctx := context.Background()
	for i, c := range []struct{ file, content string }{
		{pkgmeta.FileRuntimeEnvironment, "FOO BAR=x\n"},
		{pkgmeta.FileRuntimeEnvironment, "1X=y\n"},
		{pkgmeta.FileRuntimeEnvironment, "A-B=c\n"},
		{pkgmeta.FileRuntimeEnvironment, "$(touch /tmp/x)=1\n"},
		{pkgmeta.FileRuntimeEnvironment, "=empty\n"},
		{pkgmeta.FileRuntimeEnvironmentPaths, "a;b=/hab/pkgs/x\n"},
		{pkgmeta.FileRuntimeEnvironmentPaths, "PATH`id`=/x\n"},
	} {
		s := testStore(t)
		p := put(t, s, fakePkg{id: "acme/bad/1.0/1", files: map[string]string{c.file: c.content, pkgmeta.FileRuntimePath: "\n"}})
		_, err := s.RuntimeEnvironment(ctx, p, nil)
		if !errors.Is(err, pkgmeta.ErrMalformed) || !strings.Contains(err.Error(), "acme/bad/1.0/1") || !strings.Contains(err.Error(), c.file) || !strings.Contains(err.Error(), "not a valid environment variable name") {
			t.Errorf("%d %q: %v", i, c.content, err)
		}
		if _, err := s.Command(ctx, p, nil, "/bin/true"); err == nil {
			t.Errorf("%d %q: Command accepted it", i, c.content)
		}
	}
}

// TestPathsStayInPackage: PATH entries whose ".." or symbolic links lead
// out of the package, binaries named by a path, and binlink destinations
// that climb out of FS_ROOT are refused or ignored.
func TestPathsStayInPackage(t *testing.T) {
	ctx := context.Background()
	host := t.TempDir() // stands for the host's /etc: nothing may be linked from or into it
	if err := os.WriteFile(filepath.Join(host, "passwd"), []byte("root:x:0:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prefix := "/hab/pkgs/acme/evil/1.0/1"
	up := strings.Repeat("../", 8)
	for _, c := range []struct {
		name  string
		path  string            // PATH metadata
		links map[string]string // symlinks in the package: name -> target
	}{
		{name: "dot-dot in PATH", path: prefix + "/" + up + strings.TrimPrefix(host, "/")},
		{name: "dot-dot after the bin directory", path: prefix + "/bin/../../../../../.." + host},
		{name: "relative PATH entry", path: "bin:" + host},
		{name: "bin is an absolute link out", path: prefix + "/bin", links: map[string]string{"bin": host}},
		{name: "bin is a relative link out", path: prefix + "/bin", links: map[string]string{"bin": up + strings.TrimPrefix(host, "/")}},
		{name: "a binary links out", path: prefix + "/bin", links: map[string]string{"bin/passwd": filepath.Join(host, "passwd")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := testStore(t)
			p := put(t, s, fakePkg{id: "acme/evil/1.0/1", path: c.path, files: map[string]string{"sbin/ok": "#!/bin/sh\n"}})
			for name, target := range c.links {
				l := filepath.Join(p.Path, name)
				os.MkdirAll(filepath.Dir(l), 0o755)
				if err := os.Symlink(target, l); err != nil {
					t.Fatal(err)
				}
			}
			// The host directory seen from inside FS_ROOT holds a passwd too:
			// a link that resolves inside the root but outside the package
			// is refused as well.
			inRoot := filepath.Join(s.FSRoot, host)
			os.MkdirAll(inRoot, 0o755)
			os.WriteFile(filepath.Join(inRoot, "passwd"), []byte("x"), 0o644)

			err := s.BinlinkAll(ctx, p, "/bin", false, nil)
			if err != nil && !errors.Is(err, ErrOutside) {
				t.Errorf("BinlinkAll: %v", err)
			}
			if entries, _ := os.ReadDir(filepath.Join(s.FSRoot, "bin")); len(entries) > 0 {
				t.Errorf("BinlinkAll linked %v", entries)
			}
			if err := s.Binlink(ctx, p, "passwd", "/bin", false, nil); !errors.Is(err, ErrCommandNotFound) {
				t.Errorf("Binlink passwd: %v", err)
			}
			m, _ := p.Metadata()
			for _, d := range m.BinDirs() {
				if !strings.HasPrefix(d, prefix+"/") {
					t.Errorf("BinDirs gives %s", d)
				}
			}
		})
	}

	s := testStore(t)
	p := put(t, s, fakePkg{id: "acme/tools/1.0/1", path: "bin", files: map[string]string{"bin/tool": "#!/bin/sh\n"}})
	for _, bad := range []string{"../../etc/passwd", "../bin/tool", "/etc/passwd", "..", ".", "", "bin/tool", "tool/"} {
		if err := s.Binlink(ctx, p, bad, "/bin", false, nil); !errors.Is(err, ErrCommandNotFound) {
			t.Errorf("Binlink %q: %v", bad, err)
		}
	}
	// Destinations: ".." cannot climb out of FS_ROOT, nor can a link in it.
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(s.FSRoot, "usr"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(s.FSRoot, "usr", "linked")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../../.."+outside, filepath.Join(s.FSRoot, "usr", "rel")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dest, want string // want: where the link lands under FS_ROOT; "" when refused
	}{
		// Links whose targets do not exist inside FS_ROOT: refused.
		{"/usr/linked", ""},
		{"/usr/rel/sub", ""},
		{"/../../../../bin", "bin"},
		{"/usr/../../../.." + outside + "/x", strings.TrimPrefix(outside, "/") + "/x"},
		{"/opt/" + strings.Repeat("../", 12), "."},
	} {
		err := s.Binlink(ctx, p, "tool", c.dest, true, nil)
		if c.want == "" {
			if err == nil {
				t.Errorf("Binlink to %s succeeded", c.dest)
			}
			continue
		}
		if err != nil {
			t.Errorf("Binlink to %s: %v", c.dest, err)
			continue
		}
		if _, err := os.Lstat(filepath.Join(s.FSRoot, c.want, "tool")); err != nil {
			t.Errorf("Binlink to %s: no link at FS_ROOT/%s: %v", c.dest, c.want, err)
		}
	}
	// Once the link's target exists inside FS_ROOT, the link lands there.
	if err := os.MkdirAll(filepath.Join(s.FSRoot, outside), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Binlink(ctx, p, "tool", "/usr/linked", true, nil); err != nil {
		t.Error(err)
	} else if _, err := os.Lstat(filepath.Join(s.FSRoot, outside, "tool")); err != nil {
		t.Errorf("link through /usr/linked: %v", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("a binlink was written outside FS_ROOT: %v", entries)
	}
	if got := RootPathList("/r", "/hab/../../etc:/hab/pkgs/a/b/1/2/bin"); got != "/r/etc:/r/hab/pkgs/a/b/1/2/bin" {
		t.Errorf("RootPathList with ..: %q", got)
	}
}

// TestHooksAndExecGetTheSameEnvironment: an install hook and a program run
// with Store.Command (`hab pkg exec`) see the same environment: the
// package's over the caller's, its PATH re-rooted under FS_ROOT first.
func TestHooksAndExecGetTheSameEnvironment(t *testing.T) {
	ctx := context.Background()
	e := newInstallEnv(t)
	out := t.TempDir()
	const id = "acme/app/1.0/20200101000000"
	app := e.build(e.harts, spec{id: id, files: map[string]string{
		"hooks/install":                     "#!/bin/sh\nenv > " + filepath.Join(out, "hook") + "\n",
		pkgmeta.FileRuntimePath:             pkgmeta.InstallPrefix(mustIdent(id)) + "/bin\n",
		pkgmeta.FileRuntimeEnvironment:      "GREETING=hi there\nSSL_CERT_FILE=/hab/pkgs/core/cacerts/1/2/cert.pem\n",
		pkgmeta.FileRuntimeEnvironmentPaths: "APP_LIB=/hab/pkgs/acme/app/1.0/20200101000000/lib\n",
	}})
	base := []string{"PATH=/usr/bin:/bin", "HOME=/home/me", "GREETING=caller's", "SSL_CERT_FILE=/etc/mine.pem"}
	in := e.installer()
	in.Hooks = ExecHooks{Env: base}
	res, err := in.Install(ctx, app)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.rec)
	}
	cmd, err := e.store.Command(ctx, res.Package, base, "env")
	if err != nil {
		t.Fatal(err)
	}
	execOut, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	hookOut, err := os.ReadFile(filepath.Join(out, "hook"))
	if err != nil {
		t.Fatal(err)
	}
	clean := func(b []byte) []string {
		var vs []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			k, _, _ := strings.Cut(l, "=")
			if k == "PWD" || k == "SHLVL" || k == "_" || k == "OLDPWD" {
				continue // set by the shell that runs the hook
			}
			vs = append(vs, l)
		}
		sort.Strings(vs)
		return vs
	}
	hook, exe := clean(hookOut), clean(execOut)
	if !slices.Equal(hook, exe) {
		t.Errorf("hook environment %q\nexec environment %q", hook, exe)
	}
	want := []string{"GREETING=hi there", "PATH=" + filepath.Join(e.store.FSRoot, "hab/pkgs/acme/app/1.0/20200101000000/bin") + ":/usr/bin:/bin", "SSL_CERT_FILE=/etc/mine.pem", "APP_LIB=/hab/pkgs/acme/app/1.0/20200101000000/lib", "HOME=/home/me"}
	for _, w := range want {
		if !slices.Contains(exe, w) {
			t.Errorf("environment lacks %q: %q", w, exe)
		}
	}
	if _, err := e.store.Command(ctx, res.Package, base, "no-such-program"); !errors.Is(err, ErrCommandNotFound) {
		t.Errorf("missing program: %v", err)
	}
	// The package's own program is found on its re-rooted PATH.
	if cmd, err := e.store.Command(ctx, res.Package, base, "app"); err != nil || cmd.Path != filepath.Join(e.store.FSRoot, "hab/pkgs/acme/app/1.0/20200101000000/bin/app") || cmd.Args[0] != "app" {
		t.Errorf("own program: %v %v", cmd, err)
	}
}

func mustIdent(s string) ident.Ident { return ident.MustParse(s) }
