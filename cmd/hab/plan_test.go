package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

var (
	planOracle  = filepath.Join("..", "..", "..", "shared", "tools", "plan-oracle.sh")
	samplePlans = filepath.Join("..", "..", "..", "shared", "conformance", "core-plans-sample")
)

// planEnv is the environment of a plan test: what the reference
// evaluation gives plans, and temporary homes so nothing real is touched.
func planTestEnv(t *testing.T, extra ...string) func(string) string {
	base := t.TempDir()
	env := map[string]string{
		"PATH":               "/usr/bin:/bin",
		"HOME":               "/nonexistent",
		"FS_ROOT":            filepath.Join(base, "root"),
		"HAB_CACHE_KEY_PATH": filepath.Join(base, "keys"),
		"BUILD_PKG_TARGET":   "x86_64-linux",
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

func runHab(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb, getenv)
	return code, out.String(), errb.String()
}

// TestPlanShowSamplePlansMatchBash runs `hab plan show --json` on each of
// the 40 sample core plans and compares its output, key by key and then
// byte for byte, with the reference evaluation by real bash.
func TestPlanShowSamplePlansMatchBash(t *testing.T) {
	if _, err := os.Stat(planOracle); err != nil {
		t.Skipf("the reference evaluation %s is absent: %v", planOracle, err)
	}
	for _, tool := range []string{"bash", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the reference evaluation needs %s", tool)
		}
	}
	entries, err := os.ReadDir(samplePlans)
	if err != nil {
		t.Skipf("no sample plans at %s: %v", samplePlans, err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) != 40 {
		t.Errorf("expected the 40 sample plans, found %d", len(dirs))
	}
	getenv := planTestEnv(t)
	var mu sync.Mutex
	identical := 0
	t.Run("plans", func(t *testing.T) {
		for _, name := range dirs {
			dir := filepath.Join(samplePlans, name)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				cmd := exec.Command("bash", planOracle, dir)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				want, err := cmd.Output()
				if err != nil {
					t.Fatalf("oracle: %v\n%s", err, stderr.Bytes())
				}
				code, got, errs := runHab(t, getenv, "plan", "show", "--json", dir)
				if code != 0 {
					t.Fatalf("hab plan show: exit %d: %s", code, errs)
				}
				if comparePlanJSON(t, want, []byte(got)) {
					mu.Lock()
					identical++
					mu.Unlock()
				}
			})
		}
	})
	t.Logf("%d/%d sample plans identical to bash", identical, len(dirs))
}

// comparePlanJSON reports every key that differs, with both values, and
// whether the outputs are identical.
func comparePlanJSON(t *testing.T, want, got []byte) bool {
	t.Helper()
	var w, g map[string]any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("oracle output is not JSON: %v\n%s", err, want)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("hab output is not JSON: %v\n%s", err, got)
	}
	keys := map[string]bool{}
	for k := range w {
		keys[k] = true
	}
	for k := range g {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	ok := true
	for _, k := range sorted {
		wv, wok := w[k]
		gv, gok := g[k]
		switch {
		case !wok:
			t.Errorf("%s: bash has no such key; hab has %s", k, jsonText(gv))
		case !gok:
			t.Errorf("%s: bash has %s; hab has no such key", k, jsonText(wv))
		case !reflect.DeepEqual(wv, gv):
			t.Errorf("%s: bash has %s; hab has %s", k, jsonText(wv), jsonText(gv))
		default:
			continue
		}
		ok = false
	}
	if ok && !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(got)) {
		t.Errorf("same values, different bytes:\nbash: %s\nhab:  %s", want, got)
		ok = false
	}
	return ok
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPlanShow(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"habitat/plan.sh": `pkg_name=demo
pkg_origin=acme
pkg_version=1.2.3
pkg_deps=(core/glibc core/zlib)
pkg_exports=([port]=srv.port)
pkg_description="two
lines"
`})
	getenv := planTestEnv(t)

	code, out, errs := runHab(t, getenv, "plan", "show", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"acme/demo/1.2.3 (x86_64-linux)\n",
		"plan: " + filepath.Join(dir, "habitat", "plan.sh") + "\n",
		"pkg_deps            core/glibc\n                    core/zlib\n",
		"pkg_exports         port=srv.port\n",
		"pkg_description     two\n                    lines\n",
		"pkg_binds           (none)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runHab(t, getenv, "plan", "show", "--json", dir)
	var m map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("--json: exit %d: %s", code, out)
	}
	if _, ok := m["pkg_prefix"]; ok {
		t.Error("--json shows pkg_prefix, which depends on the clock")
	}

	code, out, _ = runHab(t, getenv, "plan", "show", "--json", "--all", dir)
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("--all: exit %d: %s", code, out)
	}
	for k, want := range map[string]string{"pkg_target": "x86_64-linux", "pkg_svc_path": "/hab/svc/demo", "PLAN_CONTEXT": filepath.Join(dir, "habitat"), "SRC_PATH": dir} {
		if m[k] != want {
			t.Errorf("--all %s = %v, want %s", k, m[k], want)
		}
	}
	if p, _ := m["pkg_prefix"].(string); !strings.HasPrefix(p, "/hab/pkgs/acme/demo/1.2.3/") {
		t.Errorf("--all pkg_prefix = %v", m["pkg_prefix"])
	}

	// HAB_ORIGIN overrides pkg_origin, as in a build.
	code, out, _ = runHab(t, planTestEnv(t, "HAB_ORIGIN=mine"), "plan", "show", "--json", dir)
	if code != 0 || !strings.Contains(out, `"pkg_origin": "mine"`) {
		t.Errorf("HAB_ORIGIN: exit %d: %s", code, out)
	}

	// The current directory is the default plan context.
	t.Chdir(dir)
	if code, out, errs := runHab(t, getenv, "plan", "show", "--json"); code != 0 || !strings.Contains(out, `"pkg_name": "demo"`) {
		t.Errorf("no argument: exit %d: %s %s", code, out, errs)
	}
}

func TestPlanShowTargetPlan(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"plan.sh":               "pkg_name=generic\npkg_origin=acme\npkg_version=1\n",
		"x86_64-linux/plan.sh":  "pkg_name=specific\npkg_origin=acme\npkg_version=1\n",
		"aarch64-linux/plan.sh": "pkg_name=arm\npkg_origin=acme\npkg_version=1\n",
	})
	code, out, errs := runHab(t, planTestEnv(t), "plan", "show", "--json", dir)
	if code != 0 || !strings.Contains(out, `"pkg_name": "specific"`) {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	if !strings.Contains(errs, filepath.Join(dir, "plan.sh")+" is ignored") {
		t.Errorf("no warning about the shadowed plan: %q", errs)
	}
	code, out, _ = runHab(t, planTestEnv(t, "BUILD_PKG_TARGET=aarch64-linux"), "plan", "show", "--json", dir)
	if code != 0 || !strings.Contains(out, `"pkg_name": "arm"`) {
		t.Errorf("aarch64-linux: exit %d: %s", code, out)
	}
}

// TestPlanShowErrors: each bad plan gives exit code 1 and a message that
// names the file and line; bad command lines give exit code 2.
func TestPlanShowErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		env   []string
		args  []string
		code  int
		want  string // in stderr; PLAN stands for the plan file
	}{
		{"no plan", map[string]string{"README": "x"}, nil, nil, 1, "plan file not found in any of these paths"},
		{"two plans", map[string]string{"plan.sh": "x=1", "habitat/plan.sh": "x=1"}, nil, nil, 1, "only one is allowed"},
		{"syntax", map[string]string{"plan.sh": "pkg_name=x\npkg_origin=y\npkg_version=(1 2\n"}, nil, nil, 1, "PLAN:3: syntax error"},
		{"no name", map[string]string{"plan.sh": "pkg_origin=y\npkg_version=1\n"}, nil, nil, 1, "PLAN:1: pkg_name must be set"},
		{"no origin", map[string]string{"plan.sh": "pkg_name=x\npkg_version=1\n"}, nil, nil, 1, "PLAN:1: pkg_origin must be set"},
		{"bad name", map[string]string{"plan.sh": "pkg_origin=y\npkg_version=1\npkg_name='a b'\n"}, nil, nil, 1, `PLAN:3: pkg_name "a b" contains invalid characters`},
		{"bad origin", map[string]string{"plan.sh": "pkg_name=x\npkg_origin=UPPER\npkg_version=1\n"}, nil, nil, 1, `PLAN:2: pkg_origin "UPPER" contains invalid characters`},
		{"bad HAB_ORIGIN", map[string]string{"plan.sh": "pkg_name=x\npkg_origin=y\npkg_version=1\n"}, []string{"HAB_ORIGIN=no/pe"}, nil, 1, `PLAN: HAB_ORIGIN "no/pe" is not a valid origin`},
		{"no version", map[string]string{"plan.sh": "pkg_name=x\npkg_origin=y\n"}, nil, nil, 1, "PLAN:1: pkg_version must be set"},
		{"exit_with", map[string]string{"plan.sh": "pkg_name=x\npkg_origin=y\npkg_version=1\nexit_with boom 4\n"}, nil, nil, 1, "PLAN:4: exit_with: boom (status 4)"},
		{"bad target", map[string]string{"plan.sh": "x=1"}, []string{"BUILD_PKG_TARGET=pdp11"}, nil, 2, "pdp11"},
		{"too many arguments", map[string]string{"plan.sh": "x=1"}, nil, []string{"extra"}, 2, "accepts at most 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			args := append([]string{"plan", "show", dir}, tt.args...)
			code, out, errs := runHab(t, planTestEnv(t, tt.env...), args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, errs)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			want := strings.ReplaceAll(tt.want, "PLAN", filepath.Join(dir, "plan.sh"))
			if !strings.Contains(errs, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errs)
			}
		})
	}
}
