package ringtest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/internal/depottest"
)

// TestUpdatePinnedAcrossRestart: a service with --strategy at-once and
// --update-condition track-channel, rolled back by a demotion, runs the
// older release although the newer one stays installed. A supervisor
// stopped then and started again starts the older release at once: its
// run hook, which records every start, never starts the newer one after
// the rollback. A later promotion still moves it forward, and unloading
// the service drops the pin.
func TestUpdatePinnedAcrossRestart(t *testing.T) {
	r := newRing(t)
	harts, rels := buildReleases(t, r.fix, 2)
	c, url := depottest.Start(t, crypto.Cache{Dir: r.fix.keys}, "habtest", harts...)
	g := &rollingGroup{t: t, r: r, harts: harts, url: url, rels: rels, depot: c,
		env: []string{"HAB_UPDATE_STRATEGY_PERIOD_MS=100", "HAB_UPDATE_STRATEGY_PERIOD_BYPASS_CHECK=1"}}
	old, newer := rels[0], rels[1]
	g.promote(old)
	a := r.start("a", opts{env: g.env})
	if code, out := a.hab("", "pkg", "install", harts[0]); code != 0 {
		t.Fatalf("install %s: %s", old, out)
	}
	a.load("habtest/"+updateSvc, "--strategy", "at-once", "--update-condition", "track-channel", "--url", url, "--channel", "stable")
	g.waitOn(old, a)
	g.promote(newer)
	g.waitOn(newer, a)
	g.demote(newer)
	g.waitOn(old, a)
	a.waitOutput("Updating " + updateSvc + " from " + newer.String() + " to " + old.String())
	pin := filepath.Join(a.root, "hab", "sup", "default", "data", updateSvc+".pin")
	if b, err := os.ReadFile(pin); err != nil || !strings.Contains(string(b), `"release": "`+old.String()+`"`) {
		t.Fatalf("the pin file after the rollback: %q, %v", b, err)
	}
	want := []string{old.String(), newer.String(), old.String()}
	waitFor(t, "the run hook's record of three starts", func() bool { return len(a.starts()) >= len(want) })
	if got := a.starts(); !slices.Equal(got, want) {
		t.Fatalf("starts before the restart: %v, want %v", got, want)
	}

	a.stop()
	before := len(a.starts())
	a = r.start("a", opts{env: g.env})
	g.waitOn(old, a)
	a.waitOutput("Starting " + updateSvc + ".default (" + old.String() + ")")
	// Had the newer release started first, the worker would move the
	// service back: the record would show both.
	waitFor(t, "the run hook's record of the start after the restart", func() bool {
		s := a.starts()
		return len(s) > before && s[len(s)-1] == old.String()
	})
	after := a.starts()[before:]
	for _, rel := range after {
		if rel != old.String() {
			t.Errorf("after the restart the run hook started %v; only %s may start", after, old)
		}
	}
	if out := a.output(); strings.Contains(out, newer.String()) {
		t.Errorf("the restarted supervisor mentions %s:\n%s", newer, out)
	}

	// Not a pin against updates: the next promotion moves it on.
	g.promote(newer)
	g.waitOn(newer, a)
	if b, err := os.ReadFile(pin); err != nil || !strings.Contains(string(b), `"release": "`+newer.String()+`"`) {
		t.Errorf("the pin file after the promotion: %q, %v", b, err)
	}
	a.ctlHab("", "svc", "unload", "habtest/"+updateSvc)
	waitFor(t, "the pin file removed after the unload", func() bool {
		_, err := os.Stat(pin)
		return os.IsNotExist(err)
	})
}

// TestUpdatePinnedReleaseUninstalled: the release a rollback pinned is
// uninstalled by hand while the service runs; the service started again
// (a forced load) starts on the newest release installed instead of
// failing for want of the pinned one, and the worker moves it back to
// the channel's release, installing it from the depot again.
func TestUpdatePinnedReleaseUninstalled(t *testing.T) {
	g, a := updateGroup(t, opts{}, func(keys crypto.Cache, harts ...string) (*client.Client, string) {
		return depottest.Start(t, keys, "habtest", harts...)
	})
	old, newer := g.rels[0], g.rels[1]
	load := []string{"habtest/" + updateSvc, "--strategy", "at-once", "--update-condition", "track-channel", "--url", g.url, "--channel", "stable"}
	a.load(load...)
	g.waitOn(old, a)
	g.promote(newer)
	g.waitOn(newer, a)
	g.demote(newer)
	g.waitOn(old, a)
	if code, out := a.hab("", "pkg", "uninstall", old.String()); code != 0 {
		t.Fatalf("uninstall %s: exit %d\n%s", old, code, out)
	}
	a.load(append([]string{"--force"}, load...)...)
	a.waitOutput(updateSvc + ": the release it was moved to, " + old.String() + ", is not installed")
	g.waitOn(old, a)
}
