package cliconfig

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/habgo/hab/core/paths"
)

func env(m map[string]string) Env { return func(k string) string { return m[k] } }

func withoutOther(c *Config) Config {
	d := *c
	d.other = nil
	return d
}

func TestPath(t *testing.T) {
	fs := t.TempDir()
	home := t.TempDir()
	user := paths.Root{FS: fs, Home: home, Root: false}
	if got, want := Path(user), filepath.Join(home, ".hab", "etc", "cli.toml"); got != want {
		t.Errorf("user: %s, want %s", got, want)
	}
	root := paths.Root{FS: fs, Home: home, Root: true}
	if got, want := Path(root), filepath.Join(fs, "hab", "etc", "cli.toml"); got != want {
		t.Errorf("root: %s, want %s", got, want)
	}
	homeless := paths.Root{FS: fs, Root: false}
	if got, want := Path(homeless), filepath.Join(fs, "hab", "etc", "cli.toml"); got != want {
		t.Errorf("user without home: %s, want %s", got, want)
	}
}

// TestLoadSaveRoundTrip writes every key, reads it back, keeps keys it does
// not know, and writes the file 0600 since it holds secrets.
func TestLoadSaveRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "etc", "cli.toml")
	orig := `# written by the original hab
auth_token = "tok-123"
origin = "acme"
bldr_url = "https://bldr.example.com"
ctl_secret = "c2VjcmV0"
refresh_channel = "stable"
listen_ctl = "127.0.0.1:9632"
future_key = "kept"

[future_table]
depth = 3
`
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{AuthToken: "tok-123", Origin: "acme", BldrURL: "https://bldr.example.com", CtlSecret: "c2VjcmV0", RefreshChannel: "stable", ListenCtl: "127.0.0.1:9632"}
	if !reflect.DeepEqual(withoutOther(c), want) {
		t.Fatalf("loaded %+v, want %+v", c, want)
	}
	c.Origin = "other"
	c.AuthToken = ""
	if err := c.Save(p); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want 600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(p)
	text := string(data)
	for _, s := range []string{"origin = 'other'", "future_key = 'kept'", "[future_table]", "depth = 3", "bldr_url = 'https://bldr.example.com'"} {
		if !strings.Contains(text, s) {
			t.Errorf("saved file lacks %q:\n%s", s, text)
		}
	}
	if strings.Contains(text, "auth_token") {
		t.Errorf("cleared auth_token still written:\n%s", text)
	}
	again, err := Load(p)
	if err != nil || again.Origin != "other" || again.BldrURL != want.BldrURL || again.other["future_key"] != "kept" {
		t.Fatalf("reloaded %+v, %v", again, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temporary files left beside cli.toml: %d entries", len(entries))
	}
}

func TestLoadMissingIsEmpty(t *testing.T) {
	c, err := Load(filepath.Join(t.TempDir(), "nope", "cli.toml"))
	if err != nil || !reflect.DeepEqual(*c, Config{}) {
		t.Fatalf("%+v, %v", c, err)
	}
}

// TestLoadErrors: broken files are refused with the file, and the line
// where TOML breaks, in the message.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ name, content, want string }{
		{"syntax", "origin = \"acme\"\nauth_token = \n", "cli.toml:2:"},
		{"not a string", "origin = 42\n", "origin must be a string, found int64"},
		{"bad origin", "origin = \"Not Valid\"\n", `origin "Not Valid" is not a valid origin name`},
	} {
		p := filepath.Join(dir, tt.name, "cli.toml")
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), p[:len(p)-len("cli.toml")]) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v; want one naming %s and saying %q", tt.name, err, p, tt.want)
		}
	}
	// An unreadable path (a directory) is reported, not taken as empty.
	d := filepath.Join(dir, "isdir")
	os.MkdirAll(d, 0o755)
	if _, err := Load(d); err == nil {
		t.Error("loading a directory succeeded")
	}
}

// TestDefaultOrigin: HAB_ORIGIN wins over cli.toml; without either the
// error wraps ErrNoOrigin and says where to set one.
func TestDefaultOrigin(t *testing.T) {
	r := paths.Root{FS: t.TempDir(), Home: t.TempDir()}
	if _, err := DefaultOrigin(env(nil), r); !errors.Is(err, ErrNoOrigin) || !strings.Contains(err.Error(), Path(r)) {
		t.Fatalf("unset: %v", err)
	}
	if err := (&Config{Origin: "fromfile"}).Save(Path(r)); err != nil {
		t.Fatal(err)
	}
	if o, err := DefaultOrigin(env(nil), r); err != nil || o != "fromfile" {
		t.Fatalf("file: %q %v", o, err)
	}
	if o, err := DefaultOrigin(env(map[string]string{"HAB_ORIGIN": "fromenv"}), r); err != nil || o != "fromenv" {
		t.Fatalf("env: %q %v", o, err)
	}
	if _, err := DefaultOrigin(env(map[string]string{"HAB_ORIGIN": "Bad/Origin"}), r); err == nil || !strings.Contains(err.Error(), `HAB_ORIGIN="Bad/Origin" is not a valid origin name`) {
		t.Fatalf("bad env: %v", err)
	}
}

func TestOtherDefaults(t *testing.T) {
	r := paths.Root{FS: t.TempDir(), Root: true}
	if u, err := BldrURL(env(nil), r); err != nil || u != DefaultBldrURL {
		t.Fatalf("default url %q %v", u, err)
	}
	if err := (&Config{BldrURL: "https://file", AuthToken: "ftok", CtlSecret: "fsec", RefreshChannel: "fchan"}).Save(Path(r)); err != nil {
		t.Fatal(err)
	}
	e := env(map[string]string{"HAB_BLDR_URL": "https://env", "HAB_AUTH_TOKEN": "etok", "HAB_CTL_SECRET": "esec", "HAB_STUDIO_SECRET_HAB_REFRESH_CHANNEL": "studio"})
	for _, tt := range []struct {
		f               func(Env, paths.Root) (string, error)
		fromFile, fromE string
	}{
		{BldrURL, "https://file", "https://env"},
		{AuthToken, "ftok", "etok"},
		{RefreshChannel, "fchan", "studio"},
	} {
		if v, err := tt.f(env(nil), r); err != nil || v != tt.fromFile {
			t.Errorf("from file: %q %v, want %q", v, err, tt.fromFile)
		}
		if v, err := tt.f(e, r); err != nil || v != tt.fromE {
			t.Errorf("from env: %q %v, want %q", v, err, tt.fromE)
		}
	}
	c, err := Load(Path(r))
	if err != nil {
		t.Fatal(err)
	}
	if v := c.CtlSecretOr(env(nil)); v != "fsec" {
		t.Errorf("ctl secret from file: %q, want fsec", v)
	}
	if v := c.CtlSecretOr(e); v != "esec" {
		t.Errorf("ctl secret from env: %q, want esec", v)
	}
	if v, _ := RefreshChannel(env(map[string]string{"HAB_REFRESH_CHANNEL": "first", "HAB_STUDIO_SECRET_HAB_REFRESH_CHANNEL": "second"}), r); v != "first" {
		t.Errorf("HAB_REFRESH_CHANNEL does not win: %q", v)
	}
}

func TestDepotSettings(t *testing.T) {
	r := paths.Root{FS: t.TempDir(), Root: true}
	if DefaultBldrURL != "http://localhost:9636" || BldrChannel(env(nil)) != "stable" {
		t.Errorf("defaults %q %q", DefaultBldrURL, BldrChannel(env(nil)))
	}
	if c := BldrChannel(env(map[string]string{"HAB_BLDR_CHANNEL": "dev"})); c != "dev" {
		t.Errorf("HAB_BLDR_CHANNEL: %q", c)
	}
	if c := BldrChannel(env(map[string]string{"HAB_BLDR_CHANNEL": ""})); c != "stable" {
		t.Errorf("empty HAB_BLDR_CHANNEL: %q", c)
	}
	if err := (&Config{BldrURL: "https://file"}).Save(Path(r)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "https://file"},
		{map[string]string{"HAB_DEPOT_URL": "https://legacy"}, "https://legacy"},
		{map[string]string{"HAB_DEPOT_URL": "https://legacy", "HAB_BLDR_URL": "https://env"}, "https://env"},
		{map[string]string{"HAB_DEPOT_URL": "", "HAB_BLDR_URL": ""}, "https://file"}, // empty is unset
	} {
		if u, err := BldrURL(env(tt.env), r); err != nil || u != tt.want {
			t.Errorf("BldrURL with %v: %q %v, want %q", tt.env, u, err, tt.want)
		}
	}
}

func TestSaveErrors(t *testing.T) {
	r := t.TempDir()
	blocker := filepath.Join(r, "etc")
	if err := os.WriteFile(blocker, []byte("a file, not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirAsFile := filepath.Join(r, "dir")
	if err := os.Mkdir(dirAsFile, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path string }{
		{"directory is a file", filepath.Join(blocker, "cli.toml")},
		{"path is a directory", dirAsFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Config{Origin: "acme"}).Save(tc.path)
			if err == nil || !strings.Contains(err.Error(), "save "+tc.path) {
				t.Fatalf("Save(%s) = %v, want an error naming the file", tc.path, err)
			}
		})
	}
	if data, _ := os.ReadFile(blocker); string(data) != "a file, not a directory" {
		t.Errorf("blocking file changed: %q", data)
	}
	if entries, _ := os.ReadDir(r); len(entries) != 2 {
		t.Errorf("temporary files left beside the targets: %d entries", len(entries))
	}
	if entries, _ := os.ReadDir(dirAsFile); len(entries) != 0 {
		t.Errorf("directory given as the file gained %d entries", len(entries))
	}
}
