package builder

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/ident"
)

const phasesPlan = `pkg_name=phases
pkg_origin=habtest
pkg_version=1.0
note() { echo "$*" >> "$PHASES_LOG"; }
do_begin() { note begin; do_default_begin; }
do_setup_environment() { note setup_environment; }
do_before() { note before; }
do_download() { note download; do_default_download; }
do_verify() { note verify; do_default_verify; }
do_clean() { note clean; do_default_clean; }
do_unpack() { note unpack; do_default_unpack; }
do_prepare() { note "prepare in $PWD"; }
do_build() { note "build in $PWD"; if [[ -n "${FAIL_BUILD:-}" ]]; then false; fi; }
do_check() { note check; }
do_install() { note install; echo x > "$pkg_prefix/x"; }
do_build_config() { note build_config; do_default_build_config; }
do_build_service() { note build_service; do_default_build_service; }
do_strip() { note strip; do_default_strip; }
do_after() { note after; }
do_end() { note end; }
do_after_success() { note after_success; false; }
do_after_failure() { note after_failure; false; }
`

// TestPhaseOrder runs a plan overriding every phase and callback (each
// calling its do_default_*): they run in the original's order, the
// source phases from SRC_PATH, do_check only with DO_CHECK, and a failing
// success or failure callback does not change the outcome.
func TestPhaseOrder(t *testing.T) {
	e := newEnv(t)
	dir := writePlan(t, map[string]string{"plan.sh": phasesPlan})
	logFile := filepath.Join(t.TempDir(), "phases.log")
	src, _ := filepath.EvalSymlinks(dir)
	read := func() []string {
		t.Helper()
		data, _ := os.ReadFile(logFile)
		os.Remove(logFile)
		return strings.Split(strings.TrimSpace(string(data)), "\n")
	}
	all := []string{"begin", "setup_environment", "before", "download", "verify", "clean", "unpack",
		"prepare in " + src, "build in " + src, "check", "install", "build_config", "build_service", "strip", "after", "end", "after_success"}

	e.extra = []string{"PHASES_LOG=" + logFile, "DO_CHECK=1"}
	var out bytes.Buffer
	if _, err := Build(context.Background(), dir, e.options(&out)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := read(); !slices.Equal(got, all) {
		t.Errorf("phases with DO_CHECK:\n got %q\nwant %q", got, all)
	}
	if !strings.Contains(out.String(), "'do_after_success' callback failed; overall build is successful, though") {
		t.Errorf("output:\n%s", out.String())
	}

	e.extra = []string{"PHASES_LOG=" + logFile}
	if _, err := Build(context.Background(), dir, e.options(nil)); err != nil {
		t.Fatal(err)
	}
	if got := read(); slices.Contains(got, "check") {
		t.Errorf("do_check ran without DO_CHECK: %q", got)
	}

	e.extra = []string{"PHASES_LOG=" + logFile, "FAIL_BUILD=1"}
	out.Reset()
	_, err := Build(context.Background(), dir, e.options(&out))
	if err == nil || err.Error() != "build failed in do_build: do_build exited with status 1" {
		t.Fatalf("error = %v", err)
	}
	want := append(slices.Clone(all[:9]), "after_failure")
	if got := read(); !slices.Equal(got, want) {
		t.Errorf("phases of a failed build:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(out.String(), "'do_after_failure' callback failed") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestPkgVersionFunction: a version computed by pkg_version() and
// update_pkg_version in do_before; a plan that never calls it; a call too
// late.
func TestPkgVersionFunction(t *testing.T) {
	e := newEnv(t)
	head := "pkg_name=dynver\npkg_origin=habtest\npkg_version() { echo 2.3.4; }\ndo_build() { return 0; }\ndo_install() { echo \"$pkg_version\" > \"$pkg_prefix/version\"; }\n"
	res := e.build(writePlan(t, map[string]string{"plan.sh": head + "do_before() { update_pkg_version; }\ndo_setup_environment() { set_runtime_env DYN_HOME \"$pkg_prefix\"; }\n"}))
	if res.Ident.Version != "2.3.4" || !strings.Contains(res.Prefix, "/dynver/2.3.4/") {
		t.Errorf("ident %v at %s", res.Ident, res.Prefix)
	}
	if got := readFile(t, filepath.Join(res.Prefix, "version")); got != "2.3.4\n" {
		t.Errorf("version file = %q", got)
	}
	if _, m := loadMeta(t, e, res.Ident); m.RuntimeEnvironment["DYN_HOME"] != "/hab/pkgs/habtest/dynver/2.3.4/"+res.Ident.Release {
		t.Errorf("RUNTIME_ENVIRONMENT DYN_HOME = %q", m.RuntimeEnvironment["DYN_HOME"])
	}
	_, err := Build(context.Background(), writePlan(t, map[string]string{"plan.sh": head}), e.options(nil))
	var be *Error
	if !errors.As(err, &be) || be.Status != 2 || be.Msg != "Plan did not set 'pkg_version' and did not call 'update_pkg_version()' before the 'do_prepare()' build phase." {
		t.Errorf("no update_pkg_version: %v", err)
	}
	_, err = Build(context.Background(), writePlan(t, map[string]string{"plan.sh": head + "do_before() { update_pkg_version; }\ndo_prepare() { update_pkg_version; }\n"}), e.options(nil))
	if !errors.As(err, &be) || be.Status != 21 || be.Phase != "do_prepare" {
		t.Errorf("update_pkg_version in do_prepare: %v", err)
	}
	assertNothingLeft(t, e, "dynver/__pkg__version__unset__")
}

// TestEnvironmentHelpers: set_runtime_env, set_buildtime_env,
// push_runtime_env with separators, the build seeing both, the metadata
// recording them with provenance, and the errors of protected and
// already-set variables.
func TestEnvironmentHelpers(t *testing.T) {
	e := newEnv(t)
	plan := `pkg_name=envs
pkg_origin=habtest
pkg_version=1.0
HAB_ENV_MYLIST_SEPARATOR=";"
do_setup_environment() {
  set_runtime_env APP_HOME "$pkg_prefix/share"
  set_runtime_env -f APP_HOME "$pkg_prefix/home"
  set_buildtime_env BUILD_ONLY yes
  push_runtime_env MYLIST one
  push_runtime_env MYLIST two
}
do_build() { test "$APP_HOME" = "$pkg_prefix/home" && test "$BUILD_ONLY" = yes && test "$MYLIST" = "two;one"; }
do_install() { return 0; }
`
	var out bytes.Buffer
	opts := e.options(&out)
	res, err := Build(context.Background(), writePlan(t, map[string]string{"plan.sh": plan}), opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	_, m := loadMeta(t, e, res.Ident)
	prefix := "/hab/pkgs/habtest/envs/1.0/" + res.Ident.Release
	if m.RuntimeEnvironment["APP_HOME"] != prefix+"/home" || m.RuntimeEnvironment["MYLIST"] != "two;one" {
		t.Errorf("RUNTIME_ENVIRONMENT = %v", m.RuntimeEnvironment)
	}
	if m.BuildtimeEnvironment["BUILD_ONLY"] != "yes" {
		t.Errorf("BUILDTIME_ENVIRONMENT = %v", m.BuildtimeEnvironment)
	}
	if got := string(m.Other["RUNTIME_ENVIRONMENT_PROVENANCE"]); !strings.Contains(got, "APP_HOME="+res.Ident.String()+"\n") {
		t.Errorf("RUNTIME_ENVIRONMENT_PROVENANCE = %q", got)
	}
	if !strings.Contains(out.String(), "WARN: Already have a value for $APP_HOME, set by "+res.Ident.String()) {
		t.Errorf("no overwrite warning:\n%s", out.String())
	}

	head := "pkg_name=envbad\npkg_origin=habtest\npkg_version=1.0\n"
	tests := []struct{ name, body, want string }{
		{"protected", "do_setup_environment() { set_runtime_env LD_RUN_PATH /x; }\n",
			"build failed in do_setup_environment: Cannot directly manipulate environment variable LD_RUN_PATH! Add appropriate entries to the 'pkg_lib_dirs' variable in plan.sh instead!"},
		{"protected push", "do_setup_environment() { push_buildtime_env PATH /x; }\n",
			"build failed in do_setup_environment: Cannot directly manipulate environment variable PATH! Add appropriate entries to the 'pkg_deps' variable in plan.sh instead!"},
		{"set twice", "do_setup_environment() { set_runtime_env A 1; set_runtime_env A 2; }\n",
			"build failed in do_setup_environment: Already have a value for $A, set by habtest/envbad/1.0/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(context.Background(), writePlan(t, map[string]string{"plan.sh": head + tt.body}), e.options(nil))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant %s", err, tt.want)
			}
			assertNothingLeft(t, e, "envbad")
		})
	}
}

// TestDependencies: version pins, the newest release otherwise,
// pkg_path_for, installing a dependency from the artifact cache, TDEPS
// order, and the duplicate-release check.
func TestDependencies(t *testing.T) {
	e := newEnv(t)
	dep := func(version string) *Result {
		return e.build(writePlan(t, map[string]string{"plan.sh": "pkg_name=dep\npkg_origin=habtest\npkg_version=" + version +
			"\npkg_bin_dirs=(bin)\ndo_build() { return 0; }\ndo_install() { printf '#!/bin/sh\\necho dep " + version + "\\n' > \"$pkg_prefix/bin/dep\"; chmod +x \"$pkg_prefix/bin/dep\"; }\n"}))
	}
	d1, d2 := dep("1.0"), dep("2.0")
	user := func(name, deps, build string) string {
		return writePlan(t, map[string]string{"plan.sh": "pkg_name=" + name + "\npkg_origin=habtest\npkg_version=1.0\npkg_deps=(" + deps + ")\n" +
			"do_build() { " + build + " }\ndo_install() { return 0; }\n"})
	}
	pinned := e.build(user("pinned", "habtest/dep/1.0", `test "$(pkg_path_for habtest/dep)" = "`+d1.Prefix+`" && test "$(dep)" = "dep 1.0";`))
	newest := e.build(user("newest", "habtest/dep", `test "$(pkg_path_for dep)" = "`+d2.Prefix+`" && test "$(dep)" = "dep 2.0";`))
	_, pm := loadMeta(t, e, pinned.Ident)
	_, nm := loadMeta(t, e, newest.Ident)
	if !slices.Equal(pm.Deps, pm.TDeps) || len(pm.Deps) != 1 || pm.Deps[0] != d1.Ident || nm.Deps[0] != d2.Ident {
		t.Errorf("pinned DEPS %v TDEPS %v, newest DEPS %v", pm.Deps, pm.TDeps, nm.Deps)
	}
	if got := strings.Join(pm.RuntimePath, ":"); got != "/hab/pkgs/habtest/dep/1.0/"+d1.Ident.Release+"/bin" {
		t.Errorf("pinned RUNTIME_PATH = %q", got)
	}

	// A dependency that is not installed but whose hart is in the
	// artifact cache is installed from it.
	if err := os.RemoveAll(d2.Prefix); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := Build(context.Background(), user("again", "habtest/dep/2.0", "true;"), e.options(&out)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Installed '"+d2.Ident.String()+"' from ") {
		t.Errorf("output:\n%s", out.String())
	}

	// Two releases of dep in the runtime closure.
	_, err := Build(context.Background(), user("dupes", "habtest/dep/2.0 habtest/pinned", "true;"), e.options(nil))
	var be *Error
	if !errors.As(err, &be) || be.Status != 31 || be.Msg != "Computed runtime dependency check failed, aborting" {
		t.Errorf("duplicate releases: %v", err)
	}
	// An origin is required.
	_, err = Build(context.Background(), user("noorigin", "dep", "true;"), e.options(&out))
	if err == nil || err.Error() != "build failed in resolve dependencies: Resolving 'dep' failed, should this be built first?" ||
		!strings.Contains(out.String(), "WARN: Origin required for 'dep' in plan 'habtest/noorigin' (example: acme/dep)") {
		t.Errorf("dependency without origin: %v", err)
	}
}

// TestBuildConfigAndExposes: editor backups and HAB_CONFIG_EXCLUDE are
// left out of config/, two hook files for one hook fail, a pkg_exposes
// entry must name an export with a port.
func TestBuildConfigAndExposes(t *testing.T) {
	e := newEnv(t)
	head := "pkg_name=cfg\npkg_origin=habtest\npkg_version=1.0\ndo_build() { return 0; }\ndo_install() { return 0; }\n"
	res := e.build(writePlan(t, map[string]string{"plan.sh": head, "config/app.conf": "a", "config/app.conf~": "b", "config/old.bak": "c", "config/sub/x.conf": "d"}))
	for f, want := range map[string]bool{"config/app.conf": true, "config/sub/x.conf": true, "config/app.conf~": false, "config/old.bak": false} {
		if _, err := os.Stat(filepath.Join(res.Prefix, f)); (err == nil) != want {
			t.Errorf("%s present = %v, want %v", f, err == nil, want)
		}
	}
	e.extra = []string{"HAB_CONFIG_EXCLUDE=*.conf"}
	res = e.build(writePlan(t, map[string]string{"plan.sh": head, "config/app.conf": "a", "config/app.toml": "b"}))
	if _, err := os.Stat(filepath.Join(res.Prefix, "config", "app.conf")); err == nil {
		t.Error("HAB_CONFIG_EXCLUDE did not exclude app.conf")
	}
	e.extra = nil

	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"two run hooks", map[string]string{"plan.sh": head, "hooks/run": "#!/bin/sh\n", "hooks/run.sh": "#!/bin/sh\n"},
			"build failed in do_build_config: Multiple hook files found for run hook. No more than one hook file permitted per lifecycle hook."},
		{"expose without export", map[string]string{"plan.sh": head + "pkg_exposes=(port)\n"},
			"build failed in metadata: Bad value in pkg_exposes; No pkg_export found matching key: port"},
		{"expose without port", map[string]string{"plan.sh": head + "pkg_exports=([port]=srv.port)\npkg_exposes=(port)\n", "default.toml": "[srv]\nport = \"http\"\n"},
			"build failed in metadata: Bad pkg_export in pkg_exposes; Value of key \"srv.port\" does not contain a valid TCP or UDP port number: http"},
		{"CR LF hook", map[string]string{"plan.sh": head, "hooks/init": "#!/bin/sh\r\necho hi\r\n"},
			"build failed in setup: Incorrect CR+LF line ending detected in package hook file(s)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(context.Background(), writePlan(t, tt.files), e.options(nil))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant %s", err, tt.want)
			}
			assertNothingLeft(t, e, "cfg/1.0/"+e.lastRelease())
		})
	}
}

// TestHelpersInBuild: attach outside a studio, exists, trim, join_by and
// abspath in a phase; pkg_interpreter_for of a package that is no
// runtime dependency fails.
func TestHelpersInBuild(t *testing.T) {
	e := newEnv(t)
	plan := `pkg_name=helpers
pkg_origin=habtest
pkg_version=1.0
do_build() {
  attach
  exists make
  ! exists no-such-command-anywhere
  test "$(trim "  a b  ")" = "a b"
  test "$(join_by , x y z)" = "x,y,z"
  test "$(abspath .)" = "$PWD"
  debug "only with DEBUG"
  for d in "${pkg_lib_dirs[@]}" "${pkg_build_deps[@]}"; do false; done
}
do_install() { return 0; }
`
	var out bytes.Buffer
	if _, err := Build(context.Background(), writePlan(t, map[string]string{"plan.sh": plan}), e.options(&out)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "helpers: WARN: Non interactive studio, skipping 'attach'") || strings.Contains(out.String(), "only with DEBUG") {
		t.Errorf("output:\n%s", out.String())
	}
	e.extra = []string{"DEBUG=1"}
	out.Reset()
	if _, err := Build(context.Background(), writePlan(t, map[string]string{"plan.sh": plan}), e.options(&out)); err != nil {
		t.Fatalf("with DEBUG: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "helpers: DEBUG: only with DEBUG") || !strings.Contains(out.String(), "+ attach") {
		t.Errorf("with DEBUG, no debug line or trace:\n%s", out.String())
	}
	e.extra = nil
	bad := "pkg_name=interp\npkg_origin=habtest\npkg_version=1.0\ndo_build() { fix_interpreter 'x' habtest/nope bin/sh; }\n"
	_, err := Build(context.Background(), writePlan(t, map[string]string{"plan.sh": bad}), e.options(&out))
	if err == nil || err.Error() != "build failed in do_build: fix_interpreter() 'habtest/nope' is not a runtime dependency" {
		t.Errorf("error = %v", err)
	}
}

// TestBuildDependencies: BUILD_DEPS and BUILD_TDEPS, the build PATH
// holding the build dependencies and their runtime dependencies, and
// the buildtime environment from a build dependency's runtime
// environment.
func TestBuildDependencies(t *testing.T) {
	e := newEnv(t)
	tool := e.build(writePlan(t, map[string]string{"plan.sh": "pkg_name=tool\npkg_origin=habtest\npkg_version=1.0\npkg_bin_dirs=(bin)\n" +
		"do_setup_environment() { set_runtime_env TOOL_HOME \"$pkg_prefix\"; }\ndo_build() { return 0; }\n" +
		"do_install() { printf '#!/bin/sh\\necho tool ran\\n' > \"$pkg_prefix/bin/tool\"; chmod +x \"$pkg_prefix/bin/tool\"; }\n"}))
	wrap := e.build(writePlan(t, map[string]string{"plan.sh": "pkg_name=toolwrap\npkg_origin=habtest\npkg_version=1.0\npkg_deps=(habtest/tool)\ndo_build() { return 0; }\ndo_install() { return 0; }\n"}))
	var out bytes.Buffer
	res, err := Build(context.Background(), writePlan(t, map[string]string{"plan.sh": "pkg_name=usestool\npkg_origin=habtest\npkg_version=1.0\npkg_build_deps=(habtest/toolwrap)\n" +
		"do_build() { test \"$(tool)\" = 'tool ran' && test \"$TOOL_HOME\" = \"" + tool.Prefix + "\"; }\ndo_install() { return 0; }\n"}), e.options(&out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	_, m := loadMeta(t, e, res.Ident)
	if !slices.Equal(m.BuildDeps, []ident.Ident{wrap.Ident}) || !slices.Equal(m.BuildTDeps, []ident.Ident{wrap.Ident, tool.Ident}) || m.Deps != nil {
		t.Errorf("BUILD_DEPS %v BUILD_TDEPS %v DEPS %v", m.BuildDeps, m.BuildTDeps, m.Deps)
	}
}

// TestCancelledBuild: cancelling the context stops the phase that runs
// and leaves nothing behind.
func TestCancelledBuild(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	marker := filepath.Join(t.TempDir(), "started")
	e.extra = []string{"MARKER=" + marker}
	dir := writePlan(t, map[string]string{"plan.sh": "pkg_name=slow\npkg_origin=habtest\npkg_version=1.0\n" +
		"do_build() { return 0; }\ndo_install() { echo x > \"$pkg_prefix/x\"; touch \"$MARKER\"; sleep 3600; }\n"})
	done := make(chan error, 1)
	go func() {
		_, err := Build(ctx, dir, e.options(nil))
		done <- err
	}()
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the build ended before it was cancelled: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// No wall-clock limit: the phase sleeps longer than any test runs,
	// so a build that ignored the cancellation would never end.
	cancel()
	if err := <-done; err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	assertNothingLeft(t, e, "slow")
}

// TestScaffolding: pkg_scaffolding is resolved, becomes the first build
// dependency, its lib/scaffolding.sh provides default phases and its
// scaffolding_load adds a runtime dependency.
func TestScaffolding(t *testing.T) {
	e := newEnv(t)
	dep := e.build(writePlan(t, map[string]string{"plan.sh": "pkg_name=scaffdep\npkg_origin=habtest\npkg_version=1.0\ndo_build() { return 0; }\ndo_install() { return 0; }\n"}))
	scaff := e.build(writePlan(t, map[string]string{
		"plan.sh":        "pkg_name=scaffolding-test\npkg_origin=habtest\npkg_version=1.0\ndo_build() { return 0; }\ndo_install() { mkdir -p \"$pkg_prefix/lib\"; cp \"$PLAN_CONTEXT/scaffolding.sh\" \"$pkg_prefix/lib/\"; }\n",
		"scaffolding.sh": "scaffolding_load() { pkg_deps+=(habtest/scaffdep); }\ndo_default_build() { echo scaffolded > built; }\ndo_default_install() { cp built \"$pkg_prefix/\"; }\n",
	}))
	res := e.build(writePlan(t, map[string]string{"plan.sh": "pkg_name=scaffolded\npkg_origin=habtest\npkg_version=1.0\npkg_scaffolding=habtest/scaffolding-test\n" +
		"do_prepare() { rm -f built; }\n"}))
	if got := readFile(t, filepath.Join(res.Prefix, "built")); got != "scaffolded\n" {
		t.Errorf("built = %q", got)
	}
	_, m := loadMeta(t, e, res.Ident)
	if !slices.Equal(m.BuildDeps, []ident.Ident{scaff.Ident}) || !slices.Equal(m.Deps, []ident.Ident{dep.Ident}) {
		t.Errorf("BUILD_DEPS %v DEPS %v", m.BuildDeps, m.Deps)
	}
}

// TestSameReleaseTwice: a build whose prefix is already installed fails
// without touching the installed package.
func TestSameReleaseTwice(t *testing.T) {
	e := newEnv(t)
	dir := writePlan(t, map[string]string{"plan.sh": onefilePlan})
	opts := e.options(nil)
	res, err := Build(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(context.Background(), dir, opts)
	want := "build failed in setup: " + res.Ident.String() + " is already installed at " + res.Prefix + "; build with another release"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	for _, p := range []string{filepath.Join(res.Prefix, "bin", "hi"), filepath.Join(res.Prefix, "FILES"), res.Artifact, res.CachedArtifact, res.LastBuild} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("the second build removed %s", p)
		}
	}
}

// TestBuildFlags: CFLAGS, CPPFLAGS, CXXFLAGS, LDFLAGS and PKG_CONFIG_PATH
// come from the direct dependencies, build dependencies first;
// LD_RUN_PATH from the own library directories and the direct runtime
// dependencies only.
func TestBuildFlags(t *testing.T) {
	e := newEnv(t)
	lib := func(name, dirs string) *Result {
		return e.build(writePlan(t, map[string]string{"plan.sh": "pkg_name=" + name + "\npkg_origin=habtest\npkg_version=1.0\n" + dirs +
			"do_build() { return 0; }\ndo_install() { return 0; }\n"}))
	}
	a := lib("liba", "pkg_lib_dirs=(lib)\npkg_include_dirs=(include)\npkg_pconfig_dirs=(lib/pkgconfig)\n")
	b := lib("libb", "pkg_lib_dirs=(lib64)\npkg_include_dirs=(inc)\n")
	plan := "pkg_name=flags\npkg_origin=habtest\npkg_version=1.0\npkg_build_deps=(habtest/liba)\npkg_deps=(habtest/libb)\npkg_lib_dirs=(lib)\n" +
		"do_build() { printf '%s\\n' \"CFLAGS=$CFLAGS\" \"CPPFLAGS=$CPPFLAGS\" \"CXXFLAGS=$CXXFLAGS\" \"LDFLAGS=$LDFLAGS\" \"LD_RUN_PATH=$LD_RUN_PATH\" \"PKG_CONFIG_PATH=$PKG_CONFIG_PATH\" \"PREFIX=$PREFIX\" > \"$FLAGS_OUT\"; }\n" +
		"do_install() { return 0; }\n"
	flagsOut := filepath.Join(t.TempDir(), "flags")
	e.extra = []string{"FLAGS_OUT=" + flagsOut}
	res := e.build(writePlan(t, map[string]string{"plan.sh": plan}))
	inc := "-I" + a.Prefix + "/include -I" + b.Prefix + "/inc"
	want := strings.Join([]string{
		"CFLAGS=" + inc, "CPPFLAGS=" + inc, "CXXFLAGS=" + inc,
		"LDFLAGS=-L" + a.Prefix + "/lib -L" + b.Prefix + "/lib64",
		"LD_RUN_PATH=" + res.Prefix + "/lib:" + b.Prefix + "/lib64",
		"PKG_CONFIG_PATH=" + a.Prefix + "/lib/pkgconfig",
		"PREFIX=" + res.Prefix,
	}, "\n") + "\n"
	if got := readFile(t, flagsOut); got != want {
		t.Errorf("build environment:\n%s\nwant:\n%s", got, want)
	}
	_, m := loadMeta(t, e, res.Ident)
	if m.LDRunPath != "/hab/pkgs/habtest/flags/1.0/"+res.Ident.Release+"/lib" {
		t.Errorf("LD_RUN_PATH metadata = %q", m.LDRunPath)
	}
	if !strings.Contains(m.Manifest, "LDFLAGS: -L/hab/pkgs/habtest/liba/1.0/") {
		t.Errorf("MANIFEST flags are not in /hab form:\n%s", m.Manifest)
	}
}

// TestRuntimeEnvironmentFromDeps: the direct dependencies' runtime
// environments merge in declaration order: aggregates are prepended,
// primitives overwritten with a warning; provenance records who set what.
func TestRuntimeEnvironmentFromDeps(t *testing.T) {
	e := newEnv(t)
	dep := func(name, py, color string) *Result {
		return e.build(writePlan(t, map[string]string{"plan.sh": "pkg_name=" + name + "\npkg_origin=habtest\npkg_version=1.0\n" +
			"do_setup_environment() { set_runtime_env PYTHONPATH " + py + "; set_runtime_env COLOR " + color + "; }\ndo_build() { return 0; }\ndo_install() { return 0; }\n"}))
	}
	d1, d2 := dep("envone", "/p1", "red"), dep("envtwo", "/p2", "blue")
	var out bytes.Buffer
	res, err := Build(context.Background(), writePlan(t, map[string]string{"plan.sh": "pkg_name=envboth\npkg_origin=habtest\npkg_version=1.0\npkg_deps=(habtest/envone habtest/envtwo)\n" +
		"do_build() { test \"$PYTHONPATH\" = /p2:/p1 && test \"$COLOR\" = blue; }\ndo_install() { return 0; }\n"}), e.options(&out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	_, m := loadMeta(t, e, res.Ident)
	if m.RuntimeEnvironment["PYTHONPATH"] != "/p2:/p1" || m.RuntimeEnvironment["COLOR"] != "blue" {
		t.Errorf("RUNTIME_ENVIRONMENT = %v", m.RuntimeEnvironment)
	}
	// The store reads only the metadata files hab uses; the provenance
	// is read from the package itself.
	prov := readFile(t, filepath.Join(res.Prefix, "RUNTIME_ENVIRONMENT_PROVENANCE"))
	if !strings.Contains(prov, "PYTHONPATH="+d2.Ident.String()+" "+d1.Ident.String()+"\n") || !strings.Contains(prov, "COLOR="+d2.Ident.String()+"\n") {
		t.Errorf("RUNTIME_ENVIRONMENT_PROVENANCE:\n%s", prov)
	}
	for _, want := range []string{"WARN: Treating $COLOR as a primitive type.", "WARN: Overwriting $COLOR originally set from " + d1.Ident.String(), "WARN: Prepending to $PYTHONPATH originally set from " + d1.Ident.String()} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
