package scaffold

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScaffolding(t *testing.T) {
	for in, want := range map[string]string{
		"go": "core/scaffolding-go", "Node": "core/scaffolding-node", "RUBY": "core/scaffolding-ruby",
		"gradle": "core/scaffolding-gradle", "core/scaffolding-node": "core/scaffolding-node",
		"acme/scaffolding-custom/1.0": "acme/scaffolding-custom/1.0",
	} {
		if got, err := Scaffolding(in); err != nil || got != want {
			t.Errorf("Scaffolding(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "python", "a/b c", "/x"} {
		if _, err := Scaffolding(bad); err == nil {
			t.Errorf("Scaffolding(%q) accepted", bad)
		}
	}
}

func TestInitRefusesBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ctx")
	for _, o := range []Options{
		{Dir: dir, Name: "bad name", Origin: "acme"},
		{Dir: dir, Name: "ok", Origin: "Bad"},
		{Dir: "", Name: "ok", Origin: "acme"},
	} {
		if _, err := Init(o); err == nil {
			t.Errorf("Init(%+v) accepted", o)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused Init left %s behind", dir)
	}
}

func TestInitConfigIsAFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Init(Options{Dir: dir, Name: "app", Origin: "acme"})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "config")) {
		t.Fatalf("got %v", err)
	}
}

func TestPlanQuotesValues(t *testing.T) {
	b, err := Plan(Options{Name: "app", Origin: "acme", Minimal: true, Values: map[string]string{
		"pkg_description": "say \"hi\" with a \\ and `ticks`",
		"pkg_deps":        "(core/a core/b)",
		"pkg_custom":      "kept",
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pkg_description=\"say \\\"hi\\\" with a \\\\ and \\`ticks\\`\"\n", "pkg_deps=(core/a core/b)\n", "pkg_custom=kept\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("plan lacks %q:\n%s", want, b)
		}
	}
}

func TestValuesFrom(t *testing.T) {
	env := map[string]string{"pkg_version": "1.2", "pkg_deps": "(core/glibc)", "pkg_license": "", "PATH": "/bin", "pkg_unknown": "x"}
	got := ValuesFrom(func(k string) string { return env[k] })
	if len(got) != 2 || got["pkg_version"] != "1.2" || got["pkg_deps"] != "(core/glibc)" {
		t.Errorf("ValuesFrom = %v", got)
	}
}
