package ringtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sg = "ringsvc.default"

// The reference's apply_config_from_file, apply_config_from_stdin,
// preseed-service-group-config, send_file,
// service_files_are_written_to_disk_when_service_is_loaded and
// bad_secret_key on one ring: a permanent bastion and alpha and beta
// peering with it.
func TestConfigAndFilesReachEveryMember(t *testing.T) {
	r := newRing(t)
	bastion := r.start("bastion", opts{args: []string{"--permanent-peer"}})
	alpha := r.start("alpha", opts{args: []string{"--peer", bastion.gossip}})
	// Several peers in one --peer, separated by spaces, as the original's.
	beta := r.start("beta", opts{args: []string{"--peer", bastion.gossip + " " + alpha.gossip}})
	waitFor(t, "three members alive everywhere", func() bool { return allAlive(bastion, alpha, beta) })

	// Configuration applied (from a file, through the bastion) before any
	// member runs the service is what it starts with.
	cfgFile := filepath.Join(r.dir, "port.toml")
	if err := os.WriteFile(cfgFile, []byte("port = 2112\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bastion.ctlHab("", "config", "apply", sg, "1", cfgFile)
	waitFor(t, "the configuration on alpha and beta before any service", func() bool {
		for _, m := range []*member{alpha, beta} {
			if g := m.census().CensusGroups[sg]; g == nil || g.ServiceConfig == nil || g.ServiceConfig.Incarnation != 1 {
				return false
			}
		}
		return true
	})
	alpha.load("habtest/ringsvc")
	beta.load("habtest/ringsvc")
	waitFor(t, "port 2112 rendered on alpha and beta", func() bool {
		return alpha.settings()["port"] == "2112" && beta.settings()["port"] == "2112"
	})

	// From stdin, through a member: every member renders it.
	alpha.ctlHab("port = 1234\nmessage = \"from stdin\"\n", "config", "apply", sg, "2")
	waitFor(t, "port 1234 rendered on alpha and beta", func() bool {
		for _, m := range []*member{alpha, beta} {
			if s := m.settings(); s["port"] != "1234" || s["message"] != "from stdin" {
				return false
			}
		}
		return true
	})
	// The census of the bastion, which runs nothing, holds the group:
	// both members, alive, exporting the new port.
	waitFor(t, "the bastion's census of the group", func() bool {
		g := bastion.census().CensusGroups[sg]
		if g == nil || len(g.Population) != 2 || g.ServiceConfig == nil || g.ServiceConfig.Incarnation != 2 {
			return false
		}
		for _, m := range []*member{alpha, beta} {
			p, ok := g.Population[m.id]
			if !ok || !p.Alive || p.Cfg == nil {
				return false
			}
			if v, _ := p.Cfg.Path("port"); v != int64(1234) {
				return false
			}
		}
		return true
	})
	// An equal version is refused where it is applied, and changes nothing.
	if code, out := beta.hab("port = 9\n", "config", "apply", sg, "2", "--remote-sup", beta.ctl); code == 0 || !strings.Contains(out, "not newer than the applied version 2") {
		t.Errorf("equal version: exit %d\n%s", code, out)
	}

	// A file uploaded through beta reaches the members that run the
	// service; the bastion holds the rumor but writes nothing until it
	// loads the service.
	msg := filepath.Join(r.dir, "message.txt")
	if err := os.WriteFile(msg, []byte("hello ring\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	beta.ctlHab("", "file", "upload", sg, "1", msg)
	waitFor(t, "message.txt on alpha and beta", func() bool {
		return alpha.file("message.txt") == "hello ring\n" && beta.file("message.txt") == "hello ring\n"
	})
	waitFor(t, "the file rumor on the bastion", func() bool {
		g := bastion.census().CensusGroups[sg]
		return g != nil && g.ServiceFiles["message.txt"].Incarnation == 1
	})
	if _, err := os.Stat(filepath.Join(bastion.root, "hab", "svc", "ringsvc")); !os.IsNotExist(err) {
		t.Errorf("the bastion runs no ringsvc, yet has its service directory (%v)", err)
	}
	bastion.load("habtest/ringsvc")
	waitFor(t, "message.txt on the bastion once it runs the service", func() bool { return bastion.file("message.txt") == "hello ring\n" })
	waitFor(t, "the bastion renders the ring's configuration", func() bool { return bastion.settings()["port"] == "1234" })

	// A wrong control secret is refused, and nothing is done.
	if code, out := alpha.habEnv([]string{"HAB_CTL_SECRET=not-the-secret"}, "", "svc", "status", "--remote-sup", alpha.ctl); code == 0 {
		t.Errorf("svc status with a wrong secret: exit 0\n%s", out)
	}
	if code, out := alpha.habEnv([]string{"HAB_CTL_SECRET=not-the-secret"}, "port = 7\n", "config", "apply", sg, "3", "--remote-sup", alpha.ctl); code == 0 {
		t.Errorf("config apply with a wrong secret: exit 0\n%s", out)
	}
	if g := alpha.census().CensusGroups[sg]; g == nil || g.ServiceConfig == nil || g.ServiceConfig.Incarnation != 2 {
		t.Errorf("after a refused apply the configuration is %+v", g)
	}
}

// new-config-is-gossiped: a consumer on beta bound to a group that runs
// on alpha renders the producer's new port once configuration is applied
// to the producer's group.
func TestNewConfigGossipedToBoundConsumer(t *testing.T) {
	r := newRing(t)
	alpha := r.start("alpha", opts{})
	beta := r.start("beta", opts{args: []string{"--peer", alpha.gossip}})
	waitFor(t, "alpha and beta alive", func() bool { return allAlive(alpha, beta) })
	alpha.load("habtest/ringsvc", "--group", "producer")
	beta.load("habtest/ringsvc", "--group", "consumer", "--bind", "backend:ringsvc.producer")
	waitFor(t, "the consumer sees the producer's default port", func() bool { return beta.settings()["backend_port"] == "1000" })
	alpha.ctlHab("port = 4321\n", "config", "apply", "ringsvc.producer", "1")
	waitFor(t, "the consumer sees the producer's new port", func() bool { return beta.settings()["backend_port"] == "4321" })
	if got := beta.settings()["port"]; got != "1000" {
		t.Errorf("the consumer's own port became %s: configuration of another group applied to it", got)
	}

	// The producer's supervisor restarts: its service's rumor goes out
	// above the incarnation the ring still holds of it, so that the
	// consumer sees what it exports from now on.
	alpha.stop()
	alpha = r.start("alpha", opts{args: []string{"--peer", beta.gossip}})
	waitFor(t, "alpha back in the ring", func() bool { return allAlive(alpha, beta) })
	alpha.ctlHab("port = 5555\n", "config", "apply", "ringsvc.producer", "2")
	waitFor(t, "the consumer sees the restarted producer's new port", func() bool { return beta.settings()["backend_port"] == "5555" })
}

// peer_watcher: members that know the bastion only from a peer watch
// file (missing at first, written later) join it.
func TestPeerWatchFile(t *testing.T) {
	r := newRing(t)
	bastion := r.start("bastion", opts{args: []string{"--permanent-peer"}})
	watch := filepath.Join(r.dir, "peers")
	alpha := r.start("alpha", opts{args: []string{"--peer-watch-file", watch}})
	beta := r.start("beta", opts{args: []string{"--peer-watch-file", watch}})
	if h := bastion.health(); len(h) != 1 {
		t.Fatalf("before the watch file exists the bastion knows %v", h)
	}
	if err := os.WriteFile(watch+".new", []byte("# the bastion\n"+bastion.gossip+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(watch+".new", watch); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three members alive everywhere", func() bool { return allAlive(bastion, alpha, beta) })
	if c := bastion.census(); c.LastMembershipCounter < 3 {
		t.Errorf("the bastion's last_membership_counter is %d, want at least 3", c.LastMembershipCounter)
	}
	// Conflicting flags are a usage error, as the original's.
	if code, out := alpha.hab("", "sup", "run", "--peer", bastion.gossip, "--peer-watch-file", watch); code != 2 {
		t.Errorf("--peer with --peer-watch-file: exit %d, want 2\n%s", code, out)
	}
}
