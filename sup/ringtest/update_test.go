package ringtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/depot"
	"github.com/habgo/hab/depot/client"
	"github.com/habgo/hab/planner/builder"
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
		"plan.sh":   "pkg_name=" + updateSvc + "\npkg_origin=habtest\npkg_version=0.1.0\npkg_license=('Apache-2.0')\ndo_build() { return 0; }\ndo_install() { return 0; }\n",
		"hooks/run": "#!/bin/sh\nexec sleep 1000000\n",
	} {
		p := filepath.Join(plan, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var harts []string
	var ids []ident.Ident
	for i := range n {
		release := fmt.Sprintf("2026020100000%d", i+1)
		var out bytes.Buffer
		res, err := builder.Build(context.Background(), plan, builder.Options{
			Root: paths.At(filepath.Join(dir, "build")), Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TERM=dumb"},
			Release: release, WorkDir: dir, Keys: crypto.Cache{Dir: fix.keys}, Output: &out,
		})
		if err != nil {
			t.Fatalf("build %s %s: %v\n%s", updateSvc, release, err, out.String())
		}
		harts = append(harts, res.Artifact)
		ids = append(ids, ident.MustParse("habtest/"+updateSvc+"/0.1.0/"+release))
	}
	return harts, ids
}

// releaseDepot is a real depot on a loopback port holding harts, none
// promoted.
func releaseDepot(t *testing.T, fix fixtures, harts []string) (*client.Client, string) {
	t.Helper()
	ctx := context.Background()
	dp, err := depot.Open(ctx, depot.Options{DataDir: t.TempDir(), DevAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(dp.Server)
	t.Cleanup(func() { ts.Close(); dp.Close() })
	c, err := client.New(ts.URL, client.WithToken("bobo"), client.WithRetry(2, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateOrigin(ctx, "habtest", ""); err != nil {
		t.Fatal(err)
	}
	for _, h := range harts {
		if err := c.UploadHart(ctx, h, client.UploadOptions{Keys: crypto.Cache{Dir: fix.keys}}); err != nil {
			t.Fatal(err)
		}
	}
	return c, ts.URL
}

// running is the release a member's updateSvc runs ("" when it does not
// run).
func (m *member) running() string {
	var svc struct {
		Pkg struct {
			Ident string `json:"ident"`
		} `json:"pkg"`
		Process struct {
			State string `json:"state"`
		} `json:"process"`
	}
	if !m.getJSON("/services/"+updateSvc+"/default", &svc) || svc.Process.State != "up" {
		return ""
	}
	return svc.Pkg.Ident
}

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
				if rel == "" || rel == seen[m.name] {
					continue
				}
				seen[m.name] = rel
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

// TestRollingUpdate: three members run the service with --strategy
// rolling and --update-condition track-channel against a real depot. A
// promotion reaches the update leader first, then the followers; a
// demotion rolls every member back to the release the channel then
// holds; a second promotion rolls forward again.
func TestRollingUpdate(t *testing.T) {
	r := newRing(t)
	harts, rels := buildReleases(t, r.fix, 3)
	c, url := releaseDepot(t, r.fix, harts)
	ctx := context.Background()
	if err := c.Promote(ctx, "stable", rels[0], ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	env := []string{"HAB_UPDATE_STRATEGY_PERIOD_MS=100", "HAB_UPDATE_STRATEGY_PERIOD_BYPASS_CHECK=1"}
	a := r.start("a", opts{args: []string{"--permanent-peer"}, env: env})
	b := r.start("b", opts{args: []string{"--peer", a.gossip}, env: env})
	cm := r.start("c", opts{args: []string{"--peer", a.gossip}, env: env})
	all := []*member{a, b, cm}
	for _, m := range all {
		if code, out := m.hab("", "pkg", "install", harts[0]); code != 0 {
			t.Fatalf("%s: install %s: %s", m.name, rels[0], out)
		}
		m.load("habtest/"+updateSvc, "--strategy", "rolling", "--update-condition", "track-channel", "--url", url, "--channel", "stable")
	}
	on := func(rel ident.Ident) func() bool {
		return func() bool {
			for _, m := range all {
				if m.running() != rel.String() {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, "every member running "+rels[0].String(), on(rels[0]))
	sg := updateSvc + ".default"
	var leader string
	waitFor(t, "an update leader every member agrees on", func() bool {
		leader = ""
		for _, m := range all {
			g := m.census().CensusGroups[sg]
			if g.UpdateLeaderID == nil || *g.UpdateLeaderID == "" || (leader != "" && *g.UpdateLeaderID != leader) {
				return false
			}
			leader = *g.UpdateLeaderID
		}
		return true
	})
	leaderName := byID(all, leader).name
	mv, stop := watchMoves(t, all)
	for _, step := range []struct {
		promote, demote *ident.Ident
		want            ident.Ident
	}{
		{promote: &rels[1], want: rels[1]},
		{demote: &rels[1], want: rels[0]},
		{promote: &rels[2], want: rels[2]},
	} {
		var err error
		if step.promote != nil {
			err = c.Promote(ctx, "stable", *step.promote, ident.X86_64Linux)
		} else {
			err = c.Demote(ctx, "stable", *step.demote, ident.X86_64Linux)
		}
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "every member running "+step.want.String(), on(step.want))
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
