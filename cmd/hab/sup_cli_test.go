package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/habgo/hab/core/cliconfig"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/ctltls"
	"github.com/habgo/hab/sup/manager"
	"github.com/habgo/hab/sup/supportbundle"
)

// TestSupCLIParity: against a running supervisor with a loaded service,
// the answers of svc status, sup status and config show as JSON; hab
// supportbundle's tarball of it (without the control secret or a token's
// value); svc load's hidden --generate-config and the Windows-only
// --password; hab sup term's arguments. Then hab sup term stops it, and
// a second supervisor serves its HTTP gateway over TLS with the files of
// hab sup secret generate-tls, reached by a client that trusts the
// certificate and refused by one that does not; the control client finds
// it through listen_ctl and ctl_secret in cli.toml.
func TestSupCLIParity(t *testing.T) {
	e := newSupEnv(t)
	e.build(e.plan("tuned", map[string]string{
		"plan.sh":      rootPlan("tuned") + "pkg_binds_optional=([a]=port [b]=port [c]=port)\n",
		"default.toml": "# the defaults\nport = 8080\nname = \"tuned\"\n[limits]\nconns = [1, 2]\n",
		"hooks/run":    "#!/bin/sh\nexec sleep 100000\n",
	}))
	s := e.startSup()
	e.env["HAB_LISTEN_HTTP"] = s.http

	for _, args := range [][]string{{"svc", "status", "--json"}, {"sup", "status", "-j"}} {
		if out := s.mustHab("", args...); out != "[]\n" {
			t.Errorf("hab %v with nothing loaded: %q", args, out)
		}
	}
	s.mustHab("", "svc", "load", "habtest/tuned", "--group", "web")
	var rows []serviceStatus
	supWaitFor(t, "tuned up in svc status --json", func() bool {
		rows = nil
		if err := json.Unmarshal([]byte(s.mustHab("", "svc", "status", "--json")), &rows); err != nil {
			t.Fatal(err)
		}
		return len(rows) == 1 && rows[0].State == "up"
	})
	r := rows[0]
	if !strings.HasPrefix(r.Package, "habtest/tuned/0.1.0/") || r.Type != "standalone" || r.Desired != "up" || r.PID == nil || *r.PID <= 0 || r.ServiceGroup != "tuned.web" {
		t.Errorf("svc status --json: %+v", r)
	}
	var one []map[string]any
	if err := json.Unmarshal([]byte(s.mustHab("", "sup", "status", "habtest/tuned", "--json")), &one); err != nil || len(one) != 1 || one[0]["service_group"] != "tuned.web" {
		t.Errorf("sup status habtest/tuned --json: %v %v", one, err)
	}
	if code, out, errs := s.hab("", "sup", "status", "habtest/nothere", "--json"); code != exitNotLoaded {
		t.Errorf("sup status --json of an unloaded service: exit %d %s%s", code, out, errs)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(s.mustHab("", "config", "show", "habtest/tuned", "--json")), &cfg); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cfg) != "map[limits:map[conns:[1 2]] name:tuned port:8080]" {
		t.Errorf("config show --json: %v", cfg)
	}
	if code, out, errs := s.hab("", "config", "show", "habtest/nothere", "--json"); code == 0 || !strings.Contains(out+errs, "Service not loaded, habtest/nothere") {
		t.Errorf("config show --json of an unloaded service: exit %d %s%s", code, out, errs)
	}

	// The support bundle, by the hab binary in a directory of its own.
	secret, err := ctl.ReadSecret(ctl.SecretFile(manager.SupRoot(paths.At(e.root))))
	if err != nil {
		t.Fatal(err)
	}
	const token = "_Qk9YLTEKYnVuZGxlLXRlc3QtdG9rZW4="
	bundleDir := filepath.Join(e.dir, "bundle")
	if err := os.MkdirAll(bundleDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bundle := func(extra ...string) (string, error) {
		cmd := exec.Command(e.bin, "supportbundle")
		cmd.Dir = bundleDir
		cmd.Env = append(os.Environ(), extra...)
		for k, v := range e.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := bundle("HAB_AUTH_TOKEN="+token, "HAB_CTL_SECRET="+secret)
	if err != nil {
		t.Fatalf("hab supportbundle: %v\n%s", err, out)
	}
	bundles, _ := filepath.Glob(filepath.Join(bundleDir, "support-bundle-*.tar.gz"))
	if len(bundles) != 1 || !strings.Contains(out, "Created "+bundles[0]) {
		t.Fatalf("bundles %v, output:\n%s", bundles, out)
	}
	f, err := os.Open(bundles[0])
	if err != nil {
		t.Fatal(err)
	}
	entries, err := supportbundle.Entries(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for name, en := range entries {
		got[name] = string(en.Data)
	}
	for name, want := range map[string]string{
		"hab/sup/default/specs/tuned.spec": "ident = 'habtest/tuned'",
		"svc-status.txt":                   "tuned.web",
		"gateway/services.json":            `"service_group":"tuned.web"`,
		"gateway/census.json":              "tuned",
		"environment.txt":                  "HAB_AUTH_TOKEN=<redacted>",
		"system.txt":                       "hab " + version,
	} {
		if !strings.Contains(got[name], want) {
			t.Errorf("bundle %s lacks %q:\n%.500s", name, want, got[name])
		}
	}
	if _, ok := got["hab/sup/default/CTL_SECRET"]; ok {
		t.Error("the bundle holds CTL_SECRET")
	}
	for name, content := range got {
		for _, v := range []string{secret, token} {
			if strings.Contains(content, v) {
				t.Errorf("the bundle's %s holds the secret %q", name, v)
			}
		}
	}

	// svc load --generate-config: the settings as TOML; PKG_IDENT optional.
	gen := s.mustHab("", "svc", "load", "--generate-config", "habtest/tuned", "--channel", "unstable", "--bind", "a:b.c")
	for _, want := range []string{"### A package identifier", "pkg_ident = 'habtest/tuned'", "channel = 'unstable'", "group = 'default'",
		"bind = ['a:b.c']", "health_check_interval = 30", "# shutdown_timeout = \n", "force = false"} {
		if !strings.Contains(gen, want) {
			t.Errorf("--generate-config lacks %q:\n%s", want, gen)
		}
	}
	if gen := s.mustHab("", "svc", "load", "--generate-config"); !strings.Contains(gen, "# pkg_ident = \n") {
		t.Errorf("--generate-config without PKG_IDENT:\n%s", gen)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"svc", "load", "habtest/tuned", "--password", "pw"}, exitUsage, "--password is only for Windows services"},
		{[]string{"svc", "update", "habtest/tuned", "--password", "pw"}, exitUsage, "--password is only for Windows services"},
		{[]string{"svc", "load"}, exitUsage, "accepts 1 arg(s)"},
		{[]string{"sup", "term", "now"}, exitUsage, `hab sup term takes no arguments, got "now"`},
		{[]string{"sup", "secret", "generate-tls"}, exitUsage, "--subject-alternative-name <DNS_NAME> was not given"},
		{[]string{"sup", "secret", "generate-tls", "--subject-alternative-name", "bad name"}, exitError, `invalid DNS name "bad name"`},
	} {
		if code, out, errs := s.hab("", tt.args...); code != tt.code || !strings.Contains(out+errs, tt.want) {
			t.Errorf("hab %v: exit %d, want %d with %q\n%s%s", tt.args, code, tt.code, tt.want, out, errs)
		}
	}
	if _, err := os.Stat(ctltls.Dir(paths.At(e.root))); !os.IsNotExist(err) {
		t.Errorf("a refused generate-tls left %s: %v", ctltls.Dir(paths.At(e.root)), err)
	}
	if out := s.mustHab("", "sup", "term", "--help"); !strings.Contains(out, "Gracefully terminate") {
		t.Errorf("sup term --help: %s", out)
	}
	if rows := s.mustHab("", "svc", "status"); !strings.Contains(rows, "tuned.web") {
		t.Errorf("the supervisor is gone after refused commands:\n%s", rows)
	}

	// Binds separated by spaces in one --bind, as the original's.
	s.mustHab("", "svc", "load", "--force", "habtest/tuned", "--group", "web", "--binding-mode", "relaxed", "--bind", "a:x.default b:y.default", "--bind", "c:z.default")
	if b, _ := os.ReadFile(filepath.Join(e.root, "hab", "sup", "default", "specs", "tuned.spec")); !strings.Contains(string(b), "binds = ['a:x.default', 'b:y.default', 'c:z.default']") {
		t.Errorf("spec after --bind with spaces:\n%s", b)
	}

	// hab sup term stops it (and its service).
	if out := s.mustHab("", "sup", "term"); !strings.Contains(out, fmt.Sprintf("Terminating the Supervisor (PID %d)", s.cmd.Process.Pid)) {
		t.Errorf("sup term: %s", out)
	}
	<-s.done
	if out := s.mustHab("", "sup", "term"); !strings.Contains(out, "Supervisor not terminated: no supervisor is running") {
		t.Errorf("sup term with none running: %s", out)
	}

	// TLS for the HTTP gateway from generate-tls's files.
	gen = s.mustHab("", "sup", "secret", "generate-tls", "--subject-alternative-name", "sup.habtest.example")
	files, err := ctltls.Latest(ctltls.Dir(paths.At(e.root)))
	if err != nil || !strings.Contains(gen, files.Certificate) || !strings.Contains(gen, files.Key) {
		t.Fatalf("generate-tls: %v\n%s", err, gen)
	}
	// The supervisor's own secret comes from HAB_CTL_SECRET; clients
	// find it, and the gateway, in cli.toml.
	ownSecret, err := ctl.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(ctl.SecretFile(manager.SupRoot(paths.At(e.root)))); err != nil {
		t.Fatal(err)
	}
	e.env["HAB_CTL_SECRET"] = ownSecret
	tlsSup := e.startSup("--key", files.Key, "--certs", files.Certificate)
	delete(e.env, "HAB_CTL_SECRET")
	delete(e.env, "HAB_LISTEN_CTL")
	tlsSup.waitOutput("Starting http-gateway")
	pemBytes, err := os.ReadFile(files.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	crt, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(crt)
	for _, name := range []string{"sup.habtest.example", "localhost"} {
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: name}}}
		resp, err := cl.Get("https://" + tlsSup.http + "/services")
		if err != nil {
			t.Errorf("HTTPS as %s, trusting the generated certificate: %v", name, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// The loaded service's spec stayed: the new supervisor runs it.
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"service_group":"tuned.web"`) {
			t.Errorf("HTTPS /services as %s: %s %s", name, resp.Status, body)
		}
	}
	if _, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "localhost"}}}).Get("https://" + tlsSup.http + "/services"); err == nil {
		t.Error("a client that does not trust the generated certificate connected")
	}

	if code, _, errs := tlsSup.hab("", "svc", "status"); code == 0 || !strings.Contains(errs, "no control secret") {
		t.Errorf("svc status without a secret anywhere: exit %d %s", code, errs)
	}
	cliToml := cliconfig.Path(paths.FromEnv(func(k string) string { return e.env[k] }))
	if err := os.MkdirAll(filepath.Dir(cliToml), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cliToml, []byte(fmt.Sprintf("listen_ctl = %q\nctl_secret = %q\n", tlsSup.ctl, ownSecret)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := tlsSup.mustHab("", "svc", "status"); !slices.ContainsFunc(readStatusTable(t, out), func(r serviceStatus) bool { return r.ServiceGroup == "tuned.web" }) {
		t.Errorf("svc status through cli.toml: %q", out)
	}
}
