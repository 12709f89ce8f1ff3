package manager

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/habgo/hab/sup/spec"
	"github.com/habgo/hab/sup/update"
)

// TestPinSweep: the pins of services that have no spec file are looked
// for at the first reconcile (services unloaded while the supervisor was
// down) and when the spec files change, not at every reconcile. A pin
// kept beside a spec file that cannot be read stays until that file is
// removed. A pin that turns up for no service between two reconciles
// over the same spec files stays: no sweep ran (the old code swept the
// data directory every second).
func TestPinSweep(t *testing.T) {
	sup := t.TempDir()
	m := &Manager{cfg: Config{Out: io.Discard, Log: slog.New(slog.DiscardHandler)}, problems: map[string]string{},
		specs: spec.Dir(filepath.Join(sup, "specs")), dataDir: filepath.Join(sup, "data")}
	if err := os.MkdirAll(m.dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.specs.Write(spec.New("habtest/kept")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.specs.Path("broken"), []byte("ident = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pin := func(name string) {
		t.Helper()
		p := update.Pin{Release: "habtest/" + name + "/1.0.0/20260101000000", Ident: "habtest/" + name,
			BldrURL: spec.DefaultURL, Channel: "stable", Strategy: "at-once", Condition: "track-channel"}
		if err := update.WritePin(update.PinPath(m.dataDir, name), p); err != nil {
			t.Fatal(err)
		}
	}
	pins := func() []string {
		t.Helper()
		files, err := filepath.Glob(update.PinPath(m.dataDir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range files {
			names = append(names, filepath.Base(f))
		}
		return names
	}
	for _, name := range []string{"kept", "broken", "gone"} {
		pin(name)
	}
	u := newUpdaters(m)
	ctx := context.Background()
	for _, step := range []struct {
		describe string
		do       func()
		want     []string
	}{
		{"the first reconcile: the pin of a service unloaded while the supervisor was down goes",
			func() {}, []string{"broken.pin", "kept.pin"}},
		{"the same spec files again: no sweep, a pin that turned up meanwhile stays",
			func() { pin("late") }, []string{"broken.pin", "kept.pin", "late.pin"}},
		{"a spec file added: the spec files changed, the pins without one go",
			func() {
				if err := m.specs.Write(spec.New("habtest/added")); err != nil {
					t.Fatal(err)
				}
			}, []string{"broken.pin", "kept.pin"}},
		{"the unreadable spec file removed: its pin goes",
			func() {
				pin("late")
				if err := os.Remove(m.specs.Path("broken")); err != nil {
					t.Fatal(err)
				}
			}, []string{"kept.pin"}},
		{"a restarted supervisor sweeps at its first reconcile",
			func() {
				pin("late")
				u = newUpdaters(m)
			}, []string{"kept.pin"}},
	} {
		step.do()
		u.reconcile(ctx)
		if got := pins(); !slices.Equal(got, step.want) {
			t.Errorf("%s: pins %v, want %v", step.describe, got, step.want)
		}
	}
}
