package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/habgo/hab/internal/conformance"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/habgo/hab/core/cliconfig"
	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/paths"
)

// keysEnv is a throw-away environment: FS_ROOT, HOME and the key cache in
// temporary directories, so that no test touches the real /hab or ~/.hab.
type keysEnv struct {
	fs, home, keys string
	env            map[string]string
}

func newKeysEnv(t *testing.T) *keysEnv {
	t.Helper()
	base := t.TempDir()
	e := &keysEnv{fs: filepath.Join(base, "root"), home: filepath.Join(base, "home"), keys: filepath.Join(base, "keys")}
	e.env = map[string]string{"FS_ROOT": e.fs, "HOME": e.home, "HAB_CACHE_KEY_PATH": e.keys}
	return e
}

func (e *keysEnv) getenv(k string) string { return e.env[k] }

func (e *keysEnv) cache() crypto.Cache { return crypto.Cache{Dir: e.keys} }

func (e *keysEnv) configPath() string { return cliconfig.Path(paths.FromEnv(e.getenv)) }

// run runs one hab command line in-process.
func (e *keysEnv) run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, e.getenv)
	return code, out.String(), errb.String()
}

// mustRun runs a command that must succeed.
func (e *keysEnv) mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errs := e.run(t, stdin, args...)
	if code != 0 {
		t.Fatalf("hab %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// mustFail runs a command that must fail with code, saying want on stderr.
func (e *keysEnv) mustFail(t *testing.T, code int, want, stdin string, args ...string) {
	t.Helper()
	got, out, errs := e.run(t, stdin, args...)
	if got != code || !strings.Contains(errs, want) {
		t.Fatalf("hab %s: exit %d (want %d), stderr %q (want %q)\nstdout:\n%s", strings.Join(args, " "), got, code, errs, want, out)
	}
}

func keysFileMode(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func keysReadFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func keysConformanceDir(t *testing.T, elem ...string) string {
	t.Helper()
	return conformance.Path(t, elem...)
}

var keysGeneratedRE = regexp.MustCompile(`^» Generating origin key for acme\n★ Generated origin key pair (acme-\d{14})\.\n$`)

// TestOriginKeyGenerateExport generates a pair, prints the original's
// messages, writes the secret key 0600, and exports either half.
func TestOriginKeyGenerateExport(t *testing.T) {
	e := newKeysEnv(t)
	out := e.mustRun(t, "", "origin", "key", "generate", "acme")
	m := keysGeneratedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output %q", out)
	}
	pubPath := filepath.Join(e.keys, m[1]+".pub")
	secPath := filepath.Join(e.keys, m[1]+".sig.key")
	if keysFileMode(t, pubPath) != 0o644 || keysFileMode(t, secPath) != 0o600 {
		t.Fatalf("modes %o %o", keysFileMode(t, pubPath), keysFileMode(t, secPath))
	}
	if got := e.mustRun(t, "", "origin", "key", "export", "acme"); got != keysReadFile(t, pubPath) || !strings.HasPrefix(got, "SIG-PUB-1\n"+m[1]+"\n\n") {
		t.Fatalf("export (default public): %q", got)
	}
	if got := e.mustRun(t, "", "origin", "key", "export", "acme", "--type", "secret"); got != keysReadFile(t, secPath) {
		t.Fatalf("export --type secret: %q", got)
	}
	if got := e.mustRun(t, "", "origin", "key", "export", "-t", "public", "acme"); got != keysReadFile(t, pubPath) {
		t.Fatalf("export -t public: %q", got)
	}
	e.mustFail(t, 2, `invalid value "private" for --type: expected public or secret`, "", "origin", "key", "export", "acme", "--type", "private")
	e.mustFail(t, 1, "no public origin signing key for nobody in the key cache "+e.keys, "", "origin", "key", "export", "nobody")
	e.mustFail(t, 2, "accepts 1 arg(s), received 0", "", "origin", "key", "export")
	e.mustFail(t, 2, `invalid origin name "Acme"`, "", "origin", "key", "generate", "Acme")
}

// TestOriginKeyGenerateDefaultOrigin: without ORIGIN, HAB_ORIGIN is used,
// then cli.toml's origin; with neither, a usage error says where to set one.
func TestOriginKeyGenerateDefaultOrigin(t *testing.T) {
	e := newKeysEnv(t)
	e.mustFail(t, 2, "no origin specified: give one, set HAB_ORIGIN, or set origin in "+e.configPath(), "", "origin", "key", "generate")
	if err := (&cliconfig.Config{Origin: "fromfile"}).Save(e.configPath()); err != nil {
		t.Fatal(err)
	}
	if out := e.mustRun(t, "", "origin", "key", "generate"); !strings.Contains(out, "Generating origin key for fromfile") {
		t.Fatalf("cli.toml origin not used: %q", out)
	}
	e.env["HAB_ORIGIN"] = "fromenv"
	if out := e.mustRun(t, "", "origin", "key", "generate"); !strings.Contains(out, "Generating origin key for fromenv") {
		t.Fatalf("HAB_ORIGIN not used: %q", out)
	}
	for _, name := range []string{"fromfile", "fromenv"} {
		if _, err := e.cache().LatestSigningSecretKey(name); err != nil {
			t.Fatal(err)
		}
	}
	e.env["HAB_ORIGIN"] = "Not Valid"
	e.mustFail(t, 1, `HAB_ORIGIN="Not Valid" is not a valid origin name`, "", "origin", "key", "generate")
}

// TestOriginKeyExportLatest: the newest revision is exported.
func TestOriginKeyExportLatest(t *testing.T) {
	e := newKeysEnv(t)
	t0 := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, d := range []time.Duration{0, 72 * time.Hour, time.Hour} {
		if _, _, err := e.cache().NewSigningPair("acme", t0.Add(d)); err != nil {
			t.Fatal(err)
		}
	}
	if out := e.mustRun(t, "", "origin", "key", "export", "acme", "-t", "secret"); !strings.HasPrefix(out, "SIG-SEC-1\nacme-20190307050607\n\n") {
		t.Fatalf("export: %q", out)
	}
}

// TestOriginKeyImport feeds keys on stdin: real keys, again, both halves
// at once, conflicting and broken keys; nothing is written on failure.
func TestOriginKeyImport(t *testing.T) {
	e := newKeysEnv(t)
	art := keysConformanceDir(t, "habitat", "artifacts")
	pub := keysReadFile(t, filepath.Join(art, "happyhumans-20160424223347.pub"))
	sec := keysReadFile(t, filepath.Join(art, "happyhumans-20160424223347.sig.key"))

	out := e.mustRun(t, pub, "origin", "key", "import")
	if out != "» Importing origin key from standard input\n★ Imported public origin key happyhumans-20160424223347\n" {
		t.Fatalf("output %q", out)
	}
	p := filepath.Join(e.keys, "happyhumans-20160424223347.pub")
	if keysFileMode(t, p) != 0o644 {
		t.Fatalf("public key mode %o", keysFileMode(t, p))
	}
	e.mustRun(t, pub, "origin", "key", "import") // the same key again is fine
	out = e.mustRun(t, sec, "origin", "key", "import")
	if !strings.Contains(out, "★ Imported secret origin key happyhumans-20160424223347\n") {
		t.Fatalf("output %q", out)
	}
	if keysFileMode(t, filepath.Join(e.keys, "happyhumans-20160424223347.sig.key")) != 0o600 {
		t.Fatal("secret key not 0600")
	}
	// The imported pair verifies the real artifact's signer as the original
	// wrote it: same bytes back out of export.
	if got := e.mustRun(t, "", "origin", "key", "export", "happyhumans"); strings.TrimSpace(got) != strings.TrimSpace(pub) {
		t.Fatalf("export after import: %q", got)
	}

	// Both halves concatenated, from another cache.
	other := newKeysEnv(t)
	other.mustRun(t, "", "origin", "key", "generate", "pair")
	both := other.mustRun(t, "", "origin", "key", "export", "pair") + other.mustRun(t, "", "origin", "key", "export", "pair", "-t", "secret")
	out = e.mustRun(t, both, "origin", "key", "import", "--json")
	var imported []keyJSON
	if err := json.Unmarshal([]byte(out), &imported); err != nil || len(imported) != 2 || imported[0].Type != "SIG-PUB-1" || imported[1].Type != "SIG-SEC-1" {
		t.Fatalf("json %q: %v", out, err)
	}
	for _, k := range imported {
		if keysReadFile(t, k.Path) != keysReadFile(t, filepath.Join(other.keys, filepath.Base(k.Path))) {
			t.Fatalf("%s differs from the exported key", k.Path)
		}
	}

	before, _ := os.ReadDir(e.keys)
	// A different key under a name the cache already holds.
	kf, err := crypto.ParseKeyFile([]byte(pub), "pub")
	if err != nil {
		t.Fatal(err)
	}
	kf.Key = bytes.Repeat([]byte{7}, 32)
	cached := keysReadFile(t, p)
	e.mustFail(t, 1, p+" already exists with different content", string(kf.Encode()), "origin", "key", "import")
	if keysReadFile(t, p) != cached {
		t.Fatal("conflicting import changed the key")
	}
	// A new key followed by a conflicting one: neither is written.
	newPub, _, _ := crypto.GenerateSigningPair("fresh", time.Now())
	e.mustFail(t, 1, "already exists with different content", string(newPub.KeyFile().Encode())+string(kf.Encode()), "origin", "key", "import")

	keys := keysConformanceDir(t, "habitat", "keys")
	for _, tt := range []struct{ name, stdin, want string }{
		{"empty", "", "standard input: invalid key: no key found"},
		{"bad base64", "SIG-PUB-1\nfoo-20160424223347\n\n@@@@\n", "standard input: line 4: invalid key: key is not valid base64"},
		{"wrong length", "SIG-PUB-1\nfoo-20160424223347\n\nAAAA\n", "standard input: line 4: invalid key: SIG-PUB-1 key is 3 bytes, expected 32"},
		{"missing lines", "SIG-PUB-1\nfoo-20160424223347\n", "expected 4 lines"},
		{"name without revision", "SIG-PUB-1\nfoo\n\n" + strings.Split(pub, "\n")[3], `line 2: invalid key: key name "foo" is not NAME-YYYYMMDDhhmmss`},
		{"invalid version", keysReadFile(t, filepath.Join(keys, "origin-key-invalid-version-20160518021451.pub")), `line 1: invalid key: unsupported key format "NONSENSE-12"`},
		{"ring key", keysReadFile(t, filepath.Join(keys, "ring-key-valid-20160504220722.sym.key")), "standard input holds SYM-SEC-1 key ring-key-valid-20160504220722, which is not an origin signing key"},
		{"box key", keysReadFile(t, filepath.Join(keys, "ruby-rhod-20200813204159.pub")), "holds BOX-PUB-1 key ruby-rhod-20200813204159, which is not an origin signing key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.mustFail(t, 1, tt.want, tt.stdin, "origin", "key", "import")
		})
	}
	after, _ := os.ReadDir(e.keys)
	if len(after) != len(before) {
		t.Fatalf("failed imports changed the cache: %d files, then %d", len(before), len(after))
	}
}

// TestRingKeyCommands generates, exports and imports ring keys.
func TestRingKeyCommands(t *testing.T) {
	e := newKeysEnv(t)
	out := e.mustRun(t, "", "ring", "key", "generate", "prod")
	m := regexp.MustCompile(`^» Generating ring key for prod\n★ Generated ring key (prod-\d{14})\.\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output %q", out)
	}
	p := filepath.Join(e.keys, m[1]+".sym.key")
	if keysFileMode(t, p) != 0o600 {
		t.Fatalf("ring key mode %o", keysFileMode(t, p))
	}
	exported := e.mustRun(t, "", "ring", "key", "export", "prod")
	if exported != keysReadFile(t, p) {
		t.Fatalf("export %q", exported)
	}
	other := newKeysEnv(t)
	out = other.mustRun(t, exported, "ring", "key", "import")
	if out != "» Importing ring key from standard input\n★ Imported ring key "+m[1]+".\n" {
		t.Fatalf("import output %q", out)
	}
	if keysReadFile(t, filepath.Join(other.keys, m[1]+".sym.key")) != exported {
		t.Fatal("imported ring key differs")
	}
	keys := keysConformanceDir(t, "habitat", "keys")
	other.mustRun(t, keysReadFile(t, filepath.Join(keys, "ring-key-valid-20160504220722.sym.key")), "ring", "key", "import")
	if got := other.mustRun(t, "", "ring", "key", "export", "ring-key-valid"); !strings.HasPrefix(got, "SYM-SEC-1\nring-key-valid-20160504220722\n\n") {
		t.Fatalf("export of imported real key: %q", got)
	}
	other.mustFail(t, 1, `unsupported key format "NONSENSE-12"`, keysReadFile(t, filepath.Join(keys, "ring-key-invalid-version-20160504221247.sym.key")), "ring", "key", "import")
	other.mustFail(t, 1, "which is not a ring key (SYM-SEC-1)", keysReadFile(t, filepath.Join(keys, "origin-key-valid-20160509190508.sig.key")), "ring", "key", "import")
	e.mustFail(t, 1, "no ring key for nope", "", "ring", "key", "export", "nope")
	e.mustFail(t, 2, "invalid ring name", "", "ring", "key", "generate", "a/b")
}

// TestSvcKeyGenerate names service keys service.group@org, from ORG, the
// service group, HAB_ORG or HABITAT_ORG.
func TestSvcKeyGenerate(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		key  string // expected key name, or
		code int
		want string // expected error
	}{
		{name: "org argument", args: []string{"redis.default", "acme"}, key: "redis.default@acme"},
		{name: "org in service group", args: []string{"foo.default@bazcorp"}, key: "foo.default@bazcorp"},
		{name: "same org twice", args: []string{"foo.default@bazcorp", "bazcorp"}, key: "foo.default@bazcorp"},
		{name: "HAB_ORG", args: []string{"redis.default"}, env: map[string]string{"HAB_ORG": "envorg"}, key: "redis.default@envorg"},
		{name: "HABITAT_ORG", args: []string{"redis.default"}, env: map[string]string{"HABITAT_ORG": "envorg2"}, key: "redis.default@envorg2"},
		{name: "argument beats env", args: []string{"redis.default", "argorg"}, env: map[string]string{"HAB_ORG": "envorg"}, key: "redis.default@argorg"},
		{name: "no org", args: []string{"redis.default"}, code: 2, want: "no organization specified"},
		{name: "not a service group", args: []string{"redis", "acme"}, code: 2, want: `invalid service group "redis"`},
		{name: "conflicting orgs", args: []string{"foo.default@a", "b"}, code: 2, want: `names organization "a" but ORG is "b"`},
		{name: "bad org", args: []string{"foo.default", "a.b"}, code: 2, want: `invalid organization "a.b"`},
		{name: "no args", args: nil, code: 2, want: "accepts between 1 and 2 arg(s)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newKeysEnv(t)
			for k, v := range tt.env {
				e.env[k] = v
			}
			args := append([]string{"svc", "key", "generate"}, tt.args...)
			if tt.want != "" {
				e.mustFail(t, tt.code, tt.want, "", args...)
				return
			}
			out := e.mustRun(t, "", args...)
			group, org, _ := strings.Cut(tt.key, "@")
			re := regexp.MustCompile(`^» Generating service key for ` + regexp.QuoteMeta(group) + ` in ` + regexp.QuoteMeta(org) + `\n★ Generated service key pair (` + regexp.QuoteMeta(tt.key) + `-\d{14})\.\n$`)
			m := re.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("output %q", out)
			}
			pub, err := crypto.LoadKeyFile(filepath.Join(e.keys, m[1]+".pub"))
			if err != nil || pub.Type != crypto.BoxPublic {
				t.Fatalf("public key: %v", err)
			}
			secPath := filepath.Join(e.keys, m[1]+".box.key")
			if sec, err := crypto.LoadKeyFile(secPath); err != nil || sec.Type != crypto.BoxSecret || keysFileMode(t, secPath) != 0o600 {
				t.Fatalf("secret key: %v", err)
			}
		})
	}
}

// TestUserKeyGenerate makes a user's box pair; a user key can then encrypt
// for a service key through the library.
func TestUserKeyGenerate(t *testing.T) {
	e := newKeysEnv(t)
	out := e.mustRun(t, "", "user", "key", "generate", "korben")
	m := regexp.MustCompile(`^» Generating user key for korben\n★ Generated user encryption key pair (korben-\d{14})\.\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output %q", out)
	}
	if keysFileMode(t, filepath.Join(e.keys, m[1]+".box.key")) != 0o600 || keysFileMode(t, filepath.Join(e.keys, m[1]+".pub")) != 0o644 {
		t.Fatal("wrong modes")
	}
	e.mustRun(t, "", "svc", "key", "generate", "web.prod", "acme")
	c := e.cache()
	usec, err := c.LatestBoxSecretKey("korben")
	if err != nil {
		t.Fatal(err)
	}
	spub, err := c.LatestBoxPublicKey("web.prod@acme")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := usec.EncryptFor([]byte("secret config"), spub)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Decrypt([]byte(msg.String()), "message"); err != nil || string(got) != "secret config" {
		t.Fatalf("decrypt: %q %v", got, err)
	}
	e.mustFail(t, 2, "invalid user name", "", "user", "key", "generate", "a b")
	e.mustFail(t, 2, "accepts 1 arg(s), received 0", "", "user", "key", "generate")
}

// TestKeyCacheLocation: --cache-key-path beats HAB_CACHE_KEY_PATH, which
// beats the default cache (FS_ROOT/hab/cache/keys as root, else
// ~/.hab/cache/keys).
func TestKeyCacheLocation(t *testing.T) {
	e := newKeysEnv(t)
	flagDir := filepath.Join(t.TempDir(), "flagkeys")
	e.mustRun(t, "", "ring", "key", "generate", "viaflag", "--cache-key-path", flagDir)
	if revs, _ := (crypto.Cache{Dir: flagDir}).Revisions(crypto.SymSecret, "viaflag"); len(revs) != 1 {
		t.Fatal("--cache-key-path not used")
	}
	e.mustRun(t, "", "ring", "key", "generate", "viaenv")
	if revs, _ := e.cache().Revisions(crypto.SymSecret, "viaenv"); len(revs) != 1 {
		t.Fatal("HAB_CACHE_KEY_PATH not used")
	}
	delete(e.env, "HAB_CACHE_KEY_PATH")
	e.mustRun(t, "", "ring", "key", "generate", "default")
	want := filepath.Join(e.home, ".hab", "cache", "keys")
	if os.Geteuid() == 0 {
		want = filepath.Join(e.fs, "hab", "cache", "keys")
	}
	if revs, _ := (crypto.Cache{Dir: want}).Revisions(crypto.SymSecret, "default"); len(revs) != 1 {
		t.Fatalf("default cache %s not used", want)
	}
}

// TestKeyCommandsJSON: --json prints the generated keys for scripts.
func TestKeyCommandsJSON(t *testing.T) {
	e := newKeysEnv(t)
	for _, args := range [][]string{
		{"origin", "key", "generate", "acme", "--json"},
		{"ring", "key", "generate", "prod", "--json"},
		{"svc", "key", "generate", "web.prod", "acme", "--json"},
		{"user", "key", "generate", "bob", "--json"},
	} {
		out := e.mustRun(t, "", args...)
		var keys []keyJSON
		if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys) == 0 {
			t.Fatalf("%v: %q %v", args, out, err)
		}
		for _, k := range keys {
			kf, err := crypto.LoadKeyFile(k.Path)
			if err != nil || kf.Type.String() != k.Type || kf.NamedRevision.String() != k.NameWithRev || k.Name+"-"+k.Revision != k.NameWithRev {
				t.Fatalf("%v: %+v: %v", args, k, err)
			}
		}
	}
}

func TestKeyGroupsNeedSubcommand(t *testing.T) {
	e := newKeysEnv(t)
	for _, g := range []string{"origin", "ring", "svc", "user"} {
		code, out, errs := e.run(t, "", g, "key")
		if code != 2 || !strings.Contains(out+errs, "generate") || !strings.Contains(errs, "requires a subcommand") {
			t.Errorf("hab %s key: exit %d\n%s%s", g, code, out, errs)
		}
	}
}

// TestSetupNonInteractive: with stdin not a terminal, flags are written to
// cli.toml (0600) and the origin key generated; other values are kept.
func TestSetupNonInteractive(t *testing.T) {
	e := newKeysEnv(t)
	out := e.mustRun(t, "", "setup", "--origin", "acme", "--generate-origin-key", "--url", "https://bldr.example.com",
		"--auth-token", "tok-1", "--ctl-secret", "sec-1", "--refresh-channel", "stable")
	if !strings.Contains(out, "★ Generated origin key pair acme-") || !strings.Contains(out, "★ Wrote CLI configuration to "+e.configPath()) {
		t.Fatalf("output %q", out)
	}
	if keysFileMode(t, e.configPath()) != 0o600 {
		t.Fatalf("cli.toml mode %o", keysFileMode(t, e.configPath()))
	}
	cfg, err := cliconfig.Load(e.configPath())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Origin != "acme" || cfg.BldrURL != "https://bldr.example.com" || cfg.AuthToken != "tok-1" || cfg.CtlSecret != "sec-1" || cfg.RefreshChannel != "stable" {
		t.Fatalf("cli.toml %+v", cfg)
	}
	if _, err := e.cache().LatestSigningSecretKey("acme"); err != nil {
		t.Fatal(err)
	}
	// Again: the key exists, an empty --url removes bldr_url, the rest stays.
	out = e.mustRun(t, "", "setup", "--url", "", "--generate-origin-key")
	if !strings.Contains(out, "You already have an origin key for acme") {
		t.Fatalf("output %q", out)
	}
	cfg, _ = cliconfig.Load(e.configPath())
	if cfg.BldrURL != "" || cfg.Origin != "acme" || cfg.AuthToken != "tok-1" {
		t.Fatalf("cli.toml %+v", cfg)
	}
	if revs, _ := e.cache().Revisions(crypto.SigSecret, "acme"); len(revs) != 1 {
		t.Fatalf("%d origin keys, want 1", len(revs))
	}
	before := keysReadFile(t, e.configPath())
	out = e.mustRun(t, "", "setup")
	if !strings.Contains(out, "Nothing to set up") || keysReadFile(t, e.configPath()) != before {
		t.Fatalf("setup without flags: %q", out)
	}
}

// TestSetupRefusesBadInput: bad flags and a broken cli.toml are refused
// before anything is written.
func TestSetupRefusesBadInput(t *testing.T) {
	e := newKeysEnv(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--url", "ftp://bldr"}, `--url: URL "ftp://bldr" is not valid`},
		{[]string{"--url", "bldr.example.com"}, "expected http:// or https:// and a host"},
		{[]string{"--origin", "Bad Origin"}, `--origin: "Bad Origin" is not a valid origin name`},
		{[]string{"--generate-origin-key"}, "--generate-origin-key needs an origin"},
		{[]string{"extra"}, "unknown command"},
	} {
		e.mustFail(t, 2, tt.want, "", append([]string{"setup"}, tt.args...)...)
	}
	if _, err := os.Stat(e.configPath()); !os.IsNotExist(err) {
		t.Fatalf("cli.toml written by refused setups: %v", err)
	}
	if _, err := os.Stat(e.keys); !os.IsNotExist(err) {
		t.Fatalf("key cache written by refused setups: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(e.configPath()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.configPath(), []byte("origin = [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustFail(t, 1, e.configPath()+":", "", "setup", "--origin", "acme")
	e.mustFail(t, 1, e.configPath()+":", "", "origin", "key", "generate")
}

// setupPTY drives hab setup through a real pseudo-terminal, as a user at a
// terminal would.
type setupPTY struct {
	t      *testing.T
	ptmx   *os.File
	tty    *os.File
	chunks chan []byte
	seen   bytes.Buffer
	pos    int
	done   chan int
}

func startSetupPTY(t *testing.T, e *keysEnv, args ...string) *setupPTY {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal available: %v", err)
	}
	p := &setupPTY{t: t, ptmx: ptmx, tty: tty, done: make(chan int, 1)}
	p.read(nil)
	go func() {
		p.done <- run(context.Background(), append([]string{"setup"}, args...), tty, tty, tty, e.getenv)
	}()
	t.Cleanup(func() {
		tty.Close()
		ptmx.Close()
	})
	return p
}

// read copies what the terminal shows into p.chunks until it closes,
// without the bytes of drop.
func (p *setupPTY) read(drop []byte) {
	p.chunks = make(chan []byte, 64)
	go func() {
		for {
			b := make([]byte, 4096)
			n, err := p.ptmx.Read(b)
			if n > 0 {
				for _, d := range drop {
					b = bytes.ReplaceAll(b[:n], []byte{d}, nil)
					n = len(b)
				}
				p.chunks <- b[:n]
			}
			if err != nil {
				close(p.chunks)
				return
			}
		}
	}()
}

// expect waits until the terminal shows s after what was already matched.
func (p *setupPTY) expect(s string) {
	p.t.Helper()
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	for {
		if i := strings.Index(p.seen.String()[p.pos:], s); i >= 0 {
			p.pos += i + len(s)
			return
		}
		select {
		case b, ok := <-p.chunks:
			if !ok {
				p.t.Fatalf("terminal closed before %q appeared; transcript:\n%s", s, p.seen.String())
			}
			p.seen.Write(b)
		case <-timeout.C:
			p.t.Fatalf("timed out waiting for %q; transcript:\n%s", s, p.seen.String())
		}
	}
}

// answer types a line as a user does (Enter sends a carriage return).
func (p *setupPTY) answer(s string) {
	p.t.Helper()
	if _, err := p.ptmx.Write([]byte(s + "\r")); err != nil {
		p.t.Fatal(err)
	}
}

// echoOff waits until the program has turned terminal echo off, as it
// does before reading a secret.
func (p *setupPTY) echoOff() {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(p.tty.Fd()), unix.TCGETS)
		if err != nil {
			p.t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("terminal echo never turned off; transcript:\n%s", p.seen.String())
		}
		time.Sleep(time.Millisecond)
	}
}

func (p *setupPTY) wait() int {
	p.t.Helper()
	select {
	case code := <-p.done:
		// Drain what is left so the transcript is complete.
		p.tty.Close()
		for b := range p.chunks {
			p.seen.Write(b)
		}
		return code
	case <-time.After(20 * time.Second):
		p.t.Fatalf("setup did not finish; transcript:\n%s", p.seen.String())
		return -1
	}
}

// TestSetupInteractivePTY answers setup's questions on a real terminal:
// an invalid URL is asked again, defaults are offered, the token is read
// without echo, the origin key is generated and cli.toml written.
func TestSetupInteractivePTY(t *testing.T) {
	e := newKeysEnv(t)
	e.env["USER"] = "leeloo"
	p := startSetupPTY(t, e)
	p.expect("Habitat CLI Setup")
	p.expect("Connect to an on-premises Builder instance? [yes/No/quit] ")
	p.answer("y")
	p.expect("Private builder url: ")
	p.answer("not a url")
	p.expect(`URL "not a url" is not valid`)
	p.expect("Private builder url: ")
	p.answer("https://bldr.example.com")
	p.expect("Set up a default origin? [Yes/no/quit] ")
	p.answer("")
	p.expect("Default origin name: [default: leeloo] ")
	p.answer("Bad Name")
	p.expect(`"Bad Name" is not a valid origin name`)
	p.expect("Default origin name: [default: leeloo] ")
	p.answer("acme")
	p.expect("Create an origin key for `acme'? [Yes/no/quit] ")
	p.answer("yes")
	p.expect("★ Generated origin key pair acme-")
	p.expect("Set up a default Builder personal access token? [yes/No/quit] ")
	p.answer("y")
	p.expect("Habitat personal access token: ")
	p.echoOff()
	p.answer("tok-very-secret")
	p.expect("Set up a default Habitat Supervisor control gateway secret? [yes/No/quit] ")
	p.answer("n")
	p.expect("Set up a default Habitat refresh channel? [yes/No/quit] ")
	p.answer("maybe") // not an answer: asked again
	p.expect("Set up a default Habitat refresh channel? [yes/No/quit] ")
	p.answer("")
	p.expect("CLI Setup Complete")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d; transcript:\n%s", code, p.seen.String())
	}
	t.Logf("transcript:\n%s", p.seen.String())
	if strings.Contains(p.seen.String(), "tok-very-secret") {
		t.Fatalf("the token was echoed:\n%s", p.seen.String())
	}
	cfg, err := cliconfig.Load(e.configPath())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BldrURL != "https://bldr.example.com" || cfg.Origin != "acme" || cfg.AuthToken != "tok-very-secret" || cfg.CtlSecret != "" || cfg.RefreshChannel != "" {
		t.Fatalf("cli.toml %+v", cfg)
	}
	if _, err := e.cache().LatestSigningSecretKey("acme"); err != nil {
		t.Fatal(err)
	}
}

// TestSetupInteractiveFlagsAndQuit: on a terminal, flags skip their
// questions, and "quit" stops with the answers so far saved.
func TestSetupInteractiveFlagsAndQuit(t *testing.T) {
	e := newKeysEnv(t)
	p := startSetupPTY(t, e, "--url", "https://b.example", "--origin", "acme", "--generate-origin-key=false")
	p.expect("Set up a default Builder personal access token? [yes/No/quit] ")
	p.answer("q")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d; transcript:\n%s", code, p.seen.String())
	}
	tr := p.seen.String()
	if strings.Contains(tr, "on-premises Builder") || strings.Contains(tr, "Default origin name") || strings.Contains(tr, "Create an origin key") || !strings.Contains(tr, "Setup stopped") {
		t.Fatalf("transcript:\n%s", tr)
	}
	cfg, err := cliconfig.Load(e.configPath())
	if err != nil || cfg.BldrURL != "https://b.example" || cfg.Origin != "acme" {
		t.Fatalf("cli.toml %+v %v", cfg, err)
	}
	if _, err := e.cache().LatestSigningSecretKey("acme"); err == nil {
		t.Fatal("origin key generated despite --generate-origin-key=false")
	}

	// With every question answered by a flag, nothing is asked even on a
	// terminal.
	e2 := newKeysEnv(t)
	p = startSetupPTY(t, e2, "--url", "", "--origin", "acme", "--generate-origin-key", "--auth-token", "t", "--ctl-secret", "", "--refresh-channel", "base")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d; transcript:\n%s", code, p.seen.String())
	}
	if strings.Contains(p.seen.String(), "?") {
		t.Fatalf("a question was asked:\n%s", p.seen.String())
	}
	cfg, err = cliconfig.Load(e2.configPath())
	if err != nil || cfg.Origin != "acme" || cfg.AuthToken != "t" || cfg.RefreshChannel != "base" {
		t.Fatalf("cli.toml %+v %v", cfg, err)
	}
	if _, err := e2.cache().LatestSigningSecretKey("acme"); err != nil {
		t.Fatal(err)
	}
}

// TestSetupNonInteractiveEnv: HAB_NONINTERACTIVE=true silences the
// questions even on a terminal.
func TestSetupNonInteractiveEnv(t *testing.T) {
	e := newKeysEnv(t)
	e.env["HAB_NONINTERACTIVE"] = "true"
	p := startSetupPTY(t, e, "--origin", "acme")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d; transcript:\n%s", code, p.seen.String())
	}
	if strings.Contains(p.seen.String(), "?") || !strings.Contains(p.seen.String(), "Wrote CLI configuration") {
		t.Fatalf("HAB_NONINTERACTIVE=true still asked:\n%s", p.seen.String())
	}
}
