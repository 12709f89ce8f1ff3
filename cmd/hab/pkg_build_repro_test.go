package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/studio/pkgbuild"
)

// stampPlan compiles a C program that prints the compiler's __DATE__ and
// __TIME__, which gcc takes from SOURCE_DATE_EPOCH when it is set.
const stampPlan = `pkg_name=stamp
pkg_origin=habtest
pkg_version=1.0.0
pkg_bin_dirs=(bin)
do_build() {
  cat > "$CACHE_PATH/stamp.c" <<'EOF'
#include <stdio.h>
int main(void) { puts("built " __DATE__ " " __TIME__); return 0; }
EOF
  gcc -o "$CACHE_PATH/stamp" "$CACHE_PATH/stamp.c"
}
do_install() { mkdir -p "$pkg_prefix/bin" && cp "$CACHE_PATH/stamp" "$pkg_prefix/bin/stamp"; }
`

// TestPkgBuildReproducible (issue 8): two hab pkg build of the same C
// plans with the same --release, at different times, give byte-identical
// harts (and so signatures), in a chroot studio and in a runc studio;
// the build sees SOURCE_DATE_EPOCH, the caller's when set, else the
// release's time, and the compiler embeds that date.
func TestPkgBuildReproducible(t *testing.T) {
	bin := needStudioRoot(t)
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed: the C fixtures cannot build")
	}
	const release = "20260102030405"
	cases := []struct {
		epoch string // the caller's SOURCE_DATE_EPOCH
		date  string // what __DATE__ __TIME__ then are
	}{
		{"", "Jan  2 2026 03:04:05"},
		{"1700000000", "Nov 14 2023 22:13:20"},
	}
	for _, kind := range []struct {
		name string
		args []string
	}{{"chroot", nil}, {"runc", []string{"-D"}}} {
		t.Run(kind.name, func(t *testing.T) {
			if kind.name == "runc" {
				if _, err := exec.LookPath("runc"); err != nil {
					t.Skip("runc is not installed: container studios cannot run")
				}
			}
			src := copyFixtures(t, "greetdata", "libgreet")
			writePlans(t, src, map[string]string{"stamp": stampPlan})
			env := pkgBuildEnv(t, bin, src)
			keys := crypto.Cache{Dir: env["HAB_CACHE_KEY_PATH"]}
			build := func(plan, rel string) []byte {
				t.Helper()
				args := append(append([]string{"pkg", "build"}, kind.args...), "--release", rel, plan)
				if code, stdout, stderr := studioCLI(t, "", env, args...); code != 0 {
					t.Fatalf("hab %v: exit %d\n%s\n%s", args, code, stdout, stderr)
				}
				lb, err := pkgbuild.ReadLastBuild(filepath.Join(src, "results", "last_build.env"))
				if err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(filepath.Join(src, "results", lb["pkg_artifact"]))
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
			build("greetdata", "20260101000000")
			for _, c := range cases {
				// The caller's environment (hab reads the variables of
				// its process's environment).
				t.Setenv("SOURCE_DATE_EPOCH", c.epoch)
				env["SOURCE_DATE_EPOCH"] = c.epoch
				first := map[string][]byte{}
				var started [2]time.Time
				for round := range 2 {
					if round == 1 {
						// At a different time: entry times and __TIME__
						// have a resolution of a second.
						time.Sleep(time.Until(started[0].Truncate(time.Second).Add(2 * time.Second)))
					}
					started[round] = time.Now()
					for _, plan := range []string{"stamp", "libgreet"} {
						got := build(plan, release)
						if round == 0 {
							first[plan] = got
						} else if !bytes.Equal(first[plan], got) {
							t.Errorf("SOURCE_DATE_EPOCH=%q: two builds of %s with --release %s differ (%d and %d bytes)", c.epoch, plan, release, len(first[plan]), len(got))
						}
					}
				}
				t.Logf("SOURCE_DATE_EPOCH=%q: the second round started %v after the first", c.epoch, started[1].Sub(started[0]).Round(time.Millisecond))
				// The compiler saw the date.
				hartFile := filepath.Join(t.TempDir(), "stamp.hart")
				if err := os.WriteFile(hartFile, first["stamp"], 0o644); err != nil {
					t.Fatal(err)
				}
				root := t.TempDir()
				if _, err := hart.Extract(context.Background(), hartFile, keys, root); err != nil {
					t.Fatal(err)
				}
				exe, err := os.ReadFile(filepath.Join(root, "hab", "pkgs", "habtest", "stamp", "1.0.0", release, "bin", "stamp"))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(exe, []byte(c.date)) {
					t.Errorf("SOURCE_DATE_EPOCH=%q: the compiled program does not embed %q", c.epoch, c.date)
				}
			}
		})
	}
}
