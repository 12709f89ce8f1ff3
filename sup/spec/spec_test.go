package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpecRoundTrip(t *testing.T) {
	d := Dir(t.TempDir())
	s := New("habtest/service")
	s.Binds = []string{"database:db.default@acme"}
	timeout := uint32(3)
	s.ShutdownTimeout = &timeout
	if err := d.Write(s); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(d.Path("service"))
	text := string(data)
	for _, want := range []string{"ident = 'habtest/service'", "group = 'default'", "desired_state = 'up'", "binding_mode = 'strict'", "shutdown_timeout = 3"} {
		if !strings.Contains(text, want) {
			t.Errorf("spec file lacks %q:\n%s", want, text)
		}
	}
	if i := strings.Index(text, "[health_check_interval]"); i < 0 || strings.TrimSpace(text[i:]) != "[health_check_interval]\nsecs = 30\nnanos = 0" {
		t.Errorf("health_check_interval is not the last table:\n%s", text)
	}
	got, err := d.Read("service")
	if err != nil {
		t.Fatal(err)
	}
	if got.Ident != s.Ident || *got.ShutdownTimeout != 3 || got.Binds[0] != s.Binds[0] {
		t.Errorf("read back %+v", got)
	}
}

func TestSpecParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name, text, want string
	}{
		{"nonsense", "this is ][ not toml", "spec file x.spec:1:"},
		{"unknown key", "ident = 'a/b'\ncolour = 'red'\n", "colour"},
		{"no ident", "group = 'default'\n", "ident"},
		{"bad topology", "ident = 'a/b'\ntopology = 'ring'\n", `topology: "ring" is not one of standalone, leader`},
		{"bad state", "ident = 'a/b'\ndesired_state = 'sideways'\n", "desired_state"},
		{"bad bind", "ident = 'a/b'\nbinds = ['nocolon']\n", `invalid bind "nocolon"`},
		{"bad group", "ident = 'a/b'\ngroup = 'a.b'\n", `group: "a.b"`},
		{"wrong type", "ident = 3\n", "spec file x.spec"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.spec", []byte(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestReadAllReportsBadFiles(t *testing.T) {
	dir := t.TempDir()
	d := Dir(dir)
	if err := d.Write(New("habtest/good")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "bad.spec"), []byte("nonsense ]["), 0o644)
	os.WriteFile(filepath.Join(dir, "other.spec"), []byte("ident = 'habtest/good'\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	specs, problems, err := d.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 1 || specs["good"].Ident != "habtest/good" {
		t.Errorf("specs = %v", specs)
	}
	if len(problems) != 2 || !strings.Contains(problems[0].Err.Error(), "bad.spec") || !strings.Contains(problems[1].Err.Error(), "does not name service other") {
		t.Errorf("problems = %v", problems)
	}
}

func TestParseBind(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{in: "backend:service.default", want: "backend:service.default"},
		{in: "db:redis.prod@acme", want: "db:redis.prod@acme"},
		{in: "client:backend:service.default", want: "client:backend:service.default"},
		{in: "backend", err: "expected NAME:SERVICE.GROUP"},
		{in: "backend:service", err: "invalid service group"},
		{in: "a:b:c:d.e", err: "expected NAME:SERVICE.GROUP"},
		{in: "bad name:service.default", err: "bad bind name"},
		{in: ":service.default", err: "bad bind name"},
	} {
		b, err := ParseBind(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), tt.in) {
				t.Errorf("ParseBind(%q) = %v, want error with %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || b.String() != tt.want {
			t.Errorf("ParseBind(%q) = %v, %v", tt.in, b, err)
		}
	}
}

// TestWriteRefusesAndLeavesNothing: a spec that does not validate, or a
// specs directory that cannot be made, is an error naming the spec, and no
// file (spec or temporary) is left behind.
func TestWriteRefusesAndLeavesNothing(t *testing.T) {
	bad := New("habtest/service")
	bad.Topology = "ring"
	for _, tt := range []struct {
		name string
		dir  func(t *testing.T) string
		spec Spec
		want string
	}{
		{"invalid spec", func(t *testing.T) string { return t.TempDir() }, bad, `write spec of habtest/service: topology: "ring"`},
		{"no ident", func(t *testing.T) string { return t.TempDir() }, Spec{}, "write spec of : ident"},
		{"specs directory is a file", func(t *testing.T) string {
			f := filepath.Join(t.TempDir(), "specs")
			if err := os.WriteFile(f, []byte("not a directory"), 0o644); err != nil {
				t.Fatal(err)
			}
			return f
		}, New("habtest/service"), "write spec of habtest/service"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			err := Dir(dir).Write(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write = %v, want an error containing %q", err, tt.want)
			}
			if fi, _ := os.Stat(dir); fi != nil && fi.IsDir() {
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("left behind in %s: %v", dir, entries)
				}
			}
		})
	}
}

// TestRemove: a spec is removed; removing a missing one is not an error;
// one that cannot be removed is an error naming the service.
func TestRemove(t *testing.T) {
	dir := t.TempDir()
	d := Dir(dir)
	if err := d.Write(New("habtest/service")); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("service"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Path("service")); !os.IsNotExist(err) {
		t.Errorf("spec still there after Remove: %v", err)
	}
	if err := d.Remove("service"); err != nil {
		t.Errorf("Remove of a missing spec = %v, want nil", err)
	}
	// A non-empty directory in the spec's place cannot be removed.
	if err := os.MkdirAll(filepath.Join(d.Path("stuck"), "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("stuck"); err == nil || !strings.Contains(err.Error(), "remove spec of stuck") {
		t.Errorf("Remove of an unremovable spec = %v, want an error naming it", err)
	}
}
