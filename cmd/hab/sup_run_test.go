package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/habgo/hab/core/cliconfig"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/sup/ctltls"
)

// TestSupRunLogging runs real supervisors: -v adds debug lines (one per
// control request), --json-logging writes every log line as a JSON
// object, and without either a control request logs nothing.
func TestSupRunLogging(t *testing.T) {
	e := newSupEnv(t)

	s := e.startSup("-v", "--json-logging")
	s.mustHab("", "svc", "status", "-r", s.ctl)
	s.waitOutput(`"msg":"control gateway: request"`)
	for _, line := range strings.Split(s.output(), "\n") {
		if !strings.Contains(line, "control gateway: request") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if rec["level"] != "DEBUG" || rec["cmd"] == nil || rec["remote"] == nil {
			t.Errorf("debug line: %v", rec)
		}
	}

	e2 := newSupEnv(t)
	plain := e2.startSup()
	plain.mustHab("", "svc", "status", "-r", plain.ctl)
	e2.env["HAB_CTL_SECRET"] = "not-the-secret"
	plain.hab("", "svc", "status", "-r", plain.ctl)
	delete(e2.env, "HAB_CTL_SECRET")
	plain.waitOutput("refused a request with a wrong secret")
	out := plain.output()
	if strings.Contains(out, "control gateway: request") || strings.Contains(out, `"level"`) {
		t.Errorf("without -v or --json-logging:\n%s", out)
	}
	if !strings.Contains(out, "level=WARN") {
		t.Errorf("the warning is not a text line:\n%s", out)
	}
}

// TestSupRunConfigFiles: --generate-config prints the settings as TOML
// and exits; a supervisor reads /hab/sup/default/config/sup.toml, or
// the --config-files given instead (the last file winning), under the
// command line; a bad file is an error naming the file and line.
func TestSupRunConfigFiles(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	env := map[string]string{"FS_ROOT": root}
	getenv := func(k string) string { return env[k] }
	hab := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &out, &errb, getenv)
		return code, out.String(), errb.String()
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// The generated file reads back to the same settings.
	code, out, errs := hab("sup", "run", "--generate-config", "--listen-http", "127.0.0.1:7000", "--peer", "10.0.0.1 10.0.0.2", "--bind", "db:pg.default")
	if code != 0 {
		t.Fatalf("--generate-config: exit %d: %s", code, errs)
	}
	var got map[string]any
	if err := toml.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--generate-config printed no TOML: %v\n%s", err, out)
	}
	for k, want := range map[string]any{"listen_http": "127.0.0.1:7000", "listen_ctl": "127.0.0.1:9632", "service_restart_cooldown_period": int64(300), "verbose": false, "group": "default"} {
		if got[k] != want {
			t.Errorf("--generate-config: %s = %v, want %v\n%s", k, got[k], want, out)
		}
	}
	generated := write("generated.toml", out)
	code, again, errs := hab("sup", "run", "--generate-config", "--config-files", generated)
	if code != 0 || again != out {
		t.Errorf("generated file read back: exit %d %s\n%s\nwant\n%s", code, errs, again, out)
	}

	// The default sup.toml, then --config-files in its place (the last
	// wins), then the command line over both; the environment over files.
	write("root/hab/sup/default/config/sup.toml", "verbose = true\nlisten_http = '127.0.0.1:7001'\ngroup = 'fromdefault'\n")
	first := write("first.toml", "json_logging = true\nservice_update_period = 5\nbind = ['a:b.c', 'd:e.f']\n")
	second := write("second.toml", "# the second file\nservice_update_period = 7\nlisten_ctl = '127.0.0.1:7002'\n")
	for _, tc := range []struct {
		name string
		args []string
		want map[string]any
	}{
		{"default file", nil, map[string]any{"verbose": true, "listen_http": "127.0.0.1:7001", "group": "fromdefault", "service_update_period": int64(60)}},
		{"command line wins", []string{"--group", "cli", "--listen-http", "127.0.0.1:7003"}, map[string]any{"group": "cli", "listen_http": "127.0.0.1:7003"}},
		{"config files, last wins", []string{"--config-files", first + " " + second}, map[string]any{"verbose": false, "json_logging": true, "service_update_period": int64(7), "listen_ctl": "127.0.0.1:7002", "group": "default", "bind": []any{"a:b.c", "d:e.f"}}},
		{"repeated flag", []string{"--config-files", second, "--config-files", first}, map[string]any{"service_update_period": int64(5), "listen_ctl": "127.0.0.1:7002"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := hab(append([]string{"sup", "run", "--generate-config"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var got map[string]any
			if err := toml.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				if fmt.Sprint(got[k]) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v\n%s", k, got[k], want, out)
				}
			}
		})
	}

	env["HAB_LISTEN_CTL"] = "127.0.0.1:7004"
	if code, out, errs := hab("sup", "run", "--generate-config", "--config-files", second); code != 0 || !strings.Contains(out, "listen_ctl = '127.0.0.1:7004'") {
		t.Errorf("HAB_LISTEN_CTL under a file's listen_ctl: exit %d %s\n%s", code, errs, out)
	}
	delete(env, "HAB_LISTEN_CTL")

	for _, tc := range []struct {
		name, content string
		code          int
		want          []string
	}{
		{"syntax", "verbose = true\nlisten_http = \n", 1, []string{"bad.toml", "line 2"}},
		{"unknown key", "verbose = true\n\nno_such_thing = 1\n", 1, []string{"bad.toml", "line 3", `"no_such_thing"`}},
		{"wrong type", "verbose = 'yes'\n", 1, []string{"bad.toml", "line 1", "verbose", "true or false"}},
		{"bad number", "listen_ctl = '1.2.3.4:5'\nservice_update_period = -1\n", 1, []string{"bad.toml", "line 2", "service_update_period"}},
		{"list for one value", "group = ['a', 'b']\n", 1, []string{"bad.toml", "line 1", "group", "list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := write("bad.toml", tc.content)
			code, out, errs := hab("sup", "run", "--generate-config", "--config-files", bad)
			if code != tc.code || out != "" {
				t.Fatalf("exit %d, output %q", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("error lacks %q:\n%s", w, errs)
				}
			}
		})
	}
	if code, _, errs := hab("sup", "run", "--generate-config", "--config-files", filepath.Join(dir, "missing.toml")); code != 2 || !strings.Contains(errs, "missing.toml") {
		t.Errorf("missing file: exit %d: %s", code, errs)
	}
}

// TestSupRunReadsSupTOML: a real supervisor takes its logging settings
// from /hab/sup/default/config/sup.toml, and its listeners from the
// command line over the file's.
func TestSupRunReadsSupTOML(t *testing.T) {
	e := newSupEnv(t)
	p := filepath.Join(e.root, "hab", "sup", "default", "config", "sup.toml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("verbose = true\njson_logging = true\nlisten_http = '127.0.0.1:1'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := e.startSup()
	s.mustHab("", "svc", "status", "-r", s.ctl)
	s.waitOutput(`"msg":"control gateway: request"`)
	if !strings.Contains(s.output(), "Starting http-gateway on "+s.http) {
		t.Errorf("the command line's --listen-http did not win:\n%s", s.output())
	}
}

// TestSupRunCtlTLS runs a real supervisor whose control gateway is TLS
// with client certificates (the bare flags take hab sup secret
// generate-tls's directory), and clients configured by cli.toml: only
// one trusting the server's certificate and presenting a certificate
// the supervisor trusts gets an answer.
func TestSupRunCtlTLS(t *testing.T) {
	e := newSupEnv(t)
	root := paths.FromEnv(func(k string) string { return e.env[k] })
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var errs bytes.Buffer
	if code := run(context.Background(), []string{"sup", "secret", "generate-tls", "--subject-alternative-name", "sup.test"}, strings.NewReader(""), io.Discard, &errs, func(k string) string { return e.env[k] }); code != 0 {
		t.Fatalf("generate-tls: exit %d: %s", code, errs.String())
	}
	clientDir, strangerDir := filepath.Join(e.dir, "client"), filepath.Join(e.dir, "stranger")
	for _, d := range []string{clientDir, strangerDir} {
		if _, err := ctltls.Generate(d, "client.test", now); err != nil {
			t.Fatal(err)
		}
	}
	s := e.startSup("--ctl-server-certificate", "--ctl-server-key", "--ctl-client-ca-certificate="+clientDir)
	stranger, err := ctltls.Latest(strangerDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cliTOML string
		ok            bool
		want          string
	}{
		{"plain client", "", false, "svc.status"},
		{"trusted both ways", fmt.Sprintf("ctl_server_ca_certificate = %q\nctl_server_name_indication = 'sup.test'\nctl_client_certificate = %q\nctl_client_key = %q\n", ctltls.Dir(root), clientDir, clientDir), true, ""},
		{"name from -r", fmt.Sprintf("ctl_server_ca_certificate = %q\nctl_client_key = %q\n", ctltls.Dir(root), clientDir), true, ""},
		{"no client certificate", fmt.Sprintf("ctl_server_ca_certificate = %q\nctl_server_name_indication = 'sup.test'\n", ctltls.Dir(root)), false, "certificate required"},
		{"server not trusted", fmt.Sprintf("ctl_server_ca_certificate = %q\nctl_server_name_indication = 'sup.test'\nctl_client_key = %q\n", strangerDir, clientDir), false, "TLS handshake"},
		{"wrong server name", fmt.Sprintf("ctl_server_ca_certificate = %q\nctl_server_name_indication = 'other.test'\nctl_client_key = %q\n", ctltls.Dir(root), clientDir), false, "other.test"},
		{"client not trusted", fmt.Sprintf("ctl_server_ca_certificate = %q\nctl_server_name_indication = 'sup.test'\nctl_client_certificate = %q\nctl_client_key = %q\n", ctltls.Dir(root), stranger.Certificate, stranger.Key), false, "unknown certificate authority"},
		{"missing CA file", "ctl_server_ca_certificate = '/nonexistent/ca.pem'\n", false, "/nonexistent/ca.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.MkdirAll(filepath.Dir(cliconfig.Path(root)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cliconfig.Path(root), []byte(tc.cliTOML), 0o644); err != nil {
				t.Fatal(err)
			}
			remote := s.ctl
			if tc.name == "name from -r" {
				remote = strings.Replace(s.ctl, "127.0.0.1", "localhost", 1)
			}
			code, out, errs := s.hab("", "svc", "status", "-r", remote)
			if tc.ok != (code == 0) || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d\n%s%s", code, out, errs)
			}
			if tc.ok && !strings.Contains(out, "No services loaded") {
				t.Errorf("status: %s", out)
			}
		})
	}

	// Bad server flags: one without the other, a missing file.
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--ctl-server-certificate"}, 2, "--ctl-server-key"},
		{[]string{"--ctl-client-ca-certificate=" + clientDir}, 2, "--ctl-client-ca-certificate"},
		{[]string{"--ctl-server-certificate=/nonexistent/c.pem", "--ctl-server-key=" + clientDir}, 1, "/nonexistent/c.pem"},
		{[]string{"--ctl-server-certificate=" + strangerDir, "--ctl-server-key=" + clientDir}, 1, "private key does not match"},
	} {
		e2 := newSupEnv(t)
		// The bound only ends a supervisor that wrongly started.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var errs bytes.Buffer
		code := run(ctx, append([]string{"sup", "run", "--listen-ctl", "127.0.0.1:0", "--listen-http", "127.0.0.1:0", "--listen-gossip", "127.0.0.1:0"}, tc.args...), strings.NewReader(""), io.Discard, &errs, func(k string) string { return e2.env[k] })
		cancel()
		if code != tc.code || !strings.Contains(errs.String(), tc.want) {
			t.Errorf("%v: exit %d: %s", tc.args, code, errs.String())
		}
	}
}

// TestSupRunKeepLatestPackages: with HAB_KEEP_LATEST_PACKAGES (the
// flag's variable) a real supervisor starting a service uninstalls all
// but the newest releases of its package, and the service runs the
// newest; a negative count is refused.
func TestSupRunKeepLatestPackages(t *testing.T) {
	e := newSupEnv(t)
	var releases []string
	for range 3 {
		e.build(fixtureDir("service"))
		releases = append(releases, strconv.Itoa(e.release))
	}
	port := freeLoopbackPort(t)
	e.userTOML("service", fmt.Sprintf("port = %d\n", port))
	e.env["HAB_KEEP_LATEST_PACKAGES"] = "2"
	s := e.startSup("habtest/service")
	s.waitOutput("Uninstalled 1 habtest/service packages, keeping the 2 latest")
	supWaitFor(t, "the service to answer on its port", func() bool {
		return httpBody(t, fmt.Sprintf("http://127.0.0.1:%d/", port)) == "hello from the service\n"
	})
	entries, err := os.ReadDir(filepath.Join(e.root, "hab", "pkgs", "habtest", "service", "0.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, en := range entries {
		left = append(left, en.Name())
	}
	if strings.Join(left, " ") != strings.Join(releases[1:], " ") {
		t.Errorf("releases left %v, want %v", left, releases[1:])
	}
	pkg, _ := s.service("service")["pkg"].(map[string]any)
	if want := "habtest/service/0.1.0/" + releases[2]; pkg == nil || pkg["ident"] != want {
		t.Errorf("the service runs %v, want %s", pkg, want)
	}

	// A negative count is refused, given on the command line (even -1,
	// the "not given" value) or through the environment.
	for _, tc := range []struct {
		name string
		args []string
		env  string
	}{
		{"flag", []string{"--keep-latest-packages", "-1"}, ""},
		{"environment", nil, "-3"},
	} {
		var errs bytes.Buffer
		env := map[string]string{"FS_ROOT": t.TempDir(), "HAB_KEEP_LATEST_PACKAGES": tc.env}
		code := run(context.Background(), append([]string{"sup", "run"}, tc.args...), strings.NewReader(""), io.Discard, &errs, func(k string) string { return env[k] })
		if code != 2 || !strings.Contains(errs.String(), "--keep-latest-packages") {
			t.Errorf("negative count (%s): exit %d: %s", tc.name, code, errs.String())
		}
	}
}
