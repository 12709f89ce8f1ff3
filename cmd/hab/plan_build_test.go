package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
)

// planBuildEnv is a throw-away FS_ROOT, key cache (with a habtest signing
// key) and output directory.
func planBuildEnv(t *testing.T) (func(string) string, map[string]string) {
	t.Helper()
	base := t.TempDir()
	env := map[string]string{
		"PATH":               os.Getenv("PATH"),
		"HOME":               filepath.Join(base, "home"),
		"FS_ROOT":            filepath.Join(base, "root"),
		"HAB_CACHE_KEY_PATH": filepath.Join(base, "keys"),
		"HAB_OUTPUT_PATH":    filepath.Join(base, "results"),
	}
	if _, _, err := (crypto.Cache{Dir: env["HAB_CACHE_KEY_PATH"]}).NewSigningPair("habtest", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	return func(k string) string { return env[k] }, env
}

func writeBuildPlan(t *testing.T, plan string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plan.sh"), []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const onefilePlan = `pkg_name=onefile
pkg_origin=habtest
pkg_version=0.1.0
do_build() { return 0; }
do_install() { echo hi > "$pkg_prefix/hello.txt"; }
`

func TestPlanBuildCommand(t *testing.T) {
	getenv, env := planBuildEnv(t)
	dir := writeBuildPlan(t, onefilePlan)

	code, stdout, stderr := runHab(t, getenv, "plan", "build", "--json", "--release", "20260102030405", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var res map[string]string
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if res["ident"] != "habtest/onefile/0.1.0/20260102030405" {
		t.Errorf("ident = %q", res["ident"])
	}
	wantArtifact := filepath.Join(env["HAB_OUTPUT_PATH"], "habtest-onefile-0.1.0-20260102030405-x86_64-linux.hart")
	if res["artifact"] != wantArtifact {
		t.Errorf("artifact = %q, want %q", res["artifact"], wantArtifact)
	}
	if _, err := os.Stat(wantArtifact); err != nil {
		t.Error(err)
	}
	if got := readTestFile(t, filepath.Join(env["FS_ROOT"], "hab/pkgs/habtest/onefile/0.1.0/20260102030405/hello.txt")); got != "hi\n" {
		t.Errorf("installed file = %q", got)
	}
	if !strings.Contains(stderr, "I love it when a plan.sh comes together.") {
		t.Errorf("build output (stderr with --json) lacks the success line:\n%s", stderr)
	}

	// Without --json the build output is on stdout.
	code, stdout, _ = runHab(t, getenv, "plan", "build", "--release", "20260102030406", dir)
	if code != 0 || !strings.Contains(stdout, "onefile: Installed Path: "+filepath.Join(env["FS_ROOT"], "hab/pkgs/habtest/onefile/0.1.0/20260102030406")) {
		t.Errorf("exit %d, stdout:\n%s", code, stdout)
	}
}

func TestPlanBuildCommandErrors(t *testing.T) {
	getenv, env := planBuildEnv(t)
	tests := []struct {
		name, plan string
		args       []string
		code       int
		want       string
	}{
		{"unknown dependency", "pkg_name=needy\npkg_origin=habtest\npkg_version=1\npkg_deps=(habtest/nothere)\n", nil, 1,
			"build failed in resolve dependencies: Resolving 'habtest/nothere' failed, should this be built first?"},
		{"exit_with status", "pkg_name=quits\npkg_origin=habtest\npkg_version=1\ndo_build() { exit_with 'cannot build this' 7; }\n", nil, 7,
			"build failed in do_build: cannot build this"},
		{"missing key", "pkg_name=nokey\npkg_origin=otherorigin\npkg_version=1\n", nil, 35,
			"Signing origin key 'otherorigin' not found in " + env["HAB_CACHE_KEY_PATH"] + ", aborting"},
		{"too many arguments", onefilePlan, []string{"extra"}, 2, "accepts at most 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeBuildPlan(t, tt.plan)
			args := append([]string{"plan", "build", "--release", "20260102030405", dir}, tt.args...)
			code, stdout, stderr := runHab(t, getenv, args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d (want %d), stderr:\n%s\nstdout:\n%s", code, tt.code, stderr, stdout)
			}
			if entries, _ := os.ReadDir(filepath.Join(env["FS_ROOT"], "hab", "pkgs", "habtest")); len(entries) != 0 && tt.code != 2 {
				for _, e := range entries {
					if e.Name() != "onefile" {
						t.Errorf("a failed build left %s behind", e.Name())
					}
				}
			}
		})
	}
}

func TestPlanBuildHelp(t *testing.T) {
	code, stdout, _ := runHab(t, func(string) string { return "" }, "plan", "build", "--help")
	if code != 0 || !strings.Contains(stdout, "--release") || !strings.Contains(stdout, "--json") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

func readTestFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestPlanBuildReproducible: two hab plan build of the same plan with the
// same --release, at different times, in fresh roots at the same path,
// write the same hart; the caller's SOURCE_DATE_EPOCH reaches the plan
// and changes the hart; a malformed one fails with status 1.
func TestPlanBuildReproducible(t *testing.T) {
	getenv, env := planBuildEnv(t)
	dir := writeBuildPlan(t, `pkg_name=stamped
pkg_origin=habtest
pkg_version=0.1.0
do_build() { return 0; }
do_install() { echo "built at $SOURCE_DATE_EPOCH" > "$pkg_prefix/stamp"; }
`)
	build := func() []byte {
		t.Helper()
		os.RemoveAll(env["FS_ROOT"])
		os.RemoveAll(env["HAB_OUTPUT_PATH"])
		code, stdout, stderr := runHab(t, getenv, "plan", "build", "--json", "--release", "20260102030405", dir)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		var res map[string]string
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		stamp, err := os.ReadFile(filepath.Join(res["prefix"], "stamp"))
		if err != nil {
			t.Fatal(err)
		}
		epoch := env["SOURCE_DATE_EPOCH"]
		if epoch == "" {
			epoch = "1767323045" // 2026-01-02 03:04:05 UTC, the release's time
		}
		want := "built at " + epoch + "\n"
		if string(stamp) != want {
			t.Errorf("the plan saw %q, want %q", stamp, want)
		}
		data, err := os.ReadFile(res["artifact"])
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	first := build()
	start := time.Now()
	for time.Now().Unix() == start.Unix() {
		time.Sleep(20 * time.Millisecond) // the next build starts in a later second
	}
	if second := build(); string(second) != string(first) {
		t.Error("two builds of the same release differ")
	}
	env["SOURCE_DATE_EPOCH"] = "1000000000"
	if third := build(); string(third) == string(first) {
		t.Error("SOURCE_DATE_EPOCH did not change the hart")
	}
	env["SOURCE_DATE_EPOCH"] = "soon"
	os.RemoveAll(env["FS_ROOT"])
	if code, _, stderr := runHab(t, getenv, "plan", "build", "--release", "20260102030405", dir); code != 1 || !strings.Contains(stderr, `SOURCE_DATE_EPOCH "soon"`) {
		t.Errorf("a malformed SOURCE_DATE_EPOCH: exit %d\n%s", code, stderr)
	}
}
