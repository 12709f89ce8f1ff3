package templating

import (
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"
)

// cfgFromTOML is data {"cfg": <doc>} read the way default.toml is read.
func cfgFromTOML(t *testing.T, doc string) *Object {
	t.Helper()
	cfg, err := ParseTOML("test.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	data := NewObject()
	data.Set("cfg", cfg)
	return data
}

func renderWith(t *testing.T, src string, data any) string {
	t.Helper()
	r := New(WithPkgsPath("/fsroot/hab/pkgs"))
	if err := r.AddTemplate("t", src); err != nil {
		t.Fatal(err)
	}
	out, err := r.Render("t", data)
	if err != nil {
		t.Fatalf("render %q: %v", src, err)
	}
	return out
}

const webTOML = `
title = "web"
ratio = 0.5
enabled = true
ports = [80, 443]

[web]
port = 80
"weird key" = "x"

[web.tls]
cert = "/etc/cert.pem"

[[servers]]
host = "host-1"
port = 4545

[[servers]]
host = "host-2"
port = 3434

[empty]
`

func TestToToml(t *testing.T) {
	data := cfgFromTOML(t, webTOML)
	cases := []struct{ name, src, want string }{
		{"nested tables, arrays of tables, values first", "{{toToml cfg}}", `title = "web"
ratio = 0.5
enabled = true
ports = [80, 443]

[web]
port = 80
"weird key" = "x"

[web.tls]
cert = "/etc/cert.pem"

[[servers]]
host = "host-1"
port = 4545

[[servers]]
host = "host-2"
port = 3434

[empty]
`},
		{"sub-table", "{{toToml cfg.web}}", "port = 80\n\"weird key\" = \"x\"\n\n[tls]\ncert = \"/etc/cert.pem\"\n"},
		{"string value", "name = {{toToml cfg.title}}", `name = "web"`},
		{"array value", "ports = {{toToml cfg.ports}}", "ports = [80, 443]"},
		{"array of tables as a value", "s = {{toToml cfg.servers}}", `s = [{ host = "host-1", port = 4545 }, { host = "host-2", port = 3434 }]`},
		{"float", "{{toToml cfg.ratio}}", "0.5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := renderWith(t, c.src, data)
			if got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
	// What toToml prints reads back as the same data.
	doc := renderWith(t, "{{toToml cfg}}", data)
	back, err := ParseTOML("roundtrip", []byte(doc))
	if err != nil {
		t.Fatalf("toToml output is not TOML: %v\n%s", err, doc)
	}
	want, _ := data.Get("cfg")
	if !jsonEqual(back, want) {
		t.Errorf("round trip differs:\n%s", doc)
	}

	// Strings that need escaping, and values TOML cannot hold.
	special := mustJSON(t, `{"s":"quote \" back \\ tab \t nl \n ctl \u0001","n":null,"t":{"a":null,"b":1}}`)
	if got, want := renderWith(t, "{{toToml s}}", special), `"quote \" back \\ tab \t nl \n ctl \u0001"`; got != want {
		t.Errorf("escaped string: got %s, want %s", got, want)
	}
	if got, want := renderWith(t, "{{toToml t}}", special), "b = 1\n"; got != want {
		t.Errorf("null members are left out: got %q, want %q", got, want)
	}
	var parsed map[string]any
	if err := toml.Unmarshal([]byte("s = "+renderWith(t, "{{toToml s}}", special)), &parsed); err != nil || parsed["s"] != "quote \" back \\ tab \t nl \n ctl \x01" {
		t.Errorf("escaped string does not read back: %v %q", err, parsed["s"])
	}
	r := New()
	_ = r.AddTemplate("t", "{{toToml n}}")
	if _, err := r.Render("t", special); err == nil || !strings.Contains(err.Error(), "can't serialize parameter to TOML") {
		t.Errorf("toToml of null: got %v", err)
	}
}

func TestToYaml(t *testing.T) {
	data := cfgFromTOML(t, webTOML)
	got := renderWith(t, "{{toYaml cfg}}", data)
	want := `title: web
ratio: 0.5
enabled: true
ports:
- 80
- 443
web:
  port: 80
  weird key: x
  tls:
    cert: /etc/cert.pem
servers:
- host: host-1
  port: 4545
- host: host-2
  port: 3434
empty: {}
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := renderWith(t, "{{toYaml cfg.web.tls}}", data); got != "cert: /etc/cert.pem\n" {
		t.Errorf("sub-table: got %q", got)
	}

	// Strings YAML would read as something else are quoted; several lines
	// become a literal block; everything reads back as the same data.
	tricky := mustJSON(t, `{"a":{"yes":"yes","num":"1.5","empty":"","colon":"a: b","hash":"x #y","dash":"- x","lines":"one\ntwo\n","nolf":"one\ntwo","quote":"it's","nul":null,"list":[[1,2],{"k":"v"}],"ctl":"bell\u0007"}}`)
	got = renderWith(t, "{{toYaml a}}", tricky)
	want = `'yes': 'yes'
num: '1.5'
empty: ''
colon: 'a: b'
hash: 'x #y'
dash: '- x'
lines: |
  one
  two
nolf: |-
  one
  two
quote: it's
nul: null
list:
- - 1
  - 2
- k: v
ctl: "bell\x07"
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var back any
	if err := yaml.Unmarshal([]byte(got), &back); err != nil {
		t.Fatalf("toYaml output is not YAML: %v", err)
	}
	m := back.(map[string]any)
	for k, v := range map[string]any{"yes": "yes", "num": "1.5", "empty": "", "colon": "a: b", "hash": "x #y", "dash": "- x", "lines": "one\ntwo\n", "nolf": "one\ntwo", "quote": "it's", "ctl": "bell\a"} {
		if m[k] != v {
			t.Errorf("YAML key %s reads back as %#v, want %#v", k, m[k], v)
		}
	}
	if got := renderWith(t, "{{toYaml s}}", mustJSON(t, `{"s":"plain"}`)); got != "plain\n" {
		t.Errorf("scalar document: got %q", got)
	}
}

func TestToJson(t *testing.T) {
	data := cfgFromTOML(t, webTOML)
	got := renderWith(t, "{{toJson cfg.web}}", data)
	want := `{
  "port": 80,
  "weird key": "x",
  "tls": {
    "cert": "/etc/cert.pem"
  }
}`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	got = renderWith(t, "{{toJson cfg.servers}}", data)
	want = `[
  {
    "host": "host-1",
    "port": 4545
  },
  {
    "host": "host-2",
    "port": 3434
  }
]`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	special := mustJSON(t, `{"s":"<&> \"q\" \\ é \u0001 \u2028","e":{},"a":[],"f":1.0,"n":null}`)
	cases := map[string]string{
		"{{toJson s}}":       `"<&> \"q\" \\ é \u0001 ` + "\u2028" + `"`,
		"{{toJson e}}":       "{}",
		"{{toJson a}}":       "[]",
		"{{toJson f}}":       "1.0",
		"{{toJson n}}":       "null",
		"{{toJson missing}}": "null",
	}
	for src, want := range cases {
		if got := renderWith(t, src, special); got != want {
			t.Errorf("%s: got %s, want %s", src, got, want)
		}
	}
}

func TestStringHelpers(t *testing.T) {
	data := mustJSON(t, `{"v":"this is old","path":"C:\\dir\\file","re":"a.b*c","list":["foo","bar",3,true,null,{"o":1},["x"]],"mixed":"MiXeD ß Straße ΣΑΣ"}`)
	cases := []struct{ name, src, want string }{
		{"strReplace", `{{strReplace v "old" "new"}}`, "this is new"},
		{"strReplace every match", `{{strReplace "aaa" "a" "b"}}`, "bbb"},
		{"strReplace backslashes", `{{strReplace path "\\" "/"}}`, "C:/dir/file"},
		{"strReplace is not a regexp", `{{strReplace re "." "$1"}}`, "a$1b*c"},
		{"strReplace with nothing", `{{strReplace "abc" "b" ""}}`, "ac"},
		{"strReplace empty pattern", `{{strReplace "ab" "" "-"}}`, "-a-b-"},
		{"strReplace quotes and braces", `{{strReplace "say {hi}" "{hi}" "\"hello\" }}"}}`, `say "hello" }}`},
		{"toUppercase", `{{toUppercase mixed}}`, "MIXED SS STRASSE ΣΑΣ"},
		{"toLowercase", `{{toLowercase mixed}}`, "mixed ß straße σας"},
		{"strJoin", `{{strJoin list ","}}`, "foo,bar,3,true,null,[x]"},
		{"strJoin separator", `{{strJoin list " - "}}`, "foo - bar - 3 - true - null - [x]"},
		{"strConcat", `{{strConcat "foo" "bar" "baz"}}`, "foobarbaz"},
		{"strConcat skips objects", `{{strConcat "a" list.[5] list.[6] 1.5}}`, "a[x]1.5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := renderWith(t, c.src, data); got != c.want {
				t.Errorf("%s: got %q, want %q", c.src, got, c.want)
			}
		})
	}
	for src, want := range map[string]string{
		`{{strReplace v 1 "x"}}`:  "parameter 1 must be a string, it is a number",
		`{{strReplace v "a"}}`:    "parameter 2 is missing",
		`{{toLowercase nope}}`:    "(nope) must be a string, it is missing",
		`{{strJoin v ","}}`:       "parameter 0 must be an array, it is a string",
		`{{strJoin list 0}}`:      "parameter 1 must be a string",
		`{{pkgPathFor "bad id"}}`: "pkgPathFor",
		`{{pkgPathFor 42}}`:       "invalid package identifier",
	} {
		r := New()
		if err := r.AddTemplate("t", src); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Render("t", data); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", src, err, want)
		}
	}
}

func TestPkgPathFor(t *testing.T) {
	data := mustJSON(t, `{"pkg":{"deps":[
		{"origin":"core","name":"acl","version":"2.2.52","release":"20161208223311"},
		{"origin":"core","name":"jdk8","version":"8.332.08","release":"20220510150303"},
		{"origin":"core","name":"jdk8","version":"8.345.01","release":"20221010150303"}]}}`)
	cases := []struct{ src, want string }{
		{`{{pkgPathFor "core/acl"}}`, "/fsroot/hab/pkgs/core/acl/2.2.52/20161208223311"},
		{`{{pkgPathFor "core/jdk8"}}`, "/fsroot/hab/pkgs/core/jdk8/8.332.08/20220510150303"},
		{`{{pkgPathFor "core/jdk8/8.345.01"}}`, "/fsroot/hab/pkgs/core/jdk8/8.345.01/20221010150303"},
		{`{{pkgPathFor "core/jdk8/8.345.01/20221010150303"}}/bin`, "/fsroot/hab/pkgs/core/jdk8/8.345.01/20221010150303/bin"},
		{`[{{pkgPathFor "core/jdk8/9"}}]`, "[]"},
		{`[{{pkgPathFor "core/nginx"}}]`, "[]"},
		{`[{{pkgPathFor "other/acl"}}]`, "[]"},
	}
	for _, c := range cases {
		if got := renderWith(t, c.src, data); got != c.want {
			t.Errorf("%s: got %q, want %q", c.src, got, c.want)
		}
	}
	// Without pkg.deps (hab plan render without mock data) it is empty.
	if got := renderWith(t, `[{{pkgPathFor "core/acl"}}]`, mustJSON(t, `{"cfg":{}}`)); got != "[]" {
		t.Errorf("without deps: got %q", got)
	}
	// The default store is /hab/pkgs.
	r := New()
	_ = r.AddTemplate("t", `{{pkgPathFor "core/acl"}}`)
	if got, err := r.Render("t", data); err != nil || got != "/hab/pkgs/core/acl/2.2.52/20161208223311" {
		t.Errorf("default store: got %q, %v", got, err)
	}
}

func TestEachAlive(t *testing.T) {
	data := mustJSON(t, `{"m":[
		{"id":"a","alive":false},
		{"id":"b","alive":true},
		{"id":"c"},
		{"id":"d","alive":true},
		{"id":"e","alive":false}],
		"none":[{"id":"x","alive":false}],
		"one":{"alive":true,"id":"solo"},
		"dead":{"alive":false,"id":"gone"}}`)
	cases := []struct{ name, src, want string }{
		{"alive members only", `{{#eachAlive m}}{{id}} {{/eachAlive}}`, "b d "},
		{"first, last and index from 1", `{{#eachAlive m as |x|}}{{x.id}}:{{@index}}:{{@first}}:{{@last}} {{/eachAlive}}`, "b:1:true:false d:2:false:true "},
		{"index block parameter", `{{#eachAlive m as |x i|}}{{i}}{{x.id}}{{/eachAlive}}`, "1b2d"},
		{"parent context", `{{#eachAlive m}}{{../one.id}}{{/eachAlive}}`, "solosolo"},
		{"none alive renders nothing", `[{{#eachAlive none}}x{{else}}y{{/eachAlive}}]`, "[]"},
		{"missing list renders the else", `[{{#eachAlive nope}}x{{else}}no members{{/eachAlive}}]`, "[no members]"},
		{"a single alive member", `{{#eachAlive one}}{{@key}}={{this}};{{/eachAlive}}`, "alive=true;id=solo;"},
		{"a single dead member", `[{{#eachAlive dead}}{{@key}}{{/eachAlive}}]`, "[]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := renderWith(t, c.src, data); got != c.want {
				t.Errorf("%s: got %q, want %q", c.src, got, c.want)
			}
		})
	}
}

func TestHelpersRegistered(t *testing.T) {
	want := []string{"and", "each", "eachAlive", "eq", "gt", "gte", "if", "len", "log", "lookup", "lt", "lte", "ne", "not", "or",
		"pkgPathFor", "raw", "strConcat", "strJoin", "strReplace", "toJson", "toLowercase", "toToml", "toUppercase", "toYaml", "unless", "with"}
	if got := New().Helpers(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("helpers:\n got %v\nwant %v", got, want)
	}
}
