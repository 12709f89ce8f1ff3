package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/internal/depottest"
)

// TestSupUpdateAtOnce: a service loaded with --strategy at-once and
// --update-condition track-channel follows its depot channel: a
// promotion installs the new release from the depot (it is not installed
// before) and restarts the service with it; a demotion moves it back to
// the release the channel then holds, although the newer one stays
// installed. A service with strategy none beside it stays where it is.
func TestSupUpdateAtOnce(t *testing.T) {
	e := newSupEnv(t)
	var harts []string
	var rels []ident.Ident
	for _, name := range []string{"upd", "upd", "upd", "still", "still"} {
		h := e.buildService(name, nil)
		harts = append(harts, h)
		rels = append(rels, ident.MustParse(fmt.Sprintf("habtest/%s/0.1.0/%d", name, e.release)))
	}
	r1, r2, r3, still1, still2 := rels[0], rels[1], rels[2], rels[3], rels[4]
	c, url := depottest.Start(t, crypto.Cache{Dir: e.keys}, "habtest", harts...)
	ctx := context.Background()
	// The root has only the first releases: the others come from the depot.
	for _, id := range []ident.Ident{r2, r3, still2} {
		var out, errb bytes.Buffer
		if code := run(ctx, []string{"pkg", "uninstall", id.String()}, strings.NewReader(""), &out, &errb, func(k string) string { return e.env[k] }); code != 0 {
			t.Fatalf("uninstall %s: %s%s", id, out.String(), errb.String())
		}
	}
	for _, id := range []ident.Ident{r1, still1} {
		if err := c.Promote(ctx, "stable", id, ident.X86_64Linux); err != nil {
			t.Fatal(err)
		}
	}
	e.env["HAB_UPDATE_STRATEGY_PERIOD_MS"] = "100"
	e.env["HAB_UPDATE_STRATEGY_PERIOD_BYPASS_CHECK"] = "1"
	s := e.startSup()
	s.mustHab("", "svc", "load", "habtest/upd", "--strategy", "at-once", "--update-condition", "track-channel", "--url", url, "--channel", "stable")
	s.mustHab("", "svc", "load", "habtest/still", "--url", url, "--channel", "stable")
	runs := func(name string, id ident.Ident) func() bool {
		return func() bool {
			svc := s.service(name)
			pkg, _ := svc["pkg"].(map[string]any)
			proc, _ := svc["process"].(map[string]any)
			return pkg != nil && pkg["ident"] == id.String() && proc != nil && proc["state"] == "up"
		}
	}
	supWaitFor(t, "upd running "+r1.String(), runs("upd", r1))
	supWaitFor(t, "still running "+still1.String(), runs("still", still1))
	pid1 := s.pid("upd")

	if err := c.Promote(ctx, "stable", r3, ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	if err := c.Promote(ctx, "stable", still2, ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	supWaitFor(t, "upd updated to "+r3.String(), runs("upd", r3))
	if pid := s.pid("upd"); pid == pid1 {
		t.Errorf("upd runs %s in the same process %d", r3, pid)
	}
	if _, err := os.Stat(filepath.Join(append([]string{e.root, "hab", "pkgs"}, r3.Parts()...)...)); err != nil {
		t.Errorf("the new release was not installed: %v", err)
	}
	s.waitOutput("Updating upd from " + r1.String() + " to " + r3.String() + " (at-once strategy, channel stable)")
	// A demotion under track-channel: back to the head, r1.
	if err := c.Demote(ctx, "stable", r3, ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	supWaitFor(t, "upd rolled back to "+r1.String(), runs("upd", r1))
	// The strategy none service never moved, and never polled.
	if !runs("still", still1)() {
		t.Errorf("the service with strategy none moved: %v", s.service("still")["pkg"])
	}
	if strings.Contains(s.output(), "Updating still") {
		t.Errorf("the service with strategy none was updated:\n%s", s.output())
	}
	// Changing the strategy to none stops the worker: a promotion is no
	// longer followed.
	s.mustHab("", "svc", "update", "habtest/upd", "--strategy", "none")
	supWaitFor(t, "upd running "+r1.String()+" after svc update", runs("upd", r1))
	if err := c.Promote(ctx, "stable", r2, ident.X86_64Linux); err != nil {
		t.Fatal(err)
	}
	s.mustHab("", "svc", "load", "--force", "habtest/still", "--strategy", "at-once", "--url", url, "--channel", "stable")
	supWaitFor(t, "still updated to "+still2.String()+" once its strategy is at-once", runs("still", still2))
	if !runs("upd", r1)() {
		t.Errorf("upd moved after its strategy became none: %v", s.service("upd")["pkg"])
	}
}
