package ringtest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestCensusShowsDecrypted: /census shows a configuration applied and a
// file uploaded with --user as the original's does, decrypted, on a
// member holding the keys; a member lacking the user's key shows the
// configuration it had before (the plain one applied first) and no file,
// never the ciphertext its ring holds.
func TestCensusShowsDecrypted(t *testing.T) {
	r := newRing(t)
	const group = "ringsvc.default@e2e"
	full, lacking := r.userAndServiceKeys("mctesterson", group)
	alpha := r.start("alpha", opts{args: []string{"--permanent-peer", "--org", "e2e", "--cache-key-path", full.Dir}})
	gamma := r.start("gamma", opts{args: []string{"--peer", alpha.gossip, "--org", "e2e", "--cache-key-path", lacking.Dir}})
	for _, m := range []*member{alpha, gamma} {
		m.load("habtest/ringsvc")
	}
	waitFor(t, "two members alive everywhere", func() bool { return allAlive(alpha, gamma) })

	alpha.ctlHab("message = \"plain\"\n", "config", "apply", group, "1")
	// Each member keeps the newest configuration only: gamma takes the
	// plain one before the encrypted one replaces it.
	waitFor(t, "the plain configuration in gamma's census", func() bool {
		g := gamma.census().CensusGroups[group]
		return g != nil && g.ServiceConfig != nil && g.ServiceConfig.Incarnation == 1
	})
	alpha.ctlHab("message = \"sealed\"\n", "config", "apply", "--user", "mctesterson", "--cache-key-path", full.Dir, group, "2")
	p := filepath.Join(r.dir, "secret.txt")
	if err := os.WriteFile(p, []byte("for alpha\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	alpha.ctlHab("", "file", "upload", "--user", "mctesterson", "--cache-key-path", full.Dir, group, "3", p)

	waitFor(t, "alpha's census shows the configuration and file decrypted", func() bool {
		g := alpha.census().CensusGroups[group]
		if g == nil || g.ServiceConfig == nil || g.ServiceConfig.Incarnation != 2 {
			return false
		}
		v, _ := g.ServiceConfig.Value.Path("message")
		f, ok := g.ServiceFiles["secret.txt"]
		return v == "sealed" && ok && f.Incarnation == 3 && string(f.Body) == "for alpha\n"
	})
	gamma.waitOutput("Cannot decrypt configuration 2 of " + group)
	gamma.waitOutput("Cannot decrypt file secret.txt 3 of " + group)
	g := gamma.census().CensusGroups[group]
	if g == nil || g.ServiceConfig == nil || g.ServiceConfig.Incarnation != 1 {
		t.Fatalf("gamma's census of %s: %+v, want the plain configuration 1", group, g)
	}
	if v, _ := g.ServiceConfig.Value.Path("message"); v != "plain" {
		t.Errorf("gamma's census shows message %v, want the plain one it could read", v)
	}
	if f, ok := g.ServiceFiles["secret.txt"]; ok {
		t.Errorf("gamma's census shows secret.txt it cannot open: %q", f.Body)
	}
	for _, m := range []*member{alpha, gamma} {
		var raw json.RawMessage
		if !m.getJSON("/census", &raw) {
			t.Fatalf("%s's /census", m.name)
		}
		if bytes.Contains(raw, []byte("BOX-1")) || bytes.Contains(raw, []byte("Qk9YLTE")) {
			t.Errorf("%s's /census shows a ciphertext: %s", m.name, raw)
		}
	}
}
