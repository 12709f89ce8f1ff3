package manager

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/sup/census"
	"github.com/habgo/hab/sup/spec"
	"github.com/habgo/hab/sup/update"
	"github.com/habgo/hab/sup/watch"
)

// specsManager is a Manager over the supervisor directory sup with no
// package installed (every service's start fails, and is said), reading
// its specs through inotify when watched, else the whole directory each
// time, as Run makes it.
func specsManager(t *testing.T, sup string, watched bool) *Manager {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	m := &Manager{
		cfg: Config{Out: io.Discard, Log: log, Getenv: func(string) string { return "" }, UpdatePeriod: time.Hour,
			Store: pkgs.New(paths.Root{FS: t.TempDir()}, ident.X86_64Linux)},
		specs: spec.Dir(filepath.Join(sup, "specs")), dataDir: filepath.Join(sup, "data"),
		services: map[string]*running{}, problems: map[string]string{}, desired: map[string]spec.Spec{},
		bad: map[string]bool{}, failed: map[string]bool{},
		ring: census.NewRing(census.Member{ID: "me"}),
	}
	m.opened = newOpened(m.ring, crypto.Cache{Dir: t.TempDir()}, log, m.say)
	m.updates = newUpdaters(m)
	if watched {
		w, err := watch.New()
		if err != nil {
			t.Skipf("no inotify: %v", err)
		}
		t.Cleanup(func() { w.Close() })
		if m.specWatch, err = m.specs.Watch(w); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.specWatch.Close)
	}
	for _, d := range []string{string(m.specs), m.dataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// TestUpdatersFollowSpecs: the update workers are reconciled with the
// specs the manager reads, when they changed (or are the first), not on
// a timer of their own that read the specs directory and the pins every
// second. The pins of services that have no spec file are looked for at
// the first reconcile (services unloaded while the supervisor was down)
// and when the spec files change: a pin that turns up for no service
// between two reconciles over the same spec files stays. A spec file
// that cannot be read keeps its service's worker and pin, as it keeps
// the service running, until the file is removed. Through inotify and
// by reading the directory, as the manager does without inotify.
func TestUpdatersFollowSpecs(t *testing.T) {
	for _, watched := range []bool{true, false} {
		t.Run(map[bool]string{true: "inotify", false: "read every time"}[watched], func(t *testing.T) {
			testUpdatersFollowSpecs(t, watched)
		})
	}
}

func testUpdatersFollowSpecs(t *testing.T, watched bool) {
	sup := t.TempDir()
	m := specsManager(t, sup, watched)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	updated := func(name string) spec.Spec {
		sp := spec.New("habtest/" + name)
		sp.UpdateStrategy, sp.UpdateCondition = "at-once", "track-channel"
		sp.BldrURL = "http://127.0.0.1:1" // never polled: the period is an hour
		return sp
	}
	writeSpec := func(sp spec.Spec) {
		t.Helper()
		if err := m.specs.Write(sp); err != nil {
			t.Fatal(err)
		}
	}
	writeFile := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(m.specs.Path(name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pin := func(name string) {
		t.Helper()
		rel := ident.MustParse("habtest/" + name + "/1.0.0/20260101000000")
		if err := update.WritePin(update.PinPath(m.dataDir, name), pinFor(updated(name), rel)); err != nil {
			t.Fatal(err)
		}
	}
	writeSpec(updated("kept"))
	writeFile("broken", "ident = \n")
	for _, name := range []string{"kept", "broken", "gone"} {
		pin(name)
	}
	for _, step := range []struct {
		describe string
		do       func()
		passed   bool     // the manager passed specs on to the workers
		pins     []string // the pin files after
		workers  []string // the services with a worker after
	}{
		{"the first reconcile: the pin of a service unloaded while the supervisor was down goes",
			func() {}, true, []string{"broken.pin", "kept.pin"}, []string{"kept"}},
		{"the same spec files again: nothing passed, a pin that turned up meanwhile stays",
			func() { pin("late") }, false, []string{"broken.pin", "kept.pin", "late.pin"}, []string{"kept"}},
		{"a spec file added: the spec files changed, the pins without one go",
			func() { writeSpec(spec.New("habtest/added")) }, true, []string{"broken.pin", "kept.pin"}, []string{"kept"}},
		{"the unreadable spec file removed: its pin goes",
			func() {
				pin("late")
				if err := os.Remove(m.specs.Path("broken")); err != nil {
					t.Fatal(err)
				}
			}, true, []string{"kept.pin"}, []string{"kept"}},
		{"a spec file with a worker made unreadable: its worker and pin stay",
			func() { writeFile("kept", "ident = [\n") }, true, []string{"kept.pin"}, []string{"kept"}},
		{"that spec file removed: its worker and pin go",
			func() {
				if err := os.Remove(m.specs.Path("kept")); err != nil {
					t.Fatal(err)
				}
			}, true, nil, nil},
	} {
		step.do()
		m.reconcile(ctx)
		m.updates.mu.Lock()
		passed := m.updates.pending != nil
		m.updates.mu.Unlock()
		if passed != step.passed {
			t.Errorf("%s: specs passed on %v, want %v", step.describe, passed, step.passed)
		}
		m.updates.reconcilePending(ctx)
		files, err := filepath.Glob(update.PinPath(m.dataDir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		var pins []string
		for _, f := range files {
			pins = append(pins, filepath.Base(f))
		}
		if !slices.Equal(pins, step.pins) {
			t.Errorf("%s: pins %v, want %v", step.describe, pins, step.pins)
		}
		m.updates.mu.Lock()
		workers := slices.Sorted(maps.Keys(m.updates.workers))
		m.updates.mu.Unlock()
		if !slices.Equal(workers, step.workers) {
			t.Errorf("%s: workers %v, want %v", step.describe, workers, step.workers)
		}
	}

	// A restarted supervisor sweeps at its first reconcile.
	pin("late")
	m = specsManager(t, sup, watched)
	m.reconcile(ctx)
	m.updates.reconcilePending(ctx)
	if _, err := os.Stat(update.PinPath(m.dataDir, "late")); !os.IsNotExist(err) {
		t.Errorf("after a restart the pin of a service not loaded is still there (%v)", err)
	}
}
