// Package exptest is for the exporters' tests only: it builds the fixture
// plans into a temporary root with the planner, as a user would before
// exporting, and finds the tools the tests check exports with.
package exptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/exporters/closure"
	"github.com/habgo/hab/internal/habbin"
	"github.com/habgo/hab/planner/builder"
	"github.com/habgo/hab/studio/pkgbuild"
)

// Env is a root with the habtest origin's keys and fixtures built into it.
type Env struct {
	T    testing.TB
	Root string
	Keys crypto.Cache
	Work string
	// Cache is the exporters' lasting cache (layers, host packages).
	Cache   string
	release atomic.Int64
}

// New makes an empty root with a habtest signing key.
func New(t testing.TB) *Env {
	t.Helper()
	tmp := t.TempDir()
	e := &Env{T: t, Root: filepath.Join(tmp, "root"), Keys: crypto.Cache{Dir: filepath.Join(tmp, "keys")}, Work: filepath.Join(tmp, "work"), Cache: filepath.Join(tmp, "cache")}
	for _, d := range []string{e.Root, e.Keys.Dir, e.Work, e.Cache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.Keys.NewSigningPair("habtest", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	e.release.Store(20260101000000)
	return e
}

// Fixture is the path of a fixture plan.
func Fixture(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "fixtures", name)
}

// Build builds fixture plan name into the root (installing it) with the
// next release, and returns the result (ident, hart).
func (e *Env) Build(name string) *builder.Result {
	e.T.Helper()
	return e.BuildFor(name, "")
}

// BuildFor builds fixture plan name for target (the host's when empty).
func (e *Env) BuildFor(name string, target ident.Target) *builder.Result {
	e.T.Helper()
	return e.buildPlan(Fixture(name), target)
}

func (e *Env) buildPlan(dir string, target ident.Target) *builder.Result {
	e.T.Helper()
	name := filepath.Base(dir)
	var out bytes.Buffer
	res, err := builder.Build(context.Background(), dir, builder.Options{
		Root:    paths.At(e.Root),
		Env:     []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.Work, "TERM=dumb"},
		Release: strconv.FormatInt(e.release.Add(1), 10),
		WorkDir: e.Work,
		Keys:    e.Keys,
		Output:  &out,
		Hart:    hart.WriteOptions{Level: 1},
		Target:  target,
	})
	if err != nil {
		e.T.Fatalf("build %s: %v\n%s", name, err, out.String())
	}
	return res
}

// BuildInStudio builds fixture plan name the way a package to export is
// built, with `hab pkg build` in a chroot studio (root only; the test is
// skipped otherwise), then installs its hart into the root with `hab pkg
// install`. Inside the studio FS_ROOT is /, so what the package names (its
// run script, hooks, configuration paths) is /hab/..., as on the machine
// or image it is exported to; Build writes the temporary root's path
// into them, and such a service runs only in that root.
func (e *Env) BuildInStudio(name string) *builder.Result {
	e.T.Helper()
	if os.Geteuid() != 0 {
		e.T.Skip("building in a studio (hab pkg build) needs root")
	}
	src := filepath.Join(e.Work, "studio-src-"+name)
	if err := os.MkdirAll(src, 0o755); err != nil {
		e.T.Fatal(err)
	}
	Run(e.T, "cp", "-a", Fixture(name), filepath.Join(src, name))
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.Work, "TERM=dumb", "FS_ROOT=" + e.Root,
		"HAB_CACHE_KEY_PATH=" + e.Keys.Dir, "HAB_ORIGIN=habtest"}
	hab := Hab(e.T)
	habRun := func(args ...string) {
		e.T.Helper()
		cmd := exec.Command(hab, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			e.T.Fatalf("hab %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	habRun("pkg", "build", "-s", src, "--release", strconv.FormatInt(e.release.Add(1), 10), name)
	results := filepath.Join(src, "results")
	last, err := pkgbuild.ReadLastBuild(filepath.Join(results, "last_build.env"))
	if err != nil {
		e.T.Fatal(err)
	}
	id, err := ident.ParseFullyQualified(last["pkg_ident"])
	if err != nil {
		e.T.Fatalf("hab pkg build of %s: last_build.env: %v", name, err)
	}
	target, err := ident.ParseTarget(last["pkg_target"])
	if err != nil {
		e.T.Fatalf("hab pkg build of %s: last_build.env: %v", name, err)
	}
	res := &builder.Result{
		Ident:          id,
		Target:         target,
		Prefix:         filepath.Join(append([]string{e.Root, "hab", "pkgs"}, id.Parts()...)...),
		Artifact:       filepath.Join(results, last["pkg_artifact"]),
		CachedArtifact: filepath.Join(e.Root, "hab", "cache", "artifacts", last["pkg_artifact"]),
		SHA256:         last["pkg_sha256sum"],
		Blake2b:        last["pkg_blake2bsum"],
		LastBuild:      filepath.Join(results, "last_build.env"),
	}
	habRun("pkg", "install", res.CachedArtifact)
	return res
}

// ServiceUserTOML writes the service fixture's user.toml into root (an
// unpacked image or tarball): it listens on 127.0.0.1:port and answers
// message.
func ServiceUserTOML(t testing.TB, root string, port int, message string) {
	t.Helper()
	file := filepath.Join(root, "hab", "user", "service", "config", "user.toml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(fmt.Sprintf("port = %d\nmessage = %q\n[listen]\nhost = \"127.0.0.1\"\n", port, message)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Store is the root's package store.
func (e *Env) Store() *pkgs.Store { return pkgs.New(paths.At(e.Root), ident.X86_64Linux) }

// Gather are the closure options an export from this root uses: its
// store, keys and artifact cache, the hab built from this tree and the
// host's static busybox.
func (e *Env) Gather() closure.Options {
	e.T.Helper()
	return closure.Options{
		Store:         e.Store(),
		Keys:          e.Keys,
		ArtifactCache: filepath.Join(e.Root, "hab", "cache", "artifacts"),
		HabBinary:     map[ident.Target]string{ident.X86_64Linux: Hab(e.T)},
		Busybox:       map[ident.Target]string{ident.X86_64Linux: Busybox(e.T)},
		HabVersion:    "0.0.0-test",
		HostRoot:      filepath.Join(e.Cache, "host-pkgs"),
	}
}

var (
	habOnce sync.Once
	habPath string
	habErr  error

	crossMu sync.Mutex
	cross   = map[string]string{} // "hab arm64" -> the binary built
)

// GOARCH is the Go architecture of target's binaries.
func GOARCH(t testing.TB, target ident.Target) string {
	t.Helper()
	switch target {
	case ident.X86_64Linux:
		return "amd64"
	case ident.AArch64Linux:
		return "arm64"
	}
	t.Fatalf("no Go architecture for target %s", target)
	return ""
}

// crossBuild builds a command (hab from this tree, or a Go package path)
// for goarch, once per test binary.
func crossBuild(t testing.TB, what, goarch string) string {
	t.Helper()
	crossMu.Lock()
	defer crossMu.Unlock()
	key := what + " " + goarch
	if p, ok := cross[key]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "exptest-"+goarch+"-")
	if err != nil {
		t.Fatal(err)
	}
	var bin string
	if what == "hab" {
		bin, err = habbin.BuildFor(dir, goarch)
	} else {
		bin = filepath.Join(dir, filepath.Base(what))
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-buildvcs=false", "-o", bin, what)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
		if out, berr := cmd.CombinedOutput(); berr != nil {
			err = fmt.Errorf("build %s for %s: %v\n%s", what, goarch, berr, out)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	cross[key] = bin
	return bin
}

// HabFor is the hab binary built from this tree for goarch.
func HabFor(t testing.TB, goarch string) string {
	t.Helper()
	return crossBuild(t, "hab", goarch)
}

// ShellPackage is the name of the shell package ShellFor builds.
const ShellPackage = "habtest/gosh"

// ShellFor builds habtest/gosh for target into the root and its artifact
// cache: mvdan.cc/sh's gosh (a shell in Go) built for goarch, as
// bin/gosh and bin/sh. It stands for another target's busybox-static,
// which this machine cannot run nor has: a real shell of that target.
// goarch other than target's makes a package holding a foreign binary.
func (e *Env) ShellFor(target ident.Target, goarch string) *builder.Result {
	e.T.Helper()
	gosh := crossBuild(e.T, "mvdan.cc/sh/v3/cmd/gosh", goarch)
	dir := filepath.Join(e.Work, "plans-"+goarch, "gosh")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.T.Fatal(err)
	}
	plan := fmt.Sprintf(`pkg_origin=habtest
pkg_name=gosh
pkg_version=3.0.0
pkg_maintainer="hab tests"
pkg_license=('BSD-3-Clause')
pkg_description="mvdan.cc/sh's gosh built for this package's target: a shell for exports of that target"
pkg_bin_dirs=(bin)
do_build() { return 0; }
do_strip() { return 0; } # this machine's strip knows only its own binaries
do_install() {
  mkdir -p "$pkg_prefix/bin"
  cp %q "$pkg_prefix/bin/gosh"
  chmod 0755 "$pkg_prefix/bin/gosh"
  ln -s gosh "$pkg_prefix/bin/sh"
}
`, gosh)
	if err := os.WriteFile(filepath.Join(dir, "plan.sh"), []byte(plan), 0o644); err != nil {
		e.T.Fatal(err)
	}
	return e.buildPlan(dir, target)
}

// Hab is the hab binary built from this tree, once per test binary.
func Hab(t testing.TB) string {
	t.Helper()
	habOnce.Do(func() {
		dir, err := os.MkdirTemp("", "exptest-hab-")
		if err != nil {
			habErr = err
			return
		}
		habPath, habErr = habbin.Build(dir)
	})
	if habErr != nil {
		t.Fatal(habErr)
	}
	return habPath
}

// Busybox is the host's static busybox (Debian's busybox-static, which CI
// installs).
func Busybox(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Fatalf("no /bin/busybox (apt-get install busybox-static): %v", err)
	}
	return "/bin/busybox"
}

// Tool returns the path of a program the test checks with; it fails the
// test when the program is missing (CI installs it: .ci/run).
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed to check the export (apt-get install %s): %v", name, name, err)
	}
	return p
}

// Run runs a program and returns its standard output, failing the test
// with its output when it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(Tool(t, name), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s%s", name, args, err, out.String(), errb.String())
	}
	return out.String()
}

// FreePort is a TCP port free on the loopback address now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitHTTP polls url (bounded, 90 s) until its body contains every one of
// want, or done (a process's end) fires; it returns the last body.
func WaitHTTP(t testing.TB, url string, done <-chan error, log func() string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		if body, err := get(url); err == nil {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(body, w)
			}
			if ok {
				return body
			}
		}
		select {
		case err := <-done:
			t.Fatalf("the process ended (%v) before %s answered %q:\n%s", err, url, want, log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %q:\n%s", url, want, log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Process is a program a test started and stops at its end.
type Process struct {
	Done <-chan error // its exit, once
	out  *lockedBuffer
}

// Output is what it printed so far.
func (p *Process) Output() string { return p.out.String() }

// Start starts cmd with its output collected; at the end of the test stop
// is called (nil: kill the process) and the process is waited for.
func Start(t testing.TB, cmd *exec.Cmd, stop func()) *Process {
	t.Helper()
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if stop != nil {
			stop()
		} else {
			cmd.Process.Kill()
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return &Process{Done: done, out: out}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
