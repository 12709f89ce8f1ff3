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
		c.t.Fatalf("%s: %v act as leader at once", step, acting)
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
	for id := range c.el {
		c.sees(id, census.Alive, "a", "b", "c", "d", "e")
	}
	for range 10 {
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
		for _, e := range c.el {
			e.Tick()
			c.check("after the heal")
		}
	}
	for id, e := range c.el {
		if l, ok := e.Leader(sg); !ok || l != "c" {
			t.Errorf("%s follows %q (%v), want c", id, l, ok)
		}
	}
}
