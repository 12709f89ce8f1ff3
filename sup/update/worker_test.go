package update

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/sup/census"
)

// movedService is the service side of a worker as the supervisor's
// updater is (sup/manager): what runs, and the moves it was asked for;
// moveErr is what a move fails with (the supervisor's install failing).
type movedService struct {
	mu      sync.Mutex
	running ident.Ident
	up      bool
	moves   []ident.Ident
	moveErr error
}

func (s *movedService) Running() (ident.Ident, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running, s.up
}

// asked is how many moves were asked for.
func (s *movedService) asked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.moves)
}

func (s *movedService) Move(_ context.Context, to ident.Ident) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.moves = append(s.moves, to)
	if s.moveErr != nil {
		return s.moveErr
	}
	s.running = to
	return nil
}

// censusRing is the ring side of a rolling worker over a real census:
// the update leader it names, the group's members from the census, and
// what this member announced.
type censusRing struct {
	ring      *census.Ring
	leader    string
	announced []uint64
}

func (r *censusRing) UpdateLeader() (string, bool) { return r.leader, r.leader != "" }
func (r *censusRing) Peers() []Peer                { return Peers(r.ring, "app.default") }
func (r *censusRing) Announce(inc uint64)          { r.announced = append(r.announced, inc) }

// newCensusRing is a census of members self and others (id → release,
// package incarnation), all alive.
func newCensusRing(self string, leader string, pkgs map[string]string, incs map[string]uint64) *censusRing {
	ring := census.NewRing(census.Member{ID: self})
	for id, pkg := range pkgs {
		if id != self {
			ring.AddMember(census.Member{ID: id}, census.Alive)
		}
		ring.Services.Insert(census.Service{MemberID: id, ServiceGroup: "app.default", Incarnation: 1, Pkg: pkg, PkgIncarnation: incs[id]})
	}
	return &censusRing{ring: ring, leader: leader}
}

// workerDepot is appDepot with the first release promoted to stable.
func workerDepot(t *testing.T) (*client.Client, ident.Ident, ident.Ident) {
	t.Helper()
	c, r1, r2 := appDepot(t)
	if err := c.Promote(context.Background(), "stable", r1, ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	return c, r1, r2
}

// goneDepot is a client of a depot that is not there.
func goneDepot(t *testing.T) *client.Client {
	t.Helper()
	ts := httptest.NewServer(nil)
	ts.Close()
	c, err := client.New(ts.URL, client.WithRetry(1, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testWorker is this member's ("me") worker under track-channel: of
// want on channel, polling depot, moving svc, rolling in ring (none when
// nil).
func testWorker(strategy Strategy, channel string, want ident.Ident, depot *client.Client, svc *movedService, ring *censusRing) *Worker {
	w := &Worker{Strategy: strategy, Condition: TrackChannel, Channel: channel, Want: want, Target: ident.X86_64Linux,
		Depot: depot, Service: svc, Self: "me", Log: slog.New(slog.DiscardHandler)}
	if ring != nil { // a nil *censusRing is no nil Ring
		w.Ring = ring
	}
	return w
}

// Every way a round fails: an error naming the service's ident and what
// went wrong, and the service not moved (nor, rolling, announced).
func TestStepErrors(t *testing.T) {
	ctx := context.Background()
	c, r1, r2 := workerDepot(t)
	want := ident.Ident{Origin: "acme", Name: "app"}
	for _, tc := range []struct {
		name     string
		strategy Strategy
		depot    *client.Client
		channel  string
		want     ident.Ident
		ring     *censusRing // nil: no ring
		moveErr  error
		promote  bool // r2 promoted before the round
		err      []string
		moves    int // the moves asked for (and failed)
	}{
		{name: "rolling without a ring", strategy: Rolling, depot: c, channel: "stable", want: want,
			err: []string{"update acme/app: the rolling strategy needs the ring"}},
		{name: "an update leader on a partial ident", strategy: Rolling, depot: c, channel: "stable", want: want,
			ring: newCensusRing("me", "lead", map[string]string{"me": r1.String(), "lead": "acme/app"}, map[string]uint64{"me": 1, "lead": 2}),
			err:  []string{`update acme/app: the update leader lead runs "acme/app", not a release`}},
		{name: "an update leader on nonsense", strategy: Rolling, depot: c, channel: "stable", want: want,
			ring: newCensusRing("me", "lead", map[string]string{"me": r1.String(), "lead": "not an ident"}, map[string]uint64{"me": 1, "lead": 2}),
			err:  []string{`the update leader lead runs "not an ident", not a release`}},
		{name: "the depot unreachable", strategy: AtOnce, depot: goneDepot(t), channel: "stable", want: want,
			err: []string{"poll channel stable for acme/app"}},
		{name: "the depot unreachable, rolling leader", strategy: Rolling, depot: goneDepot(t), channel: "stable", want: want,
			ring: newCensusRing("me", "me", map[string]string{"me": r1.String()}, nil),
			err:  []string{"poll channel stable for acme/app"}},
		{name: "no such channel", strategy: AtOnce, depot: c, channel: "nosuch", want: want,
			err: []string{"poll channel nosuch for acme/app", ErrNotInChannel.Error()}},
		{name: "no such package", strategy: AtOnce, depot: c, channel: "stable", want: ident.Ident{Origin: "acme", Name: "other"},
			err: []string{"poll channel stable for acme/other", ErrNotInChannel.Error()}},
		{name: "the move fails (at-once)", strategy: AtOnce, depot: c, channel: "stable", want: want, promote: true,
			moveErr: errors.New("install acme/app/1.1/20200102000000: bad signature"), moves: 1,
			err: []string{"update " + r1.String() + " to " + r2.String() + ": install acme/app/1.1/20200102000000: bad signature"}},
		{name: "the move fails (rolling leader)", strategy: Rolling, depot: c, channel: "stable", want: want, promote: true,
			ring:    newCensusRing("me", "me", map[string]string{"me": r1.String()}, map[string]uint64{"me": 1}),
			moveErr: errors.New("no space left"), moves: 1,
			err: []string{"update " + r1.String() + " to " + r2.String() + ": no space left"}},
		{name: "the move fails (rolling follower)", strategy: Rolling, depot: c, channel: "stable", want: want,
			ring:    newCensusRing("me", "lead", map[string]string{"me": r1.String(), "lead": r2.String()}, map[string]uint64{"me": 1, "lead": 2}),
			moveErr: errors.New("no space left"), moves: 1,
			err: []string{"update " + r1.String() + " to " + r2.String() + ": no space left"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.promote {
				if err := c.Promote(ctx, "stable", r2, ident.X86_64Linux); err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := c.Demote(ctx, "stable", r2, ident.X86_64Linux); err != nil {
						t.Fatal(err)
					}
				}()
			}
			svc := &movedService{running: r1, up: true, moveErr: tc.moveErr}
			err := testWorker(tc.strategy, tc.channel, tc.want, tc.depot, svc, tc.ring).Step(ctx)
			if err == nil {
				t.Fatal("Step = nil, want an error")
			}
			for _, s := range tc.err {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Step = %q, want it to say %q", err, s)
				}
			}
			if len(svc.moves) != tc.moves || svc.running != r1 {
				t.Errorf("moves asked %v, running %s; want %d moves and %s running", svc.moves, svc.running, tc.moves, r1)
			}
			if tc.ring != nil && len(tc.ring.announced) > 0 {
				t.Errorf("announced %v after a failed round", tc.ring.announced)
			}
		})
	}
}

// The rounds that do nothing, and say nothing: a service not started,
// strategy none, a rolling member without an update leader, a follower
// whose turn has not come, a channel at the release running.
func TestStepQuiet(t *testing.T) {
	ctx := context.Background()
	c, r1, r2 := workerDepot(t)
	want := ident.Ident{Origin: "acme", Name: "app"}
	for _, tc := range []struct {
		name     string
		strategy Strategy
		up       bool
		depot    *client.Client
		ring     *censusRing
	}{
		{"not started (the depot is not even asked)", AtOnce, false, goneDepot(t), nil},
		{"no update leader yet (the depot is not asked)", Rolling, true, goneDepot(t), newCensusRing("me", "", map[string]string{"me": r1.String()}, nil)},
		{"a follower whose turn has not come", Rolling, true, goneDepot(t),
			newCensusRing("me", "lead", map[string]string{"me": r1.String(), "lead": r2.String(), "ma": r1.String()}, map[string]uint64{"me": 1, "lead": 2, "ma": 1})},
		{"the channel holds the release running", AtOnce, true, c, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &movedService{running: r1, up: tc.up}
			if err := testWorker(tc.strategy, "stable", want, tc.depot, svc, tc.ring).Step(ctx); err != nil || len(svc.moves) != 0 {
				t.Errorf("Step = %v, moves %v; want nil and none", err, svc.moves)
			}
			if tc.ring != nil && len(tc.ring.announced) > 0 {
				t.Errorf("announced %v", tc.ring.announced)
			}
		})
	}
}

// A follower already on the leader's release (moved back by a demotion
// the leader made) moves nothing but announces the leader's incarnation,
// so that the members after it take their turn.
func TestStepFollowerAlreadyThere(t *testing.T) {
	_, r1, _ := workerDepot(t)
	ring := newCensusRing("me", "lead", map[string]string{"me": r1.String(), "lead": r1.String()}, map[string]uint64{"me": 2, "lead": 3})
	svc := &movedService{running: r1, up: true}
	w := testWorker(Rolling, "stable", ident.Ident{Origin: "acme", Name: "app"}, goneDepot(t), svc, ring)
	if err := w.Step(context.Background()); err != nil || len(svc.moves) != 0 || len(ring.announced) != 1 || ring.announced[0] != 3 {
		t.Fatalf("Step = %v, moves %v, announced %v; want nil, none, [3]", err, svc.moves, ring.announced)
	}
}

// A service no longer the worker's (Move says ErrNotMoved) ends the round
// quietly, and a rolling member announces nothing: not having moved, it
// must not tell the group it did.
func TestStepNotMoved(t *testing.T) {
	ctx := context.Background()
	c, r1, r2 := workerDepot(t)
	if err := c.Promote(ctx, "stable", r2, ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		strategy Strategy
		ring     *censusRing
	}{
		{"at-once", AtOnce, nil},
		{"rolling leader", Rolling, newCensusRing("me", "me", map[string]string{"me": r1.String()}, map[string]uint64{"me": 1})},
		{"rolling follower", Rolling, newCensusRing("me", "lead", map[string]string{"me": r1.String(), "lead": r2.String()}, map[string]uint64{"me": 1, "lead": 2})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &movedService{running: r1, up: true, moveErr: fmt.Errorf("spec changed: %w", ErrNotMoved)}
			if err := testWorker(tc.strategy, "stable", ident.Ident{Origin: "acme", Name: "app"}, c, svc, tc.ring).Step(ctx); err != nil || len(svc.moves) != 1 {
				t.Fatalf("Step = %v, moves %v; want nil after one move asked", err, svc.moves)
			}
			if tc.ring != nil && len(tc.ring.announced) > 0 {
				t.Errorf("announced %v without moving", tc.ring.announced)
			}
		})
	}
}

// lines is a log that tells when a record arrives.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
	got chan struct{}
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.buf.Write(p)
	select {
	case l.got <- struct{}{}:
	default:
	}
	return n, err
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Run logs a failed round as a warning, goes on polling, and returns
// when its context ends; the service stays where it is. With strategy
// none it returns at once.
func TestRunLogsAndGoesOn(t *testing.T) {
	_, r1, _ := workerDepot(t)
	log := &lines{got: make(chan struct{}, 1)}
	svc := &movedService{running: r1, up: true}
	w := testWorker(Rolling, "stable", ident.Ident{Origin: "acme", Name: "app"}, goneDepot(t), svc, nil)
	w.Period, w.Log = 10*time.Millisecond, slog.New(slog.NewTextHandler(log, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	for range 2 { // two rounds: the first failure did not stop it
		<-log.got
	}
	cancel()
	<-done
	if out := log.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "the rolling strategy needs the ring") {
		t.Errorf("the log says:\n%s", out)
	}
	if len(svc.moves) != 0 {
		t.Errorf("moves %v", svc.moves)
	}
	none := &Worker{Strategy: None, Service: svc}
	none.Run(context.Background()) // returns: nothing to do
}

// Run's pace, in a bubble's fake time, with a Period of an hour: a
// rolling follower takes its turn at once, not at the next poll; a
// failed round is tried again only a Period later (a follower whose
// install fails does not retry at every look); the update leader polls
// once per Period.
func TestRunPace(t *testing.T) {
	r1, r2 := ident.MustParse("acme/app/1.0/20200101000000"), ident.MustParse("acme/app/1.1/20200102000000")
	want := ident.Ident{Origin: "acme", Name: "app"}
	follower := func() *censusRing {
		return newCensusRing("me", "lead", map[string]string{"me": r1.String(), "lead": r2.String()}, map[string]uint64{"me": 1, "lead": 2})
	}
	for _, tc := range []struct {
		name    string
		ring    *censusRing
		moveErr error
		// after each wait (cumulative fake time), the moves asked and
		// the polls made so far
		at    []time.Duration
		moves []int
		polls []int
	}{
		{name: "a follower's turn", ring: follower(),
			at: []time.Duration{time.Second, 2 * time.Hour}, moves: []int{1, 1}, polls: []int{0, 0}},
		{name: "a follower's failed move", ring: follower(), moveErr: errors.New("install failed"),
			at: []time.Duration{time.Second, 59 * time.Minute, 62 * time.Minute}, moves: []int{1, 1, 2}, polls: []int{0, 0, 0}},
		{name: "the update leader", ring: newCensusRing("me", "me", map[string]string{"me": r1.String()}, nil),
			// the first poll after a splay of at most a quarter Period
			at: []time.Duration{16 * time.Minute, 59 * time.Minute, 76 * time.Minute, 136 * time.Minute}, moves: []int{0, 0, 0, 0}, polls: []int{1, 1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				polls := 0
				depot := channelFunc(func() (*client.Package, error) {
					mu.Lock()
					defer mu.Unlock()
					polls++
					return nil, errors.New("depot down")
				})
				svc := &movedService{running: r1, up: true, moveErr: tc.moveErr}
				w := &Worker{Strategy: Rolling, Condition: TrackChannel, Channel: "stable", Want: want, Target: ident.X86_64Linux,
					Period: time.Hour, Depot: depot, Service: svc, Ring: tc.ring, Self: "me", Log: slog.New(slog.DiscardHandler)}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { defer close(done); w.Run(ctx) }()
				began := time.Now()
				for i, at := range tc.at {
					time.Sleep(at - time.Since(began))
					synctest.Wait()
					mu.Lock()
					p := polls
					mu.Unlock()
					if svc.asked() != tc.moves[i] || p != tc.polls[i] {
						t.Errorf("after %s: %d moves asked, %d polls; want %d and %d", at, svc.asked(), p, tc.moves[i], tc.polls[i])
					}
				}
				cancel()
				<-done
			})
		})
	}
}
