package ringtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/internal/depottest"
)

// updateSvc is a service built in several releases for the update tests.
const updateSvc = "rollsvc"

// buildReleases builds n releases of updateSvc with the fixtures' key and
// returns their harts and idents, oldest first.
func buildReleases(t *testing.T, fix fixtures, n int) ([]string, []ident.Ident) {
	t.Helper()
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan")
	for rel, content := range map[string]string{
		"plan.sh": "pkg_name=" + updateSvc + "\npkg_origin=habtest\npkg_version=0.1.0\npkg_license=('Apache-2.0')\ndo_build() { return 0; }\ndo_install() { return 0; }\n",
		// Every start of the run hook is recorded, with the release.
		"hooks/run": "#!/bin/sh\necho {{pkg.ident}} >> {{pkg.svc_data_path}}/starts\nexec sleep 1000000\n",
	} {
		p := filepath.Join(plan, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var releases []string
	for i := range n {
		releases = append(releases, fmt.Sprintf("2026020100000%d", i+1))
	}
	return buildPlan(t, fix, dir, plan, updateSvc, "0.1.0", releases)
}

// starts are the releases of updateSvc a member's run hook started, in
// order, as the hook recorded them.
func (m *member) starts() []string {
	b, _ := os.ReadFile(filepath.Join(m.root, "hab", "svc", updateSvc, "data", "starts"))
	return strings.Fields(string(b))
}

// running is the release a member's updateSvc runs ("" when it does not
// run).
func (m *member) running() string { return m.runningOf(updateSvc) }

// moves samples the members' releases until stop is closed and records
// the order in which members moved to each release.
type moves struct {
	mu    sync.Mutex
	order map[string][]string // release → member names, in the order they were seen on it
}

func watchMoves(t *testing.T, ms []*member) (*moves, func()) {
	mv := &moves{order: map[string][]string{}}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		seen := map[string]string{}
		for _, m := range ms { // what they run when the watch starts is no move
			seen[m.name] = m.running()
		}
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			for _, m := range ms {
				rel := m.running()
				prev := seen[m.name]
				if rel == "" || rel == prev {
					continue
				}
				seen[m.name] = rel
				if prev == "" {
					continue // the first release seen of a service not up when the watch began is no move
				}
				mv.mu.Lock()
				mv.order[rel] = append(mv.order[rel], m.name)
				mv.mu.Unlock()
			}
		}
	}()
	return mv, func() { close(stop); <-done }
}

func (mv *moves) on(rel ident.Ident) []string {
	mv.mu.Lock()
	defer mv.mu.Unlock()
	return append([]string(nil), mv.order[rel.String()]...)
}

// rollingGroup is n members running updateSvc with --strategy rolling
// and --update-condition track-channel (and more load arguments) against
// a real depot whose stable channel holds the first of three releases.
type rollingGroup struct {
	t       *testing.T
	r       *ring
	harts   []string
	url     string
	env     []string
	members []*member
	rels    []ident.Ident
	depot   *client.Client
}

func startRollingGroup(t *testing.T, n int, load ...string) *rollingGroup {
	r := newRing(t)
	harts, rels := buildReleases(t, r.fix, 3)
	c, url := depottest.Start(t, crypto.Cache{Dir: r.fix.keys}, "habtest", harts...)
	g := &rollingGroup{t: t, r: r, harts: harts, url: url, rels: rels, depot: c,
		env: []string{"HAB_UPDATE_STRATEGY_PERIOD_MS=100", "HAB_UPDATE_STRATEGY_PERIOD_BYPASS_CHECK=1"}}
	g.promote(rels[0])
	for i := range n {
		o := opts{args: []string{"--permanent-peer"}, env: g.env}
		if i > 0 {
			o.args = []string{"--peer", g.members[0].gossip}
		}
		g.members = append(g.members, r.start(string(rune('a'+i)), o))
	}
	for _, m := range g.members {
		g.loadOn(m, load...)
	}
	g.waitOn(rels[0], g.members...)
	return g
}

// loadOn installs the first release on m and loads the service there.
func (g *rollingGroup) loadOn(m *member, load ...string) {
	g.t.Helper()
	if code, out := m.hab("", "pkg", "install", g.harts[0]); code != 0 {
		g.t.Fatalf("%s: install %s: %s", m.name, g.rels[0], out)
	}
	m.load(append([]string{"habtest/" + updateSvc, "--strategy", "rolling", "--update-condition", "track-channel", "--url", g.url, "--channel", "stable"}, load...)...)
}

func (g *rollingGroup) promote(rel ident.Ident) {
	g.t.Helper()
	if err := g.depot.Promote(context.Background(), "stable", rel, ident.X86_64Linux); err != nil {
		g.t.Fatal(err)
	}
}

func (g *rollingGroup) demote(rel ident.Ident) {
	g.t.Helper()
	if err := g.depot.Demote(context.Background(), "stable", rel, ident.X86_64Linux); err != nil {
		g.t.Fatal(err)
	}
}

// waitOn waits until every one of ms runs rel.
func (g *rollingGroup) waitOn(rel ident.Ident, ms ...*member) {
	g.t.Helper()
	waitFor(g.t, "every member running "+rel.String(), func() bool {
		for _, m := range ms {
			if m.running() != rel.String() {
				return false
			}
		}
		return true
	})
}

// updateLeader waits until every one of ms names the same update leader,
// one of ms, and returns it.
func (g *rollingGroup) updateLeader(ms ...*member) *member {
	g.t.Helper()
	sg := updateSvc + ".default"
	var leader string
	waitFor(g.t, "an update leader every member agrees on", func() bool {
		leader = ""
		for _, m := range ms {
			cg := m.census().CensusGroups[sg]
			if cg.UpdateLeaderID == nil || *cg.UpdateLeaderID == "" || (leader != "" && *cg.UpdateLeaderID != leader) {
				return false
			}
			leader = *cg.UpdateLeaderID
		}
		return byID(ms, leader) != nil
	})
	return byID(ms, leader)
}

// TestRollingUpdate: three members run the service with --strategy
// rolling and --update-condition track-channel against a real depot. A
// promotion reaches the update leader first, then the followers; a
// demotion rolls every member back to the release the channel then
// holds; a second promotion rolls forward again.
func TestRollingUpdate(t *testing.T) {
	g := startRollingGroup(t, 3)
	all, rels := g.members, g.rels
	leaderName := g.updateLeader(all...).name
	mv, stop := watchMoves(t, all)
	for _, step := range []struct {
		promote, demote *ident.Ident
		want            ident.Ident
	}{
		{promote: &rels[1], want: rels[1]},
		{demote: &rels[1], want: rels[0]},
		{promote: &rels[2], want: rels[2]},
	} {
		if step.promote != nil {
			g.promote(*step.promote)
		} else {
			g.demote(*step.demote)
		}
		g.waitOn(step.want, all...)
		if got := mv.on(step.want); len(got) == 0 || got[0] != leaderName {
			t.Errorf("members reached %s in the order %v; the update leader %s first", step.want, got, leaderName)
		}
	}
	stop()
	for _, m := range all {
		for _, want := range []string{
			"Updating " + updateSvc + " from " + rels[0].String() + " to " + rels[1].String(),
			"Updating " + updateSvc + " from " + rels[1].String() + " to " + rels[0].String(),
			"Updating " + updateSvc + " from " + rels[0].String() + " to " + rels[2].String(),
		} {
			m.waitOutput(want)
		}
	}
}

// TestRollingUpdateLeaderTopology: in a leader-topology group the
// service leader is never the update leader; the group still rolls to a
// promoted release, the update leader first.
func TestRollingUpdateLeaderTopology(t *testing.T) {
	g := startRollingGroup(t, 3, "--topology", "leader")
	group := updateSvc + ".default"
	serviceLeader := func() (string, bool) {
		l := g.members[0].leaderSeen(group)
		for _, m := range g.members[1:] {
			if m.leaderSeen(group) != l {
				return "", false
			}
		}
		return l, l != ""
	}
	var leader string
	waitFor(t, "a service leader every member agrees on", func() bool {
		var ok bool
		leader, ok = serviceLeader()
		return ok
	})
	up := g.updateLeader(g.members...)
	if up.id == leader {
		t.Fatalf("the service leader %s is the update leader", leader)
	}
	mv, stop := watchMoves(t, g.members)
	g.promote(g.rels[1])
	g.waitOn(g.rels[1], g.members...)
	stop()
	if got := mv.on(g.rels[1]); len(got) == 0 || got[0] != up.name {
		t.Errorf("members reached %s in the order %v; the update leader %s first", g.rels[1], got, up.name)
	}
	if l, ok := serviceLeader(); !ok || l != leader {
		t.Errorf("the service leader changed from %s to %q during the update", leader, l)
	}
}

// TestRollingUpdateMembersKilled: of five members, a follower killed
// with SIGKILL does not hold the others back; the update leader killed
// next, the three left (still a quorum of five) elect another update
// leader and roll to the next promotion.
func TestRollingUpdateMembersKilled(t *testing.T) {
	g := startRollingGroup(t, 5)
	up := g.updateLeader(g.members...)
	var follower *member
	for _, m := range g.members {
		if m != up {
			follower = m
			break
		}
	}
	follower.kill()
	var left []*member
	for _, m := range g.members {
		if m != follower {
			left = append(left, m)
		}
	}
	g.promote(g.rels[1])
	g.waitOn(g.rels[1], left...)
	up = g.updateLeader(left...) // the follower's death may have started another term
	up.kill()
	var rest []*member
	for _, m := range left {
		if m != up {
			rest = append(rest, m)
		}
	}
	g.updateLeader(rest...) // another, once the killed one is confirmed dead
	g.promote(g.rels[2])
	g.waitOn(g.rels[2], rest...)
}

// TestRollingUpdateDemoteMidUpdate is the original's
// rolling_update_demote_mid_update: a release promoted and demoted again
// at once leaves every member on the release the channel holds (none
// stays on the demoted one), and the next promotion reaches all.
func TestRollingUpdateDemoteMidUpdate(t *testing.T) {
	g := startRollingGroup(t, 3)
	g.updateLeader(g.members...)
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range g.members {
				cg := m.census().CensusGroups[updateSvc+".default"]
				if cg == nil {
					continue
				}
				ul := ""
				if cg.UpdateLeaderID != nil {
					ul = *cg.UpdateLeaderID
				}
				for id, p := range cg.Population {
					t.Logf("%s sees %s: pkg %v inc %d alive %v (update leader %s)", m.name, id, p.Pkg, p.PkgIncarnation, p.Alive, ul)
				}
			}
		}
	})
	g.promote(g.rels[1])
	waitFor(t, "a member on "+g.rels[1].String(), func() bool {
		for _, m := range g.members {
			if m.running() == g.rels[1].String() {
				return true
			}
		}
		return false
	})
	g.demote(g.rels[1])
	g.waitOn(g.rels[0], g.members...)
	g.promote(g.rels[2])
	g.waitOn(g.rels[2], g.members...)
}

// TestRollingUpdateLeaderGoneMemberJoins follows the original's
// rolling_update_remove_leader_lose_quorum: two members on the second
// release; the update leader is killed and a third member joins on the
// first release. The two left elect an update leader, the newcomer moves
// forward to the group's release, a promotion reaches both, and nobody
// ever moves back to the first release.
func TestRollingUpdateLeaderGoneMemberJoins(t *testing.T) {
	g := startRollingGroup(t, 2)
	g.promote(g.rels[1])
	g.waitOn(g.rels[1], g.members...)
	up := g.updateLeader(g.members...)
	var survivor *member
	for _, m := range g.members {
		if m != up {
			survivor = m
		}
	}
	up.kill()
	gamma := g.r.start("gamma", opts{args: []string{"--peer", survivor.gossip}, env: g.env})
	g.loadOn(gamma)
	left := []*member{survivor, gamma}
	mv, stop := watchMoves(t, left)
	g.waitOn(g.rels[1], left...)
	g.updateLeader(left...)
	g.promote(g.rels[2])
	g.waitOn(g.rels[2], left...)
	stop()
	if back := mv.on(g.rels[0]); len(back) > 0 {
		t.Errorf("%v moved back to %s", back, g.rels[0])
	}
}

// TestRollingUpdateBench (ROLLING_BENCH=1, bench/rolling.sh): the time
// from a promotion until every one of ROLLING_BENCH_MEMBERS (default 5)
// members runs the new release, polling every 100 ms, against the
// issue's 5 s (plus the services' own restart time, which this sleeping
// service hardly has). Prints one "rolling:" line per round.
func TestRollingUpdateBench(t *testing.T) {
	n := benchMembers(t, "ROLLING_BENCH", "bench/rolling.sh")
	g := startRollingGroup(t, n)
	g.updateLeader(g.members...)
	for _, rel := range g.rels[1:] {
		began := time.Now()
		g.promote(rel)
		g.waitOn(rel, g.members...)
		took := time.Since(began)
		fmt.Printf("rolling: %d members on %s %.2f s after the promotion (limit 5 s, ratio %.2f)\n", n, rel.Release, took.Seconds(), took.Seconds()/5)
	}
}
