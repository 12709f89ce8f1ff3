package ringtest

import (
	"strings"
	"testing"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/internal/depottest"
)

// updateGroup is a rollingGroup of one supervisor started with o, on
// releases built for the test and uploaded to the depot startDepot
// starts, the first promoted to stable and installed.
func updateGroup(t *testing.T, o opts, startDepot func(keys crypto.Cache, harts ...string) (*client.Client, string)) (*rollingGroup, *member) {
	t.Helper()
	r := newRing(t)
	harts, rels := buildReleases(t, r.fix, 2)
	c, url := startDepot(crypto.Cache{Dir: r.fix.keys}, harts...)
	g := &rollingGroup{t: t, r: r, harts: harts, url: url, rels: rels, depot: c,
		env: []string{"HAB_UPDATE_STRATEGY_PERIOD_MS=100", "HAB_UPDATE_STRATEGY_PERIOD_BYPASS_CHECK=1"}}
	g.promote(rels[0])
	o.env = append(o.env, g.env...)
	a := r.start("a", o)
	if code, out := a.hab("", "pkg", "install", harts[0]); code != 0 {
		t.Fatalf("install %s: %s", rels[0], out)
	}
	return g, a
}

// TestUpdateRollingWithoutRing: a service loaded with --strategy rolling
// on a supervisor without a ring (--listen-gossip "") gets no update
// worker, and the supervisor says why, once; the service runs all the
// same, and, switched to at-once, follows its channel. Switched back to
// rolling, it is told again.
func TestUpdateRollingWithoutRing(t *testing.T) {
	g, a := updateGroup(t, opts{noRing: true}, func(keys crypto.Cache, harts ...string) (*client.Client, string) {
		return depottest.Start(t, keys, "habtest", harts...)
	})
	a.load("habtest/"+updateSvc, "--strategy", "rolling", "--update-condition", "track-channel", "--url", g.url, "--channel", "stable")
	const why = "service habtest/" + updateSvc + ": no updates: the rolling strategy needs the ring (--listen-gossip)"
	a.waitOutput(why)
	g.waitOn(g.rels[0], a)
	g.promote(g.rels[1])
	a.ctlHab("", "svc", "update", "habtest/"+updateSvc, "--strategy", "at-once")
	g.waitOn(g.rels[1], a)
	if n := strings.Count(a.output(), "hab-sup(MR): "+why); n != 1 {
		t.Errorf("the supervisor said %d times: %s", n, why)
	}
	a.ctlHab("", "svc", "update", "habtest/"+updateSvc, "--strategy", "rolling")
	waitFor(t, "the reason said again", func() bool { return strings.Count(a.output(), "hab-sup(MR): "+why) == 2 })
	g.waitOn(g.rels[1], a)
}
