package backline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/habgo/hab/internal/habbin"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/planner/builder"
	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/backline"
	"github.com/habgo/hab/studio/chroot"
	"github.com/habgo/hab/studio/containerd"
	"github.com/habgo/hab/studio/containerd/containerdtest"
	"github.com/habgo/hab/studio/runc"
)

func TestMain(m *testing.M) {
	chroot.MaybeInit()
	os.Exit(run(m))
}

// shared is the directory the harts (and hab) built once for all tests
// live in.
var shared string

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "backline-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	shared = dir
	return m.Run()
}

const busyboxStatic = "/bin/busybox"

// fixtureHarts are the harts of fixtures/busybox and fixtures/backline,
// built once into a throw-away FS_ROOT (where they stay installed), and
// the key cache holding the habtest signing pair.
type fixtureHarts struct {
	buildRoot string
	keys      string
	harts     []string
	elapsed   time.Duration
}

var buildFixtures = sync.OnceValues(func() (*fixtureHarts, error) {
	fh := &fixtureHarts{buildRoot: filepath.Join(shared, "build"), keys: filepath.Join(shared, "keys")}
	kc := crypto.Cache{Dir: fh.keys}
	if err := os.MkdirAll(kc.Dir, 0o700); err != nil {
		return nil, err
	}
	if _, _, err := kc.NewSigningPair("habtest", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		return nil, err
	}
	work := filepath.Join(shared, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	start := time.Now()
	for i, name := range []string{"busybox", "backline"} {
		var out bytes.Buffer
		res, err := builder.Build(context.Background(), filepath.Join("..", "..", "fixtures", name), builder.Options{
			Root:    paths.At(fh.buildRoot),
			Env:     []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "TERM=dumb", "BUSYBOX_STATIC=" + busyboxStatic},
			Release: fmt.Sprintf("2026010100000%d", i),
			WorkDir: work,
			Keys:    kc,
			Output:  &out,
			Hart:    hart.WriteOptions{Level: 1},
		})
		if err != nil {
			return nil, fmt.Errorf("build fixtures/%s: %v\n%s", name, err, out.String())
		}
		fh.harts = append(fh.harts, res.CachedArtifact)
	}
	fh.elapsed = time.Since(start)
	return fh, nil
})

// host is a throw-away host FS_ROOT.
type host struct {
	fs, artifacts, keys string
}

// newHost makes a host FS_ROOT; withHarts puts the fixture harts in its
// artifact cache and the habtest public key in its key cache.
func newHost(t *testing.T, withHarts bool) host {
	t.Helper()
	dir := t.TempDir()
	h := host{fs: dir, artifacts: filepath.Join(dir, "hab", "cache", "artifacts"), keys: filepath.Join(dir, "hab", "cache", "keys")}
	for _, d := range []string{h.artifacts, h.keys} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if !withHarts {
		return h
	}
	fh := fixtures(t)
	for _, p := range fh.harts {
		copyTo(t, p, filepath.Join(h.artifacts, filepath.Base(p)))
	}
	pubs, _ := filepath.Glob(filepath.Join(fh.keys, "*.pub"))
	if len(pubs) == 0 {
		t.Fatalf("no public key in %s", fh.keys)
	}
	for _, p := range pubs {
		copyTo(t, p, filepath.Join(h.keys, filepath.Base(p)))
	}
	// A key of another origin, which the studio must not get.
	if _, _, err := (crypto.Cache{Dir: h.keys}).NewSigningPair("other", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h host) backline() studio.Backline {
	return studio.Backline{Ident: "habtest/hab-backline", HostRoot: h.fs, ArtifactCache: h.artifacts, KeyCache: h.keys}
}

func copyTo(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fixtures(t *testing.T) *fixtureHarts {
	t.Helper()
	if _, err := os.Stat(busyboxStatic); err != nil {
		t.Skipf("no static busybox at %s (apt-get install busybox-static): %v", busyboxStatic, err)
	}
	fh, err := buildFixtures()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built the busybox and backline harts in %v", fh.elapsed)
	return fh
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("studios with mounts and chroot need root (CI runs these tests as root)")
	}
}

// logBuffer is a logger writing text lines to a buffer.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), &buf
}

// installed lists ORIGIN/NAME of the packages under root/hab/pkgs.
func installed(t *testing.T, root string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(root, "hab", "pkgs", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		rel, _ := filepath.Rel(filepath.Join(root, "hab", "pkgs"), d)
		out = append(out, rel)
	}
	return out
}

const probe = `echo "PATH=$PATH"; ls /hab/pkgs/*/; busybox --help >/dev/null && echo ok; ` +
	`test -e /usr/bin/gcc || echo no-gcc; test -e /usr/lib || echo no-usr-lib; readlink /bin/sh; readlink /usr/bin/env`

// TestHermeticStudioWithBackline: a hermetic studio gets the backline's
// closure (and nothing else) in its /hab/pkgs from harts in the host
// artifact cache, PATH from it, /bin/sh and /usr/bin/env links, and no
// host toolchain; for the chroot kind and for -D (runc, and containerd)
// when present.
func TestHermeticStudioWithBackline(t *testing.T) {
	needRoot(t)
	h := newHost(t, true)
	kinds := []struct {
		name string
		open func(t *testing.T) studio.New
		need string
	}{
		{"chroot", func(*testing.T) studio.New { return chroot.Open }, ""},
		{"oci", func(*testing.T) studio.New { return runc.Open }, "runc"},
		{"containerd", func(t *testing.T) studio.New { return containerd.Opener(containerdtest.Start(t)) }, "runc"},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			if k.need != "" {
				if _, err := exec.LookPath(k.need); err != nil {
					t.Skipf("%s not on the PATH: %v", k.need, err)
				}
			}
			ctx := context.Background()
			root := filepath.Join(t.TempDir(), "studio")
			log, logs := logBuffer()
			s, err := k.open(t)(root, studio.WithHermetic(true), studio.WithBackline(h.backline()), studio.WithLogger(log), studio.WithNetwork(false))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := s.Create(ctx); err != nil {
				t.Fatalf("create a hermetic studio with the backline: %v", err)
			}
			t.Logf("created the studio with its backline in %v", time.Since(start))
			t.Cleanup(func() { s.Remove(context.Background()) })
			if got, want := strings.Join(installed(t, root), " "), "habtest/busybox habtest/hab-backline"; got != want {
				t.Errorf("studio packages = %q, want %q", got, want)
			}
			if keys, _ := filepath.Glob(filepath.Join(root, "hab", "cache", "keys", "*")); len(keys) != 1 || filepath.Base(keys[0]) != "habtest-20260101000000.pub" {
				t.Errorf("studio keys = %v, want only the signer's public key habtest-20260101000000.pub", keys)
			}
			var out, errb bytes.Buffer
			start = time.Now()
			code, err := s.Run(ctx, []string{"/bin/sh", "-c", probe}, studio.Stdio{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
			if err != nil || code != 0 {
				t.Fatalf("run in the studio: status %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, out.String(), errb.String())
			}
			t.Logf("ran the probe in %v", time.Since(start))
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			path := strings.TrimPrefix(lines[0], "PATH=")
			if !strings.HasPrefix(path, "/hab/bin:/hab/pkgs/habtest/busybox/1.0.0/20260101000000/bin") || strings.Contains(path, "/usr") {
				t.Errorf("PATH in the studio = %q, want /hab/bin and the backline's runtime PATH only", path)
			}
			text := out.String()
			t.Logf("probe output:\n%s", text)
			for _, want := range []string{"busybox\nhab-backline\n", "\nok\n", "\nno-gcc\n", "\nno-usr-lib\n",
				"/hab/pkgs/habtest/busybox/1.0.0/20260101000000/bin/sh\n", "/hab/pkgs/habtest/busybox/1.0.0/20260101000000/bin/env\n"} {
				if !strings.Contains(text, want) {
					t.Errorf("studio output lacks %q:\n%s\nstderr:\n%s", want, text, errb.String())
				}
			}
			if strings.Contains(logs.String(), "toolchain") {
				t.Errorf("a studio with its backline warned about the host toolchain:\n%s", logs.String())
			}
			// A second run reuses what is installed.
			out.Reset()
			if code, err := s.Run(ctx, []string{"sh", "-c", "echo again"}, studio.Stdio{Stdout: &out, Stderr: &errb}); err != nil || code != 0 || out.String() != "again\n" {
				t.Errorf("second run: status %d, %v, %q", code, err, out.String())
			}
		})
	}
}

// TestHermeticWithoutBackline: without the backline anywhere, a hermetic
// studio is refused with an error naming the package and where it was
// looked for, and nothing is created.
func TestHermeticWithoutBackline(t *testing.T) {
	h := newHost(t, false)
	root := filepath.Join(t.TempDir(), "studio")
	s, err := chroot.New(root, studio.WithHermetic(true), studio.WithBackline(h.backline()))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Create(context.Background())
	if err == nil {
		t.Fatal("a hermetic studio without its backline was created")
	}
	for _, want := range []string{"--hermetic", "habtest/hab-backline", filepath.Join(h.fs, "hab", "pkgs"), h.artifacts, root, "HAB_STUDIO_BACKLINE_PKG"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, err := os.Lstat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused studio left %s behind (%v)", root, err)
	}
}

// TestHostFallbackWarnsOnce: without the backline and without --hermetic,
// the studio borrows the host toolchain and says so in one line per run.
func TestHostFallbackWarnsOnce(t *testing.T) {
	needRoot(t)
	h := newHost(t, false)
	root := filepath.Join(t.TempDir(), "studio")
	log, logs := logBuffer()
	s, err := chroot.New(root, studio.WithBackline(h.backline()), studio.WithLogger(log), studio.WithNetwork(false))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Create(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Remove(context.Background()) })
	var out bytes.Buffer
	code, err := s.Run(ctx, []string{"/bin/sh", "-c", "test -d /usr/bin && echo host-usr"}, studio.Stdio{Stdout: &out, Stderr: io.Discard})
	if err != nil || code != 0 || out.String() != "host-usr\n" {
		t.Fatalf("run with the host fallback: status %d, %v, %q", code, err, out.String())
	}
	if n := strings.Count(logs.String(), "the studio has no base packages"); n != 1 {
		t.Errorf("the host fallback warning appears %d times, want 1:\n%s", n, logs.String())
	}
	if got := installed(t, root); len(got) != 0 {
		t.Errorf("packages installed without a backline: %v", got)
	}
}

// TestInstallFromInstalledPackages: a backline installed on the host but
// without harts in the cache is copied from the host's /hab/pkgs, with
// its dependencies.
func TestInstallFromInstalledPackages(t *testing.T) {
	fh := fixtures(t)
	root := t.TempDir()
	b := studio.Backline{Ident: "habtest/hab-backline", HostRoot: fh.buildRoot, ArtifactCache: t.TempDir()}
	p, err := backline.Install(context.Background(), root, b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Ident.String() != "habtest/hab-backline/1.0.0/20260101000001" {
		t.Errorf("installed %s", p.Ident)
	}
	if got, want := strings.Join(installed(t, root), " "), "habtest/busybox habtest/hab-backline"; got != want {
		t.Errorf("studio packages = %q, want %q", got, want)
	}
	path, err := backline.Path(context.Background(), root, p)
	if err != nil {
		t.Fatal(err)
	}
	if path != "/hab/bin:/hab/pkgs/habtest/busybox/1.0.0/20260101000000/bin" {
		t.Errorf("PATH = %q", path)
	}
	if err := backline.Link(root, path); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(root, "bin", "sh")); err != nil || target != "/hab/pkgs/habtest/busybox/1.0.0/20260101000000/bin/sh" {
		t.Errorf("/bin/sh -> %q, %v", target, err)
	}
	if _, err := os.Lstat(filepath.Join(root, "bin", "bash")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("/bin/bash linked without a bash in the backline: %v", err)
	}
	fi, err := os.Stat(filepath.Join(root, "hab", "pkgs", "habtest", "busybox", "1.0.0", "20260101000000", "bin", "busybox"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("copied busybox: %v %v", fi, err)
	}
	// Another name, nowhere to be found.
	b.Ident = "habtest/no-such-backline"
	if _, err := backline.Install(context.Background(), t.TempDir(), b); !errors.Is(err, backline.ErrNotFound) || !strings.Contains(err.Error(), "habtest/no-such-backline") {
		t.Errorf("missing backline: %v", err)
	}
	b.Ident = "not an ident"
	if _, err := backline.Install(context.Background(), t.TempDir(), b); err == nil || errors.Is(err, backline.ErrNotFound) || !strings.Contains(err.Error(), "not an ident") {
		t.Errorf("bad backline ident: %v", err)
	}
}

// TestBadHartIsAnError: a backline hart whose signer key is missing is an
// error (not a silent fallback), and nothing is installed.
func TestBadHartIsAnError(t *testing.T) {
	h := newHost(t, true)
	if err := os.RemoveAll(h.keys); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	_, err := backline.Install(context.Background(), root, h.backline())
	if err == nil || errors.Is(err, backline.ErrNotFound) || !strings.Contains(err.Error(), "habtest") {
		t.Fatalf("install without the signer's key: %v", err)
	}
	t.Logf("install without the signer's key: %v", err)
	if got := installed(t, root); len(got) != 0 {
		t.Errorf("a failed install left packages: %v", got)
	}
}

// buildHab builds hab from this tree once, for studios to mount at
// /hab/bin/hab.
var buildHab = sync.OnceValues(func() (string, error) {
	return habbin.Build(shared)
})

// TestHermeticPlanBuild: in a hermetic studio whose only tools are the
// busybox backline, hab builds a shell-only plan (fixtures/sh) into a
// hart that verifies with the origin's public key.
func TestHermeticPlanBuild(t *testing.T) {
	needRoot(t)
	h := newHost(t, true)
	fh := fixtures(t)
	secrets, _ := filepath.Glob(filepath.Join(fh.keys, "habtest-*.sig.key"))
	for _, p := range secrets {
		copyTo(t, p, filepath.Join(h.keys, filepath.Base(p)))
	}
	hab, err := buildHab()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		name string
		open studio.New
		need string
	}{{"chroot", chroot.Open, ""}, {"oci", runc.Open, "runc"}} {
		t.Run(k.name, func(t *testing.T) {
			if k.need != "" {
				if _, err := exec.LookPath(k.need); err != nil {
					t.Skipf("%s not on the PATH: %v", k.need, err)
				}
			}
			src := t.TempDir()
			copyTo(t, filepath.Join("..", "..", "fixtures", "sh", "plan.sh"), filepath.Join(src, "plan.sh"))
			ctx := context.Background()
			s, err := k.open(filepath.Join(t.TempDir(), "studio"),
				studio.WithHermetic(true), studio.WithBackline(h.backline()), studio.WithNetwork(false),
				studio.WithHabBinary(hab), studio.WithOriginKeys(h.keys, "habtest"),
				studio.WithMount(src, "/src"), studio.WithMount(h.artifacts, "/hab/cache/artifacts"),
				studio.WithEnv(studio.Environ([]string{"HAB_ORIGIN=habtest"}, "default")))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Create(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Remove(context.Background()) })
			var out bytes.Buffer
			start := time.Now()
			code, err := s.Run(ctx, []string{"/hab/bin/hab", "plan", "build", "/src"}, studio.Stdio{Stdout: &out, Stderr: &out})
			if err != nil || code != 0 {
				t.Fatalf("hab plan build in the hermetic studio: status %d, %v\n%s", code, err, out.String())
			}
			t.Logf("built fixtures/sh in the hermetic studio in %v", time.Since(start))
			harts, _ := filepath.Glob(filepath.Join(src, "results", "habtest-sh-1.0.0-*.hart"))
			if len(harts) != 1 {
				t.Fatalf("results: %v\n%s", harts, out.String())
			}
			if _, err := hart.Verify(ctx, harts[0], crypto.Cache{Dir: h.keys}); err != nil {
				t.Errorf("verify %s: %v", harts[0], err)
			}
			md, err := hart.ReadMetadata(ctx, harts[0])
			if err != nil {
				t.Fatal(err)
			}
			if interp := string(md.Files["INTERPRETERS"]); !strings.Contains(interp, "bin/sh") {
				t.Errorf("INTERPRETERS = %q", interp)
			}
		})
	}
}

// TestCLIHermeticStudio: "hab studio --hermetic run" takes its backline
// from HAB_STUDIO_BACKLINE_PKG, the artifact cache and key cache of
// FS_ROOT; an unknown backline is refused naming it, leaving no studio.
func TestCLIHermeticStudio(t *testing.T) {
	needRoot(t)
	h := newHost(t, true)
	hab, err := buildHab()
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	cases := []struct {
		name, backline string
		ok             bool
		want           string
	}{
		{"backline", "habtest/hab-backline", true, "/hab/bin:/hab/pkgs/habtest/busybox/1.0.0/20260101000000/bin\nbusybox\nhab-backline\n"},
		{"unknown backline", "habtest/no-such-backline", false, "habtest/no-such-backline"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			studioRoot := filepath.Join(h.fs, "hab", "studios", "cli")
			cmd := exec.Command(hab, "studio", "--hermetic", "-q", "-r", studioRoot, "-s", src, "run", "echo $PATH; ls /hab/pkgs/habtest")
			cmd.Env = []string{"FS_ROOT=" + h.fs, "HOME=" + t.TempDir(), "HAB_STUDIO_BACKLINE_PKG=" + c.backline, "PATH=" + os.Getenv("PATH")}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if c.ok != (err == nil) {
				t.Fatalf("hab studio run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			if got := stdout.String() + stderr.String(); !strings.Contains(got, c.want) {
				t.Errorf("output lacks %q:\n%s", c.want, got)
			}
			if strings.Contains(stderr.String(), "the studio has no base packages") {
				t.Errorf("the host toolchain warning appeared:\n%s", stderr.String())
			}
			if !c.ok {
				if _, err := os.Lstat(studioRoot); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a refused studio left %s (%v)", studioRoot, err)
				}
				return
			}
			rm := exec.Command(hab, "studio", "-q", "-r", studioRoot, "rm")
			rm.Env = cmd.Env
			if out, err := rm.CombinedOutput(); err != nil {
				t.Errorf("hab studio rm: %v\n%s", err, out)
			}
		})
	}
}

// TestCLIUnprivilegedHermeticStudio: a non-root user's hermetic studio
// (a user namespace, under ~/.hab/studios) installs the backline from the
// user's artifact cache and runs with it.
func TestCLIUnprivilegedHermeticStudio(t *testing.T) {
	needRoot(t) // to switch to uid 65534
	const nobody = 65534
	fh := fixtures(t)
	hab, err := buildHab()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{shared, filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	home, src := filepath.Join(dir, "home"), filepath.Join(dir, "src")
	cache := filepath.Join(home, ".hab", "cache")
	for _, d := range []string{filepath.Join(cache, "artifacts"), filepath.Join(cache, "keys"), src} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range fh.harts {
		copyTo(t, p, filepath.Join(cache, "artifacts", filepath.Base(p)))
	}
	pubs, _ := filepath.Glob(filepath.Join(fh.keys, "*.pub"))
	for _, p := range pubs {
		copyTo(t, p, filepath.Join(cache, "keys", filepath.Base(p)))
	}
	for _, d := range []string{home, src} {
		if err := filepath.Walk(d, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, nobody, nobody)
		}); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(hab, "studio", "--hermetic", "-q", "-s", src, "run", "echo $PATH; readlink /bin/sh; ls /hab/pkgs/habtest; id -u")
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "HAB_STUDIO_BACKLINE_PKG=habtest/hab-backline"}
	cmd.Dir = src
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 9 {
		t.Skipf("the kernel refuses user namespaces to uid %d:\n%s", nobody, out)
	}
	if err != nil {
		t.Fatalf("hab studio run as uid %d: %v\n%s", nobody, err, out)
	}
	want := "/hab/bin:/hab/pkgs/habtest/busybox/1.0.0/20260101000000/bin\n/hab/pkgs/habtest/busybox/1.0.0/20260101000000/bin/sh\nbusybox\nhab-backline\n0\n"
	if string(out) != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	studios, _ := filepath.Glob(filepath.Join(home, ".hab", "studios", "*", "hab", "pkgs", "habtest", "busybox"))
	if len(studios) != 1 {
		t.Errorf("the backline is not in the user's studio under %s", filepath.Join(home, ".hab", "studios"))
	}
}

// TestSwitchBackline: one studio, re-created with its backline, then
// with a backline found nowhere (the host fallback takes /bin over,
// warning), then with its backline again.
func TestSwitchBackline(t *testing.T) {
	needRoot(t)
	h := newHost(t, true)
	root := filepath.Join(t.TempDir(), "studio")
	steps := []struct {
		backline string
		want     string
		warn     bool
	}{
		{"habtest/hab-backline", "/hab/pkgs/habtest/busybox/1.0.0/20260101000000/bin/sh\n", false},
		{"habtest/no-such-backline", "host\n", true},
		{"habtest/hab-backline", "/hab/pkgs/habtest/busybox/1.0.0/20260101000000/bin/sh\n", false},
	}
	for i, st := range steps {
		b := h.backline()
		b.Ident = st.backline
		log, logs := logBuffer()
		s, err := chroot.New(root, studio.WithBackline(b), studio.WithLogger(log), studio.WithNetwork(false))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Create(context.Background()); err != nil {
			t.Fatalf("step %d (%s): create: %v", i, st.backline, err)
		}
		var out bytes.Buffer
		code, err := s.Run(context.Background(), []string{"/bin/sh", "-c", "if test -d /usr/lib; then echo host; else readlink /bin/sh; fi"}, studio.Stdio{Stdout: &out, Stderr: &out})
		if err != nil || code != 0 || out.String() != st.want {
			t.Errorf("step %d (%s): status %d, %v, output %q, want %q", i, st.backline, code, err, out.String(), st.want)
		}
		if warned := strings.Contains(logs.String(), "the studio has no base packages"); warned != st.warn {
			t.Errorf("step %d (%s): warned %v, want %v:\n%s", i, st.backline, warned, st.warn, logs.String())
		}
	}
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
}
