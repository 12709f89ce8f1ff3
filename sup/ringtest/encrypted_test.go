package ringtest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestUserAndServiceEncryption is the original's
// with_user_and_service_encryption: three members of organization e2e
// (--org). A plain upload reaches all three; a file uploaded and a
// configuration applied with --user are encrypted for the group's key
// and reach alpha and beta, which hold the user's public key and open
// them, but not gamma, which holds the group's key only: gamma keeps the
// previous value and says why. Files land decrypted on disk.
func TestUserAndServiceEncryption(t *testing.T) {
	r := newRing(t)
	const group = "ringsvc.default@e2e"
	full, lacking := r.userAndServiceKeys("mctesterson", group)
	alpha := r.start("alpha", opts{args: []string{"--permanent-peer", "--org", "e2e", "--cache-key-path", full.Dir}})
	beta := r.start("beta", opts{args: []string{"--peer", alpha.gossip, "--org", "e2e", "--cache-key-path", full.Dir}})
	gamma := r.start("gamma", opts{args: []string{"--peer", alpha.gossip, "--org", "e2e", "--cache-key-path", lacking.Dir}})
	all := []*member{alpha, beta, gamma}
	for _, m := range all {
		m.load("habtest/ringsvc")
	}
	waitFor(t, "three members alive everywhere", func() bool { return allAlive(all...) })
	fileOn := func(m *member, name string) string {
		b, _ := os.ReadFile(filepath.Join(m.root, "hab", "svc", "ringsvc", "files", name))
		return string(b)
	}
	write := func(name, body string) string {
		p := filepath.Join(r.dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	alpha.ctlHab("", "file", "upload", group, "1", write("plain.txt", "for everyone\n"))
	waitFor(t, "the plain file on all three", func() bool {
		for _, m := range all {
			if fileOn(m, "plain.txt") != "for everyone\n" {
				return false
			}
		}
		return true
	})

	alpha.ctlHab("", "file", "upload", "--user", "mctesterson", "--cache-key-path", full.Dir, group, "2", write("secret.txt", "for alpha and beta\n"))
	beta.ctlHab("message = \"sealed\"\n", "config", "apply", "--user", "mctesterson", "--cache-key-path", full.Dir, group, "1")
	waitFor(t, "the encrypted file and configuration opened on alpha and beta", func() bool {
		for _, m := range []*member{alpha, beta} {
			if fileOn(m, "secret.txt") != "for alpha and beta\n" || m.settings()["message"] != "sealed" {
				return false
			}
		}
		return true
	})
	gamma.waitOutput("Cannot decrypt file secret.txt 2 of " + group + ", keeping the previous file")
	gamma.waitOutput("Cannot decrypt configuration 1 of " + group + ", keeping the previous configuration")
	if got := fileOn(gamma, "secret.txt"); got != "" {
		t.Errorf("gamma, without the user's key, wrote secret.txt: %q", got)
	}
	if got := gamma.settings()["message"]; got != "default" {
		t.Errorf("gamma renders message %q, want the default it had", got)
	}
	// The rumor gamma holds and passes on is the encrypted one.
	var bf struct {
		Files struct {
			List map[string]map[string]struct {
				Encrypted bool   `json:"encrypted"`
				Body      []byte `json:"body"`
			} `json:"list"`
		} `json:"service_file"`
	}
	if !gamma.getJSON("/butterfly", &bf) {
		t.Fatal("gamma's /butterfly")
	}
	if f := bf.Files.List[group]["secret.txt"]; !f.Encrypted || len(f.Body) == 0 || string(f.Body) == "for alpha and beta\n" {
		t.Errorf("gamma's rumor of secret.txt: encrypted %v, body %q", f.Encrypted, f.Body)
	}
}
