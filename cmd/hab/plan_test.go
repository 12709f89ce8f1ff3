package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/habgo/hab/internal/conformance"
	"github.com/habgo/hab/internal/planoracle"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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
	planOracle := planoracle.Script(t)
	samplePlans := conformance.Path(t, "core-plans-sample")
	entries, err := os.ReadDir(samplePlans)
	if err != nil {
		t.Fatal(err)
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
	// The reference evaluation starts bash and python3 for each plan:
	// run those processes several at a time, then compare.
	type result struct {
		out []byte
		err error
	}
	results := make([]result, len(dirs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, name := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out, err := planoracle.Run(planOracle, filepath.Join(samplePlans, name))
			results[i] = result{out, err}
		}()
	}
	wg.Wait()
	getenv := planTestEnv(t)
	identical := 0
	for i, name := range dirs {
		t.Run(name, func(t *testing.T) {
			if results[i].err != nil {
				t.Fatalf("oracle: %v", results[i].err)
			}
			code, got, errs := runHab(t, getenv, "plan", "show", "--json", filepath.Join(samplePlans, name))
			if code != 0 {
				t.Fatalf("hab plan show: exit %d: %s", code, errs)
			}
			if planoracle.Compare(t, results[i].out, []byte(got)) {
				identical++
			}
		})
	}
	t.Logf("%d/%d sample plans identical to bash", identical, len(dirs))
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
		{"recursion", map[string]string{"plan.sh": "pkg_name=x\npkg_origin=y\npkg_version=1\nf() { f; }\nf\n"}, nil, nil, 1, "PLAN:4: f: maximum function nesting level exceeded"},
		{"recursion in pkg_version()", map[string]string{"plan.sh": "pkg_name=x\npkg_origin=y\npkg_version() { pkg_version; }\nupdate_pkg_version\n"}, nil, nil, 1, "PLAN:3: pkg_version: maximum function nesting level exceeded"},
		{"version ../../..", map[string]string{"plan.sh": "pkg_name=x\npkg_origin=y\npkg_version=../../..\n"}, nil, nil, 1, `PLAN:3: pkg_version "../../.." contains '/'`},
		{"version with an escape", map[string]string{"plan.sh": "pkg_name=x\npkg_origin=y\npkg_version=$'1\\e[2J'\n"}, nil, nil, 1, `PLAN:3: pkg_version "1\x1b[2J" contains a control character`},
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

// TestPlanInit scaffolds plans with every combination of flags the
// command has, and checks each evaluates with hab plan show.
func TestPlanInit(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       []string
		dir       string            // the plan context created, relative to the work dir
		has       []string          // in plan.sh
		hasNot    []string          // not in plan.sh
		values    map[string]string // in hab plan show --json
		workDirAs string            // name of the work directory
	}{
		{
			name: "default in habitat/", env: []string{"HAB_ORIGIN=acme"}, dir: "habitat", workDirAs: "myapp",
			has:    []string{"pkg_name=\"myapp\"", "pkg_origin=\"acme\"", "pkg_version=\"0.1.0\"", "# Required.", "do_build() {\n  do_default_build\n}", "do_end()", "# pkg_svc_run=", "# pkg_exports=("},
			values: map[string]string{"pkg_name": "myapp", "pkg_origin": "acme", "pkg_version": "0.1.0", "pkg_shasum": "TODO"},
		},
		{
			name: "named", args: []string{"web", "-o", "other"}, env: []string{"HAB_ORIGIN=acme"}, dir: "web",
			has:    []string{"pkg_name=\"web\"", "pkg_origin=\"other\""},
			values: map[string]string{"pkg_name": "web", "pkg_origin": "other"},
		},
		{
			name: "minimal", args: []string{"small", "--min", "--origin", "acme"}, dir: "small",
			has:    []string{"pkg_deps=(core/glibc)", "do_build() {\n  do_default_build\n}", "do_install()"},
			hasNot: []string{"# Required.", "do_begin", "pkg_svc_run", "pkg_exports"},
			values: map[string]string{"pkg_name": "small"},
		},
		{
			name: "scaffolding short name", args: []string{"nodeapp", "-s", "node", "-o", "acme"}, dir: "nodeapp",
			has:    []string{"pkg_scaffolding=\"core/scaffolding-node\""},
			hasNot: []string{"# Required.", "do_build", "pkg_deps"},
			values: map[string]string{"pkg_name": "nodeapp", "pkg_version": "0.1.0"},
		},
		{
			name: "scaffolding with docs and callbacks", args: []string{"rb", "--scaffolding", "core/scaffolding-ruby/0.1.0", "--with-docs", "--with-callbacks", "-o", "acme"}, dir: "rb",
			has:    []string{"pkg_scaffolding=\"core/scaffolding-ruby/0.1.0\"", "# Required.", "do_build() {", "do_check() {\n  return 0\n}"},
			hasNot: []string{"pkg_deps"},
		},
		{
			name: "with all overrides scaffolding's short plan", args: []string{"all", "-s", "go", "--with-all", "-o", "acme"}, dir: "all",
			has: []string{"pkg_scaffolding=\"core/scaffolding-go\"", "pkg_deps=(core/glibc)", "# pkg_shutdown_timeout_sec=", "do_strip()"},
		},
		{
			name: "pkg_ values from the environment", args: []string{"envy", "-o", "acme"}, dir: "envy",
			env: []string{"pkg_deps=(core/make core/coreutils)", "pkg_license=('MIT' 'Apache-2.0')", "pkg_bin_dirs=(bin sbin)", "pkg_version=1.0.0",
				"pkg_description=foo \"bar\"", "pkg_maintainer=you", "pkg_svc_user=someuser", "pkg_exports=([port]=srv.port)"},
			has:    []string{"pkg_deps=(core/make core/coreutils)", `pkg_description="foo \"bar\""`, "pkg_svc_user=\"someuser\""},
			values: map[string]string{"pkg_version": "1.0.0", "pkg_description": `foo "bar"`, "pkg_maintainer": "you", "pkg_svc_user": "someuser"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			if tt.workDirAs != "" {
				work = filepath.Join(work, tt.workDirAs)
				if err := os.Mkdir(work, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(work)
			getenv := planTestEnv(t, tt.env...)
			code, out, errs := runHab(t, getenv, append([]string{"plan", "init"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errs)
			}
			ctx := filepath.Join(work, tt.dir)
			for _, f := range []string{"plan.sh", "default.toml", "README.md", "config", "hooks"} {
				if _, err := os.Stat(filepath.Join(ctx, f)); err != nil {
					t.Errorf("%s was not created: %v", f, err)
				}
				if !strings.Contains(out, filepath.Join(tt.dir, f)) {
					t.Errorf("output does not mention %s:\n%s", f, out)
				}
			}
			planText, err := os.ReadFile(filepath.Join(ctx, "plan.sh"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.has {
				if !strings.Contains(string(planText), s) {
					t.Errorf("plan.sh lacks %q:\n%s", s, planText)
				}
			}
			for _, s := range tt.hasNot {
				if strings.Contains(string(planText), s) {
					t.Errorf("plan.sh has %q:\n%s", s, planText)
				}
			}
			// The new plan evaluates (without HAB_ORIGIN, which would override).
			code, js, errs := runHab(t, planTestEnv(t), "plan", "show", "--json", tt.dir)
			if code != 0 {
				t.Fatalf("hab plan show on the new plan: exit %d: %s\n%s", code, errs, planText)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(js), &m); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.values {
				if m[k] != v {
					t.Errorf("%s = %v, want %q", k, m[k], v)
				}
			}
		})
	}
}

func TestPlanInitEnvironmentArrays(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	getenv := planTestEnv(t, "HAB_ORIGIN=acme", "pkg_deps=(core/make core/coreutils)", "pkg_license=('MIT' 'Apache-2.0')", "pkg_exports=([port]=srv.port)")
	if code, out, errs := runHab(t, getenv, "plan", "init", "arr"); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	code, js, errs := runHab(t, planTestEnv(t), "plan", "show", "--json", "arr")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{`"pkg_deps": ["core/make", "core/coreutils"]`, `"pkg_license": ["MIT", "Apache-2.0"]`, `"pkg_exports": {"port": "srv.port"}`} {
		if !strings.Contains(js, want) {
			t.Errorf("%s lacks %s", js, want)
		}
	}
}

// TestPlanInitKeepsExisting: files already there are not overwritten, and
// a .gitignore beside the plan context in a git work tree gets results/.
func TestPlanInitKeepsExisting(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	writeFiles(t, work, map[string]string{
		"habitat/plan.sh": "pkg_name=mine\npkg_origin=acme\npkg_version=9\n",
		".gitignore":      "*.o",
	})
	if err := os.Mkdir(filepath.Join(work, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runHab(t, planTestEnv(t, "HAB_ORIGIN=acme"), "plan", "init")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	if b, _ := os.ReadFile(filepath.Join(work, "habitat", "plan.sh")); string(b) != "pkg_name=mine\npkg_origin=acme\npkg_version=9\n" {
		t.Errorf("existing plan.sh overwritten:\n%s", b)
	}
	if !strings.Contains(out, "Using existing "+filepath.Join("habitat", "plan.sh")) {
		t.Errorf("output does not say plan.sh was kept:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(work, ".gitignore")); string(b) != "*.o\nresults/\n" {
		t.Errorf(".gitignore = %q", b)
	}
	// Running again appends nothing more.
	runHab(t, planTestEnv(t, "HAB_ORIGIN=acme"), "plan", "init")
	if b, _ := os.ReadFile(filepath.Join(work, ".gitignore")); string(b) != "*.o\nresults/\n" {
		t.Errorf(".gitignore after a second init = %q", b)
	}
}

func TestPlanInitErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		code int
		want string
	}{
		{"no origin", []string{"app"}, nil, 2, "no origin specified"},
		{"bad origin flag", []string{"app", "-o", "Bad Origin"}, nil, 2, `invalid origin "Bad Origin"`},
		{"bad HAB_ORIGIN", []string{"app"}, []string{"HAB_ORIGIN=UP"}, 2, "UP"},
		{"bad name", []string{"my app", "-o", "acme"}, nil, 2, `invalid package name "my app"`},
		{"bad scaffolding", []string{"app", "-o", "acme", "-s", "not an ident"}, nil, 2, `scaffolding "not an ident"`},
		{"unknown flag", []string{"app", "--windows-95"}, nil, 2, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			t.Chdir(work)
			code, _, errs := runHab(t, planTestEnv(t, tt.env...), append([]string{"plan", "init"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tt.code, errs, tt.want)
			}
			if entries, _ := os.ReadDir(work); len(entries) != 0 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}
}
