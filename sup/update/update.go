// Package update decides when a service moves to another release, as the
// original's update strategies do: none, at-once (every member polls its
// depot channel and moves on its own) and rolling (the update leader,
// elected by sup/election, polls and moves first; each follower moves to
// the leader's exact release once the leader is ahead of it and the
// previous Alive member, in member id order, has caught up). The
// condition latest moves only to newer releases; track-channel follows
// the channel's head, so a demotion rolls the group back.
//
// The depot is reached through Channel, which depot/client.Client
// satisfies; installing and restarting is the supervisor's.
package update

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/sup/census"
)

// Strategy is a service's update strategy (--strategy).
type Strategy string

// The strategies.
const (
	None    Strategy = "none"
	AtOnce  Strategy = "at-once"
	Rolling Strategy = "rolling"
)

// ParseStrategy reads --strategy.
func ParseStrategy(s string) (Strategy, error) {
	switch st := Strategy(s); st {
	case None, AtOnce, Rolling:
		return st, nil
	}
	return "", fmt.Errorf("update strategy %q: want none, at-once or rolling", s)
}

// Condition is when a release is taken (--update-condition).
type Condition string

// The conditions.
const (
	Latest       Condition = "latest"
	TrackChannel Condition = "track-channel"
)

// ParseCondition reads --update-condition.
func ParseCondition(s string) (Condition, error) {
	switch c := Condition(s); c {
	case Latest, TrackChannel:
		return c, nil
	}
	return "", fmt.Errorf("update condition %q: want latest or track-channel", s)
}

// MinPeriod is the shortest period between polls the original allows
// (HAB_UPDATE_STRATEGY_PERIOD_MS below it needs the bypass).
const MinPeriod = 60 * time.Second

// Channel tells a depot channel's newest release of a package
// (depot/client.Client).
type Channel interface {
	ChannelLatest(ctx context.Context, channel string, want ident.Ident, target ident.Target) (*client.Package, error)
}

// Next is the release to move to from running when the channel's head is
// head: a newer one under latest, any other one under track-channel.
func Next(running, head ident.Ident, cond Condition) (ident.Ident, bool) {
	if head == running || !head.FullyQualified() {
		return ident.Ident{}, false
	}
	if cond == TrackChannel || ident.Compare(head, running) > 0 {
		return head, true
	}
	return ident.Ident{}, false
}

// ErrNotInChannel is wrapped by Poll when the channel holds no release
// of the package (or there is no such channel).
var ErrNotInChannel = errors.New("no release in the channel")

// Poll asks the channel for its head of want and returns Next. A channel
// without the package, or none of that name, is an error wrapping
// ErrNotInChannel (the worker says so at every poll, as the original
// warns), as is a head that is not a release of want.
func Poll(ctx context.Context, ch Channel, channel string, want ident.Ident, target ident.Target, running ident.Ident, cond Condition) (ident.Ident, bool, error) {
	p, err := ch.ChannelLatest(ctx, channel, want, target)
	if client.Status(err) == http.StatusNotFound {
		return ident.Ident{}, false, fmt.Errorf("poll channel %s for %s: %w (%v)", channel, want, ErrNotInChannel, err)
	}
	if err != nil {
		return ident.Ident{}, false, fmt.Errorf("poll channel %s for %s: %w", channel, want, err)
	}
	head := p.Ident.Ident()
	if head.Validate() != nil || !head.FullyQualified() || !head.Satisfies(want) {
		return ident.Ident{}, false, fmt.Errorf("poll channel %s for %s: the depot answered %q, not a release of it", channel, want, head.String())
	}
	next, ok := Next(running, head, cond)
	return next, ok, nil
}

// Peer is a member of the group as a rolling update sees it.
type Peer struct {
	ID             string
	Alive          bool
	Pkg            string // the release it runs
	PkgIncarnation uint64
}

// Peers are sg's members from the census.
func Peers(ring *census.Ring, sg string) []Peer {
	var out []Peer
	for id, s := range ring.Services.Key(sg) {
		out = append(out, Peer{ID: id, Alive: ring.HealthOf(id) == census.Alive, Pkg: s.Pkg, PkgIncarnation: s.PkgIncarnation})
	}
	slices.SortFunc(out, func(a, b Peer) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}

// LeaderIncarnation is what the update leader announces after moving:
// the group's highest package incarnation plus one.
func LeaderIncarnation(peers []Peer) uint64 {
	var top uint64
	for _, p := range peers {
		top = max(top, p.PkgIncarnation)
	}
	return top + 1
}

// FollowerTurn tells a rolling-update follower whether to move now, and
// to which release: the leader's, once the leader's incarnation exceeds
// its own and the previous Alive peer (member id order, wrapping; the
// leader itself when it comes first) runs the leader's incarnation.
func FollowerTurn(self, leader string, peers []Peer) (pkg string, incarnation uint64, ok bool) {
	var me, lead *Peer
	var alive []Peer
	for i := range peers {
		switch peers[i].ID {
		case self:
			me = &peers[i]
		case leader:
			lead = &peers[i]
		}
		if peers[i].Alive || peers[i].ID == self {
			alive = append(alive, peers[i])
		}
	}
	if me == nil || lead == nil || self == leader || lead.PkgIncarnation <= me.PkgIncarnation {
		return "", 0, false
	}
	i := slices.IndexFunc(alive, func(p Peer) bool { return p.ID == self })
	prev := alive[(i-1+len(alive))%len(alive)]
	if prev.ID != leader && prev.PkgIncarnation != lead.PkgIncarnation {
		return "", 0, false
	}
	return lead.Pkg, lead.PkgIncarnation, true
}
