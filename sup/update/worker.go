package update

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/habgo/hab/core/ident"
)

// Service is the loaded service a worker moves (the supervisor's).
type Service interface {
	// Running is the release the service runs now.
	Running() (ident.Ident, bool)
	// Move installs release to (from the worker's depot channel) and
	// restarts the service with it. It returns ErrNotMoved when the
	// service is no longer this worker's to move (unloaded, or loaded
	// with other settings since).
	Move(ctx context.Context, to ident.Ident) error
}

// ErrNotMoved is what Service.Move returns when the service is no longer
// the worker's to move: the round ends there, with nothing announced (a
// rolling member announcing a release it does not run would let the
// group think it moved).
var ErrNotMoved = errors.New("the service is no longer this update worker's")

// Ring is the ring as a rolling update sees it: the group's update
// leader (elected in the update election), its members with the release
// each runs and its package incarnation, and this member's announcement
// of the release it moved to.
type Ring interface {
	UpdateLeader() (id string, ok bool)
	Peers() []Peer
	// Announce publishes this member's service rumor with the package
	// incarnation incarnation (after a move).
	Announce(incarnation uint64)
}

// Worker keeps one loaded service on its depot channel by its strategy:
// at-once polls the channel every Period and moves as soon as the head
// is another release (newer, or any under track-channel); rolling does so
// on the update leader only, which then announces a package incarnation
// above the group's, and every follower moves to the leader's exact
// release in turn (FollowerTurn). A worker with strategy none does
// nothing.
type Worker struct {
	Strategy  Strategy
	Condition Condition
	Channel   string
	Want      ident.Ident // the spec's ident: origin/name[/version[/release]]
	Target    ident.Target
	Period    time.Duration
	Depot     Channel
	Service   Service
	Ring      Ring   // for the rolling strategy
	Self      string // this member's id (rolling)
	Log       *slog.Logger
}

// FollowPeriod is how often a rolling member looks at its group for its
// turn (or whether it leads now); the depot is polled every Period only.
// The original's followers look at every turn of the supervisor's loop.
const FollowPeriod = 200 * time.Millisecond

// Run works until ctx ends: it polls the depot every Period (the first
// time after a random splay, so that members loaded together do not all
// ask at once), and a rolling member looks for its turn every
// FollowPeriod in between. A round that fails is logged, and the next
// one waits a whole Period, as a poll does: a follower whose move fails
// does not retry the install at every look.
func (w *Worker) Run(ctx context.Context) {
	if w.Strategy == None || w.Strategy == "" {
		return
	}
	period := max(w.Period, 10*time.Millisecond)
	nextPoll := time.Now().Add(time.Duration(rand.Int64N(int64(period)/4 + 1)))
	failed := false
	for {
		wait := time.Until(nextPoll)
		if w.Strategy == Rolling && !failed {
			wait = min(wait, FollowPeriod)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		due := !time.Now().Before(nextPoll)
		err := w.round(ctx, due)
		failed = err != nil
		if due || failed {
			// A follower's round uses the poll's turn too: its next look
			// is FollowPeriod on, and a leader it becomes polls a Period
			// on at the latest.
			nextPoll = time.Now().Add(period)
		}
		if failed && ctx.Err() == nil {
			w.Log.Warn(err.Error())
		}
	}
}

// Step does one round: poll and move (at-once, or the rolling update
// leader), or take its turn (a rolling follower).
func (w *Worker) Step(ctx context.Context) error {
	return w.round(ctx, true)
}

// round is Step; the depot is polled only when mayPoll.
func (w *Worker) round(ctx context.Context, mayPoll bool) error {
	running, ok := w.Service.Running()
	if !ok {
		return nil // not started (yet)
	}
	if w.Strategy == Rolling {
		if w.Ring == nil {
			return fmt.Errorf("update %s: the rolling strategy needs the ring", w.Want)
		}
		leader, ok := w.Ring.UpdateLeader()
		if !ok {
			return nil // no update leader yet: nobody moves
		}
		if leader != w.Self {
			return w.follow(ctx, running, leader)
		}
	}
	if !mayPoll {
		return nil
	}
	return w.lead(ctx, running)
}

// lead polls the channel and moves to its head when that is another
// release (at-once, or the rolling update leader).
func (w *Worker) lead(ctx context.Context, running ident.Ident) error {
	next, ok, err := Poll(ctx, w.Depot, w.Channel, w.Want, w.Target, running, w.Condition)
	if err != nil || !ok {
		return err
	}
	w.Log.Info("updating", "from", running.String(), "to", next.String(), "channel", w.Channel, "strategy", string(w.Strategy))
	if err := w.Service.Move(ctx, next); errors.Is(err, ErrNotMoved) {
		return nil
	} else if err != nil {
		return fmt.Errorf("update %s to %s: %w", running, next, err)
	}
	if w.Strategy == Rolling {
		w.Ring.Announce(LeaderIncarnation(w.Ring.Peers()))
	}
	return nil
}

// follow moves a rolling follower to the leader's release when its turn
// has come.
func (w *Worker) follow(ctx context.Context, running ident.Ident, leader string) error {
	pkg, incarnation, ok := FollowerTurn(w.Self, leader, w.Ring.Peers())
	if !ok {
		return nil
	}
	to, err := ident.Parse(pkg)
	if err != nil || !to.FullyQualified() {
		return fmt.Errorf("update %s: the update leader %s runs %q, not a release", w.Want, leader, pkg)
	}
	if to != running {
		w.Log.Info("updating", "from", running.String(), "to", to.String(), "leader", leader, "strategy", string(w.Strategy))
		if err := w.Service.Move(ctx, to); errors.Is(err, ErrNotMoved) {
			return nil
		} else if err != nil {
			return fmt.Errorf("update %s to %s: %w", running, to, err)
		}
	}
	w.Ring.Announce(incarnation)
	return nil
}
