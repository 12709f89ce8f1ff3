package ringtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/internal/depottest"
)

// TestLeaderGroupWithBastionAcceptance is issue 12's "Done when" end to
// end: the repository's fixture service (fixtures/service, the real plan,
// built in two releases and uploaded to a real depot) runs as a
// three-member leader group with --strategy rolling beside a permanent
// bastion that runs nothing, every supervisor a `hab sup run` process
// with its own FS_ROOT. The group elects one leader that every member
// and the bastion agree on; a configuration applied through the bastion
// is rendered by every member and answered by every member's service; a
// promotion of the second release to the test's channel moves the
// members to it one at a time (each member's time between the releases,
// bracketed by looks at its gateway, overlaps no other's), the service
// leader is never the update leader, and at the end one leader remains
// and every member runs the new release.
func TestLeaderGroupWithBastionAcceptance(t *testing.T) {
	const (
		svc     = "service"
		group   = "service.default"
		channel = "acceptance"
	)
	r := newRing(t)
	// The plan's pkg_svc_run becomes a run script holding the service
	// directory of the root it was built in (/hab/svc/service on a real
	// machine), which no member here has: each has its own FS_ROOT. So
	// the copy built gets a hooks/run starting the same command, which
	// each supervisor renders with its own paths (and which records when
	// it started which release, in data/starts); the rest is the plan.
	// One more template, config/leader.conf, shows what the service is
	// told of the election (svc.me.leader, svc.me.follower).
	harts, rels := buildFixture(t, r.fix, svc, "0.1.0", map[string]string{
		"hooks/run":          "#!/bin/sh\ncd {{pkg.svc_path}}\necho \"$(date +%s%N) {{pkg.ident}}\" >> {{pkg.svc_data_path}}/starts\nexec habtest-service {{pkg.svc_config_path}}/service.conf 2>&1\n",
		"config/leader.conf": "leader = {{svc.me.leader}}\nfollower = {{svc.me.follower}}\n",
	}, "20260301000001", "20260301000002")
	depot, url := depottest.Start(t, crypto.Cache{Dir: r.fix.keys}, "habtest", harts...)
	ctx := context.Background()
	if _, err := depot.CreateChannel(ctx, "habtest", channel); err != nil {
		t.Fatal(err)
	}
	if err := depot.Promote(ctx, channel, rels[0], ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}

	bastion := r.start("bastion", opts{args: []string{"--permanent-peer"}})
	env := []string{"HAB_UPDATE_STRATEGY_PERIOD_MS=100", "HAB_UPDATE_STRATEGY_PERIOD_BYPASS_CHECK=1"}
	var members []*member
	ports := map[string]int{}
	for _, name := range []string{"alpha", "beta", "gamma"} {
		m := r.start(name, opts{args: []string{"--peer", bastion.gossip}, env: env})
		if code, out := m.hab("", "pkg", "install", harts[0]); code != 0 {
			t.Fatalf("%s: install %s: exit %d\n%s", name, rels[0], code, out)
		}
		// Three services on one machine: each its own port.
		ports[name] = freePort(t, "127.0.0.1")
		m.userTOML(svc, fmt.Sprintf("port = %d\n[listen]\nhost = \"127.0.0.1\"\n", ports[name]))
		members = append(members, m)
	}
	everyone := append([]*member{bastion}, members...)
	waitFor(t, "four supervisors alive everywhere", func() bool { return allAlive(everyone...) })
	for _, m := range members {
		m.load("habtest/"+svc, "--topology", "leader", "--strategy", "rolling", "--url", url, "--channel", channel)
	}

	// One leader, the same in every member's census and the bastion's.
	var leader *member
	waitFor(t, "one leader every member and the bastion agree on", func() bool {
		var ok bool
		leader, ok = groupLeader(group, everyone...)
		return ok
	})
	t.Logf("leader %s (%s)", leader.name, leader.id)
	toldOnly := func(l *member) bool {
		for _, m := range members {
			want := "leader = false\nfollower = true\n"
			if m == l {
				want = "leader = true\nfollower = false\n"
			}
			if m.renderedFile(svc, "leader.conf") != want {
				return false
			}
		}
		return true
	}
	waitFor(t, leader.name+" alone told it leads (svc.me.leader), the others that they follow", func() bool { return toldOnly(leader) })
	waitFor(t, "the bastion's census of the group: three members, alive, on "+rels[0].String(), func() bool {
		g := bastion.census().CensusGroups[group]
		if g == nil || len(g.Population) != 3 {
			return false
		}
		for _, m := range members {
			p, ok := g.Population[m.id]
			if !ok || !p.Alive || p.Package != rels[0].String() {
				return false
			}
		}
		_, ok := g.Population[bastion.id]
		return !ok
	})
	answer := func(m *member) string { return httpBody(fmt.Sprintf("http://127.0.0.1:%d/", ports[m.name])) }
	waitFor(t, "every member's service answering on its port", func() bool {
		for _, m := range members {
			if m.runningOf(svc) != rels[0].String() || answer(m) != "hello from the service\n" {
				return false
			}
		}
		return true
	})

	// A configuration applied through the bastion: every member renders
	// it into svc/config/service.conf and its service answers with it.
	const message = "applied through the bastion"
	bastion.ctlHab(fmt.Sprintf("message = %q\n", message), "config", "apply", group, "1")
	waitFor(t, "the applied message rendered and answered on every member", func() bool {
		for _, m := range members {
			conf := m.renderedFile(svc, "service.conf")
			if !strings.Contains(conf, fmt.Sprintf("message = %q", message)) || !strings.Contains(conf, fmt.Sprintf("listen = \"127.0.0.1:%d\"", ports[m.name])) {
				return false
			}
			if answer(m) != message+"\n" {
				return false
			}
		}
		return true
	})
	for _, m := range members {
		m.waitOutput("reconfigured " + svc + ": " + message)
	}

	// The rolling update: the update leader is not the service leader.
	var up *member
	waitFor(t, "an update leader every member agrees on", func() bool {
		var id string
		for i, m := range members {
			g := m.census().CensusGroups[group]
			if g == nil || g.UpdateLeaderID == nil || *g.UpdateLeaderID == "" || (i > 0 && *g.UpdateLeaderID != id) {
				return false
			}
			id = *g.UpdateLeaderID
		}
		up = byID(members, id)
		return up != nil
	})
	t.Logf("update leader %s (%s)", up.name, up.id)
	if up == leader {
		t.Fatalf("the service leader %s is the update leader", leader.name)
	}
	tl, stop := recordTimeline(members, group)
	promoted := time.Now()
	if err := depot.Promote(ctx, channel, rels[1], ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every member running "+rels[1].String(), func() bool {
		for _, m := range members {
			if m.runningOf(svc) != rels[1].String() || answer(m) != message+"\n" {
				return false
			}
		}
		return true
	})
	t.Logf("every member on %s %s after the promotion", rels[1], time.Since(promoted).Round(time.Millisecond))
	var end *member
	waitFor(t, "one leader at the end", func() bool {
		var ok bool
		end, ok = groupLeader(group, everyone...)
		return ok
	})
	stop()
	t.Logf("looks at each member while rolling: %v", tl.looks())

	startedAt := func(name, release string) (time.Time, bool) {
		for _, m := range members {
			if m.name == name {
				return m.startedAt(svc, release)
			}
		}
		return time.Time{}, false
	}
	moves := tl.moves(rels[0].String(), rels[1].String(), startedAt)
	if len(moves) != len(members) {
		t.Fatalf("%d members seen moving from %s to %s; want every one (looks: %v)", len(moves), rels[0], rels[1], tl.looks())
	}
	for i, mv := range moves {
		t.Logf("%s between releases within %s..%s", mv.member, mv.leftAfter.Sub(promoted).Round(time.Millisecond), mv.upBy.Sub(promoted).Round(time.Millisecond))
		if i > 0 && moves[i-1].upBy.After(mv.leftAfter) {
			t.Errorf("%s was still seen on %s at %s, after %s had left it and before it started %s (at %s): two members between releases at once",
				mv.member, rels[0], mv.leftAfter.Sub(promoted).Round(time.Millisecond), moves[i-1].member, rels[1], moves[i-1].upBy.Sub(promoted).Round(time.Millisecond))
		}
	}
	if t.Failed() {
		for _, m := range members {
			t.Logf("%s's releases, from the promotion:\n%s", m.name, tl.trace(m.name, promoted))
		}
	}
	if moves[0].member != up.name {
		var order []string
		for _, mv := range moves {
			order = append(order, mv.member)
		}
		t.Errorf("the members moved in the order %v; the update leader %s first", order, up.name)
	}
	if both := tl.sameLeaders(); len(both) > 0 {
		t.Errorf("the service leader was the update leader: %s", strings.Join(both, "; "))
	}
	t.Logf("leader at the end %s (%s)", end.name, end.id)
	waitFor(t, end.name+" alone told it leads at the end", func() bool { return toldOnly(end) })
	for _, m := range members {
		m.waitOutput("Updating " + svc + " from " + rels[0].String() + " to " + rels[1].String())
		if got := m.renderedFile(svc, "service.conf"); !strings.Contains(got, fmt.Sprintf("message = %q", message)) {
			t.Errorf("%s's service.conf on %s lost the applied message:\n%s", m.name, rels[1], got)
		}
	}
}
