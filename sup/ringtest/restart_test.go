package ringtest

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
)

// TestRestartKeepsMembership: hab sup restart leaves the ring as a
// self-update does, gracefully (a peer sees the member gone at once,
// Confirmed without being Suspect first), and the same member, its id
// unchanged, joins again and is Alive everywhere; its service keeps its
// process and is in the census again.
func TestRestartKeepsMembership(t *testing.T) {
	r := newRing(t)
	a := r.start("a", opts{args: []string{"-v"}})
	gossip := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t, "127.0.0.1")))
	b := r.start("b", opts{args: []string{"--peer", a.gossip, "--listen-gossip", gossip}})
	b.load("habtest/ringsvc")
	waitFor(t, "a and b Alive on both", func() bool { return allAlive(a, b) })
	pid := func() int {
		var v struct {
			Process struct {
				PID   int    `json:"pid"`
				State string `json:"state"`
			} `json:"process"`
		}
		if !b.getJSON("/services/ringsvc/default", &v) || v.Process.State != "up" {
			return 0
		}
		return v.Process.PID
	}
	var before int
	waitFor(t, "ringsvc up on b", func() bool { before = pid(); return before != 0 })
	inCensus := func() bool {
		g := a.census().CensusGroups["ringsvc.default"]
		if g == nil {
			return false
		}
		_, ok := g.Population[b.id]
		return ok
	}
	waitFor(t, "b's ringsvc in a's census", inCensus)

	// b's health as a logs it (-v), in order.
	healthOfB := func() []string {
		var out []string
		for _, line := range strings.Split(a.output(), "\n") {
			if _, h, ok := strings.Cut(line, " id="+b.id+" health="); ok {
				out = append(out, h)
			}
		}
		return out
	}
	seen := len(healthOfB())
	if code, out := b.hab("", "sup", "restart"); code != 0 || !strings.Contains(out, "Restarting the Supervisor") {
		t.Fatalf("hab sup restart: exit %d\n%s", code, out)
	}
	b.waitOutput(fmt.Sprintf("Took over the running service (PID %d)", before))
	waitFor(t, "a seeing b leave and come back", func() bool {
		h := healthOfB()[seen:]
		return len(h) >= 2 && h[len(h)-1] == "Alive"
	})
	if h := healthOfB()[seen:]; len(h) != 2 || h[0] != "Confirmed" {
		t.Errorf("b's health on a over the restart: %v, want Confirmed (a graceful leave), then Alive", h)
	}
	waitFor(t, "b Alive again on a and b", func() bool { return allAlive(a, b) })
	if b.exited() {
		t.Fatal("b exited")
	}
	if got := idRE.FindAllStringSubmatch(b.output(), -1); len(got) != 2 || got[1][1] != b.id {
		t.Errorf("b's member ids over the restart: %v, want %s twice", got, b.id)
	}
	waitFor(t, "b's ringsvc in a's census again", inCensus)
	if now := pid(); now != before {
		t.Errorf("b's ringsvc runs as PID %d after the restart, want %d", now, before)
	}
}
