package templating

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTOMLKeepsOrder(t *testing.T) {
	doc := `
zeta = 1
alpha = "a"
dotted.inner = true
inline = { y = 2, x = 1 }

[tables.second]
k = 1

[tables]
first = 0

[[servers]]
name = "b"
port = 2

[[servers]]
port = 3
name = "c"

[servers.meta]
z = 1
a = 2

[when]
date = 1979-05-27
dt = 1979-05-27T07:32:00Z
local = 1979-05-27 07:32:00
time = 07:32:00
`
	cfg, err := ParseTOML("default.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := jsonCompact(cfg)
	want := `{"zeta":1,"alpha":"a","dotted":{"inner":true},"inline":{"y":2,"x":1},"tables":{"second":{"k":1},"first":0},` +
		`"servers":[{"name":"b","port":2},{"port":3,"name":"c","meta":{"z":1,"a":2}}],` +
		`"when":{"date":"1979-05-27","dt":"1979-05-27T07:32:00Z","local":"1979-05-27T07:32:00","time":"07:32:00"}}`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// {{#each}} walks a table in that order.
	if out := renderWith(t, "{{#each cfg}}{{@key}} {{/each}}", map[string]any{"cfg": cfg}); out != "zeta alpha dotted inline tables servers when " {
		t.Errorf("each over cfg: %q", out)
	}
}

func TestParseTOMLErrors(t *testing.T) {
	cases := []struct {
		name, doc string
		line      int
	}{
		{"bad value", "a = 1\nb = \n", 2},
		{"unclosed table", "a = 1\n\n[table\nx = 1\n", 3},
		{"duplicate key", "a = 1\nb = 2\na = 3\n", 3},
		{"bad string", "a = \"x\nb = 1\n", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseTOML("plan/default.toml", []byte(c.doc))
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want a *templating.Error", err)
			}
			if te.Template != "plan/default.toml" || te.Line != c.line || !strings.HasPrefix(err.Error(), "plan/default.toml:") {
				t.Errorf("error %q at line %d, want plan/default.toml line %d", err, te.Line, c.line)
			}
		})
	}
	if _, err := LoadTOML(filepath.Join(t.TempDir(), "nope.toml")); err == nil || !strings.Contains(err.Error(), "nope.toml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestMerge(t *testing.T) {
	def, _ := ParseTOML("d", []byte("a = 1\nlist = [1, 2]\n[t]\nx = 1\ny = 2\n[t.deep]\nk = \"v\"\n[s]\nq = 1\n"))
	user, _ := ParseTOML("u", []byte("b = 2\nlist = [3]\ns = \"scalar replaces table\"\n[t]\ny = 20\n[t.deep]\nk2 = \"v2\"\n"))
	Merge(def, user)
	want := `{"a":1,"list":[3],"t":{"x":1,"y":20,"deep":{"k":"v","k2":"v2"}},"s":"scalar replaces table","b":2}`
	if got := jsonCompact(def); got != want {
		t.Errorf("merged\n%s\nwant\n%s", got, want)
	}
	// The merged result does not share tables with the layer merged in.
	d2, _ := def.Path("t.deep")
	u2, _ := user.Path("t.deep")
	u2.(*Object).Set("k2", "changed")
	if v, _ := d2.(*Object).Get("k2"); v != "v2" {
		t.Errorf("merge shares values with its source")
	}
}

func TestConfigLayers(t *testing.T) {
	// Each key is set in two adjacent layers (and the ones below); the
	// upper one wins: default < user < gossip < environment.
	def, _ := ParseTOML("d", []byte("only = \"default\"\na = \"default\"\nb = \"default\"\nc = \"default\"\n[log]\nlevel = \"info\"\nfile = \"/var/log\"\n"))
	env, err := EnvConfig("my-app", func(k string) string {
		if k == "HAB_MY_APP" {
			return "c = \"env\"\n[log]\nlevel = \"debug\"\n"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	user, _ := ParseTOML("u", []byte("a = \"user\"\nb = \"user\"\nc = \"user\"\n"))
	gossip := mustJSON(t, `{"b":"gossip","c":"gossip"}`).(*Object)
	merged, err := Config{Default: def, Environment: env, User: user, Gossip: gossip}.Merged()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jsonCompact(merged), `{"only":"default","a":"user","b":"gossip","c":"env","log":{"level":"debug","file":"/var/log"}}`; got != want {
		t.Errorf("merged %s, want %s", got, want)
	}

	// The variable may hold JSON; anything else is an error naming it.
	j, err := EnvConfig("redis", func(string) string { return `{"port": 6380}` })
	if err != nil || jsonCompact(j) != `{"port":6380}` {
		t.Errorf("JSON env config: %v %v", j, err)
	}
	if _, err := EnvConfig("redis", func(string) string { return "{nope" }); err == nil || !strings.Contains(err.Error(), "HAB_REDIS") {
		t.Errorf("bad env config: %v", err)
	}
	if _, err := EnvConfig("redis", func(string) string { return `[1, 2]` }); err == nil || !strings.Contains(err.Error(), "HAB_REDIS") {
		t.Errorf("array env config: %v", err)
	}
	if v, err := EnvConfig("redis", func(string) string { return "" }); v != nil || err != nil {
		t.Errorf("unset env config: %v %v", v, err)
	}

	// Tables nested deeper than the original's limit of 30 are refused.
	deep := strings.Repeat("[", 1) + strings.Repeat("a.", 32) + "b]\nx = 1\n"
	d1, err := ParseTOML("deep", []byte(deep))
	if err != nil {
		t.Fatal(err)
	}
	d2 := d1.Clone()
	if _, err := (Config{Default: d1, User: d2}).Merged(); err == nil || !strings.Contains(err.Error(), "deeper than 30") {
		t.Errorf("deep merge: %v", err)
	}
}

func TestDecodeJSON(t *testing.T) {
	v, err := DecodeJSON([]byte(`{"b":1,"a":[1.5,-2,18446744073709551615,"s",null,true,{"z":0,"y":1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonCompact(v); got != `{"b":1,"a":[1.5,-2,18446744073709551615,"s",null,true,{"z":0,"y":1}]}` {
		t.Errorf("round trip %s", got)
	}
	for doc, line := range map[string]int{
		"{\n  \"a\": 1,\n  \"b\": \n}\n": 4,
		"{\"a\": 1}\n{\"b\": 2}":         2,
		"{\n\"a\": [1, 2\n":              3,
	} {
		_, err := DecodeJSON([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), "line "+itoa(line)+",") {
			t.Errorf("%q: got %v, want an error at line %d", doc, err, line)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "mock.json")
	if err := os.WriteFile(p, []byte("[1, 2]"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadJSONObject(p); err == nil || !strings.Contains(err.Error(), "expected a JSON object") || !strings.Contains(err.Error(), p) {
		t.Errorf("array mock: %v", err)
	}
}

func TestFormatFloat(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", 1: "1.0", -1.5: "-1.5", 0.1: "0.1", 1e15: "1000000000000000.0", 1e16: "1e16", 1.5e16: "1.5e16",
		123456789.125: "123456789.125", 0.0001: "0.0001", 0.00001: "0.00001", 0.000001: "1e-6", 1.25e-7: "1.25e-7", 1e21: "1e21",
	} {
		if got := formatFloatJSON(f); got != want {
			t.Errorf("formatFloatJSON(%v) = %s, want %s", f, got, want)
		}
	}
	for f, want := range map[float64]string{1: "1.0", 0.5: "0.5", 1e21: "1000000000000000000000.0", 1e-7: "0.0000001"} {
		if got := tomlFloat(f); got != want {
			t.Errorf("tomlFloat(%v) = %s, want %s", f, got, want)
		}
	}
}
