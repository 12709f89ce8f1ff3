package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
)

// TestSupEncryptedConfigAndFile: hab config apply --user and hab file
// upload --user to a supervisor of an organization (--org) encrypt to the
// service group's key; the rumor stays encrypted (/butterfly); a
// supervisor lacking the user's public key keeps the previous
// configuration, writes no file and warns once, and once the key is in
// its cache the retry opens both and the service renders and writes them
// in the clear. A missing user or service key fails naming it and
// changes nothing.
func TestSupEncryptedConfigAndFile(t *testing.T) {
	e := newSupEnv(t)
	e.buildService("secret", map[string]string{
		"default.toml":    "message = \"default\"\n",
		"config/msg.conf": "message={{cfg.message}}\n",
	})
	const sg = "secret.default@e2e"
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cli := crypto.Cache{Dir: e.keys}
	userPub, _, err := cli.NewBoxPair("mctesterson", now)
	if err != nil {
		t.Fatal(err)
	}
	_, svcSec, err := cli.NewBoxPair(sg, now)
	if err != nil {
		t.Fatal(err)
	}
	// The supervisor's own cache: the group's secret key, not yet the
	// user's public key.
	supKeys := crypto.Cache{Dir: filepath.Join(e.dir, "sup-keys")}
	if _, err := supKeys.Import(svcSec.KeyFile()); err != nil {
		t.Fatal(err)
	}
	s := e.startSup("--org", "e2e", "--cache-key-path", supKeys.Dir)
	s.mustHab("", "svc", "load", "habtest/secret")
	conf := filepath.Join(e.root, "hab", "svc", "secret", "config", "msg.conf")
	file := filepath.Join(e.root, "hab", "svc", "secret", "files", "message.txt")
	rendered := func(want string) func() bool {
		return func() bool { b, _ := os.ReadFile(conf); return string(b) == "message="+want+"\n" }
	}
	supWaitFor(t, "the default configuration", rendered("default"))
	s.mustHab("message = \"plain\"\n", "config", "apply", sg, "1")
	supWaitFor(t, "the plain applied configuration", rendered("plain"))

	// Missing keys: nothing is sent.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "apply", "--user", "nobody", sg, "2"}, "encrypt for " + sg + " as user nobody: user key"},
		{[]string{"config", "apply", "--user", "mctesterson", "secret.default@other", "2"}, "encrypt for secret.default@other as user mctesterson: service key"},
		{[]string{"file", "upload", "--user", "nobody", sg, "1", filepath.Join(e.dir, "message.txt")}, "encrypt for " + sg + " as user nobody: user key"},
	} {
		if err := os.WriteFile(filepath.Join(e.dir, "message.txt"), []byte("the secret file\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errs := s.hab("message = \"never\"\n", tc.args...)
		if code != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("hab %s: exit %d, %q; want 1 and %q", strings.Join(tc.args, " "), code, errs, tc.want)
		}
	}

	out := s.mustHab("message = \"sealed\"\n", "config", "apply", "--user", "mctesterson", sg, "2")
	if want := "Encrypting config (user rev = mctesterson-20260101000000, service rev = " + sg + "-20260101000000)"; !strings.Contains(out, want) {
		t.Errorf("config apply --user printed %q, want %q", out, want)
	}
	out = s.mustHab("", "file", "upload", "--user", "mctesterson", sg, "1", filepath.Join(e.dir, "message.txt"))
	if !strings.Contains(out, "Encrypting file (user rev = mctesterson-20260101000000") {
		t.Errorf("file upload --user printed %q", out)
	}
	s.waitOutput("Cannot decrypt configuration 2 of " + sg + ", keeping the previous configuration")
	s.waitOutput("Cannot decrypt file message.txt 1 of " + sg + ", keeping the previous file")

	// The rumors as they travel are encrypted.
	var bf struct {
		Config struct {
			List map[string]map[string]struct {
				Encrypted bool   `json:"encrypted"`
				Config    string `json:"config"`
			} `json:"list"`
		} `json:"service_config"`
	}
	s.getJSON("/butterfly", &bf)
	raw := bf.Config.List[sg]["service_config"]
	if !raw.Encrypted || !strings.HasPrefix(raw.Config, "BOX-1\nmctesterson-20260101000000\n"+sg+"-20260101000000\n") || strings.Contains(raw.Config, "sealed") {
		t.Errorf("/butterfly service_config of %s = %+v, want the encrypted rumor", sg, raw)
	}
	if !rendered("plain")() {
		t.Errorf("the configuration changed though it could not be opened")
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the file that could not be opened was written: %v", err)
	}

	// With the user's public key the retry opens both.
	if _, err := supKeys.Import(userPub.KeyFile()); err != nil {
		t.Fatal(err)
	}
	supWaitFor(t, "the encrypted configuration, opened", rendered("sealed"))
	supWaitFor(t, "the encrypted file, opened", func() bool { b, _ := os.ReadFile(file); return string(b) == "the secret file\n" })
	if n := strings.Count(s.output(), "hab-sup(MR): Cannot decrypt configuration 2"); n != 1 {
		t.Errorf("warned %d times about configuration 2, want once:\n%s", n, s.output())
	}
}
