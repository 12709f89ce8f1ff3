// Package election elects one member of a service group as the original's
// butterfly does: the leader of a leader-topology group, and the update
// leader that rolls a new release through the group one member at a time.
//
// Elections travel as rumors with terms. Every member of the group bids
// its suitability; the higher suitability (then the larger member id)
// wins and takes the loser's votes; the candidate finishes the election
// once every Alive member of the group has voted for it and the group has
// quorum (electorate = Alive members, population = Alive, Suspect and
// Confirmed members, quorum when electorate > population/2). A member
// sees a leader only while its own view of the group has quorum, so the
// minority side of a split network has none. A new term starts when the
// leader is Confirmed or gone (the followers), or when the leader lost
// quorum (the leader itself, bidding the highest suitability). A member
// that still sees its leader (Alive or Suspect) ignores new terms others
// start, and a finished term never comes back once its leader bid in a
// newer one: a member whose view is stale as a split heals cannot gather
// the votes of members the leader's lease still counts.
//
// SWIM alone would let a leader cut off from its group see it Alive for
// as long as its own probes take to reach every member (Lifeguard slows a
// cut-off member's probes down), while the others confirm it dead and
// elect another: two leaders. With a lease (WithLease) a member pings the
// other members of its groups directly and counts in the electorate only
// those that answered within the lease; the lease is shorter than the
// shortest time SWIM takes to confirm a member dead, so a cut-off leader
// has lost quorum before anyone can replace it, and the followers start a
// new term as soon as the leader is Confirmed, as the original's do.
// Without a lease the followers wait a grace time (WithGrace) instead.
package election

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/habgo/hab/sup/census"
)

// Status is an election's state on the wire.
type Status string

// The statuses.
const (
	Running  Status = "Running"
	NoQuorum Status = "NoQuorum"
	Finished Status = "Finished"
)

// Election is the election rumor of one service group: the candidate
// leading it, its term, suitability, status and the votes it gathered.
type Election struct {
	MemberID     string   `json:"member_id"`
	ServiceGroup string   `json:"service_group"`
	Term         uint64   `json:"term"`
	Suitability  uint64   `json:"suitability"`
	Status       Status   `json:"status"`
	Votes        []string `json:"votes"`
}

func (e Election) equal(o Election) bool {
	return e.MemberID == o.MemberID && e.ServiceGroup == o.ServiceGroup && e.Term == o.Term &&
		e.Suitability == o.Suitability && e.Status == o.Status && slices.Equal(e.Votes, o.Votes)
}

// beats reports whether e wins over o in the same term.
func (e Election) beats(o Election) bool {
	if e.Suitability != o.Suitability {
		return e.Suitability > o.Suitability
	}
	return e.MemberID > o.MemberID
}

// withVotes returns e holding the votes of both.
func (e Election) withVotes(o Election) Election {
	votes := append(slices.Clone(e.Votes), o.Votes...)
	slices.Sort(votes)
	e.Votes = slices.Compact(votes)
	return e
}

// View is what an elector needs of the census: who runs a group, and how
// healthy each member is (census.Ring through RingView).
type View interface {
	GroupMembers(sg string) []string
	HealthOf(id string) census.Health
}

// RingView is the View of a census.Ring.
type RingView struct{ Ring *census.Ring }

// GroupMembers are the members with a service rumor for sg.
func (v RingView) GroupMembers(sg string) []string {
	var ids []string
	for id := range v.Ring.Services.Key(sg) {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// HealthOf is a member's health in the census.
func (v RingView) HealthOf(id string) census.Health { return v.Ring.HealthOf(id) }

// MaxSuitability is the bid of a former leader, and of followers in an
// update election of a leader-topology group.
const MaxSuitability = math.MaxUint64

// Elector runs the elections of one kind (leader, or update) for the
// groups this member belongs to, and keeps the election rumors of every
// group. It is the butterfly store of its topic: Insert merges, and the
// result travels through the spread function.
type Elector struct {
	self  string
	view  View
	min   int           // population a group needs before its first election
	grace time.Duration // how long a leader is gone before a new term

	prober Prober
	lease  time.Duration
	ackMu  sync.Mutex
	joined map[string]bool      // the groups this member is in (groups, readable apart from mu)
	acked  map[string]time.Time // when each member last answered a ping
	asking map[string]bool      // pings in flight

	mu        sync.Mutex
	elections map[string]Election
	groups    map[string]func() uint64 // the groups this member is in, with its suitability
	spread    func(Election)
	notify    func(sg string)
	changed   chan struct{}        // closed when an election or a leader seen changes
	seen      map[string]string    // by group: the leader Leader last reported ("" for none)
	goneSince map[string]time.Time // by group: when its leader was first seen gone
}

// Option tunes an Elector.
type Option func(*Elector)

// WithGrace sets how long a leader must have been seen Confirmed or gone
// before the followers start a new term (DefaultGrace). The leader cut
// off from its group steps down as soon as its view loses quorum; the
// grace gives it that time, so that a split network never has two
// leaders at once.
func WithGrace(d time.Duration) Option { return func(e *Elector) { e.grace = d } }

// Prober asks a member directly whether it answers (butterfly.Server.Ping:
// one probe, nil on an ack within the probe timeout).
type Prober interface {
	Ping(id string) error
}

// Lease is the lease for a ring probing every probe period and
// confirming a suspect dead after at least suspicionMult of them
// (butterfly.Timing's Probe and SuspicionMult): half that time, so that a
// member suspected a little before a cut is still confirmed well after
// the cut-off leader's lease ran out.
func Lease(probe time.Duration, suspicionMult int) time.Duration {
	return time.Duration(suspicionMult) * probe / 2
}

// WithLease makes the quorum of this member's groups rest on direct
// answers: a member other than this one counts in the electorate only
// while it answered a ping of p within lease. lease must be shorter than
// the shortest time the ring takes to confirm a member dead (memberlist:
// SuspicionMult probe periods): see Lease. The followers then need no
// grace: a leader Confirmed by them has already lost its quorum.
func WithLease(p Prober, lease time.Duration) Option {
	return func(e *Elector) { e.prober, e.lease, e.grace = p, lease, 0 }
}

// DefaultGrace suits the default gossip timing (probes every second).
const DefaultGrace = 10 * time.Second

// New returns the elector of member self. minPopulation is the smallest
// group that elects (3 for leader topologies, 1 for update elections).
func New(self string, view View, minPopulation int, opts ...Option) *Elector {
	e := &Elector{
		self: self, view: view, min: max(minPopulation, 1), grace: DefaultGrace,
		elections: map[string]Election{}, groups: map[string]func() uint64{},
		changed: make(chan struct{}), goneSince: map[string]time.Time{}, seen: map[string]string{},
		joined: map[string]bool{}, acked: map[string]time.Time{}, asking: map[string]bool{},
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// SetSpread sets how merged elections reach the ring (butterfly's
// Topic.Spread).
func (e *Elector) SetSpread(f func(Election)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.spread = f
}

// SetNotify sets what learns that the leader this member sees of a group
// changed without its election changing: the leader's health, or this
// member's quorum (a lease running out, or answers coming back). Tick
// looks for such changes.
func (e *Elector) SetNotify(f func(sg string)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.notify = f
}

// Join makes this member take part in sg's elections with the given
// suitability (the suitability hook's answer, or 0).
func (e *Elector) Join(sg string, suitability func() uint64) {
	e.mu.Lock()
	e.groups[sg] = suitability
	e.mu.Unlock()
	e.ackMu.Lock()
	e.joined[sg] = true
	e.ackMu.Unlock()
	e.Tick()
}

// Leave stops taking part in sg's elections (the service unloaded).
func (e *Elector) Leave(sg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.groups, sg)
	e.ackMu.Lock()
	delete(e.joined, sg)
	e.ackMu.Unlock()
}

// Quorum reports whether this member's view of sg has quorum.
func (e *Elector) Quorum(sg string) bool {
	electorate, population := e.count(sg)
	return population >= e.min && electorate > population/2
}

func (e *Elector) count(sg string) (electorate, population int) {
	leased := e.leased(sg)
	now := time.Now()
	for _, id := range e.view.GroupMembers(sg) {
		switch e.view.HealthOf(id) {
		case census.Alive:
			if !leased || id == e.self || now.Sub(e.ackedAt(id)) < e.lease {
				electorate++
			}
			population++
		case census.Suspect, census.Confirmed:
			population++
		}
	}
	return electorate, population
}

// leased tells whether sg's quorum rests on pings: with a lease, for the
// groups this member is in (of the others it only has the ring's view).
func (e *Elector) leased(sg string) bool {
	if e.prober == nil {
		return false
	}
	e.ackMu.Lock()
	defer e.ackMu.Unlock()
	return e.joined[sg]
}

func (e *Elector) ackedAt(id string) time.Time {
	e.ackMu.Lock()
	defer e.ackMu.Unlock()
	return e.acked[id]
}

// ping asks every other Alive or Suspect member of this member's groups
// whose last answer is older than a quarter of the lease, one ping in
// flight per member.
func (e *Elector) ping() {
	if e.prober == nil {
		return
	}
	e.ackMu.Lock()
	groups := make([]string, 0, len(e.joined))
	for sg := range e.joined {
		groups = append(groups, sg)
	}
	e.ackMu.Unlock()
	now := time.Now()
	for _, sg := range groups {
		for _, id := range e.view.GroupMembers(sg) {
			if h := e.view.HealthOf(id); id == e.self || (h != census.Alive && h != census.Suspect) {
				continue
			}
			e.ackMu.Lock()
			due := !e.asking[id] && now.Sub(e.acked[id]) >= e.lease/4
			if due {
				e.asking[id] = true
			}
			e.ackMu.Unlock()
			if !due {
				continue
			}
			go func() {
				sent := time.Now() // the answer proves the member reachable since then, no later
				err := e.prober.Ping(id)
				e.ackMu.Lock()
				defer e.ackMu.Unlock()
				delete(e.asking, id)
				if err == nil {
					e.acked[id] = sent
				}
			}()
		}
	}
}

func (e *Elector) alive(id string) bool { return e.view.HealthOf(id) == census.Alive }

// Leader is sg's leader as this member sees it: a finished election whose
// leader is Alive, while the group has quorum here.
func (e *Elector) Leader(sg string) (string, bool) {
	e.mu.Lock()
	cur, ok := e.elections[sg]
	e.mu.Unlock()
	if !ok || cur.Status != Finished || !e.alive(cur.MemberID) || !e.Quorum(sg) {
		return "", false
	}
	return cur.MemberID, true
}

// Status is sg's election status as the census shows it: none,
// in-progress, no-quorum or finished.
func (e *Elector) Status(sg string) string {
	e.mu.Lock()
	cur, ok := e.elections[sg]
	e.mu.Unlock()
	switch {
	case !ok:
		return "none"
	case cur.Status == Finished:
		return "finished"
	case cur.Status == NoQuorum:
		return "no-quorum"
	}
	return "in-progress"
}

// Get returns sg's election rumor.
func (e *Elector) Get(sg string) (Election, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.elections[sg]
	return r, ok
}

// WaitLeader blocks until sg has a leader (a leader-topology service does
// not start before), or ctx ends. It wakes when an election changes, and
// when Tick (Run) sees the leader change with health or quorum alone:
// without Run, a leader that comes back Alive is not seen.
func (e *Elector) WaitLeader(ctx context.Context, sg string) (string, error) {
	for {
		e.mu.Lock()
		ch := e.changed
		e.mu.Unlock()
		if id, ok := e.Leader(sg); ok {
			return id, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wait for the leader of %s: %w", sg, ctx.Err())
		case <-ch: // an election changed, or a leader seen (Tick)
		}
	}
}

// Insert merges an election rumor from the ring. It reports false: what
// travels on is the merged election, sent through the spread function.
func (e *Elector) Insert(in Election) bool {
	if in.ServiceGroup == "" || in.MemberID == "" {
		return false
	}
	e.mu.Lock()
	cur, ok := e.elections[in.ServiceGroup]
	next := in
	if ok {
		next = e.merge(cur, in)
	}
	e.settle(next, ok, cur)
	return false
}

// All returns every election rumor, for push-pull.
func (e *Elector) All() map[string]map[string]Election {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]map[string]Election{}
	for sg, r := range e.elections {
		out[sg] = map[string]Election{"election": r}
	}
	return out
}

// Rumors returns every election rumor as the census shows them
// (census.Elections).
func (e *Elector) Rumors() map[string]map[string]census.ElectionRumor {
	out := map[string]map[string]census.ElectionRumor{}
	for sg, byID := range e.All() {
		out[sg] = map[string]census.ElectionRumor{}
		for id, r := range byID {
			out[sg][id] = census.ElectionRumor{Term: r.Term, Finished: r.Status == Finished, Suitability: r.Suitability, MemberID: r.MemberID, Rumor: r}
		}
	}
	return out
}

// merge decides between the stored election and an arriving one. Called
// with e.mu held.
func (e *Elector) merge(cur, in Election) Election {
	sg := cur.ServiceGroup
	// A leader this member still sees (Alive or Suspect) keeps its term
	// here whatever this member's own quorum: its lease rests on this
	// member answering it, so a vote from here for another's new term
	// could finish that term while it still leads.
	leads := cur.Status == Finished && !e.gone(sg, cur.MemberID)
	switch {
	case in.equal(cur):
		return cur
	case in.Status == Finished && in.Term >= cur.Term:
		if cur.Status == Finished && cur.Term == in.Term && !in.beats(cur) {
			return cur
		}
		return in
	case cur.Status == Finished && cur.Term >= in.Term:
		return cur
	case in.Status == Finished && cur.Status != Finished && e.alive(in.MemberID) && e.Quorum(sg) &&
		!slices.Contains(cur.Votes, in.MemberID) && cur.MemberID != in.MemberID:
		// A split healed: the finished election of a live leader ends an
		// attempt at a new term that never finished, unless that leader
		// bid in the new term itself (it lost quorum and gave the old
		// term up: bringing it back would make it lead beside the new
		// term's winner).
		return in
	case in.Term > cur.Term && leads && in.MemberID != cur.MemberID:
		// New terms not started by the leader are ignored while it is
		// seen.
		return cur
	case in.Term > cur.Term:
		return in
	case in.Term < cur.Term:
		return cur
	case in.beats(cur):
		return in.withVotes(cur)
	default:
		return cur.withVotes(in)
	}
}

// settle votes for and finishes next as this member should, stores it
// and spreads it when it changed. Called with e.mu held; releases it.
func (e *Elector) settle(next Election, had bool, prev Election) {
	sg := next.ServiceGroup
	if suit, member := e.groups[sg]; member && next.Status != Finished && !slices.Contains(next.Votes, e.self) {
		mine := Election{MemberID: e.self, ServiceGroup: sg, Term: next.Term, Suitability: suit(), Status: Running, Votes: []string{e.self}}
		if mine.beats(next) {
			next = mine.withVotes(next)
		} else {
			next = next.withVotes(mine)
		}
	}
	if next.MemberID == e.self && next.Status != Finished {
		next.Status = e.candidateStatus(next)
	}
	if had && next.equal(prev) {
		e.mu.Unlock()
		return
	}
	e.elections[sg] = next
	spread := e.spread
	e.wake()
	e.mu.Unlock()
	if spread != nil {
		spread(next)
	}
}

// candidateStatus: Finished once every Alive member of the group voted
// for the candidate and the group has quorum.
func (e *Elector) candidateStatus(c Election) Status {
	if !e.Quorum(c.ServiceGroup) {
		return NoQuorum
	}
	for _, id := range e.view.GroupMembers(c.ServiceGroup) {
		if e.alive(id) && !slices.Contains(c.Votes, id) {
			return Running
		}
	}
	return Finished
}

// Tick starts, continues and restarts the elections of this member's
// groups as membership changes: a first election once the group is large
// enough, a candidate finishing, and new terms when the leader is gone or
// lost quorum.
func (e *Elector) Tick() {
	e.mu.Lock()
	groups := make(map[string]func() uint64, len(e.groups))
	for sg, f := range e.groups {
		groups[sg] = f
	}
	e.mu.Unlock()
	for sg, suit := range groups {
		e.tickGroup(sg, suit)
	}
	e.observe()
}

// observe compares the leader this member sees of each group with the
// one it saw last, and tells (the changed channel and the notify
// function) of those that changed.
func (e *Elector) observe() {
	e.mu.Lock()
	now := make(map[string]string, len(e.elections))
	for sg := range e.elections {
		now[sg] = ""
	}
	e.mu.Unlock()
	for sg := range now {
		now[sg], _ = e.Leader(sg)
	}
	var moved []string
	e.mu.Lock()
	for sg, id := range now {
		if e.seen[sg] != id {
			e.seen[sg] = id
			moved = append(moved, sg)
		}
	}
	if len(moved) > 0 {
		e.wake()
	}
	notify := e.notify
	e.mu.Unlock()
	if notify != nil {
		for _, sg := range moved {
			notify(sg)
		}
	}
}

// wake tells the waiters on the changed channel (WaitLeader) that
// something changed. Called with e.mu held.
func (e *Elector) wake() {
	close(e.changed)
	e.changed = make(chan struct{})
}

func (e *Elector) tickGroup(sg string, suit func() uint64) {
	_, population := e.count(sg)
	e.mu.Lock()
	cur, ok := e.elections[sg]
	gone := false
	if ok && cur.MemberID != e.self && e.gone(sg, cur.MemberID) {
		since, seen := e.goneSince[sg]
		if !seen {
			since = time.Now()
			e.goneSince[sg] = since
		}
		gone = time.Since(since) >= e.grace
	} else {
		delete(e.goneSince, sg)
	}
	switch {
	case !ok && population < e.min:
		e.mu.Unlock()
	case !ok:
		e.settle(Election{MemberID: e.self, ServiceGroup: sg, Suitability: suit(), Status: Running, Votes: []string{e.self}}, false, Election{})
	case cur.Status == Finished && cur.MemberID == e.self && !e.Quorum(sg):
		// The leader lost quorum: a new term, which it bids to win again.
		e.settle(Election{MemberID: e.self, ServiceGroup: sg, Term: cur.Term + 1, Suitability: MaxSuitability, Status: Running, Votes: []string{e.self}}, true, cur)
	case gone:
		// The leader (or the candidate) is Confirmed, Departed or gone,
		// for the grace time.
		delete(e.goneSince, sg)
		e.settle(Election{MemberID: e.self, ServiceGroup: sg, Term: cur.Term + 1, Suitability: suit(), Status: Running, Votes: []string{e.self}}, true, cur)
	default:
		e.settle(cur, true, cur) // vote, or finish as the candidate
	}
}

func (e *Elector) gone(sg, id string) bool {
	switch e.view.HealthOf(id) {
	case census.Alive, census.Suspect:
		return !slices.Contains(e.view.GroupMembers(sg), id)
	}
	return true
}

// Run ticks every interval until ctx ends.
func (e *Elector) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.ping()
			e.Tick()
		}
	}
}

// UpdateSuitability is a member's bid in the update election of sg: in a
// leader-topology group the service leader bids 0 and followers the
// highest, so the leader is never the update leader while it has
// followers; in a standalone group (leaders nil) everyone bids 0. A
// leader-topology member joins the update election once its group has a
// leader (WaitLeader), so that the bids are known. The service leader is
// the winner of the group's finished election, also while its own view
// lacks quorum for a moment (a lease running out on a loaded machine):
// bidding the highest then made it the update leader.
func UpdateSuitability(leaders *Elector, sg, self string) func() uint64 {
	return func() uint64 {
		if leaders == nil {
			return 0
		}
		if cur, ok := leaders.Get(sg); ok && cur.Status == Finished && cur.MemberID == self {
			return 0
		}
		return MaxSuitability
	}
}
