package plan

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/habgo/hab/planner/shell"
)

// writePlan writes files (relative path → content) under a new directory.
func writePlan(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := writeFile(p, content); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }

var testOpts = Options{Target: "x86_64-linux", Env: []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}, Release: "20260101000000"}

const minimalPlan = "pkg_name=hello\npkg_origin=testing\npkg_version=1.0.0\n"

func TestFind(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		want    string // relative to the directory; "" means an error
		shadow  int
		wantErr error
	}{
		{"plain", []string{"plan.sh"}, "plan.sh", 0, nil},
		{"habitat", []string{"habitat/plan.sh"}, "habitat/plan.sh", 0, nil},
		{"target", []string{"x86_64-linux/plan.sh"}, "x86_64-linux/plan.sh", 0, nil},
		{"habitat target", []string{"habitat/x86_64-linux/plan.sh"}, "habitat/x86_64-linux/plan.sh", 0, nil},
		{"target wins over plain", []string{"plan.sh", "x86_64-linux/plan.sh"}, "x86_64-linux/plan.sh", 1, nil},
		{"target wins over habitat", []string{"habitat/plan.sh", "habitat/x86_64-linux/plan.sh"}, "habitat/x86_64-linux/plan.sh", 1, nil},
		{"other target ignored", []string{"plan.sh", "aarch64-linux/plan.sh"}, "plan.sh", 0, nil},
		{"two plain", []string{"plan.sh", "habitat/plan.sh"}, "", 0, ErrAmbiguous},
		{"two targets", []string{"x86_64-linux/plan.sh", "habitat/x86_64-linux/plan.sh"}, "", 0, ErrAmbiguous},
		{"none", []string{"README.md"}, "", 0, ErrNotFound},
		{"directory named plan.sh", []string{"plan.sh/x"}, "", 0, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for _, f := range tt.files {
				files[f] = minimalPlan
			}
			dir := writePlan(t, files)
			loc, err := Find(dir, "x86_64-linux")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Find: got %v, want %v", err, tt.wantErr)
				}
				// The message names every candidate involved.
				if tt.wantErr == ErrAmbiguous {
					for _, f := range tt.files {
						if !strings.Contains(err.Error(), filepath.Join(dir, f)) {
							t.Errorf("error %q does not name %s", err, f)
						}
					}
				} else if !strings.Contains(err.Error(), filepath.Join(dir, "habitat", "x86_64-linux", "plan.sh")) {
					t.Errorf("error %q does not name the candidates", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, tt.want); loc.Path != want || loc.Context != filepath.Dir(want) || loc.Root != dir {
				t.Errorf("Find = %+v, want path %s", loc, want)
			}
			if len(loc.Shadowed) != tt.shadow {
				t.Errorf("shadowed = %v, want %d", loc.Shadowed, tt.shadow)
			}
		})
	}
	if _, err := Find(filepath.Join(t.TempDir(), "missing"), "x86_64-linux"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Find on a missing directory: %v", err)
	}
}

// TestEvaluateErrors: every plan error names the file and the line.
func TestEvaluateErrors(t *testing.T) {
	tests := []struct {
		name  string
		plan  string
		env   []string
		line  int    // expected line in "plan.sh:LINE:" (0: none, -1: any)
		parts string // expected in the message
	}{
		{"syntax error", "pkg_name=x\npkg_origin=y\nif true; then\n  pkg_version=1\n", nil, 3, "must end with `fi`"},
		{"unclosed quote", "pkg_name=x\npkg_version=\"1.0\npkg_origin=y\n", nil, 2, "syntax error"},
		{"missing name", "pkg_origin=core\npkg_version=1.0\n", nil, 1, "pkg_name must be set"},
		{"empty name", "pkg_origin=core\npkg_name=\npkg_version=1.0\n", nil, 2, "pkg_name must be set"},
		{"missing origin", "pkg_name=x\npkg_version=1.0\n", nil, 1, "pkg_origin must be set"},
		{"empty origin", "pkg_name=x\n\npkg_origin=\"$NOPE\"\npkg_version=1.0\n", nil, 3, "pkg_origin must be set"},
		{"invalid name", "pkg_origin=core\npkg_name='my app'\npkg_version=1\n", nil, 2, `pkg_name "my app" contains invalid characters`},
		{"invalid name slash", "pkg_origin=core\npkg_version=1\npkg_name=a/b\n", nil, 3, `pkg_name "a/b" contains invalid characters`},
		{"invalid origin", "pkg_name=x\npkg_origin=Core.Plans\npkg_version=1\n", nil, 2, `pkg_origin "Core.Plans" contains invalid characters`},
		{"invalid HAB_ORIGIN", minimalPlan, []string{"HAB_ORIGIN=Bad Origin"}, 0, `HAB_ORIGIN "Bad Origin" is not a valid origin`},
		{"unset version", "pkg_name=x\npkg_origin=core\n", nil, 1, "pkg_version must be set"},
		{"empty version", "pkg_name=x\npkg_origin=core\npkg_version=\"\"\n", nil, 3, "pkg_version must be set"},
		{"version ../../..", "pkg_name=x\npkg_origin=core\npkg_version=../../..\n", nil, 3, `pkg_version "../../.." contains '/'`},
		{"version ..", "pkg_name=x\npkg_origin=core\npkg_version=..\n", nil, 3, `pkg_version ".." is not allowed`},
		{"version .", "pkg_name=x\npkg_origin=core\npkg_version=.\n", nil, 3, `pkg_version "." is not allowed`},
		{"version with space", "pkg_name=x\npkg_origin=core\npkg_version='1.0 final'\n", nil, 3, "contains white space"},
		{"version with newline", "pkg_name=x\npkg_origin=core\npkg_version=$'1.0\\n'\n", nil, 3, "contains white space"},
		{"version with escape", "pkg_name=x\npkg_origin=core\npkg_version=$'1.0\\e[31m'\n", nil, 3, `pkg_version "1.0\x1b[31m" contains a control character (U+001B)`},
		{"version with bidi override", "pkg_name=x\npkg_origin=core\npkg_version=$'1.0\\u202egnp'\n", nil, 3, `pkg_version "1.0\u202egnp" contains an invisible formatting character (U+202E`},
		{"version from a command", "pkg_name=x\npkg_origin=core\npkg_version=$(echo a/b)\n", nil, 3, `pkg_version "a/b" contains '/'`},
		{"250-character version", "pkg_name=x\npkg_origin=core\npkg_version=" + strings.Repeat("1", 250) + "\n", nil, 3, "is 250 bytes long, over the 128 a pkg_version may have"},
		{"long name and version", "pkg_origin=core\npkg_name=" + strings.Repeat("n", 120) + "\npkg_version=" + strings.Repeat("1", 100) + "\n", nil, 3, "the artifact's file name would be 259 bytes long, over the 243"},
		{"release set by the plan", "pkg_name=x\npkg_origin=core\npkg_version=1\npkg_release=../x\n", nil, 4, `pkg_release "../x" contains '/'`},
		{"release ..", "pkg_name=x\npkg_origin=core\npkg_version=1\npkg_release=..\n", nil, 4, `pkg_release ".." is not allowed`},
		{"recursion", "pkg_name=x\npkg_origin=core\npkg_version=1\nf() { f; }\nf\n", nil, 4, "f: maximum function nesting level exceeded"},
		{"mutual recursion", "pkg_name=x\npkg_origin=core\npkg_version=1\nping() { pong; }\npong() { ping; }\nping\n", nil, -1, "maximum function nesting level exceeded"},
		{"recursion in a substitution", "pkg_name=x\npkg_origin=core\npkg_version=1\nf() { echo \"$(f)\"; }\nv=$(f)\n", nil, -1, "maximum function nesting level exceeded"},
		{"recursion in a subshell", "pkg_name=x\npkg_origin=core\npkg_version=1\nf() { ( f ); }\nf\n", nil, -1, "maximum function nesting level exceeded"},
		{"recursion in a loop", "pkg_name=x\npkg_origin=core\npkg_version=1\nf() { local i; for i in 1; do if true; then f; fi; done; }\nf\n", nil, -1, "maximum function nesting level exceeded"},
		{"exit_with", "pkg_name=x\npkg_origin=core\nexit_with \"unsupported platform\" 3\npkg_version=1\n", nil, 3, "exit_with: unsupported platform (status 3)"},
		{"exit", "pkg_name=x\npkg_origin=core\npkg_version=1\n\nexit 0\n", nil, 5, "exited with status 0"},
		{"last command fails", "pkg_name=x\npkg_origin=core\npkg_version=1\n[[ -n \"$UNSET_VAR\" ]] && echo yes\n", nil, 4, "last command returned status 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writePlan(t, map[string]string{"plan.sh": tt.plan})
			opts := testOpts
			opts.Env = append(append([]string{}, opts.Env...), tt.env...)
			_, err := Evaluate(context.Background(), dir, opts)
			if err == nil {
				t.Fatal("no error")
			}
			path := filepath.Join(dir, "plan.sh")
			prefix := path + ": "
			if tt.line < 0 {
				prefix = path + ":" // any line
			}
			if tt.line > 0 {
				prefix = path + ":" + itoa(tt.line) + ": "
			}
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
			if !strings.Contains(err.Error(), tt.parts) {
				t.Errorf("error %q does not say %q", err, tt.parts)
			}
			var se *shell.Error
			if !errors.As(err, &se) || se.File != path {
				t.Errorf("error %v is not a *shell.Error for %s", err, path)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestDeepRecursion: recursion short of the bound runs, and the bound
// holds again after it was hit (the guard is not left tripped).
func TestDeepRecursion(t *testing.T) {
	dir := writePlan(t, map[string]string{"plan.sh": "pkg_name=x\npkg_origin=core\npkg_version=1\n" +
		"depth() { if [ \"$1\" -gt 0 ]; then depth $(( $1 - 1 )); else reached=yes; fi; }\ndepth 500\nloop() { loop; }\n"})
	p, err := Evaluate(context.Background(), dir, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if p.Get("reached") != "yes" {
		t.Fatalf("500 nested calls did not complete: reached=%q", p.Get("reached"))
	}
	for range 2 {
		err := p.Call(context.Background(), "loop")
		var ne *shell.NestingError
		if !errors.As(err, &ne) || ne.Name != "loop" || ne.Depth < 1000 {
			t.Fatalf("calling a runaway function: %v", err)
		}
		if err := p.Call(context.Background(), "depth", "100"); err != nil {
			t.Fatalf("after the bound was hit: %v", err)
		}
	}
}

// TestBadRelease: a release given to the evaluation is checked with the
// ident rule too; the error names the plan.
func TestBadRelease(t *testing.T) {
	dir := writePlan(t, map[string]string{"plan.sh": minimalPlan})
	for _, r := range []string{"..", "../../..", "2026 01", "2026\x1b[2J", "x\u2067y", strings.Repeat("2", 129)} {
		opts := testOpts
		opts.Release = r
		_, err := Evaluate(context.Background(), dir, opts)
		if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "plan.sh")+": the release the build was given: pkg_release ") {
			t.Errorf("release %q: %v", r, err)
		}
	}
}

// TestUpdatePkgVersionRefused: a version from pkg_version() is checked
// when update_pkg_version sets it, before any path is derived from it.
func TestUpdatePkgVersionRefused(t *testing.T) {
	for _, v := range []string{"../../..", "..", ".", "1.0 beta", "1/2", `$'1\e[0m'`, `$'1\u202e'`, strings.Repeat("9", 200)} {
		dir := writePlan(t, map[string]string{"plan.sh": "pkg_name=dyn\npkg_origin=core\npkg_source=https://example.com/dyn.tgz\npkg_version() { echo " + v + "; }\nupdate_pkg_version\n"})
		_, err := Evaluate(context.Background(), dir, testOpts)
		if err == nil || !strings.Contains(err.Error(), "update_pkg_version: pkg_version ") || !strings.Contains(err.Error(), filepath.Join(dir, "plan.sh")+":5:") {
			t.Errorf("pkg_version() printing %s: %v", v, err)
		}
	}
}

// TestDefaults checks what the build program sets after the plan: the
// version placeholder, file and directory names, prefix, paths, the
// pkg_svc_* paths and the pkg_svc_run placeholder, HAB_ORIGIN.
func TestDefaults(t *testing.T) {
	dir := writePlan(t, map[string]string{"plan.sh": `pkg_name=svc
pkg_origin=core
pkg_source=https://example.com/dl/svc-src.tar.xz/
pkg_svc_run="svc --data $pkg_svc_data_path"
pkg_version() { echo 9.9.9; }
`})
	opts := testOpts
	opts.Env = append(append([]string{}, opts.Env...), "HAB_ORIGIN=override", "HAB_ROOT_PATH=/opt/hab")
	opts.WorkDir = "/work/dir"
	p, err := Evaluate(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	m := p.Meta
	want := map[string]string{
		"Origin":        "override",
		"Version":       VersionUnset,
		"Filename":      "svc-src.tar.xz",
		"Dirname":       "svc-" + VersionUnset,
		"Prefix":        "/opt/hab/pkgs/override/svc/" + VersionUnset + "/20260101000000",
		"CachePath":     "/opt/hab/cache/src/svc-" + VersionUnset,
		"SrcPath":       "/opt/hab/cache/src/svc-" + VersionUnset,
		"SvcRun":        "svc --data /opt/hab/svc/svc/data",
		"SvcPath":       "/opt/hab/svc/svc",
		"SvcConfigPath": "/opt/hab/svc/svc/config",
		"SvcUser":       "hab",
		"SvcGroup":      "hab",
		"Artifact":      "/opt/hab/cache/artifacts/override-svc-" + VersionUnset + "-20260101000000-x86_64-linux.hart",
		"PlanContext":   dir,
		"Release":       "20260101000000",
	}
	v := reflect.ValueOf(m)
	for field, w := range want {
		if got := v.FieldByName(field).String(); got != w {
			t.Errorf("%s = %q, want %q", field, got, w)
		}
	}
	if !m.HasPkgVersionFunction || !m.OriginFromEnvironment || !m.DirnameInitiallyUnset {
		t.Errorf("flags: %+v", m)
	}
	if got := p.Get("pkg_output_path"); got != "/work/dir/results" {
		t.Errorf("pkg_output_path = %q", got)
	}
	// The build phases later see the same values in the plan's shell.
	if got := p.Get("pkg_prefix"); got != m.Prefix {
		t.Errorf("shell pkg_prefix = %q, metadata %q", got, m.Prefix)
	}
}

// TestUpdatePkgVersion: a build phase calling update_pkg_version gets the
// version from pkg_version() and everything derived from it recomputed.
func TestUpdatePkgVersion(t *testing.T) {
	dir := writePlan(t, map[string]string{"plan.sh": `pkg_name=dyn
pkg_origin=core
pkg_source=https://example.com/dyn.tgz
pkg_version() { cat "$PLAN_CONTEXT/VERSION"; }
do_before() { update_pkg_version; }
`, "VERSION": "4.5.6\n"})
	p, err := Evaluate(context.Background(), dir, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasFunc("do_before") || p.HasFunc("do_build") {
		t.Fatalf("HasFunc: do_before %v, do_build %v", p.HasFunc("do_before"), p.HasFunc("do_build"))
	}
	if err := p.Call(context.Background(), "do_before"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"pkg_version":  "4.5.6",
		"pkg_dirname":  "dyn-4.5.6",
		"pkg_prefix":   "/hab/pkgs/core/dyn/4.5.6/20260101000000",
		"CACHE_PATH":   "/hab/cache/src/dyn-4.5.6",
		"SRC_PATH":     "/hab/cache/src/dyn-4.5.6",
		"pkg_artifact": "/hab/cache/artifacts/core-dyn-4.5.6-20260101000000-x86_64-linux.hart",
	} {
		if got := p.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// TestHelpers runs the plan helpers implemented in Go from a plan.
func TestHelpers(t *testing.T) {
	dir := writePlan(t, map[string]string{"plan.sh": `pkg_name=helpers
pkg_origin=core
pkg_version=1
_joined=$(join_by , a "b c" d)
_joined2=$(join_by "::" x y)
_trimmed="[$(trim "  a  b  ")]"
_abs_dir=$(abspath sub/..)
_abs_file=$(abspath sub/file)
_missing=$(abspath nope 2>/dev/null); _missing_status=$?
exists cat && _has_cat=yes
exists join_by && _has_helper=yes
exists no-such-command-here || _has_none=no
pkg_all_deps_resolved=(/hab/pkgs/core/zlib/1.2.13/20240101000000 /hab/pkgs/core/openssl/3.0.0/20240101000000)
_zlib=$(pkg_path_for zlib)
_openssl=$(pkg_path_for core/openssl)
_none=$(pkg_path_for core/none 2>/dev/null); _none_status=$?
_line=$(build_line "hello")
_debug=$(debug "quiet")
_warn=$(warn "careful" 2>&1)
_later=$(download_file http://x y 2>&1); _later_status=$?
true
`, "sub/file": "x"})
	p, err := Evaluate(context.Background(), dir, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"_joined":         "a,b c,d",
		"_joined2":        "x:y",
		"_trimmed":        "[a  b]",
		"_abs_dir":        dir,
		"_abs_file":       filepath.Join(dir, "sub", "file"),
		"_missing":        "",
		"_missing_status": "127",
		"_has_cat":        "yes",
		"_has_helper":     "yes",
		"_has_none":       "no",
		"_zlib":           "/hab/pkgs/core/zlib/1.2.13/20240101000000",
		"_openssl":        "/hab/pkgs/core/openssl/3.0.0/20240101000000",
		"_none_status":    "1",
		"_line":           "   helpers: hello",
		"_debug":          "",
		"_warn":           "   helpers: WARN: careful",
		"_later_status":   "1",
	} {
		if got := p.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(p.Get("_later"), "only available while a package is built") {
		t.Errorf("download_file while loading said %q", p.Get("_later"))
	}
}

// TestPlanOverridesHelper: a plan's own function wins over a Go helper,
// as a function defined later wins in bash.
func TestPlanOverridesHelper(t *testing.T) {
	dir := writePlan(t, map[string]string{"plan.sh": minimalPlan + "build_line() { _said=\"mine: $1\"; }\nbuild_line hi\n"})
	p, err := Evaluate(context.Background(), dir, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Get("_said"); got != "mine: hi" {
		t.Errorf("_said = %q", got)
	}
}

// TestPlanOutput: what the plan prints while loading reaches the writers.
func TestPlanOutput(t *testing.T) {
	dir := writePlan(t, map[string]string{"plan.sh": minimalPlan + "build_line loading\necho plain\necho oops >&2\n"})
	var out, errb strings.Builder
	opts := testOpts
	opts.Stdout, opts.Stderr = &out, &errb
	if _, err := Evaluate(context.Background(), dir, opts); err != nil {
		t.Fatal(err)
	}
	if out.String() != "   hello: loading\nplain\n" || errb.String() != "oops\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errb.String())
	}
}

func TestEvaluateCancelled(t *testing.T) {
	dir := writePlan(t, map[string]string{"plan.sh": minimalPlan + "sleep 30\n"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Evaluate(ctx, dir, testOpts); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestBadTarget(t *testing.T) {
	dir := writePlan(t, map[string]string{"plan.sh": minimalPlan})
	opts := testOpts
	opts.Target = "vax-vms"
	if _, err := Evaluate(context.Background(), dir, opts); err == nil || !strings.Contains(err.Error(), "vax-vms") {
		t.Fatalf("got %v", err)
	}
}

func TestMarshalValues(t *testing.T) {
	got := string(MarshalValues(map[string]Value{
		"b": {Kind: Array, List: []string{"x", "y"}},
		"a": {Kind: Scalar, Str: "q\"\\\n\t\x01<&>é€😀\x7f"},
		"c": {Kind: Map, Map: map[string]string{"z": "1", "k": "2"}},
		"d": {Kind: Array},
		"e": {Kind: Map},
		"f": {Kind: Scalar, Str: "bad\xffutf8"},
	}))
	want := `{"a": "q\"\\\n\t\u0001<&>\u00e9\u20ac\ud83d\ude00\u007f", "b": ["x", "y"], "c": {"k": "2", "z": "1"}, "d": [], "e": {}, "f": "bad\ufffdutf8"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestCompositeAndOtherSettings: the settings the reference evaluation
// does not show reach the metadata and --all values.
func TestCompositeAndOtherSettings(t *testing.T) {
	dir := writePlan(t, map[string]string{"plan.sh": `pkg_name=composite-example
pkg_origin=yourorigin
pkg_type="composite"
pkg_version="0.1.0"
pkg_services=(
  yourorigin/package1
  yourorigin/package2
)
pkg_bind_map=(
  [yourorigin/package2]="http:yourorigin/package1"
)
pkg_shutdown_signal=HUP
pkg_shutdown_timeout_sec=30
pkg_scaffolding=core/scaffolding-go
`})
	p, err := Evaluate(context.Background(), dir, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	m := p.Meta
	if !m.IsComposite() || strings.Join(m.Services, " ") != "yourorigin/package1 yourorigin/package2" {
		t.Errorf("type %q services %v", m.Type, m.Services)
	}
	if !reflect.DeepEqual(m.BindMap, map[string]string{"yourorigin/package2": "http:yourorigin/package1"}) {
		t.Errorf("bind map %v", m.BindMap)
	}
	if m.ShutdownSignal != "HUP" || m.ShutdownTimeoutSec != "30" || m.Scaffolding != "core/scaffolding-go" {
		t.Errorf("shutdown %q %q scaffolding %q", m.ShutdownSignal, m.ShutdownTimeoutSec, m.Scaffolding)
	}
	if got := m.Ident().String(); got != "yourorigin/composite-example/0.1.0/20260101000000" {
		t.Errorf("ident %s", got)
	}
	all := p.AllValues()
	if v := all["pkg_bind_map"]; v.Kind != Map || v.Map["yourorigin/package2"] != "http:yourorigin/package1" {
		t.Errorf("--all pkg_bind_map = %+v", v)
	}
	if v := all["pkg_services"]; v.Kind != Array || len(v.List) != 2 {
		t.Errorf("--all pkg_services = %+v", v)
	}
	if _, ok := p.Values()["pkg_services"]; ok {
		t.Error("Values shows pkg_services, which the reference evaluation does not")
	}
}

// TestCallAfterLoad: the build phases call the plan's callbacks in the
// shell it was loaded in, with output where they choose and the plan's
// state kept between calls.
func TestCallAfterLoad(t *testing.T) {
	dir := writePlan(t, map[string]string{"plan.sh": minimalPlan + `do_build() {
  build_line "building $pkg_name in $(pwd)"
  _built=yes
  return 3
}
`})
	p, err := Evaluate(context.Background(), dir, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := p.SetOutput(&out, nil); err != nil {
		t.Fatal(err)
	}
	err = p.Call(context.Background(), "do_build")
	if shell.ExitCode(err) != 3 {
		t.Errorf("do_build status: %v", err)
	}
	if out.String() != "   hello: building hello in "+dir+"\n" || p.Get("_built") != "yes" {
		t.Errorf("output %q, _built %q", out.String(), p.Get("_built"))
	}
	p.SetFunc("pkg_path_for", func(_ context.Context, c *shell.Call) error {
		_, err := c.Stdout().Write([]byte("/hab/pkgs/" + c.Arg(1) + "\n"))
		return err
	})
	if err := p.Eval(context.Background(), `_p=$(pkg_path_for core/zlib)`); err != nil {
		t.Fatal(err)
	}
	if got := p.Get("_p"); got != "/hab/pkgs/core/zlib" {
		t.Errorf("replaced helper gave %q", got)
	}
}
