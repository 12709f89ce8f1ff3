package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// renderEnv is a plan context in a temporary directory, with FS_ROOT and
// HOME pointed at temporary directories.
type renderEnv struct {
	t   *testing.T
	dir string
	env map[string]string
}

func newRenderEnv(t *testing.T) *renderEnv {
	t.Helper()
	dir := t.TempDir()
	e := &renderEnv{t: t, dir: dir, env: map[string]string{
		"FS_ROOT": filepath.Join(dir, "fsroot"),
		"HOME":    filepath.Join(dir, "home"),
	}}
	e.write("default.toml", "port = 6379\nname = \"redis\"\n[log]\nlevel = \"info\"\n")
	e.write("config/redis.conf", "port {{cfg.port}}\nloglevel {{cfg.log.level}}\n{{#eachAlive bind.backend.members as |m|}}\nreplica {{m.sys.ip}}\n{{/eachAlive}}\nbash {{pkgPathFor \"core/bash\"}}\n")
	return e
}

func (e *renderEnv) path(rel string) string { return filepath.Join(e.dir, filepath.FromSlash(rel)) }

func (e *renderEnv) write(rel, content string) string {
	e.t.Helper()
	p := e.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *renderEnv) run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb, func(k string) string { return e.env[k] })
	return code, out.String(), errb.String()
}

const renderMock = `{
  "pkg": {"deps": [{"origin": "core", "name": "bash", "version": "5.1", "release": "20220311123128"}]},
  "bind": {"backend": {"members": [
    {"alive": true, "sys": {"ip": "10.0.0.1"}},
    {"alive": false, "sys": {"ip": "10.0.0.2"}},
    {"alive": true, "sys": {"ip": "10.0.0.3"}}
  ]}},
  "cfg": {"log": {"level": "debug"}}
}`

func TestPlanRenderWritesAndPrints(t *testing.T) {
	e := newRenderEnv(t)
	user := e.write("user.toml", "port = 6380\n")
	mock := e.write("mock.json", renderMock)
	results := e.path("out/results")
	tpl := e.path("config/redis.conf")
	code, stdout, stderr := e.run("plan", "render", tpl, "-d", e.path("default.toml"), "-u", user, "-m", mock, "-r", results, "-p")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	rendered := "port 6380\nloglevel debug\nreplica 10.0.0.1\nreplica 10.0.0.3\nbash " +
		filepath.Join(e.env["FS_ROOT"], "hab", "pkgs", "core", "bash", "5.1", "20220311123128") + "\n"
	wantOut := "» Rendering: " + tpl + " into: " + results + " as: redis.conf\n\n" +
		"» Importing default.toml: " + e.path("default.toml") + "\n" +
		"» Importing user.toml: " + user + "\n" +
		"» Importing override file: " + mock + "\n" +
		"\n" + rendered + "\n" +
		"Ω Creating file: " + filepath.Join(results, "redis.conf") + "\n\n"
	if stdout != wantOut {
		t.Errorf("stdout:\n%q\nwant\n%q", stdout, wantOut)
	}
	wantErr := "∅ ###======== Rendered template: " + tpl + "\n∅ ========### End rendered template: " + tpl + "\n"
	if stderr != wantErr {
		t.Errorf("stderr:\n%q\nwant\n%q", stderr, wantErr)
	}
	b, err := os.ReadFile(filepath.Join(results, "redis.conf"))
	if err != nil || string(b) != rendered {
		t.Errorf("written file %q (%v), want %q", b, err, rendered)
	}
	if entries, _ := os.ReadDir(results); len(entries) != 1 {
		t.Errorf("render dir holds %d entries, want only redis.conf", len(entries))
	}
}

func TestPlanRenderQuietNoRender(t *testing.T) {
	e := newRenderEnv(t)
	tpl := e.path("config/redis.conf")
	for _, quiet := range []string{"-q", "--quiet", "--no-verbose"} {
		code, stdout, stderr := e.run("plan", "render", tpl, "--default-toml", e.path("default.toml"), "--print", "--no-render", quiet, "--render-dir", e.path("results"))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", quiet, code, stderr)
		}
		if want := "port 6379\nloglevel info\nbash \n\n"; stdout != want || stderr != "" {
			t.Errorf("%s: stdout %q stderr %q, want only %q", quiet, stdout, stderr, want)
		}
	}
	if _, err := os.Stat(e.path("results")); !os.IsNotExist(err) {
		t.Errorf("--no-render wrote %s (%v)", e.path("results"), err)
	}
}

// The defaults are ./default.toml and ./results, relative to the working
// directory.
func TestPlanRenderDefaults(t *testing.T) {
	e := newRenderEnv(t)
	t.Chdir(e.dir)
	code, stdout, stderr := e.run("plan", "render", "config/redis.conf")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "into: ./results as: redis.conf") || !strings.Contains(stdout, "Importing default.toml: ./default.toml") {
		t.Errorf("stdout %q", stdout)
	}
	if b, err := os.ReadFile(filepath.Join(e.dir, "results", "redis.conf")); err != nil || !strings.HasPrefix(string(b), "port 6379\n") {
		t.Errorf("results/redis.conf: %q %v", b, err)
	}
}

// Bad inputs fail with the file (and line) named, and write nothing.
func TestPlanRenderErrors(t *testing.T) {
	e := newRenderEnv(t)
	badTpl := e.write("config/bad.conf", "ok\nport {{cfg.port\n")
	badToml := e.write("bad.toml", "port = 1\nname = \n")
	badUser := e.write("baduser.toml", "[log\n")
	badJSON := e.write("bad.json", "{\n  \"pkg\": {\n    \"name\": ,\n  }\n}\n")
	arrJSON := e.write("arr.json", "[1]")
	failTpl := e.write("config/fail.conf", "{{toUppercase cfg.port}}")
	results := e.path("results")
	def := e.path("default.toml")
	tpl := e.path("config/redis.conf")
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"missing template", []string{e.path("config/nope.conf"), "-d", def}, 2, []string{"nope.conf", "cannot be found"}},
		{"template is a directory", []string{e.path("config"), "-d", def}, 2, []string{"cannot be found"}},
		{"no template argument", nil, 2, []string{"TEMPLATE_PATH"}},
		{"syntax error", []string{badTpl, "-d", def}, 1, []string{badTpl + ":2:6", "unclosed tag"}},
		{"missing default.toml", []string{tpl, "-d", e.path("nope.toml")}, 1, []string{"nope.toml", "no such file"}},
		{"invalid default.toml", []string{tpl, "-d", badToml}, 1, []string{badToml + ":2:", "invalid TOML"}},
		{"invalid user.toml", []string{tpl, "-d", def, "-u", badUser}, 1, []string{badUser + ":1:", "invalid TOML"}},
		{"invalid mock JSON", []string{tpl, "-d", def, "-m", badJSON}, 1, []string{badJSON, "line 3"}},
		{"mock JSON not an object", []string{tpl, "-d", def, "-m", arrJSON}, 1, []string{arrJSON, "expected a JSON object"}},
		{"missing mock file", []string{tpl, "-d", def, "-m", e.path("nope.json")}, 1, []string{"nope.json"}},
		{"render error", []string{failTpl, "-d", def}, 1, []string{failTpl + ":1:1", "toUppercase"}},
		{"unknown flag", []string{tpl, "--no-render-dir"}, 2, []string{"unknown flag"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"plan", "render", "-r", results}, c.args...)
			code, stdout, stderr := e.run(args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, stdout, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if _, err := os.Stat(results); !os.IsNotExist(err) {
				t.Errorf("a failed render left %s behind", results)
			}
		})
	}
}

func TestPlanRenderHelp(t *testing.T) {
	e := newRenderEnv(t)
	code, stdout, _ := e.run("plan", "render", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, flag := range []string{"-d, --default-toml", "-u, --user-toml", "-m, --mock-data", "-p, --print", "-r, --render-dir", "-n, --no-render", "-q, --quiet", `(default "./default.toml")`, `(default "./results")`, "TEMPLATE_PATH"} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("help lacks %q:\n%s", flag, stdout)
		}
	}
}
