package ringtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
)

// with_ring_encryption: the bastion (--ring NAME, from the key cache) and
// beta (HAB_RING_KEY, the key's contents) share a ring key; alpha has
// another and gamma none. A file uploaded through the bastion reaches
// beta only; alpha and gamma never join, and the logs say why.
func TestRingEncryption(t *testing.T) {
	r := newRing(t)
	keys := crypto.Cache{Dir: r.fix.keys}
	right, err := keys.NewRingKey("e2e_ring_1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := crypto.GenerateRingKey("e2e_ring_2", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bastion := r.start("bastion", opts{args: []string{"--permanent-peer", "--ring", "e2e_ring_1"}})
	beta := r.start("beta", opts{args: []string{"--peer", bastion.gossip}, env: []string{"HAB_RING_KEY=" + string(right.KeyFile().Encode())}})
	alpha := r.start("alpha", opts{args: []string{"--peer", bastion.gossip}, env: []string{"HAB_RING_KEY=" + string(wrong.KeyFile().Encode())}})
	gamma := r.start("gamma", opts{args: []string{"--peer", bastion.gossip}})
	for _, m := range []*member{alpha, beta, gamma} {
		m.load("habtest/ringsvc")
	}
	waitFor(t, "the bastion and beta alive in each other's view", func() bool { return allAlive(bastion, beta) })

	msg := filepath.Join(r.dir, "message.txt")
	if err := os.WriteFile(msg, []byte("sealed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bastion.ctlHab("", "file", "upload", sg, "1", msg)
	waitFor(t, "the file on beta", func() bool { return beta.file("message.txt") == "sealed\n" })
	waitFor(t, "the bastion's log saying why alpha and gamma are kept out", func() bool {
		out := bastion.output()
		return strings.Contains(out, "the sender uses another ring key") && strings.Contains(out, "the sender gossips without a ring key")
	})
	waitFor(t, "gamma's log saying it is kept out", func() bool {
		return strings.Contains(gamma.output(), "could not join the ring through its peers")
	})
	for _, m := range []*member{alpha, gamma} {
		if got := m.file("message.txt"); got != "" {
			t.Errorf("%s got the file of a ring it has not the key of: %q", m.name, got)
		}
		if h := m.health(); len(h) != 1 {
			t.Errorf("%s knows members of a ring it has not the key of: %v", m.name, h)
		}
	}
	if h := bastion.health(); len(h) != 2 || h[alpha.id] != "" || h[gamma.id] != "" {
		t.Errorf("the bastion's members: %v (alpha %s, gamma %s kept out)", h, alpha.id, gamma.id)
	}
	// A ring key name the key cache lacks stops the supervisor, naming it.
	if code, out := alpha.hab("", "sup", "run", "--ring", "no_such_ring"); code == 0 || !strings.Contains(out, "no_such_ring") {
		t.Errorf("--ring of a missing key: exit %d\n%s", code, out)
	}
	if code, out := alpha.habEnv([]string{"HAB_RING_KEY=not a key"}, "", "sup", "run"); code == 0 || !strings.Contains(out, "HAB_RING_KEY") {
		t.Errorf("HAB_RING_KEY of nonsense: exit %d\n%s", code, out)
	}
}

// A member killed with SIGKILL turns Confirmed in the census of the
// others; a member departed with hab sup depart exits 86, is Departed
// everywhere, and is not admitted again.
func TestKilledAndDepartedMembers(t *testing.T) {
	r := newRing(t)
	alpha := r.start("alpha", opts{args: []string{"--permanent-peer"}})
	beta := r.start("beta", opts{args: []string{"--peer", alpha.gossip}})
	gamma := r.start("gamma", opts{args: []string{"--peer", alpha.gossip}})
	delta := r.start("delta", opts{args: []string{"--peer", alpha.gossip}})
	for _, m := range []*member{alpha, beta, gamma, delta} {
		m.load("habtest/ringsvc")
	}
	waitFor(t, "four members in the group everywhere", func() bool {
		for _, m := range []*member{alpha, beta, gamma, delta} {
			g := m.census().CensusGroups[sg]
			if g == nil || len(g.Population) != 4 {
				return false
			}
		}
		return true
	})

	gamma.kill()
	waitFor(t, "gamma confirmed in the census of alpha, beta and delta", func() bool {
		for _, m := range []*member{alpha, beta, delta} {
			p, ok := m.census().CensusGroups[sg].Population[gamma.id]
			if !ok || !p.Confirmed || p.Alive {
				return false
			}
		}
		return true
	})
	waitFor(t, "gamma no longer rendered among the alive members", func() bool {
		a := alpha.settings()["alive"]
		return a != "" && !strings.Contains(a, gamma.id) && strings.Contains(a, beta.id)
	})

	out := beta.ctlHab("", "sup", "depart", delta.id)
	if !strings.Contains(out, "Permanently marking "+delta.id+" as departed") {
		t.Errorf("depart output: %s", out)
	}
	<-delta.done
	if code := delta.cmd.ProcessState.ExitCode(); code != 86 {
		t.Errorf("the departed supervisor exited %d, want 86\n%s", code, delta.output())
	}
	waitFor(t, "delta departed in the census of alpha and beta", func() bool {
		for _, m := range []*member{alpha, beta} {
			p, ok := m.census().CensusGroups[sg].Population[delta.id]
			if !ok || !p.Departed {
				return false
			}
		}
		return true
	})
	// Started again under the same member id, it is kept out.
	delta2 := r.start("delta", opts{args: []string{"--peer", alpha.gossip}})
	waitFor(t, "the departed member exiting again", func() bool { return delta2.exited() })
	if code := delta2.cmd.ProcessState.ExitCode(); code != 86 {
		t.Errorf("the departed supervisor started again exited %d, want 86\n%s", code, delta2.output())
	}
	if h := alpha.health(); h[delta.id] != "Departed" {
		t.Errorf("after it tried again alpha sees delta %q", h[delta.id])
	}
}
