package pkgbuild

import (
	"context"
	"errors"
	"github.com/habgo/hab/internal/habbin"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/chroot"
	"github.com/habgo/hab/studio/rootfs"
)

// TestMain lets this test binary be a studio's init.
func TestMain(m *testing.M) {
	chroot.MaybeInit()
	os.Exit(m.Run())
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPlanPath(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "plan.sh"), "pkg_name=top\n")
	writeFile(t, filepath.Join(src, "a", "plan.sh"), "pkg_name=a\n")
	writeFile(t, filepath.Join(src, "b", "habitat", "plan.sh"), "pkg_name=b\n")
	writeFile(t, filepath.Join(src, "c", "README"), "no plan\n")
	writeFile(t, filepath.Join(src, "file"), "a file\n")
	tests := []struct {
		ctx, inside, err string
	}{
		{"", "/src", ""},
		{".", "/src", ""},
		{"a", "/src/a", ""},
		{"a/", "/src/a", ""},
		{filepath.Join(src, "a"), "/src/a", ""},
		{"b", "/src/b", ""},
		{"c", "", "no plan.sh or habitat/plan.sh in it"},
		{"file", "", "is not a directory"},
		{"missing", "", "plan context missing: stat "},
		{"..", "", "plan context .. is outside the source path " + src},
		{"a/../../x", "", "is outside the source path"},
		{"/etc", "", "plan context /etc is outside the source path"},
	}
	for _, tt := range tests {
		t.Run(tt.ctx, func(t *testing.T) {
			_, inside, err := PlanPath(src, tt.ctx)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("PlanPath(%q) = %q, %v; want an error with %q", tt.ctx, inside, err, tt.err)
				}
				return
			}
			if err != nil || inside != tt.inside {
				t.Errorf("PlanPath(%q) = %q, %v; want %q", tt.ctx, inside, err, tt.inside)
			}
		})
	}
}

func TestReadLastBuild(t *testing.T) {
	p := filepath.Join(t.TempDir(), "last_build.env")
	writeFile(t, p, "pkg_origin=habtest\npkg_name=x\n# a comment\n\npkg_artifact=habtest-x-1-2-x86_64-linux.hart\n")
	lb, err := ReadLastBuild(p)
	if err != nil {
		t.Fatal(err)
	}
	if lb["pkg_origin"] != "habtest" || lb["pkg_name"] != "x" || lb["pkg_artifact"] != "habtest-x-1-2-x86_64-linux.hart" || len(lb) != 3 {
		t.Errorf("ReadLastBuild = %v", lb)
	}
	missing := filepath.Join(t.TempDir(), "last_build.env")
	if _, err := ReadLastBuild(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
}

// needRoot skips unless studios can run here.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("building in a studio needs root (mounts, pivot_root, namespaces); run the tests as root")
	}
}

// habBinary is a hab built from this tree, for inside the studios.
var habBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hab-pkgbuild-test-")
	if err != nil {
		return "", err
	}
	return habbin.Build(dir)
})

// testStudio is a chroot studio for src with a throw-away artifact cache
// and a habtest signing key.
func testStudio(t *testing.T, src string) studio.Studio {
	t.Helper()
	bin, err := habBinary()
	if err != nil {
		t.Fatalf("build hab: %v", err)
	}
	base := t.TempDir()
	keys := filepath.Join(base, "keys")
	if _, _, err := (crypto.Cache{Dir: keys}).NewSigningPair("habtest", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	artifacts := filepath.Join(base, "artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := chroot.Open(filepath.Join(base, "studio"),
		studio.WithMount(src, SrcMount),
		studio.WithMount(artifacts, "/hab/cache/artifacts"),
		studio.WithHabBinary(bin),
		studio.WithEnv(studio.Environ(nil, "default")),
		studio.WithOriginKeys(keys, "habtest"),
	)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

const trivialPlan = `pkg_name=trivial
pkg_origin=habtest
pkg_version=1.0.0
do_build() { echo building; }
do_install() { echo hi > "$pkg_prefix/hi"; }
`

func TestBuild(t *testing.T) {
	needRoot(t)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "trivial", "plan.sh"), trivialPlan)
	st := testStudio(t, src)

	var out strings.Builder
	res, err := Build(context.Background(), st, Options{Src: src, PlanContext: "trivial", Stdio: studio.Stdio{Stdout: &out, Stderr: &out}})
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, out.String())
	}
	if res.Status != 0 || !res.Removed || res.Results != filepath.Join(src, "results") || res.LastBuild["pkg_name"] != "trivial" {
		t.Errorf("Build = %+v", res)
	}
	if filepath.Dir(res.Artifact) != res.Results || !strings.HasPrefix(filepath.Base(res.Artifact), "habtest-trivial-1.0.0-") {
		t.Errorf("artifact %s", res.Artifact)
	}
	if _, err := os.Stat(st.Root()); !os.IsNotExist(err) {
		t.Errorf("studio %s left: %v", st.Root(), err)
	}

	// Reuse keeps the studio, and builds in it again.
	for _, rel := range []string{"20260101000001", "20260101000002"} {
		res, err = Build(context.Background(), st, Options{Src: src, PlanContext: "trivial", Reuse: true, BuildArgs: []string{"--release", rel}, Stdio: studio.Stdio{Stdout: &out, Stderr: &out}})
		if err != nil || res.Removed || res.LastBuild["pkg_release"] != rel {
			t.Fatalf("Build -R: %+v %v\n%s", res, err, out.String())
		}
		if _, err := os.Stat(filepath.Join(st.Root(), "hab", "pkgs", "habtest", "trivial", "1.0.0", rel, "hi")); err != nil {
			t.Errorf("reused studio lacks the build: %v", err)
		}
	}
	if err := st.Remove(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A failing build: a *StatusError with its status, the studio gone.
	writeFile(t, filepath.Join(src, "fails", "plan.sh"), "pkg_name=fails\npkg_origin=habtest\npkg_version=1.0.0\ndo_build() { exit 7; }\n")
	res, err = Build(context.Background(), st, Options{Src: src, PlanContext: "fails", Stdio: studio.Stdio{Stdout: &out, Stderr: &out}})
	var se *StatusError
	if !errors.As(err, &se) || se.Status == 0 || res.Status != se.Status || !res.Removed || !strings.Contains(err.Error(), "/src/fails") {
		t.Errorf("failing build: %+v %v", res, err)
	}
	if _, err := os.Stat(st.Root()); !os.IsNotExist(err) {
		t.Errorf("studio left after a failed build: %v", err)
	}
}

// cancelOn cancels when a line containing word is written.
type cancelOn struct {
	word   string
	cancel context.CancelFunc
	mu     sync.Mutex
	buf    strings.Builder
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.word) {
		w.cancel()
	}
	return len(p), nil
}

func TestBuildCancelled(t *testing.T) {
	needRoot(t)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "plan.sh"), "pkg_name=sleeper\npkg_origin=habtest\npkg_version=1.0.0\ndo_build() { echo sleeping now; sleep 600600; }\n")
	st := testStudio(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelOn{word: "sleeping now", cancel: cancel}
	res, err := Build(ctx, st, Options{Src: src, Stdio: studio.Stdio{Stdout: w, Stderr: w}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped") || !res.Removed {
		t.Errorf("cancelled build: %+v %v", res, err)
	}
	if _, err := os.Stat(st.Root()); !os.IsNotExist(err) {
		t.Errorf("studio left after cancelling: %v", err)
	}
	if m, err := rootfs.MountsUnder(filepath.Dir(st.Root())); err != nil || len(m) > 0 {
		t.Errorf("mounts left: %v %v", m, err)
	}
}

// TestBuildRefusesForeignRoot: a studio root that is a non-empty
// directory without the studio marker is neither removed nor used.
func TestBuildRefusesForeignRoot(t *testing.T) {
	needRoot(t)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "plan.sh"), trivialPlan)
	root := filepath.Join(t.TempDir(), "precious")
	writeFile(t, filepath.Join(root, "data"), "keep me\n")
	st, err := chroot.Open(root, studio.WithMount(src, SrcMount))
	if err != nil {
		t.Fatal(err)
	}
	for _, reuse := range []bool{false, true} {
		_, err = Build(context.Background(), st, Options{Src: src, Reuse: reuse})
		if err == nil || !strings.Contains(err.Error(), "does not appear to be a studio") {
			t.Errorf("reuse=%v: %v", reuse, err)
		}
		if b, err := os.ReadFile(filepath.Join(root, "data")); err != nil || string(b) != "keep me\n" {
			t.Errorf("reuse=%v: the directory was touched: %q %v", reuse, b, err)
		}
	}
	if _, err := Build(context.Background(), st, Options{Src: "relative"}); err == nil || !strings.Contains(err.Error(), `"relative" is not absolute`) {
		t.Errorf("relative source: %v", err)
	}
}
