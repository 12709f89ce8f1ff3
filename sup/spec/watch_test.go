package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/sup/watch"
)

// describe is an event as the test expects it: "KIND NAME CHANNEL" (the
// spec's channel tells one spec from another), and the error's text for
// Invalid.
func describe(e Event) string {
	s := fmt.Sprintf("%s %s %s", e.Kind, e.Name, e.Spec.Channel)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// watchSpecs watches d through a watcher of its own until the test ends.
func watchSpecs(t *testing.T, d Dir) *Watcher {
	t.Helper()
	w, err := watch.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	sw, err := d.Watch(w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sw.Close)
	return sw
}

// TestWatcher: the specs directory created after the watch, a spec
// added, replaced by rename, edited in place into nonsense (reported
// once, naming the file and line, the last good spec kept), mended,
// removed; a nonsense file of an unknown service, and its removal (a
// Removed with no spec); temporaries ignored.
// Each step waits for the watch's signal and then for the events it
// expects from Next.
func TestWatcher(t *testing.T) {
	root := t.TempDir()
	d := Dir(filepath.Join(root, "sup", "default", "specs"))
	sw := watchSpecs(t, d)

	spec := func(channel string) Spec {
		s := New("habtest/web")
		s.Channel = channel
		return s
	}
	write := func(name, text string) func() error {
		return func() error { return os.WriteFile(filepath.Join(string(d), name), []byte(text), 0o644) }
	}
	good, err := spec("stable").Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name string
		do   func() error
		want []string // the events' descriptions, in order
		// inPlace: the file is truncated then written, and Next may
		// catch it empty (an invalid spec too) in between.
		inPlace bool
	}{
		{"nothing yet", func() error { return nil }, nil, false},
		{"directory and spec created", func() error { return d.Write(spec("stable")) }, []string{"added web stable"}, false},
		{"replaced by rename", func() error { return d.Write(spec("unstable")) }, []string{"changed web unstable"}, false},
		{"written again the same", func() error { return d.Write(spec("unstable")) }, nil, false},
		{"edited in place into nonsense", func() error {
			f, err := os.OpenFile(d.Path("web"), os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				return err
			}
			if _, err := f.WriteString("ident = 'habtest/web'\nchannel = \n"); err != nil {
				return err
			}
			return f.Close()
		}, []string{"invalid web unstable: spec file " + d.Path("web") + ":2:"}, true},
		{"mended", write("web.spec", string(good)), []string{"changed web stable"}, true},
		{"a temporary beside", write(".web.spec.tmp-1", "nonsense"), nil, false},
		{"nonsense for an unknown service", write("other.spec", "ident = 'habtest/other'\nflavour = 'x'\n"), []string{"invalid other : spec file " + d.Path("other") + ":2:1: unknown key \"flavour\""}, true},
		{"the nonsense removed", func() error { return os.Remove(d.Path("other")) }, []string{"removed other "}, false},
		{"removed", func() error { return d.Remove("web") }, []string{"removed web stable"}, false},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		var got []string
		deadline := time.NewTimer(20 * time.Second)
		for !matches(got, step.want, step.inPlace) {
			if len(step.want) == 0 {
				// No event is expected: read once, as after any signal.
				evs, err := sw.Next()
				if err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				for _, e := range evs {
					got = append(got, describe(e))
				}
				if len(got) != 0 {
					t.Fatalf("%s: events %q, want none", step.name, got)
				}
				break
			}
			select {
			case <-sw.Changed():
			case <-deadline.C:
				t.Fatalf("%s: events %q, want %q", step.name, got, step.want)
			}
			evs, err := sw.Next()
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			for _, e := range evs {
				got = append(got, describe(e))
			}
			if len(got) > len(step.want) && !step.inPlace {
				t.Fatalf("%s: events %q, want %q", step.name, got, step.want)
			}
		}
		deadline.Stop()
	}
}

// matches: each event begins with the wanted description (errors are
// compared by their beginning: the TOML library's wording follows). For
// a file written in place, Invalid events of the emptied file may come
// first.
func matches(got, want []string, inPlace bool) bool {
	if inPlace && len(got) > len(want) && strings.HasPrefix(got[0], "invalid ") {
		return matches(got[1:], want, inPlace)
	}
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !strings.HasPrefix(got[i], want[i]) {
			return false
		}
	}
	return true
}

// TestWatcherUnreadableDirectory: a specs path that is a file is an
// error from Next, and what was known stays.
func TestWatcherUnreadableDirectory(t *testing.T) {
	root := t.TempDir()
	d := Dir(filepath.Join(root, "specs"))
	if err := d.Write(New("habtest/web")); err != nil {
		t.Fatal(err)
	}
	sw := watchSpecs(t, d)
	if evs, err := sw.Next(); err != nil || len(evs) != 1 || evs[0].Kind != Added {
		t.Fatalf("first Next: %v, %v", evs, err)
	}
	if err := os.RemoveAll(string(d)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(string(d), []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sw.Next(); err == nil || !strings.Contains(err.Error(), "read specs directory") {
		t.Fatalf("Next over a file: %v, want an error reading the specs directory", err)
	}
	if err := os.Remove(string(d)); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(New("habtest/web")); err != nil {
		t.Fatal(err)
	}
	if evs, err := sw.Next(); err != nil || len(evs) != 0 {
		t.Fatalf("the same spec back: %v, %v; want no event", evs, err)
	}
}
