package butterfly

import (
	"testing"
	"time"

	"github.com/habgo/hab/sup/census"
)

// TestDepartConfirmed: a dead member departed for its group's quorum is
// Departed on every member long before the departure time, and on a
// member that joins later; a live member named is left Alive; the
// departed member is no ban: it is Alive again when it comes back.
func TestDepartConfirmed(t *testing.T) {
	slow := fastTiming()
	slow.Departure = time.Hour
	nodes := startRing(t, 4, func(_ int, c *Config) { c.Timing = slow })
	waitFor(t, 10*time.Second, "all alive", func() bool { return allAlive(nodes) })
	nodes[3].srv.Kill()
	rest := nodes[:3]
	waitFor(t, 10*time.Second, "m03 Confirmed", func() bool { return healthIs(rest, "m03", census.Confirmed) })

	nodes[0].srv.DepartConfirmed("m03")
	nodes[0].srv.DepartConfirmed("m01") // alive: left alone
	waitFor(t, 10*time.Second, "m03 Departed everywhere", func() bool { return healthIs(rest, "m03", census.Departed) })
	late := startNode(t, Config{ID: "m04", Peers: []string{nodes[1].srv.Addr()}, Timing: slow})
	waitFor(t, 10*time.Second, "m03 Departed on a member that joined later", func() bool { return healthIs([]*node{late}, "m03", census.Departed) })
	if h := late.ring.HealthOf("m03"); h != census.Departed {
		t.Errorf("the late member's census has m03 %s", h)
	}
	all := append(rest[:3:3], late)
	waitFor(t, 10*time.Second, "the live members alive everywhere", func() bool { return allAlive(all) })
	select {
	case <-nodes[1].srv.Departed():
		t.Fatal("m01, named alive, was told it departed")
	default:
	}

	back := startNode(t, Config{ID: "m03", Peers: []string{nodes[0].srv.Addr()}, Timing: slow})
	waitFor(t, 10*time.Second, "m03 Alive again once back", func() bool { return allAlive(append(all, back)) })
}
