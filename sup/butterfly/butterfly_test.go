package butterfly

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/templating"
	"github.com/habgo/hab/sup/census"
)

// Every member publishes its service; configs and files (one larger than
// a packet) published on one member reach all; an older incarnation
// sent afterwards is dropped everywhere.
func TestRingConverges(t *testing.T) {
	for _, n := range []int{3, 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			nodes := startRing(t, n, nil)
			waitFor(t, 20*time.Second, "every member sees every member Alive", func() bool { return allAlive(nodes) })

			for i, nd := range nodes {
				cfg := &templating.Object{}
				cfg.Set("port", int64(8000+i))
				nd.services.Publish(census.Service{
					MemberID: nd.srv.ID(), ServiceGroup: "redis.default", Incarnation: 1,
					Pkg: "core/redis/4.0.14/20190319155852", Cfg: cfg,
				})
			}
			nodes[1].configs.Publish(census.ServiceConfig{ServiceGroup: "redis.default", Incarnation: 2, Config: "port = 2112\n"})
			big := bytes.Repeat([]byte("x"), 4*packetLimit)
			nodes[n-1].files.Publish(census.ServiceFile{ServiceGroup: "redis.default", Incarnation: 1, Filename: "big.txt", Body: big})
			nodes[0].srv.Depart("m-gone")

			waitFor(t, 20*time.Second, "every rumor reaches every member", func() bool {
				for _, nd := range nodes {
					if len(nd.ring.Services.Key("redis.default")) != n {
						return false
					}
					c, ok := nd.ring.Configs.Get("redis.default", "service_config")
					if !ok || c.Incarnation != 2 {
						return false
					}
					f, ok := nd.ring.Files.Get("redis.default", "big.txt")
					if !ok || !bytes.Equal(f.Body, big) {
						return false
					}
					if _, ok := nd.ring.Departures.Get("departure", "m-gone"); !ok {
						return false
					}
				}
				return true
			})
			for _, nd := range nodes {
				m := nd.ring.Members("redis.default")
				if len(m) != n || m[n-1].Cfg == nil {
					t.Fatalf("%s: census of redis.default: %+v", nd.srv.ID(), m)
				}
				if v, _ := m[n-1].Cfg.Get("port"); fmt.Sprint(v) != fmt.Sprint(8000+n-1) {
					t.Fatalf("%s: port of %s is %v", nd.srv.ID(), m[n-1].MemberID, v)
				}
			}

			// An older incarnation, spread without the local rule, is
			// dropped by every member; the newer one then reaches all.
			nodes[0].configs.Spread(census.ServiceConfig{ServiceGroup: "redis.default", Incarnation: 1, Config: "port = 1\n"})
			nodes[0].configs.Publish(census.ServiceConfig{ServiceGroup: "redis.default", Incarnation: 3, Config: "port = 3\n"})
			waitFor(t, 20*time.Second, "incarnation 3 everywhere", func() bool {
				for _, nd := range nodes {
					if c, _ := nd.ring.Configs.Get("redis.default", "service_config"); c.Incarnation != 3 {
						return false
					}
				}
				return true
			})
			for _, nd := range nodes {
				if c, _ := nd.ring.Configs.Get("redis.default", "service_config"); c.Config != "port = 3\n" {
					t.Fatalf("%s: config %q", nd.srv.ID(), c.Config)
				}
			}
		})
	}
}

// Members sharing the ring key form the ring; one with another key and
// one with none are kept out, and the log says why.
func TestRingKey(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	key, err := crypto.GenerateRingKey("e2e_test_ring_1", now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := crypto.GenerateRingKey("e2e_test_ring_1", now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	bastion := startNode(t, Config{ID: "bastion", RingKey: key})
	beta := startNode(t, Config{ID: "beta", RingKey: key, Peers: []string{bastion.srv.Addr()}})
	wrong := startNode(t, Config{ID: "wrong", RingKey: other, Peers: []string{bastion.srv.Addr()}})
	plain := startNode(t, Config{ID: "plain", Peers: []string{bastion.srv.Addr()}})
	waitFor(t, 10*time.Second, "bastion and beta see each other", func() bool { return allAlive([]*node{bastion, beta}) })

	bastion.files.Publish(census.ServiceFile{ServiceGroup: "redis.default", Incarnation: 1, Filename: "message.txt", Body: []byte("hello")})
	waitFor(t, 10*time.Second, "the file reaches beta", func() bool {
		_, ok := beta.ring.Files.Get("redis.default", "message.txt")
		return ok
	})
	waitFor(t, 10*time.Second, "bastion logs why it refused the others", func() bool {
		l := bastion.logs.String()
		return strings.Contains(l, "the sender uses another ring key") && strings.Contains(l, "the sender gossips without a ring key")
	})
	// Several rejoin rounds later, the outsiders are still out.
	time.Sleep(3 * fastTiming().Rejoin)
	for _, out := range []*node{wrong, plain} {
		if len(out.srv.Members()) != 1 {
			t.Fatalf("%s knows %v", out.srv.ID(), out.srv.Members())
		}
		if _, ok := out.ring.Files.Get("redis.default", "message.txt"); ok {
			t.Fatalf("%s received the file", out.srv.ID())
		}
		for _, in := range []*node{bastion, beta} {
			if h := in.srv.HealthOf(out.srv.ID()); h != census.Confirmed {
				t.Fatalf("%s sees %s %s", in.srv.ID(), out.srv.ID(), h)
			}
		}
	}
}

// A member stopped without leaving (SIGKILL) turns Suspect, then
// Confirmed, then Departed after the departure time.
func TestKilledMember(t *testing.T) {
	nodes := startRing(t, 4, nil)
	waitFor(t, 10*time.Second, "all alive", func() bool { return allAlive(nodes) })
	victim := nodes[3]
	start := time.Now()
	victim.srv.Kill()
	rest := nodes[:3]
	waitFor(t, 10*time.Second, "the killed member Confirmed", func() bool { return healthIs(rest, "m03", census.Confirmed) })
	confirmed := time.Since(start)
	waitFor(t, 10*time.Second, "the killed member Departed", func() bool { return healthIs(rest, "m03", census.Departed) })
	if departed := time.Since(start); departed < fastTiming().Departure {
		t.Fatalf("Departed after %s, before the departure time %s (Confirmed after %s)", departed, fastTiming().Departure, confirmed)
	}
	if !allAlive(rest) {
		t.Fatal("the survivors do not all see each other Alive")
	}
}

// hab sup depart: the member is Departed everywhere, learns it, and is
// never admitted again, even when it comes back under the same id.
func TestDepart(t *testing.T) {
	nodes := startRing(t, 3, nil)
	waitFor(t, 10*time.Second, "all alive", func() bool { return allAlive(nodes) })
	nodes[0].srv.Depart("m02")
	select {
	case <-nodes[2].srv.Departed():
	case <-time.After(10 * time.Second):
		t.Fatal("the departed member was not told")
	}
	nodes[2].srv.Kill()
	waitFor(t, 10*time.Second, "m02 Departed", func() bool { return healthIs(nodes[:2], "m02", census.Departed) })

	startNode(t, Config{ID: "m02", Peers: []string{nodes[0].srv.Addr(), nodes[1].srv.Addr()}})
	time.Sleep(5 * fastTiming().Rejoin) // several join attempts
	if !healthIs(nodes[:2], "m02", census.Departed) {
		t.Fatalf("the departed member was readmitted: %v", nodes[0].srv.Members())
	}
}

// --peer-watch-file: a member joins the peers written into the file, and
// re-reads it when it changes.
func TestPeerWatchFile(t *testing.T) {
	bastion := startNode(t, Config{ID: "bastion"})
	other := startNode(t, Config{ID: "other"})
	file := filepath.Join(t.TempDir(), "peers")
	alpha := startNode(t, Config{ID: "alpha", PeerWatchFile: file})
	if len(alpha.srv.Members()) != 1 {
		t.Fatalf("alpha without peers knows %v", alpha.srv.Members())
	}
	if err := os.WriteFile(file, []byte("# the bastion\n"+bastion.srv.Addr()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "alpha joins the bastion", func() bool { return allAlive([]*node{alpha, bastion}) })
	if err := os.WriteFile(file, []byte(other.srv.Addr()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "alpha joins the other member", func() bool { return allAlive([]*node{alpha, bastion, other}) })
}

func TestParsePeerFile(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"bastion\n", "bastion:9638"},
		{"  10.0.0.1:1234 \n\n# comment\nhost2", "10.0.0.1:1234,host2:9638"},
		{"::1\n[::1]:7000", "[::1]:9638,[::1]:7000"},
	} {
		if got := strings.Join(ParsePeerFile([]byte(c.in)), ","); got != c.want {
			t.Errorf("ParsePeerFile(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A bastion ring split in two heals once the network does: the members
// cut off see the others Confirmed, then all Alive again, and rumors
// published on either side meanwhile reach everyone.
func TestPartitionHeals(t *testing.T) {
	p := NewPartition()
	timing := fastTiming()
	timing.Departure = time.Hour
	bastion := startNode(t, Config{ID: "bastion", Permanent: true, Partition: p, Timing: timing})
	var nodes = []*node{bastion}
	for _, id := range []string{"alpha", "beta", "gamma"} {
		nodes = append(nodes, startNode(t, Config{ID: id, Peers: []string{bastion.srv.Addr()}, Partition: p, Timing: timing}))
	}
	waitFor(t, 10*time.Second, "all alive", func() bool { return allAlive(nodes) })

	minority, majority := nodes[1:2], []*node{nodes[0], nodes[2], nodes[3]}
	p.Cut(addrs(minority), addrs(majority))
	defer func() {
		if t.Failed() {
			for _, n := range nodes {
				t.Logf("%s sees %+v", n.srv.ID(), n.srv.Members())
			}
		}
	}()
	waitFor(t, 10*time.Second, "each side sees the other Confirmed", func() bool {
		return healthIs(majority, "alpha", census.Confirmed) && healthIs(minority, "bastion", census.Confirmed) && healthIs(minority, "beta", census.Confirmed)
	})
	minority[0].configs.Publish(census.ServiceConfig{ServiceGroup: "a.default", Incarnation: 1, Config: "x = 1\n"})
	majority[1].configs.Publish(census.ServiceConfig{ServiceGroup: "b.default", Incarnation: 1, Config: "y = 1\n"})
	p.Heal()
	waitFor(t, 20*time.Second, "all alive after healing", func() bool { return allAlive(nodes) })
	waitFor(t, 20*time.Second, "both sides' rumors everywhere", func() bool {
		for _, nd := range nodes {
			_, a := nd.ring.Configs.Get("a.default", "service_config")
			_, b := nd.ring.Configs.Get("b.default", "service_config")
			if !a || !b {
				return false
			}
		}
		return true
	})
}

func addrs(nodes []*node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.srv.Addr())
	}
	return out
}

func TestStartErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Listen: "127.0.0.1:0"}, "no member id"},
		{Config{ID: "x", Listen: "nonsense"}, `listen address "nonsense"`},
		{Config{ID: "x", Listen: "127.0.0.1:port"}, "port"},
	} {
		_, err := Start(t.Context(), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Start(%+v) = %v, want an error with %q", c.cfg, err, c.want)
		}
	}
	// A port taken by another member.
	a := startNode(t, Config{ID: "a"})
	if _, err := Start(t.Context(), Config{ID: "b", Listen: a.srv.Addr()}); err == nil || !strings.Contains(err.Error(), a.srv.Addr()) {
		t.Errorf("Start on a taken port = %v", err)
	}
}

// Every pairing of keys: only the same key opens, and the reason names
// what differs.
func TestRingTransportOpen(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	key, _ := crypto.GenerateRingKey("ring", now)
	other, _ := crypto.GenerateRingKey("ring", now.Add(time.Second))
	for _, c := range []struct {
		name       string
		send, recv *crypto.RingKey
		want       string
	}{
		{"same key", key, key, ""},
		{"no keys", nil, nil, ""},
		{"another key", other, key, "the sender uses another ring key"},
		{"sender without key", nil, key, "the sender gossips without a ring key"},
		{"receiver without key", key, nil, "this supervisor has none"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sender, receiver := &ringTransport{key: c.send}, &ringTransport{key: c.recv}
			msg, err := sender.seal([]byte("ping"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := receiver.open(msg)
			if c.want == "" {
				if err != nil || string(got) != "ping" {
					t.Fatalf("open = %q, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("open = %q, %v; want an error with %q", got, err, c.want)
			}
		})
	}
	for _, bad := range [][]byte{nil, {'S', 1, 2}, {'X', 'y'}} {
		if _, err := (&ringTransport{key: key}).open(bad); err == nil {
			t.Errorf("open(%q) accepted", bad)
		}
	}
}
