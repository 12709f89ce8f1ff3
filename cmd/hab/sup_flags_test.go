package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadFlagsEnv: svc load's --url falls back to HAB_BLDR_URL, then
// the legacy HAB_DEPOT_URL, an empty variable counting as unset; its
// --channel to HAB_BLDR_CHANNEL (the seed documentation's); the command
// line wins. Read back through --generate-config, which needs no
// supervisor.
func TestLoadFlagsEnv(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want []string
	}{
		{nil, nil, []string{"channel = 'stable'", "bldr_url = 'https://bldr.habitat.sh'"}},
		{map[string]string{"HAB_DEPOT_URL": "http://depot.example"}, nil, []string{"bldr_url = 'http://depot.example'"}},
		{map[string]string{"HAB_BLDR_URL": "http://bldr.example", "HAB_DEPOT_URL": "http://depot.example"}, nil, []string{"bldr_url = 'http://bldr.example'"}},
		{map[string]string{"HAB_BLDR_URL": "", "HAB_DEPOT_URL": "http://depot.example"}, nil, []string{"bldr_url = 'http://depot.example'"}},
		{map[string]string{"HAB_BLDR_URL": "http://bldr.example"}, []string{"-u", "http://flag.example"}, []string{"bldr_url = 'http://flag.example'"}},
		{map[string]string{"HAB_BLDR_CHANNEL": "unstable"}, nil, []string{"channel = 'unstable'"}},
		{map[string]string{"HAB_BLDR_CHANNEL": ""}, nil, []string{"channel = 'stable'"}},
		{map[string]string{"HAB_BLDR_CHANNEL": "unstable"}, []string{"--channel", "dev"}, []string{"channel = 'dev'"}},
	} {
		e := newStoreEnv(t)
		for k, v := range tt.env {
			e.env[k] = v
		}
		out := e.mustRun(append([]string{"svc", "load", "--generate-config", "acme/web"}, tt.args...)...)
		for _, w := range tt.want {
			if !strings.Contains(out, w+"\n") {
				t.Errorf("svc load %v with %v: no %q in\n%s", tt.args, tt.env, w, out)
			}
		}
	}
}

// TestParseStatus: the status table read for --json and completion; a
// table it does not know is an error naming the line, not a guess.
func TestParseStatus(t *testing.T) {
	head := "package\ttype\tdesired\tstate\telapsed (s)\tpid\tgroup"
	rows, err := parseStatus([]string{head, "a/b/1/2\tstandalone\tup\tup\t5\t42\tb.default", "a/c/1/2\tstandalone\tdown\tdown\t0\t<none>\tc.web"})
	if err != nil || len(rows) != 2 || *rows[0].PID != 42 || rows[0].ElapsedSeconds != 5 || rows[1].PID != nil || rows[1].ServiceGroup != "c.web" {
		t.Errorf("parseStatus: %+v %v", rows, err)
	}
	if rows, err := parseStatus([]string{"No services loaded."}); err != nil || rows == nil || len(rows) != 0 {
		t.Errorf("no services: %#v %v", rows, err)
	}
	for _, tt := range []struct {
		lines []string
		want  string
	}{
		{[]string{"pkg\tstate"}, `unexpected header "pkg\tstate"`},
		{[]string{head, "a/b\tup"}, `line "a/b\tup" has 2 fields, not 7`},
		{[]string{head, "a/b/1/2\tstandalone\tup\tup\tlong\t42\tb.default"}, "elapsed"},
		{[]string{head, "a/b/1/2\tstandalone\tup\tup\t5\tpid?\tb.default"}, "pid"},
	} {
		if _, err := parseStatus(tt.lines); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseStatus(%q): %v, want %q", tt.lines, err, tt.want)
		}
	}
}

// TestVersionFlags: -V is --version, as the original's; hab sup
// --version answers for the Supervisor as hab-sup does.
func TestVersionFlags(t *testing.T) {
	e := newStoreEnv(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--version"}, "hab " + version + "\n"},
		{[]string{"-V"}, "hab " + version + "\n"},
		{[]string{"sup", "--version"}, "hab-sup " + version + "\n"},
		{[]string{"sup", "-V"}, "hab-sup " + version + "\n"},
	} {
		if out := e.mustRun(tt.args...); out != tt.want {
			t.Errorf("hab %v: %q, want %q", tt.args, out, tt.want)
		}
	}
}

// TestSupportBundleNoSupervisor: where no supervisor ever ran there is
// nothing to bundle: exit 1 naming the directory, no file written.
func TestSupportBundleNoSupervisor(t *testing.T) {
	e := newStoreEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	e.mustFail(exitError, "no Supervisor root directory "+filepath.Join(e.root, "hab", "sup"), "supportbundle")
	e.mustFail(exitUsage, `unknown command "extra" for "hab supportbundle"`, "supportbundle", "extra")
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d files written", len(ents))
	}
}
