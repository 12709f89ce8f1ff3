package pkgs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgmeta"
)

// splitHart returns the five header lines and the payload of a hart.
func splitHart(t *testing.T, path string) ([]string, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for range 5 {
		i := bytes.IndexByte(data, '\n')
		lines = append(lines, string(data[:i]))
		data = data[i+1:]
	}
	return lines, data
}

func joinHart(t *testing.T, path string, lines []string, payload []byte) string {
	t.Helper()
	out := []byte(strings.Join(lines, "\n") + "\n")
	if err := os.WriteFile(path, append(out, payload...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInstallForgedHartOfInstalledIdent: a hart that claims a package that
// is installed is checked as thoroughly as one that is not before the
// install says "Using": a forged payload, an unknown signer, a tampered
// signature, a key name that is not one, a truncated payload all fail, and
// the installed package is left alone.
func TestInstallForgedHartOfInstalledIdent(t *testing.T) {
	ctx := context.Background()
	e := newInstallEnv(t)
	const id = "acme/app/1.0/20200101000000"
	genuine := e.build(e.harts, spec{id: id})
	if _, err := e.installer().Install(ctx, genuine); err != nil {
		t.Fatal(err)
	}
	other := e.build(t.TempDir(), spec{id: id, files: map[string]string{"bin/evil": "#!/bin/sh\nrm -rf /\n"}})
	_, stranger, err := crypto.GenerateSigningPair("acme", time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	unknown := e.build(t.TempDir(), spec{id: id, key: stranger})
	hdr, payload := splitHart(t, genuine)
	_, otherPayload := splitHart(t, other)
	dir := t.TempDir()
	name := filepath.Base(genuine)
	sig := []byte(hdr[3])
	sig[10] ^= 1
	if sig[10] == '\n' || sig[10] == '=' {
		sig[10] = 'A'
	}
	cases := []struct {
		name, hart, want string
	}{
		{"forged payload", joinHart(t, filepath.Join(dir, "1-"+name), hdr, otherPayload), "signature"},
		{"appended bytes", joinHart(t, filepath.Join(dir, "2-"+name), hdr, append(slices.Clone(payload), 0xfd, '7', 'z')), ""},
		{"unknown signer", unknown, "not in the key cache"},
		{"tampered signature", joinHart(t, filepath.Join(dir, "3-"+name), []string{hdr[0], hdr[1], hdr[2], string(sig), hdr[4]}, payload), ""},
		{"truncated payload", joinHart(t, filepath.Join(dir, "4-"+name), hdr, payload[:len(payload)/2]), ""},
	}
	installed := e.store.PathFor(ident.MustParse(id))
	before, err := os.Stat(filepath.Join(installed, "IDENT"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.rec.lines = nil
			_, err := e.installer().Install(ctx, c.hart)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("install of a %s: %v, want an error mentioning %q\n%s", c.name, err, c.want, e.rec)
			}
			if strings.Contains(e.rec.String(), "Using") {
				t.Errorf("said Using for a %s:\n%s", c.name, e.rec)
			}
			after, err := os.Stat(filepath.Join(installed, "IDENT"))
			if err != nil || !os.SameFile(before, after) {
				t.Errorf("installed package touched: %v", err)
			}
			if _, err := os.Stat(filepath.Join(installed, "bin", "evil")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("forged content reached the store: %v", err)
			}
			e.assertClean()
		})
	}
	// The genuine hart still says "Using".
	e.rec.lines = nil
	if res, err := e.installer().Install(ctx, genuine); err != nil || len(res.Installed) != 0 || !strings.Contains(e.rec.String(), "Using "+id) {
		t.Errorf("genuine hart of the installed package: %v\n%s", err, e.rec)
	}
}

// TestGraphLinearInDeps: a package with 100,000 DEPS lines (half of them
// repeated) neither makes the graph quadratic nor slows an unrelated
// uninstall: the work is counted in edges looked at (bench/store.sh times
// it).
func TestGraphLinearInDeps(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	const n = 100_000
	var deps []string
	for i := range n / 2 {
		deps = append(deps, fmt.Sprintf("core/dep%d/1.0/1", i))
	}
	deps = append(deps, deps...)
	put(t, s, fakePkg{id: "acme/huge/1.0/1", deps: deps})
	put(t, s, fakePkg{id: "core/glibc/1.0/1"})
	put(t, s, fakePkg{id: "acme/small/1.0/1", deps: []string{"core/glibc/1.0/1"}})

	g, err := s.Graph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(g.Deps(ident.MustParse("acme/huge/1.0/1"))); got != n/2 {
		t.Errorf("%d direct dependencies, want %d", got, n/2)
	}
	if g.steps > n+10 {
		t.Errorf("building the graph looked at %d edges for %d DEPS lines", g.steps, n)
	}
	small := ident.MustParse("acme/small/1.0/1")
	g.steps = 0
	g.Cycle(small)
	g.Dependents(small)
	g.OrderedDeps(small)
	g.Remove(small)
	if g.steps > 10 {
		t.Errorf("an unrelated package's queries looked at %d edges", g.steps)
	}
	g.steps = 0
	huge := ident.MustParse("acme/huge/1.0/1")
	if !g.Remove(huge) || g.steps > 2*n {
		t.Errorf("removing the large package looked at %d edges", g.steps)
	}

	res, err := s.Uninstall(ctx, ident.MustParse("acme/small"), UninstallOptions{})
	if err != nil || !slices.Equal(identStrings(res.Removed), []string{"acme/small/1.0/1", "core/glibc/1.0/1"}) {
		t.Fatalf("unrelated uninstall: %v %v", res, err)
	}
	// And the large package itself goes (its dependencies are not installed).
	if res, err := s.Uninstall(ctx, huge, UninstallOptions{}); err != nil || len(res.Removed) != 1 {
		t.Fatalf("uninstall of the large package: %v %v", res, err)
	}
}

// TestGraphRefusesOversizedDeps: DEPS beyond pkgmeta's bounds fails the
// graph (and so uninstall and `hab pkg dependencies`) with an error naming
// the package and the file, instead of being read whole.
func TestGraphRefusesOversizedDeps(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		make func(p string) error
	}{
		{"too many bytes", func(p string) error { return os.Truncate(p, pkgmeta.MaxFileBytes+1) }},
		{"too many lines", func(p string) error {
			return os.WriteFile(p, bytes.Repeat([]byte("core/a/1/1\n"), pkgmeta.MaxLines+1), 0o644)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := testStore(t)
			p := put(t, s, fakePkg{id: "acme/bloat/1.0/1", deps: []string{"core/a/1/1"}})
			put(t, s, fakePkg{id: "acme/other/1.0/1"})
			if err := c.make(filepath.Join(p.Path, pkgmeta.FileDeps)); err != nil {
				t.Fatal(err)
			}
			_, err := s.Graph(ctx)
			if !errors.Is(err, pkgmeta.ErrTooLarge) || !strings.Contains(err.Error(), "acme/bloat/1.0/1") || !strings.Contains(err.Error(), "DEPS") {
				t.Errorf("graph: %v", err)
			}
			if _, err := s.Uninstall(ctx, ident.MustParse("acme/other"), UninstallOptions{}); !errors.Is(err, pkgmeta.ErrTooLarge) {
				t.Errorf("uninstall: %v", err)
			}
		})
	}
}

// TestUninstallCycles: a package naming itself in DEPS uninstalls like any
// other; packages in a dependency cycle are removed together, or refused
// together when something outside needs them.
func TestUninstallCycles(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		pkgs    map[string][]string // package: DEPS
		want    string
		opts    UninstallOptions
		removed []string
		left    []string
		err     string
	}{
		{name: "self-edge", pkgs: map[string][]string{"a/self/1/1": {"a/self/1/1"}}, want: "a/self",
			removed: []string{"a/self/1/1"}},
		{name: "self-edge and a dependency", pkgs: map[string][]string{"a/self/1/1": {"a/self/1/1", "a/lib/1/1"}, "a/lib/1/1": nil}, want: "a/self",
			removed: []string{"a/self/1/1", "a/lib/1/1"}},
		{name: "two-package cycle", pkgs: map[string][]string{"a/x/1/1": {"a/y/1/1"}, "a/y/1/1": {"a/x/1/1"}}, want: "a/x",
			removed: []string{"a/x/1/1", "a/y/1/1"}},
		{name: "three-package cycle and its dependency", pkgs: map[string][]string{"a/x/1/1": {"a/y/1/1"}, "a/y/1/1": {"a/z/1/1"}, "a/z/1/1": {"a/x/1/1", "a/lib/1/1"}, "a/lib/1/1": nil}, want: "a/y",
			removed: []string{"a/y/1/1", "a/x/1/1", "a/z/1/1", "a/lib/1/1"}},
		{name: "cycle below the package", pkgs: map[string][]string{"a/app/1/1": {"a/x/1/1"}, "a/x/1/1": {"a/y/1/1"}, "a/y/1/1": {"a/x/1/1"}}, want: "a/app",
			removed: []string{"a/app/1/1", "a/x/1/1", "a/y/1/1"}},
		{name: "cycle needed from outside", pkgs: map[string][]string{"a/app/1/1": {"a/y/1/1"}, "a/x/1/1": {"a/y/1/1"}, "a/y/1/1": {"a/x/1/1"}}, want: "a/x",
			err: "it is a dependency of 1 packages (a/app/1/1)", left: []string{"a/app/1/1", "a/x/1/1", "a/y/1/1"}},
		{name: "cycle with --no-deps", pkgs: map[string][]string{"a/x/1/1": {"a/y/1/1"}, "a/y/1/1": {"a/x/1/1"}}, want: "a/x", opts: UninstallOptions{NoDeps: true},
			err: "in a dependency cycle with a/y/1/1", left: []string{"a/x/1/1", "a/y/1/1"}},
		{name: "dry run of a cycle", pkgs: map[string][]string{"a/x/1/1": {"a/y/1/1"}, "a/y/1/1": {"a/x/1/1"}}, want: "a/x", opts: UninstallOptions{DryRun: true},
			removed: []string{"a/x/1/1", "a/y/1/1"}, left: []string{"a/x/1/1", "a/y/1/1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := testStore(t)
			for id, deps := range c.pkgs {
				put(t, s, fakePkg{id: id, deps: deps})
			}
			res, err := s.Uninstall(ctx, ident.MustParse(c.want), c.opts)
			if c.err != "" {
				if !errors.Is(err, ErrHasDependents) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := identStrings(res.Removed); !slices.Equal(got, c.removed) {
				t.Errorf("removed %v, want %v", got, c.removed)
			}
			ids, _ := s.List(ctx, ident.Ident{})
			if got := identStrings(ids); !slices.Equal(got, c.left) {
				t.Errorf("left %v, want %v", got, c.left)
			}
		})
	}
	// `hab pkg dependencies` of a self-dependent package does not list it.
	s := testStore(t)
	put(t, s, fakePkg{id: "a/self/1/1", deps: []string{"a/self/1/1", "a/lib/1/1"}})
	g, err := s.Graph(ctx)
	if err != nil {
		t.Fatal(err)
	}
	self := ident.MustParse("a/self/1/1")
	if got := identStrings(g.OrderedDeps(self)); !slices.Equal(got, []string{"a/lib/1/1"}) {
		t.Errorf("dependencies of a self-dependent package: %v", got)
	}
	if n := len(g.RDeps(self)); n != 0 {
		t.Errorf("a self-dependent package has %d dependents", n)
	}
}

// TestUninstallRacesInstall races an uninstall of a dependency against the
// install of a package that needs it, many times: whichever wins, the
// dependent is never left installed without its dependency.
func TestUninstallRacesInstall(t *testing.T) {
	ctx := context.Background()
	const dep, app = "core/lib/1.0/20200101000000", "acme/app/1.0/20200101000000"
	for round := range 20 {
		e := newInstallEnv(t)
		libHart := e.build(t.TempDir(), spec{id: dep})
		if _, err := e.installer().Install(ctx, libHart); err != nil {
			t.Fatal(err)
		}
		// Not in the artifact cache: once uninstalled, it cannot come back.
		if err := os.RemoveAll(e.artifacts); err != nil {
			t.Fatal(err)
		}
		appHart := e.build(e.harts, spec{id: app, deps: []string{dep}, tdeps: []string{dep}})
		var wg sync.WaitGroup
		var installErr, uninstallErr error
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, installErr = e.installer().Install(ctx, appHart)
		}()
		go func() {
			defer wg.Done()
			<-start
			_, uninstallErr = e.store.Uninstall(ctx, ident.MustParse(dep), UninstallOptions{})
		}()
		close(start)
		wg.Wait()
		appIn, depIn := e.store.IsInstalled(ident.MustParse(app)), e.store.IsInstalled(ident.MustParse(dep))
		switch {
		case appIn && !depIn:
			t.Fatalf("round %d: %s installed without %s (install: %v, uninstall: %v)", round, app, dep, installErr, uninstallErr)
		case appIn && (installErr != nil || !errors.Is(uninstallErr, ErrHasDependents)):
			t.Fatalf("round %d: install won, but install: %v, uninstall: %v", round, installErr, uninstallErr)
		case !appIn && (uninstallErr != nil || !errors.Is(installErr, ErrArtifactNotFound) || depIn):
			t.Fatalf("round %d: uninstall won, but install: %v, uninstall: %v", round, installErr, uninstallErr)
		}
		e.assertClean()
	}
}

// TestStoreLockWaitsAndCancels: an install waits while an uninstall holds
// the store, and gives up with the context.
func TestStoreLockWaitsAndCancels(t *testing.T) {
	s := testStore(t)
	unlock, err := s.lock(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		u, err := s.lock(ctx, false)
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("shared lock granted while held exclusively: %v", err)
	default:
	}
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
	unlock()
	u, err := s.lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := s.lock(context.Background(), false)
	if err != nil {
		t.Fatal("two shared holders refused:", err)
	}
	u()
	u2()
}

// racer is a Reporter that, when the install says it uses the dependency
// (it has seen it installed), runs the uninstall of that dependency and
// lets the install go on only once the uninstall has finished or is
// waiting for the store lock (a waiter in /proc/locks): the widest window
// an uninstall can have.
type racer struct {
	*recorder
	t       *testing.T
	s       *Store
	dep     ident.Ident
	started bool
	done    chan error
	// uninstall runs the uninstall (in this process when nil).
	uninstall func() error
}

func (r *racer) Status(st Status, m string) {
	r.recorder.Status(st, m)
	if st != StatusUsing || m != r.dep.String() || r.started {
		return
	}
	r.started = true
	go func() {
		if r.uninstall != nil {
			r.done <- r.uninstall()
			return
		}
		_, err := r.s.Uninstall(context.Background(), r.dep, UninstallOptions{})
		r.done <- err
	}()
	for {
		select {
		case err := <-r.done:
			r.done <- err
			return
		default:
		}
		if fi, err := os.Stat(filepath.Join(r.s.Dir, LockFile)); err == nil {
			ino := fi.Sys().(*syscall.Stat_t).Ino
			locks, _ := os.ReadFile("/proc/locks")
			for _, l := range strings.Split(string(locks), "\n") {
				if strings.Contains(l, "->") && strings.Contains(l, fmt.Sprintf(":%d ", ino)) {
					return
				}
			}
		}
		runtime.Gosched()
	}
}

// TestUninstallInInstallWindow: the uninstall of a dependency runs in the
// middle of an install that has counted on it; it waits for the install
// and is then refused, and the dependent is installed with its dependency.
func TestUninstallInInstallWindow(t *testing.T) {
	ctx := context.Background()
	const dep, app = "core/lib/1.0/20200101000000", "acme/app/1.0/20200101000000"
	e := newInstallEnv(t)
	if _, err := e.installer().Install(ctx, e.build(t.TempDir(), spec{id: dep})); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(e.artifacts); err != nil {
		t.Fatal(err)
	}
	appHart := e.build(e.harts, spec{id: app, deps: []string{dep}, tdeps: []string{dep}})
	r := &racer{recorder: &recorder{}, t: t, s: e.store, dep: ident.MustParse(dep), done: make(chan error, 1)}
	in := e.installer()
	in.Reporter = r
	_, installErr := in.Install(ctx, appHart)
	if !r.started {
		t.Fatalf("the install never said it uses %s:\n%s", dep, r.recorder)
	}
	uninstallErr := <-r.done
	if !e.store.IsInstalled(ident.MustParse(dep)) {
		t.Fatalf("%s removed under the install (install: %v, uninstall: %v; %s installed: %v)", dep, installErr, uninstallErr, app, e.store.IsInstalled(ident.MustParse(app)))
	}
	if installErr != nil || !errors.Is(uninstallErr, ErrHasDependents) {
		t.Errorf("install: %v, uninstall: %v", installErr, uninstallErr)
	}
}

// TestFailureAfterCommitNamesWhatIsInstalled: when an install fails after
// its packages are in place (an install hook fails), the error says which
// packages it installed.
func TestFailureAfterCommitNamesWhatIsInstalled(t *testing.T) {
	ctx := context.Background()
	e := newInstallEnv(t)
	const dep, app = "core/dep/1.0/20200101000000", "acme/app/1.0/20200101000000"
	e.build(e.artifacts, spec{id: dep})
	h := e.build(e.harts, spec{id: app, deps: []string{dep}, tdeps: []string{dep}, files: map[string]string{"hooks/install": "#!/bin/sh\nexit 3\n"}})
	in := e.installer()
	in.Hooks = ExecHooks{Env: []string{"PATH=" + os.Getenv("PATH")}}
	res, err := in.Install(ctx, h)
	if err == nil || !strings.Contains(err.Error(), "installed before the failure: "+dep+", "+app) {
		t.Fatalf("err = %v", err)
	}
	if res != nil {
		t.Errorf("result %v", res)
	}
	if got := e.installed(); !slices.Equal(got, []string{app, dep}) {
		t.Errorf("installed %v", got)
	}
}

// TestListIgnoresOversizedTarget: a TARGET file too large to be one hides
// the package without being read whole.
func TestListIgnoresOversizedTarget(t *testing.T) {
	s := testStore(t)
	put(t, s, fakePkg{id: "acme/ok/1.0/1"})
	p := put(t, s, fakePkg{id: "acme/huge/1.0/1"})
	if err := os.Truncate(filepath.Join(p.Path, pkgmeta.FileTarget), 1<<40); err != nil {
		t.Fatal(err)
	}
	ids, err := s.List(context.Background(), ident.Ident{})
	if err != nil || !slices.Equal(identStrings(ids), []string{"acme/ok/1.0/1"}) {
		t.Errorf("list: %v %v", ids, err)
	}
}

// TestUninstallProcessInInstallWindow is TestUninstallInInstallWindow with
// the uninstall in another process (this test binary, re-executed).
func TestUninstallProcessInInstallWindow(t *testing.T) {
	if root := os.Getenv("HAB_PKGS_TEST_UNINSTALL_ROOT"); root != "" {
		s := New(paths.At(root), ident.X86_64Linux)
		_, err := s.Uninstall(context.Background(), ident.MustParse(os.Getenv("HAB_PKGS_TEST_UNINSTALL")), UninstallOptions{})
		switch {
		case err == nil:
			os.Exit(0)
		case errors.Is(err, ErrHasDependents):
			os.Exit(3)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	ctx := context.Background()
	const dep, app = "core/lib/1.0/20200101000000", "acme/app/1.0/20200101000000"
	e := newInstallEnv(t)
	if _, err := e.installer().Install(ctx, e.build(t.TempDir(), spec{id: dep})); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(e.artifacts); err != nil {
		t.Fatal(err)
	}
	appHart := e.build(e.harts, spec{id: app, deps: []string{dep}, tdeps: []string{dep}})
	r := &racer{recorder: &recorder{}, t: t, s: e.store, dep: ident.MustParse(dep), done: make(chan error, 1)}
	r.uninstall = func() error {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUninstallProcessInInstallWindow$")
		cmd.Env = append(os.Environ(), "HAB_PKGS_TEST_UNINSTALL_ROOT="+e.store.FSRoot, "HAB_PKGS_TEST_UNINSTALL="+dep)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			return ErrHasDependents
		}
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	in := e.installer()
	in.Reporter = r
	_, installErr := in.Install(ctx, appHart)
	if !r.started {
		t.Fatalf("the install never said it uses %s:\n%s", dep, r.recorder)
	}
	uninstallErr := <-r.done
	if !e.store.IsInstalled(ident.MustParse(dep)) {
		t.Fatalf("%s removed under the install (install: %v, uninstall: %v)", dep, installErr, uninstallErr)
	}
	if installErr != nil || !errors.Is(uninstallErr, ErrHasDependents) {
		t.Errorf("install: %v, uninstall: %v", installErr, uninstallErr)
	}
}
