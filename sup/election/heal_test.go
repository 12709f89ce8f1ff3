package election

import (
	"testing"

	"github.com/habgo/hab/sup/census"
)

// cluster is five electors of sg, each with a census of its own whose
// healths the test sets, and the rumors each spread, delivered by hand.
type cluster struct {
	t      *testing.T
	el     map[string]*Elector
	ring   map[string]*census.Ring
	spread map[string][]Election
}

func newCluster(t *testing.T, ids ...string) *cluster {
	c := &cluster{t: t, el: map[string]*Elector{}, ring: map[string]*census.Ring{}, spread: map[string][]Election{}}
	for _, id := range ids {
		ring := census.NewRing(census.Member{ID: id})
		for _, o := range ids {
			ring.AddMember(census.Member{ID: o}, census.Alive)
			ring.Services.Insert(census.Service{MemberID: o, ServiceGroup: sg, Incarnation: 1})
		}
		e := New(id, RingView{ring}, 3, WithGrace(0))
		e.SetSpread(func(r Election) { c.spread[id] = append(c.spread[id], r) })
		e.mu.Lock()
		e.groups[sg] = func() uint64 { return 0 }
		e.mu.Unlock()
		c.el[id], c.ring[id] = e, ring
	}
	return c
}

// sees sets the health of others in member id's census.
func (c *cluster) sees(id string, h census.Health, others ...string) {
	for _, o := range others {
		c.ring[id].AddMember(census.Member{ID: o}, h)
	}
}

// last is the last election member id spread.
func (c *cluster) last(id string) Election {
	c.t.Helper()
	s := c.spread[id]
	if len(s) == 0 {
		c.t.Fatalf("%s spread nothing", id)
	}
	return s[len(s)-1]
}

// check fails when two members act as leader (each sees itself).
func (c *cluster) check(step string) {
	c.t.Helper()
	var acting []string
	for id, e := range c.el {
		if l, ok := e.Leader(sg); ok && l == id {
			acting = append(acting, id)
		}
	}
	if len(acting) > 1 {
		views := map[string]Election{}
		for id, e := range c.el {
			views[id], _ = e.Get(sg)
		}
		c.t.Fatalf("%s: %v act as leader at once; elections %+v", step, acting, views)
	}
}

// heal makes every member see every other Alive and passes each member's
// election to every other, rounds times (each member ticking after a
// round when tick), checking at every step.
func (c *cluster) heal(rounds int, tick bool) {
	c.t.Helper()
	var all []string
	for id := range c.el {
		all = append(all, id)
	}
	for id := range c.el {
		c.sees(id, census.Alive, all...)
	}
	for range rounds {
		for from := range c.el {
			r, ok := c.el[from].Get(sg)
			if !ok {
				continue
			}
			for to, e := range c.el {
				if to != from {
					e.Insert(r)
					c.check("after the heal")
				}
			}
		}
		if tick {
			for _, e := range c.el {
				e.Tick()
				c.check("after the heal")
			}
		}
	}
}

// allFollow fails unless every member follows leader.
func (c *cluster) allFollow(leader string) {
	c.t.Helper()
	for id, e := range c.el {
		if l, ok := e.Leader(sg); !ok || l != leader {
			c.t.Errorf("%s follows %q (%v), want %s", id, l, ok, leader)
		}
	}
}

// The split of TestLeaderPartition healing, as it once gave two leaders:
// e led the group, was cut off with d, lost quorum and bid a new term
// that could not finish; a, b and c elected c. As the split heals, e
// learns c's election while c is still Confirmed in its view, so it starts
// a new term at once; b, whose view of the group lacks quorum for a moment
// (memberlist's merge of e's stale view makes it suspect others), still
// sees c Alive and must not join a term started by another than its live
// leader. On the old code b voted for e's term, and e (the largest id)
// finished it while c still led: two leaders, then all followed e.
func TestHealNeverTwoLeaders(t *testing.T) {
	c := newCluster(t, "a", "b", "c", "d", "e")
	// Before the split: e leads at term 1.
	led := el("e", 1, 0, Finished, "a", "b", "c", "d", "e")
	for _, e := range c.el {
		e.Insert(led)
	}
	c.check("before the split")
	// The split: d and e see a, b and c Confirmed and the other way round.
	for _, id := range []string{"d", "e"} {
		c.sees(id, census.Confirmed, "a", "b", "c")
	}
	for _, id := range []string{"a", "b", "c"} {
		c.sees(id, census.Confirmed, "d", "e")
	}
	c.el["e"].Tick() // e lost quorum: term 2, bidding the highest
	c.el["d"].Insert(c.last("e"))
	c.el["e"].Insert(c.last("d"))
	if got, _ := c.el["e"].Get(sg); got.Term != 2 || got.Status == Finished {
		t.Fatalf("the cut-off leader's new term: %+v", got)
	}
	c.el["a"].Tick() // e is gone: a new term on the majority side
	for _, id := range []string{"b", "c"} {
		c.el[id].Insert(c.last("a"))
	}
	c.el["a"].Insert(c.last("c")) // c (the largest id) took a's and b's votes
	c.el["b"].Insert(c.last("a"))
	c.el["c"].Insert(c.last("b"))
	c.el["c"].Tick()
	if l, ok := c.el["c"].Leader(sg); !ok || l != "c" {
		t.Fatalf("the majority elected %q, %v", l, ok)
	}
	newTerm := c.last("c")
	for _, id := range []string{"a", "b"} {
		c.el[id].Insert(newTerm)
	}
	c.check("during the split")

	// The heal: e sees b again, and learns c's election before c (or a)
	// is Alive in its view.
	c.sees("e", census.Alive, "b")
	c.el["e"].Insert(newTerm)
	c.el["e"].Tick()
	c.check("e learns of c")
	// b sees c Alive, a, d and e Suspect: no quorum for a moment.
	c.sees("b", census.Suspect, "a", "d", "e")
	c.el["b"].Insert(c.last("e"))
	c.check("b hears e's term")
	if got, _ := c.el["b"].Get(sg); got.MemberID != "c" || got.Status != Finished {
		t.Errorf("b, seeing its leader c Alive, left it for %+v", got)
	}
	c.sees("d", census.Alive, "a", "b")
	c.el["d"].Insert(newTerm)
	c.el["d"].Insert(c.last("e"))
	for _, id := range []string{"b", "d"} {
		if s := c.spread[id]; len(s) > 0 {
			c.el["e"].Insert(s[len(s)-1])
		}
	}
	c.sees("b", census.Alive, "a", "d", "e")
	c.el["e"].Tick()
	c.check("e hears b and d")

	// Healed: everyone Alive everywhere; the rumors go round until
	// nothing changes, and all follow c.
	c.heal(10, true)
	c.allFollow("c")
}

// TestHealStaleVotesNeverTwoLeaders: the leader cut off with the minority
// starts a new term bidding the highest; the majority replaces it in the
// same term. As the split heals, a rumor of the majority's term from
// before it finished (still on its way, carrying the majority's votes)
// reaches the former leader and its follower. Taking the votes of it,
// the former leader (the highest bid) or its follower (a larger id) would
// finish the term beside the majority's leader (both failed so); with
// only the votes given to them they cannot, and follow it once they hear
// it finished.
func TestHealStaleVotesNeverTwoLeaders(t *testing.T) {
	c := newCluster(t, "a", "b", "c", "d", "e")
	led := el("e", 1, 0, Finished, "a", "b", "c", "d", "e")
	for _, e := range c.el {
		e.Insert(led)
	}
	for _, id := range []string{"d", "e"} {
		c.sees(id, census.Confirmed, "a", "b", "c")
	}
	for _, id := range []string{"a", "b", "c"} {
		c.sees(id, census.Confirmed, "d", "e")
	}
	c.el["e"].Tick() // e lost quorum: a new term, bidding the highest
	c.el["d"].Insert(c.last("e"))
	c.el["e"].Insert(c.last("d"))
	c.el["a"].Tick() // e is gone: the majority's new term
	for _, id := range []string{"b", "c"} {
		c.el[id].Insert(c.last("a"))
	}
	c.el["a"].Insert(c.last("c"))
	c.el["b"].Insert(c.last("a"))
	stale := c.last("b") // c's candidacy with a's and b's votes, running
	if stale.MemberID != "c" || stale.Status == Finished || len(stale.Votes) < 2 {
		t.Fatalf("the majority's running election: %+v", stale)
	}
	c.el["c"].Insert(stale)
	c.el["c"].Tick()
	if l, ok := c.el["c"].Leader(sg); !ok || l != "c" {
		t.Fatalf("the majority elected %q, %v", l, ok)
	}
	for _, id := range []string{"a", "b"} {
		c.el[id].Insert(c.last("c"))
	}
	c.check("during the split")

	// The heal: e and d see everyone Alive and hear the stale rumor first.
	for _, id := range []string{"d", "e"} {
		c.sees(id, census.Alive, "a", "b", "c")
		c.el[id].Insert(stale)
		c.el[id].Tick()
		c.check(id + " hears the majority's running election")
	}
	c.heal(5, false)
	c.allFollow("c")
}
