package election

import (
	"context"
	"slices"
	"testing"

	"github.com/habgo/hab/sup/census"
)

// view builds a census where a, b and c run sg with the given healths.
func view(health map[string]census.Health) RingView {
	ring := census.NewRing(census.Member{ID: "a"})
	for id, h := range health {
		ring.AddMember(census.Member{ID: id}, h)
		ring.Services.Insert(census.Service{MemberID: id, ServiceGroup: sg, Incarnation: 1})
	}
	return RingView{ring}
}

var allAlive = map[string]census.Health{"a": census.Alive, "b": census.Alive, "c": census.Alive}

func el(id string, term, suit uint64, st Status, votes ...string) Election {
	return Election{MemberID: id, ServiceGroup: sg, Term: term, Suitability: suit, Status: st, Votes: votes}
}

// The merge rules, seen from member "z" (not in the group, so it does
// not vote).
func TestMerge(t *testing.T) {
	for _, c := range []struct {
		name    string
		health  map[string]census.Health
		cur, in Election
		want    Election
	}{
		{"older term dropped", allAlive, el("b", 2, 0, Running, "b"), el("c", 1, 0, Running, "c"), el("b", 2, 0, Running, "b")},
		{"newer term kept", allAlive, el("b", 1, 0, Running, "b"), el("c", 2, 0, Running, "c"), el("c", 2, 0, Running, "c")},
		{"finished wins at an equal term", allAlive, el("b", 1, 0, Running, "a", "b"), el("c", 1, 0, Finished, "a", "b", "c"), el("c", 1, 0, Finished, "a", "b", "c")},
		{"finished kept over an older term", allAlive, el("c", 2, 0, Finished, "a", "b", "c"), el("b", 1, 0, Finished, "b"), el("c", 2, 0, Finished, "a", "b", "c")},
		{"higher suitability wins and takes the votes", allAlive, el("c", 1, 0, Running, "a", "c"), el("b", 1, 5, Running, "b"), el("b", 1, 5, Running, "a", "b", "c")},
		{"a tie goes to the larger id", allAlive, el("b", 1, 0, Running, "b"), el("c", 1, 0, Running, "c"), el("c", 1, 0, Running, "b", "c")},
		{"a new term not from the live leader is ignored", allAlive, el("c", 1, 0, Finished, "a", "b", "c"), el("b", 2, 0, NoQuorum, "b"), el("c", 1, 0, Finished, "a", "b", "c")},
		{"a new term from the leader is kept", allAlive, el("c", 1, 0, Finished, "a", "b", "c"), el("c", 2, MaxSuitability, Running, "c"), el("c", 2, MaxSuitability, Running, "c")},
		{"a new term kept when the leader is gone", map[string]census.Health{"a": census.Alive, "b": census.Alive, "c": census.Confirmed}, el("c", 1, 0, Finished, "a", "b", "c"), el("b", 2, 0, Running, "b"), el("b", 2, 0, Running, "b")},
		{"a live leader's finished election ends an unfinished newer term", allAlive, el("b", 2, 0, NoQuorum, "b"), el("c", 1, 0, Finished, "a", "b", "c"), el("c", 1, 0, Finished, "a", "b", "c")},
		{"a new term ignored while the leader is seen, also without quorum here", map[string]census.Health{"a": census.Suspect, "b": census.Suspect, "c": census.Alive}, el("c", 1, 0, Finished, "a", "b", "c"), el("b", 2, 0, Running, "b"), el("c", 1, 0, Finished, "a", "b", "c")},
		{"a new term ignored while the leader is Suspect", map[string]census.Health{"a": census.Alive, "b": census.Alive, "c": census.Suspect}, el("c", 1, 0, Finished, "a", "b", "c"), el("b", 2, 0, Running, "b"), el("c", 1, 0, Finished, "a", "b", "c")},
		{"a leader that started a newer term is not brought back", allAlive, el("c", 2, MaxSuitability, Running, "a", "c"), el("c", 1, 0, Finished, "a", "b", "c"), el("c", 2, MaxSuitability, Running, "a", "c")},
		{"a leader that voted in a newer term is not brought back", allAlive, el("b", 2, 0, Running, "b", "c"), el("c", 1, 0, Finished, "a", "b", "c"), el("b", 2, 0, Running, "b", "c")},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := New("z", view(c.health), 3)
			e.Insert(c.cur)
			e.Insert(c.in)
			got, _ := e.Get(sg)
			if !got.equal(c.want) {
				t.Fatalf("merge(%+v, %+v) = %+v, want %+v", c.cur, c.in, got, c.want)
			}
		})
	}
}

// A member of the group votes: its own bid merges with the arriving one;
// the candidate finishes once every Alive member voted, and not without
// quorum. Rumors without a member or group are ignored.
func TestVoteAndFinish(t *testing.T) {
	e := New("a", view(allAlive), 3)
	var spread []Election
	e.SetSpread(func(r Election) { spread = append(spread, r) })
	e.groups[sg] = func() uint64 { return 0 }
	e.Insert(el("c", 0, 0, Running, "b", "c"))
	got, _ := e.Get(sg)
	if got.MemberID != "c" || !slices.Equal(got.Votes, []string{"a", "b", "c"}) || got.Status != Running {
		t.Fatalf("after a's vote: %+v", got)
	}
	if len(spread) != 1 {
		t.Fatalf("spread %d times", len(spread))
	}

	cand := New("c", view(allAlive), 3)
	cand.groups[sg] = func() uint64 { return 0 }
	cand.Insert(el("c", 0, 0, Running, "a", "b", "c"))
	if got, _ := cand.Get(sg); got.Status != Finished {
		t.Fatalf("candidate with every vote: %+v", got)
	}
	if id, ok := cand.Leader(sg); !ok || id != "c" {
		t.Fatalf("Leader = %q, %v", id, ok)
	}

	lonely := New("c", view(map[string]census.Health{"a": census.Suspect, "b": census.Confirmed, "c": census.Alive}), 3)
	lonely.groups[sg] = func() uint64 { return 0 }
	lonely.Insert(el("c", 0, 0, Running, "c"))
	if got, _ := lonely.Get(sg); got.Status != NoQuorum {
		t.Fatalf("candidate without quorum: %+v", got)
	}
	if s := lonely.Status(sg); s != "no-quorum" {
		t.Fatalf("status %s", s)
	}

	for _, bad := range []Election{{ServiceGroup: sg}, {MemberID: "x"}} {
		e := New("z", view(allAlive), 3)
		e.Insert(bad)
		if s := e.Status(sg); s != "none" {
			t.Fatalf("%+v accepted: %s", bad, s)
		}
	}
}

// A leader seen changes with health alone: Tick tells the notify
// function, and wakes WaitLeader, without the election changing.
func TestLeaderChangeTold(t *testing.T) {
	v := view(allAlive)
	e := New("z", v, 3)
	var told []string
	e.SetNotify(func(sg string) { told = append(told, sg) })
	e.Insert(el("c", 1, 0, Finished, "a", "b", "c"))
	e.Tick()
	if !slices.Equal(told, []string{sg}) {
		t.Fatalf("after the election finished: told %v", told)
	}
	e.Tick()
	if len(told) != 1 {
		t.Fatalf("told %v with nothing changed", told)
	}
	v.Ring.AddMember(census.Member{ID: "c"}, census.Confirmed)
	e.Tick()
	if _, ok := e.Leader(sg); ok || len(told) != 2 {
		t.Fatalf("leader Confirmed: told %v", told)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan string)
	go func() {
		id, err := e.WaitLeader(ctx, sg)
		if err != nil {
			id = err.Error()
		}
		got <- id
	}()
	e.mu.Lock()
	ch := e.changed
	e.mu.Unlock()
	v.Ring.AddMember(census.Member{ID: "c"}, census.Alive)
	e.Tick()
	select {
	case <-ch:
	default:
		t.Fatal("the leader came back and the change channel stayed open")
	}
	if id := <-got; id != "c" {
		t.Fatalf("WaitLeader = %s", id)
	}
	if len(told) != 3 {
		t.Fatalf("leader back: told %v", told)
	}
}

// TestUpdateSuitability: the winner of the group's finished election bids
// 0 in the update election, with or without quorum at the moment; any
// other member, and a candidate whose election is not finished, bid the
// highest; without a leader topology everyone bids 0.
func TestUpdateSuitability(t *testing.T) {
	noQuorum := map[string]census.Health{"a": census.Alive, "b": census.Confirmed, "c": census.Confirmed}
	for _, c := range []struct {
		name   string
		health map[string]census.Health
		in     *Election
		self   string
		want   uint64
	}{
		{"the leader", allAlive, &Election{MemberID: "a", ServiceGroup: sg, Status: Finished, Votes: []string{"a", "b", "c"}}, "a", 0},
		{"the leader without quorum for now", noQuorum, &Election{MemberID: "a", ServiceGroup: sg, Status: Finished, Votes: []string{"a", "b", "c"}}, "a", 0},
		{"a follower", allAlive, &Election{MemberID: "b", ServiceGroup: sg, Status: Finished, Votes: []string{"a", "b", "c"}}, "a", MaxSuitability},
		{"a candidate", allAlive, &Election{MemberID: "a", ServiceGroup: sg, Status: Running, Votes: []string{"a"}}, "a", MaxSuitability},
		{"no election yet", allAlive, nil, "a", MaxSuitability},
	} {
		t.Run(c.name, func(t *testing.T) {
			leaders := New("z", view(c.health), 3)
			if c.in != nil {
				leaders.Insert(*c.in)
			}
			if got := UpdateSuitability(leaders, sg, c.self)(); got != c.want {
				t.Errorf("bid %d, want %d", got, c.want)
			}
		})
	}
	if got := UpdateSuitability(nil, sg, "a")(); got != 0 {
		t.Errorf("standalone: bid %d, want 0", got)
	}
}
