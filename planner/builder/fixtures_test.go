package builder

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgmeta"
	"github.com/habgo/hab/core/pkgs"
)

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the fixture compiles C code", tool)
		}
	}
}

// TestHelloChain builds greetdata, libgreet and hello (a C program from a
// local tarball with a shasum, linked against libgreet, which reads its
// greeting from greetdata), checks the metadata and environment that
// flows along the chain, runs hello, then installs the three harts into
// a fresh root with core/pkgs and runs hello from there.
func TestHelloChain(t *testing.T) {
	needTools(t, "gcc", "make")
	e := newEnv(t)
	greet := e.build(fixture("greetdata"))
	lib := e.build(fixture("libgreet"))
	hello := e.build(fixture("hello"))

	store := pkgs.New(paths.At(e.root), hello.Target)
	load := func(id ident.Ident) *pkgmeta.Metadata {
		t.Helper()
		p, err := store.Load(id)
		if err != nil {
			t.Fatal(err)
		}
		m, err := p.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	gm, lm, hm := load(greet.Ident), load(lib.Ident), load(hello.Ident)

	gPrefix, lPrefix, hPrefix := pkgmeta.InstallPrefix(greet.Ident), pkgmeta.InstallPrefix(lib.Ident), pkgmeta.InstallPrefix(hello.Ident)
	if got, want := gm.RuntimeEnvironment["GREETDATA_DIR"], gPrefix+"/share/greetdata"; got != want {
		t.Errorf("greetdata RUNTIME_ENVIRONMENT GREETDATA_DIR = %q, want %q", got, want)
	}
	if got := lm.RuntimeEnvironment["GREETDATA_DIR"]; got != gPrefix+"/share/greetdata" {
		t.Errorf("libgreet RUNTIME_ENVIRONMENT did not inherit GREETDATA_DIR: %q", got)
	}
	if lm.LDRunPath != lPrefix+"/lib" || lm.LDFlags != "-L"+lPrefix+"/lib" || lm.CFlags != "-I"+lPrefix+"/include" {
		t.Errorf("libgreet LD_RUN_PATH/LDFLAGS/CFLAGS = %q / %q / %q", lm.LDRunPath, lm.LDFlags, lm.CFlags)
	}
	if !slices.Equal(hm.Deps, []ident.Ident{lib.Ident}) {
		t.Errorf("hello DEPS = %v", hm.Deps)
	}
	if !slices.Equal(hm.TDeps, []ident.Ident{lib.Ident, greet.Ident}) {
		t.Errorf("hello TDEPS = %v, want libgreet then greetdata", hm.TDeps)
	}
	if !slices.Equal(hm.Path, []string{hPrefix + "/bin"}) || !slices.Equal(hm.RuntimePath, []string{hPrefix + "/bin"}) {
		t.Errorf("hello PATH = %v, RUNTIME_PATH = %v", hm.Path, hm.RuntimePath)
	}
	if hm.RuntimeEnvironment["PATH"] != hPrefix+"/bin" {
		t.Errorf("hello RUNTIME_ENVIRONMENT PATH = %q", hm.RuntimeEnvironment["PATH"])
	}
	for _, want := range []string{"LDFLAGS: -L" + lPrefix + "/lib", "CFLAGS: -I" + lPrefix + "/include", "LD_RUN_PATH: " + lPrefix + "/lib", "* __SHA__: `fb6c0b22", "`habtest/libgreet `"} {
		if !strings.Contains(hm.Manifest, want) {
			t.Errorf("hello MANIFEST lacks %q:\n%s", want, hm.Manifest)
		}
	}
	if !strings.Contains(hm.Files, "  "+hPrefix+"/bin/hello") || strings.Contains(hm.Files, e.root) {
		t.Errorf("hello FILES:\n%s", hm.Files)
	}

	// last_build.env and the log.
	lb := readFile(t, hello.LastBuild)
	for _, want := range []string{"pkg_origin=habtest\n", "pkg_name=hello\n", "pkg_version=1.0.0\n", "pkg_release=" + hello.Ident.Release + "\n",
		"pkg_target=" + string(hello.Target) + "\n", "pkg_ident=" + hello.Ident.String() + "\n",
		"pkg_artifact=" + filepath.Base(hello.Artifact) + "\n", "pkg_sha256sum=" + hello.SHA256 + "\n", "pkg_blake2bsum=" + hello.Blake2b + "\n"} {
		if !strings.Contains(lb, want) {
			t.Errorf("last_build.env lacks %q:\n%s", want, lb)
		}
	}
	if filepath.Dir(hello.Artifact) != filepath.Join(e.work, "results") || filepath.Base(hello.Artifact) != "habtest-hello-1.0.0-"+hello.Ident.Release+"-"+string(hello.Target)+".hart" {
		t.Errorf("artifact at %s", hello.Artifact)
	}
	if log := readFile(t, hello.Log); !strings.Contains(log, "I love it when a plan.sh comes together.") || !strings.Contains(log, "hello configured for") {
		t.Errorf("build log %s is incomplete:\n%s", hello.Log, log)
	}

	// hello runs where it was built.
	run := func(bin string) string {
		t.Helper()
		out, err := exec.Command(bin).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", bin, err, out)
		}
		return string(out)
	}
	const greeting = "Hello from greetdata, through libgreet!\n"
	if got := run(filepath.Join(hello.Prefix, "bin", "hello")); got != greeting {
		t.Errorf("hello printed %q, want %q", got, greeting)
	}

	// The harts verify and install into a fresh root. Paths compiled into
	// the binaries name the build root, so the fresh root takes its place.
	for _, r := range []*Result{greet, lib, hello} {
		if _, err := hart.Verify(context.Background(), r.Artifact, e.keys); err != nil {
			t.Fatalf("verify %s: %v", r.Artifact, err)
		}
	}
	if err := os.Rename(e.root, e.root+".built"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.root, 0o755); err != nil {
		t.Fatal(err)
	}
	fresh := pkgs.New(paths.At(e.root), hello.Target)
	in := &pkgs.Installer{Store: fresh, Keys: e.keys, ArtifactCache: filepath.Join(e.root, "hab", "cache", "artifacts")}
	if _, err := in.InstallAll(context.Background(), []string{hello.Artifact, lib.Artifact, greet.Artifact}); err != nil {
		t.Fatalf("install into a fresh root: %v", err)
	}
	if err := os.RemoveAll(e.root + ".built"); err != nil {
		t.Fatal(err)
	}
	if got := run(filepath.Join(e.root, "hab", "pkgs", "habtest", "hello", "1.0.0", hello.Ident.Release, "bin", "hello")); got != greeting {
		t.Errorf("installed hello printed %q, want %q", got, greeting)
	}
}
