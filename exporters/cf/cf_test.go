package cf_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/habgo/hab/exporters/cf"
	"github.com/habgo/hab/exporters/container"
	"github.com/habgo/hab/exporters/internal/exptest"
)

const mapping = `secret_key_base = "$SECRET_KEY_BASE"
port = ${PORT}
app = "$(application '.application_name')"
uris = $(application '.uris')

[db]
user = "$(service "elephantsql" '.credentials.username')"
host = "$(service elephantsql .credentials.host)"
`

var cfEnv = map[string]string{
	"SECRET_KEY_BASE":  "s3cr3t",
	"PORT":             "8080",
	"VCAP_APPLICATION": `{"application_name":"shop","uris":["shop.example.com"]}`,
	"VCAP_SERVICES":    `{"elephantsql":[{"name":"elephantsql","credentials":{"username":"u1","host":"db.example.com"}}],"other":[{"name":"x"}]}`,
}

func TestRender(t *testing.T) {
	out, err := cf.Render(mapping, func(k string) string { return cfEnv[k] })
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		SecretKeyBase string   `toml:"secret_key_base"`
		Port          int      `toml:"port"`
		App           string   `toml:"app"`
		URIs          []string `toml:"uris"`
		DB            struct{ User, Host string }
	}
	if err := toml.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("rendered mapping is not TOML: %v\n%s", err, out)
	}
	if got.SecretKeyBase != "s3cr3t" || got.Port != 8080 || got.App != "shop" || !slices.Equal(got.URIs, []string{"shop.example.com"}) ||
		got.DB.User != "u1" || got.DB.Host != "db.example.com" {
		t.Errorf("rendered %+v from\n%s", got, out)
	}
	for _, tc := range []struct{ mapping, want string }{
		{`x = "$(rm -rf /)"`, `unknown helper "rm"`},
		{`x = "$(service)"`, "service needs a service name"},
		{`x = "$(application '.[')"`, "jq filter"},
		{`x = "$(services)"`, "VCAP_SERVICES is not set"},
		{"x = \"$(application\n", "mapping"},
	} {
		env := map[string]string{"VCAP_APPLICATION": "{}"}
		if _, err := cf.Render(tc.mapping, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.mapping, err, tc.want)
		}
	}
}

// TestCFImage: the image holds the mapping, its tags start with cf-, and
// its entrypoint renders the mapping with the image's own hab (run here
// as a real process) before /init.sh.
func TestCFImage(t *testing.T) {
	e := exptest.New(t)
	svc := e.Build("service")
	res, err := cf.Export(context.Background(), cf.Request{Mapping: []byte(mapping), Container: container.Request{
		Args: []string{svc.Ident.String()}, Gather: e.Gather(), Image: container.Options{CacheDir: filepath.Join(e.Cache, "layers")},
		ResultsDir: filepath.Join(e.Work, "export"), WorkDir: e.Work}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Names.Tags, []string{"cf-latest", "cf-0.1.0", "cf-0.1.0-" + svc.Ident.Release}) {
		t.Errorf("tags %v", res.Names.Tags)
	}
	out := exptest.Run(t, "skopeo", "inspect", "--config", "docker-archive:"+res.Archive)
	if !strings.Contains(out, `"/bin/hab",`) || !strings.Contains(out, `"cf-init"`) || !strings.Contains(out, `"/hab/svc/service/user.toml"`) {
		t.Errorf("config: %s", out)
	}
	bundle := filepath.Join(e.Work, "bundle")
	layout := filepath.Join(e.Work, "oci")
	exptest.Run(t, "skopeo", "copy", "docker-archive:"+res.Archive, "oci:"+layout+":cf")
	exptest.Run(t, "umoci", "unpack", "--rootless", "--image", layout+":cf", bundle)
	if b, err := os.ReadFile(filepath.Join(bundle, "rootfs", cf.MappingPath)); err != nil || string(b) != mapping {
		t.Errorf("mapping in the image: %v", err)
	}
	// The entrypoint's hab renders the mapping and runs what follows.
	userTOML := filepath.Join(t.TempDir(), "svc", "user.toml")
	cmd := exec.Command(exptest.Hab(t), "pkg", "export", "cf-init", filepath.Join(bundle, "rootfs", cf.MappingPath), userTOML, "/bin/sh", "-c", "echo started $0", "ok")
	for k, v := range cfEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	got, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "started ok" {
		t.Fatalf("cf-init: %v %s", err, got)
	}
	if b, err := os.ReadFile(userTOML); err != nil || !strings.Contains(string(b), `user = "u1"`) {
		t.Errorf("user.toml: %v\n%s", err, b)
	}
}
