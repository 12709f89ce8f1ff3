package ringtest

import (
	"slices"
	"strings"
	"testing"
)

// TestQuorumDeparture is the original's rule for a group without quorum:
// when a member joins it, the group's Confirmed member with the smallest
// id is departed so that the group can regain quorum. A leader group of
// four loses one member and keeps quorum: a fifth joining departs no one.
// Then two more are killed (two Alive of five: no quorum, no leader); a
// sixth joining departs the smallest Confirmed id on every member, and
// the group elects a leader again.
func TestQuorumDeparture(t *testing.T) {
	r := newRing(t)
	a := r.start("a", opts{args: []string{"--permanent-peer"}})
	join := func(name string) *member {
		m := r.start(name, opts{args: []string{"--peer", a.gossip}})
		m.load("habtest/ringsvc", "--topology", "leader")
		return m
	}
	a.load("habtest/ringsvc", "--topology", "leader")
	b, c, d := join("b"), join("c"), join("d")
	waitFor(t, "one leader the four agree on", func() bool { _, ok := agreed(a, b, c, d); return ok })

	seesAs := func(observers []*member, id, health string) bool {
		for _, o := range observers {
			if h := o.health()[id]; h != health && !(health == "Confirmed" && h == "") {
				return false
			}
		}
		return true
	}
	departing := func(ms ...*member) []string {
		var out []string
		for _, m := range ms {
			for _, line := range strings.Split(m.output(), "\n") {
				if strings.Contains(line, "which lacks quorum: departing") {
					out = append(out, m.name+": "+line)
				}
			}
		}
		return out
	}

	// One of four dead: three Alive of four, quorum. A fifth joins.
	d.kill()
	waitFor(t, "d Confirmed on a, b and c", func() bool { return seesAs([]*member{a, b, c}, d.id, "Confirmed") })
	e := join("e")
	live := []*member{a, b, c, e}
	waitFor(t, "one leader a, b, c and e agree on", func() bool {
		if _, ok := agreed(live...); !ok {
			return false
		}
		for _, m := range live {
			if g := m.census().CensusGroups[sg]; g == nil || len(g.Population) != 5 {
				return false
			}
		}
		return true
	})
	if got := departing(live...); len(got) > 0 {
		t.Errorf("a member joining a group with quorum departed one: %v", got)
	}
	if !seesAs([]*member{a, b, c}, d.id, "Confirmed") {
		t.Errorf("d is no longer Confirmed where it was, though the group kept quorum: a %s, b %s, c %s",
			a.health()[d.id], b.health()[d.id], c.health()[d.id])
	}

	// Two more dead: two Alive of five, no quorum, no leader.
	b.kill()
	c.kill()
	waitFor(t, "b and c Confirmed on a and e", func() bool {
		return seesAs([]*member{a, e}, b.id, "Confirmed") && seesAs([]*member{a, e}, c.id, "Confirmed")
	})
	waitFor(t, "no leader on a and e", func() bool { return a.leaderSeen(sg) == "" && e.leaderSeen(sg) == "" })
	if got := departing(a, e); len(got) > 0 {
		t.Errorf("departed with no member joining: %v", got)
	}

	// A sixth joins: three Alive of six, still no quorum; the smallest
	// Confirmed id is departed, three Alive of five elect a leader.
	f := join("f")
	smallest := slices.Min([]string{b.id, c.id, d.id})
	live = []*member{a, e, f}
	waitFor(t, "the smallest Confirmed id Departed on a, e and f", func() bool { return seesAs(live, smallest, "Departed") })
	waitFor(t, "one leader a, e and f agree on", func() bool { _, ok := agreed(live...); return ok })
	leader, _ := agreed(live...)
	waitRendered(t, "the leader rendered on a, e and f", leader, live...)
	if got := departing(a); len(got) != 1 || !strings.Contains(got[0], "departing "+smallest) {
		t.Errorf("a's departures: %v, want one of %s", got, smallest)
	}
	t.Logf("departures: %v", departing(live...))
}
