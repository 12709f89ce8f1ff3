package election

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/habgo/hab/sup/butterfly"
	"github.com/habgo/hab/sup/census"
)

const sg = "redis.default"

func timing() butterfly.Timing {
	return butterfly.Timing{
		Probe:         100 * time.Millisecond,
		ProbeTimeout:  50 * time.Millisecond,
		SuspicionMult: 6,
		Gossip:        20 * time.Millisecond,
		PushPull:      300 * time.Millisecond,
		Departure:     time.Hour,
		Rejoin:        200 * time.Millisecond,
		WatchFile:     50 * time.Millisecond,
	}
}

// member is a supervisor's ring side: gossip, census, and its leader and
// update electors, all running the service group sg.
type member struct {
	id      string
	srv     *butterfly.Server
	ring    *census.Ring
	leaders *Elector
	updates *Elector
}

func start(t *testing.T, id string, p *butterfly.Partition, peers ...string) *member {
	t.Helper()
	ring := census.NewRing(census.Member{ID: id})
	srv, err := butterfly.Start(t.Context(), butterfly.Config{
		ID: id, Listen: "127.0.0.1:0", Peers: peers, Timing: timing(), Members: ring, Departures: ring.Departures,
		Partition: p, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Kill)
	services := butterfly.Carry[census.Service](srv, "service", ring.Services)
	m := &member{id: id, srv: srv, ring: ring}
	lease := Lease(timing().Probe, timing().SuspicionMult)
	m.leaders = New(id, RingView{ring}, 3, WithLease(srv, lease))
	m.updates = New(id, RingView{ring}, 1, WithLease(srv, lease))
	m.leaders.SetSpread(butterfly.Carry[Election](srv, "election", m.leaders).Spread)
	m.updates.SetSpread(butterfly.Carry[Election](srv, "election_update", m.updates).Spread)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go m.leaders.Run(ctx, 50*time.Millisecond)
	go m.updates.Run(ctx, 50*time.Millisecond)
	services.Publish(census.Service{MemberID: id, ServiceGroup: sg, Incarnation: 1, Pkg: "core/redis/4.0.14/20190319155852"})
	m.leaders.Join(sg, func() uint64 { return 0 })
	return m
}

func startGroup(t *testing.T, n int, p *butterfly.Partition) []*member {
	var ms []*member
	for i := range n {
		var peers []string
		if i > 0 {
			peers = []string{ms[0].srv.Addr()}
		}
		ms = append(ms, start(t, fmt.Sprintf("m%d", i), p, peers...))
	}
	return ms
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// agreed returns the leader every member sees, if they all see the same.
func agreed(ms []*member, el func(*member) *Elector) (string, bool) {
	var leader string
	for i, m := range ms {
		id, ok := el(m).Leader(sg)
		if !ok || (i > 0 && id != leader) {
			return "", false
		}
		leader = id
	}
	return leader, true
}

func leadersOf(m *member) *Elector { return m.leaders }
func updatesOf(m *member) *Elector { return m.updates }

// selfLeaders counts the members that see themselves as leader, and the
// distinct leaders all members see.
func selfLeaders(ms []*member) (self, distinct int) {
	seen := map[string]bool{}
	for _, m := range ms {
		if id, ok := m.leaders.Leader(sg); ok {
			seen[id] = true
			if id == m.id {
				self++
			}
		}
	}
	return self, len(seen)
}

// Groups of three and five elect one leader that every member sees; the
// update leader is another member.
func TestLeaderElected(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ms := startGroup(t, n, nil)
			waitFor(t, 20*time.Second, "one leader seen by all", func() bool { _, ok := agreed(ms, leadersOf); return ok })
			leader, _ := agreed(ms, leadersOf)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			for _, m := range ms {
				if id, err := m.leaders.WaitLeader(ctx, sg); err != nil || id != leader {
					t.Fatalf("%s: WaitLeader = %q, %v", m.id, id, err)
				}
				if s := m.leaders.Status(sg); s != "finished" {
					t.Fatalf("%s: status %s", m.id, s)
				}
			}
			for _, m := range ms {
				m.updates.Join(sg, UpdateSuitability(m.leaders, sg, m.id))
			}
			waitFor(t, 20*time.Second, "one update leader seen by all", func() bool { _, ok := agreed(ms, updatesOf); return ok })
			if up, _ := agreed(ms, updatesOf); up == leader {
				t.Fatalf("the service leader %s is the update leader", leader)
			}
		})
	}
}

// Two members are too few for the leader topology: no election, and a
// service waiting for its leader keeps waiting.
func TestTooFewMembers(t *testing.T) {
	ms := startGroup(t, 2, nil)
	waitFor(t, 10*time.Second, "both see both", func() bool {
		return len(ms[0].ring.Services.Key(sg)) == 2 && len(ms[1].ring.Services.Key(sg)) == 2
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if id, err := ms[0].leaders.WaitLeader(ctx, sg); err == nil {
		t.Fatalf("a group of two elected %s", id)
	}
	if s := ms[1].leaders.Status(sg); s != "none" {
		t.Fatalf("status %s", s)
	}
	// A standalone group's update election needs no quorum of three.
	for _, m := range ms {
		m.updates.Join(sg, UpdateSuitability(nil, sg, m.id))
	}
	waitFor(t, 10*time.Second, "an update leader", func() bool { _, ok := agreed(ms, updatesOf); return ok })
}

// The leader cut off from the two others: never two leaders at once, the
// minority side has none, the majority elects one, and after healing the
// group has one leader again.
func TestPartitionOneLeader(t *testing.T) {
	p := butterfly.NewPartition()
	ms := startGroup(t, 3, p)
	waitFor(t, 20*time.Second, "one leader seen by all", func() bool { _, ok := agreed(ms, leadersOf); return ok })
	old, _ := agreed(ms, leadersOf)

	var violations atomic.Int32
	var worst atomic.Value
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if self, distinct := selfLeaders(ms); self > 1 || distinct > 1 {
				violations.Add(1)
				worst.Store(fmt.Sprintf("%d members see themselves leader, %d distinct leaders", self, distinct))
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	var minority, majority []*member
	for _, m := range ms {
		if m.id == old {
			minority = append(minority, m)
		} else {
			majority = append(majority, m)
		}
	}
	p.Cut([]string{minority[0].srv.Addr()}, []string{majority[0].srv.Addr(), majority[1].srv.Addr()})
	waitFor(t, 20*time.Second, "the majority elects a new leader, the minority has none", func() bool {
		_, minLeader := minority[0].leaders.Leader(sg)
		id, ok := agreed(majority, leadersOf)
		return !minLeader && ok && id != old
	})
	if s := minority[0].leaders.Status(sg); s == "finished" {
		t.Fatalf("the minority's election is %s", s)
	}
	p.Heal()
	waitFor(t, 30*time.Second, "one leader seen by all after healing", func() bool { _, ok := agreed(ms, leadersOf); return ok })
	close(stop)
	<-done
	if n := violations.Load(); n > 0 {
		t.Fatalf("%d samples with more than one leader: %v", n, worst.Load())
	}
}

// The leader killed (no leave): the two survivors keep quorum (two Alive
// of three) and elect a new leader.
func TestLeaderKilled(t *testing.T) {
	ms := startGroup(t, 3, nil)
	waitFor(t, 20*time.Second, "one leader seen by all", func() bool { _, ok := agreed(ms, leadersOf); return ok })
	old, _ := agreed(ms, leadersOf)
	var rest []*member
	for _, m := range ms {
		if m.id == old {
			m.srv.Kill()
		} else {
			rest = append(rest, m)
		}
	}
	waitFor(t, 20*time.Second, "a new leader", func() bool { id, ok := agreed(rest, leadersOf); return ok && id != old })
}
