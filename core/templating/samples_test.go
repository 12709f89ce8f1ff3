package templating

import (
	"encoding/json"
	"github.com/habgo/hab/internal/conformance"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func conformanceData(t *testing.T, elem ...string) string {
	t.Helper()
	return conformance.Path(t, elem...)
}

// censusData is the sample render context with a census merged over it:
// svc and bind from testdata/mock_context.json, where svc.members are
// a4e4… (alive), b3f2… (departed) and c5d6… (alive).
func censusData(t *testing.T, sample string) *Object {
	t.Helper()
	data, err := LoadJSONObject(sample)
	if err != nil {
		t.Fatal(err)
	}
	mock, err := LoadJSONObject(filepath.Join("testdata", "mock_context.json"))
	if err != nil {
		t.Fatal(err)
	}
	census := NewObject()
	for _, k := range []string{"svc", "bind"} {
		v, _ := mock.Get(k)
		census.Set(k, v)
	}
	Merge(data, census)
	return data
}

// The original's fixture templates: eachAlive must render what each + if
// alive renders, and @first/@last/@index follow the alive members.
func TestSampleTemplates(t *testing.T) {
	dir := conformanceData(t, "habitat", "templates")
	sample := filepath.Join(dir, "sample_render_context.json")
	r := New()
	if _, err := r.AddDir(dir); err != nil {
		t.Fatal(err)
	}
	const (
		a = "a4e47d4aece849cd948afbd9bda3a22a"
		b = "b3f2c7e0d1a94c5e8f6a7b8c9d0e1f20"
		c = "c5d6e7f8a9b04c1d2e3f405162738495"
	)
	alive := "Member ID: " + a + "Member ID: " + c
	all := "Member ID: " + a + "Member ID: " + b + "Member ID: " + c
	idx := " Member ID: " + a + " true false Member ID: " + c + " false true"

	plain, err := LoadJSONObject(sample)
	if err != nil {
		t.Fatal(err)
	}
	withCensus := censusData(t, sample)
	// The same members with the first and the last one dead: each's
	// @first/@last count every member, eachAlive's only the alive ones.
	deadEnds := censusData(t, sample)
	members := mustJSON(t, `[{"member_id":"m0","alive":false},{"member_id":"m1","alive":true},{"member_id":"m2","alive":true},{"member_id":"m3","alive":false}]`)
	svc, _ := deadEnds.Get("svc")
	svc.(*Object).Set("members", members)

	cases := []struct {
		template string
		data     *Object
		want     string
	}{
		// sample_render_context.json has no svc: nothing to iterate over.
		{"all_members.txt", plain, ""},
		{"each_alive.txt", plain, ""},
		{"all_members_idx.txt", plain, ""},
		{"each_alive_idx.txt", plain, ""},
		{"each_alive_with_identifier.txt", plain, ""},

		{"all_members.txt", withCensus, alive + all},
		{"each_alive.txt", withCensus, alive + all},
		{"each_alive_with_identifier.txt", withCensus, alive + all},
		{"all_members_idx.txt", withCensus, idx},
		{"each_alive_idx.txt", withCensus, idx},

		{"all_members.txt", deadEnds, "Member ID: m1Member ID: m2Member ID: m0Member ID: m1Member ID: m2Member ID: m3"},
		{"each_alive.txt", deadEnds, "Member ID: m1Member ID: m2Member ID: m0Member ID: m1Member ID: m2Member ID: m3"},
		{"all_members_idx.txt", deadEnds, " Member ID: m1 false false Member ID: m2 false false"},
		{"each_alive_idx.txt", deadEnds, " Member ID: m1 true false Member ID: m2 false true"},
	}
	for _, tc := range cases {
		got, err := r.Render(tc.template, tc.data)
		if err != nil {
			t.Errorf("%s: %v", tc.template, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.template, got, tc.want)
		}
	}

	// Every field of the sample context is reachable under its name.
	r2 := New()
	src := "{{pkg.ident}}|{{pkg.svc_config_install_path}}|{{pkg.env.PATH}}|{{pkg.exports.port}}|{{pkg.exposes}}|{{pkg.deps.[3].name}}|{{cfg.stuff.thing}}|{{cfg.test_port}}|{{pkgPathFor \"core/openssl\"}}|{{toUppercase pkg.env.BAZ}}"
	if err := r2.AddTemplate("probe", src); err != nil {
		t.Fatal(err)
	}
	got, err := r2.Render("probe", plain)
	if err != nil {
		t.Fatal(err)
	}
	want := "core/template-probe/0.1.0/20180315155739|/hab/svc/template-probe/config_install|" +
		"/hab/pkgs/core/git/2.14.2/20171016215544/bin:/hab/pkgs/core/xz/5.2.2/20170513214327/bin"
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "|test_port|[2112]|cacerts|foo|2112|/hab/pkgs/core/openssl/1.0.2l/20171014213633|QUUX") {
		t.Errorf("probe rendered %q", got)
	}
}

// The typed RenderContext reads the sample context and gives it back with
// the same fields, and only fields the schema allows, in the original's
// order.
func TestRenderContextMatchesSchema(t *testing.T) {
	dir := conformanceData(t, "habitat", "templates")
	raw, err := os.ReadFile(filepath.Join(dir, "sample_render_context.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rc RenderContext
	if err := json.Unmarshal(raw, &rc); err != nil {
		t.Fatalf("sample context into RenderContext: %v", err)
	}
	got, err := rc.Value()
	if err != nil {
		t.Fatal(err)
	}
	want := mustJSON(t, string(raw))
	if !jsonEqual(got, want) {
		b, _ := got.MarshalJSON()
		t.Errorf("RenderContext round trip differs:\n%s", b)
	}
	pkg, _ := got.Get("pkg")
	wantOrder := "ident,origin,name,version,release,deps,env,exposes,exports,path,svc_path,svc_config_path,svc_config_install_path,svc_data_path,svc_files_path,svc_static_path,svc_var_path,svc_pid_file,svc_run,svc_user,svc_group"
	if o := strings.Join(pkg.(*Object).Keys(), ","); o != wantOrder {
		t.Errorf("pkg keys in order %s, want %s", o, wantOrder)
	}

	var schema map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "render_context_schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	if errs := checkSchema(schema, schema, got, "$"); len(errs) > 0 {
		t.Errorf("the render context breaks the schema:\n%s", strings.Join(errs, "\n"))
	}

	// A full supervisor context: sys, svc and bind come out with the
	// original's names, empty collections as [] and {}.
	org := "acme"
	full := RenderContext{
		Sys: &SystemInfo{Version: "1.6.0", MemberID: "m1", IP: "10.0.0.1", Hostname: "h", GossipPort: 9638},
		Pkg: Package{Ident: "core/redis/4.0.14/20190319155852", Origin: "core", Name: "redis"},
		Svc: &Svc{Service: "redis", Group: "default", Org: &org, Me: SvcMember{MemberID: "m1", Alive: true}},
	}
	fv, err := full.Value()
	if err != nil {
		t.Fatal(err)
	}
	if keys := strings.Join(fv.Keys(), ","); keys != "sys,pkg,cfg,svc,bind" {
		t.Errorf("top-level keys %s", keys)
	}
	r := New()
	_ = r.AddTemplate("t", "{{sys.member_id}} {{sys.gossip_port}} {{svc.service}}.{{svc.group}}@{{svc.org}} {{svc.me.alive}} {{toJson svc.me.cfg}} {{toJson svc.members}} {{toJson bind}} {{toJson pkg.deps}} {{svc.leader}}|{{toJson svc.me.pkg}}")
	out, err := r.Render("t", full)
	if err != nil {
		t.Fatal(err)
	}
	if want := `m1 9638 redis.default@acme true {} [] {} [] |{
  "origin": "",
  "name": "",
  "version": null,
  "release": null
}`; out != want {
		t.Errorf("full context rendered %q, want %q", out, want)
	}
	id, pkgStr := MemberPkg("core", "redis", "4.0.14", "20190319155852")
	if pkgStr != "core/redis/4.0.14/20190319155852" || *id.Version != "4.0.14" || *id.Release != "20190319155852" {
		t.Errorf("MemberPkg: %+v %s", id, pkgStr)
	}
}

// checkSchema checks the parts of JSON Schema the render context schema
// uses: type, properties, required, additionalProperties, items, $ref.
func checkSchema(root, s map[string]any, v any, at string) []string {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/definitions/")
		s = root["definitions"].(map[string]any)[name].(map[string]any)
	}
	var errs []string
	if ty, ok := s["type"].(string); ok {
		okType := map[string]bool{
			"object": isObj(v), "array": isArr(v), "string": isStr(v),
		}[ty]
		if !okType {
			return []string{at + ": not " + ty}
		}
	}
	if obj, ok := v.(*Object); ok {
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := obj.Get(r); !ok {
				errs = append(errs, at+": missing required "+r)
			}
		}
		for _, k := range obj.Keys() {
			sub, known := props[k].(map[string]any)
			if !known {
				if ap, ok := s["additionalProperties"].(bool); ok && !ap {
					errs = append(errs, at+": unexpected property "+k)
				} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
					x, _ := obj.Get(k)
					errs = append(errs, checkSchema(root, ap, x, at+"."+k)...)
				}
				continue
			}
			x, _ := obj.Get(k)
			errs = append(errs, checkSchema(root, sub, x, at+"."+k)...)
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range arr {
				errs = append(errs, checkSchema(root, items, x, at+"["+itoa(i)+"]")...)
			}
		}
	}
	return errs
}

func isObj(v any) bool  { _, ok := v.(*Object); return ok }
func isArr(v any) bool  { _, ok := v.([]any); return ok }
func isStr(v any) bool  { _, ok := v.(string); return ok }
func itoa(i int) string { return renderValue(int64(i)) }

func asStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			out = append(out, x.(string))
		}
	}
	return out
}

// needsCensus are the core-plans templates whose output depends on svc or
// bind members: they render differently with the census of
// testdata/mock_context.json than with sys and pkg alone.
var needsCensus = []string{
	"consul/config/basic_config.json",
	"drupal/hooks/init",
	"elasticsearch/config/elasticsearch.yml",
	"elasticsearch/hooks/health-check",
	"grafana/config/datasource-loki.yaml",
	"grafana/config/datasource-prometheus.yaml",
	"grafana/config/grafana.ini",
	"grafana/hooks/post-run",
	"haproxy/config/haproxy.conf",
	"kafka/config/server.properties",
	"mysql/config/init.sql",
	"postgresql/config/functions.sh",
	"postgresql/config/pg_hba.conf",
	"postgresql/config/recovery.conf",
	"prometheus/config/prometheus.yml",
	"wordpress/config/wp-config.php",
	"wordpress/hooks/init",
}

// Every config template and hook of the core-plans sample compiles and
// renders with its plan's default.toml, alone and with a mock context.
func TestCorePlansTemplates(t *testing.T) {
	base := conformanceData(t, "core-plans-sample")
	mockFull := filepath.Join("testdata", "mock_context.json")
	full, err := LoadJSONObject(mockFull)
	if err != nil {
		t.Fatal(err)
	}
	noCensus := full.Clone()
	noCensus.Delete("svc")
	noCensus.Delete("bind")
	b, _ := noCensus.MarshalJSON()
	mockNoCensus := filepath.Join(t.TempDir(), "no_census.json")
	if err := os.WriteFile(mockNoCensus, b, 0o644); err != nil {
		t.Fatal(err)
	}

	var files []string
	plans, _ := filepath.Glob(filepath.Join(base, "*"))
	for _, plan := range plans {
		for _, sub := range []string{"config", "hooks"} {
			root := filepath.Join(plan, sub)
			if st, err := os.Stat(root); err != nil || !st.IsDir() {
				continue // busybox-static's "config" is a build file
			}
			_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					files = append(files, p)
				}
				return nil
			})
		}
	}
	if len(files) < 90 {
		t.Fatalf("found only %d templates under %s", len(files), base)
	}
	// A plan without default.toml gives its templates an empty cfg, as the
	// supervisor does.
	emptyTOML := filepath.Join(t.TempDir(), "default.toml")
	if err := os.WriteFile(emptyTOML, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var failed, differ []string
	for _, f := range files {
		rel, _ := filepath.Rel(base, f)
		plan := filepath.Join(base, strings.SplitN(rel, string(filepath.Separator), 2)[0])
		defaultTOML := filepath.Join(plan, "default.toml")
		if _, err := os.Stat(defaultTOML); err != nil {
			defaultTOML = emptyTOML
		}
		if _, err := Compile(rel, mustRead(t, f)); err != nil {
			failed = append(failed, rel+": compile: "+err.Error())
			continue
		}
		outs := map[string]string{}
		for name, mock := range map[string]string{"none": "", "sys+pkg": mockNoCensus, "full": mockFull} {
			out, err := PlanRender{TemplatePath: f, DefaultTOML: defaultTOML, MockData: mock}.Render()
			if err != nil {
				failed = append(failed, rel+": render with mock "+name+": "+err.Error())
			}
			outs[name] = out
		}
		if outs["sys+pkg"] != outs["full"] {
			differ = append(differ, filepath.ToSlash(rel))
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d of %d templates fail:\n%s", len(failed), len(files), strings.Join(failed, "\n"))
	}
	sort.Strings(differ)
	if strings.Join(differ, "\n") != strings.Join(needsCensus, "\n") {
		t.Errorf("templates that depend on svc/bind:\n%s\nrecorded:\n%s", strings.Join(differ, "\n"), strings.Join(needsCensus, "\n"))
	}
	t.Logf("%d templates compile and render; %d need svc/bind members", len(files), len(differ))
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Exact lines of real templates rendered with the mock census, worked out
// by hand from the templates and the original's white-space rules.
func TestCorePlansRenderedLines(t *testing.T) {
	base := conformanceData(t, "core-plans-sample")
	cases := []struct {
		file  string
		lines []string
	}{
		{"haproxy/config/haproxy.conf", []string{
			"    maxconn 32",
			"    bind *:80",
			// "~" pulls the eachAlive lines onto the httpchk line; the
			// suspect member 10.0.1.22 is left out.
			"    option httpchk GET /    server 10.0.1.21 10.0.1.21:8080    server 10.0.1.23 10.0.1.23:8081",
		}},
		{"kafka/config/server.properties", []string{"zookeeper.connect=10.0.6.71:218110.0.6.72:2181"}},
		{"elasticsearch/config/elasticsearch.yml", []string{`discovery.zen.ping.unicast.hosts: ["10.0.3.41", "10.0.3.42", ]`}},
		{"prometheus/config/prometheus.yml", []string{"- job_name:  'from_hab_ring'", "- targets: ['10.0.5.61:9100']", "- targets: ['10.0.5.62:9100']"}},
		{"wordpress/config/wp-config.php", []string{"define('DB_PASSWORD', 's3cr&t<pw>');", "define('DB_HOST', '10.0.2.31');"}},
		{"grafana/config/datasource-loki.yaml", []string{"    access: proxy    url: http://10.0.4.51:3100    jsonData:"}},
	}
	for _, c := range cases {
		plan := strings.SplitN(c.file, "/", 2)[0]
		out, err := PlanRender{
			TemplatePath: filepath.Join(base, c.file),
			DefaultTOML:  filepath.Join(base, plan, "default.toml"),
			MockData:     filepath.Join("testdata", "mock_context.json"),
		}.Render()
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		have := map[string]bool{}
		for _, l := range strings.Split(out, "\n") {
			have[l] = true
		}
		for _, l := range c.lines {
			if !have[l] {
				t.Errorf("%s: no line %q in:\n%s", c.file, l, out)
			}
		}
	}
}

// The schema check itself catches a field the schema does not allow and a
// missing required one.
func TestCheckSchemaCatchesMistakes(t *testing.T) {
	dir := conformanceData(t, "habitat", "templates")
	var schema map[string]any
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(dir, "render_context_schema.json"))), &schema); err != nil {
		t.Fatal(err)
	}
	bad := mustJSON(t, `{"pkg":{"ident":"a/b/1/2","bogus":1},"cfg":{},"extra":true}`)
	errs := strings.Join(checkSchema(schema, schema, bad, "$"), "\n")
	for _, want := range []string{"$: unexpected property extra", "$.pkg: unexpected property bogus", "$.pkg: missing required deps"} {
		if !strings.Contains(errs, want) {
			t.Errorf("schema check missed %q:\n%s", want, errs)
		}
	}
}

// BenchmarkCorePlans compiles and renders every core-plans template with
// the mock census, as the supervisor would on a configuration change.
func BenchmarkCorePlans(b *testing.B) {
	base := filepath.Join("..", "..", "..", "shared", "conformance", "core-plans-sample")
	files, _ := filepath.Glob(filepath.Join(base, "*", "config", "*"))
	hooks, _ := filepath.Glob(filepath.Join(base, "*", "hooks", "*"))
	files = append(files, hooks...)
	if len(files) == 0 {
		b.Skip("conformance data absent")
	}
	type tpl struct{ name, src string }
	var tpls []tpl
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			tpls = append(tpls, tpl{f, string(data)})
		}
	}
	mock, err := LoadJSONObject(filepath.Join("testdata", "mock_context.json"))
	if err != nil {
		b.Fatal(err)
	}
	mock.Set("cfg", NewObject())
	b.ResetTimer()
	for b.Loop() {
		r := New()
		for _, t := range tpls {
			if err := r.AddTemplate(t.name, t.src); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := r.RenderAll(mock); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(tpls)), "templates/op")
}
