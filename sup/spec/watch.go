package spec

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/habgo/hab/sup/watch"
)

// What a spec file's change is.
const (
	Added   = "added"   // a new service's spec
	Changed = "changed" // the spec of a service already known differs
	Removed = "removed" // the spec file is gone
	Invalid = "invalid" // the file cannot be read; the last good spec stays
)

// Event is one change in the specs directory.
type Event struct {
	Kind string // Added, Changed, Removed or Invalid
	Name string // the service's name (its file is NAME.spec)
	// Spec is the new spec (Added, Changed), or the last good one
	// (Removed, Invalid; zero when there was none).
	Spec Spec
	// Err says what is wrong with the file (Invalid): it names the file
	// and, for TOML errors, the line.
	Err error
}

// Watcher reads the specs directory again only when inotify says it
// changed, and tells what changed since the last Next. One goroutine
// uses a Watcher.
type Watcher struct {
	dir   Dir
	watch *watch.Dir
	specs map[string]Spec   // the last good spec of each service
	bad   map[string]string // the files that could not be read: their errors
}

// Watch watches the specs directory (which may not exist yet) through w.
// Nothing is known at first: the first Next reports every spec Added.
func (d Dir) Watch(w *watch.Watcher) (*Watcher, error) {
	wd, err := w.Watch(string(d))
	if err != nil {
		return nil, fmt.Errorf("watch specs directory: %w", err)
	}
	return &Watcher{dir: d, watch: wd, specs: map[string]Spec{}, bad: map[string]string{}}, nil
}

// Changed receives a signal when the directory may have changed: call
// Next then. It has one waiting from the start.
func (sw *Watcher) Changed() <-chan struct{} { return sw.watch.Changed() }

// Close stops watching.
func (sw *Watcher) Close() { sw.watch.Close() }

// Next reads the directory and returns what changed since the last call,
// in the order of the service names: Added and Changed with the new
// spec, Removed, and Invalid once per new error of a file (a file edited
// into nonsense keeps its service's last good spec: no Removed, and
// Changed when it is mended into another spec). An error reading the
// directory itself changes nothing known.
func (sw *Watcher) Next() ([]Event, error) {
	specs, problems, err := sw.dir.ReadAll()
	if err != nil {
		return nil, err
	}
	var events []Event
	bad := map[string]string{}
	for _, p := range problems {
		name := strings.TrimSuffix(filepath.Base(p.File), ".spec")
		bad[name] = p.Err.Error()
		if sw.bad[name] != bad[name] {
			events = append(events, Event{Kind: Invalid, Name: name, Spec: sw.specs[name], Err: p.Err})
		}
	}
	for name := range sw.bad {
		_, still := bad[name]
		_, mended := specs[name]
		_, known := sw.specs[name]
		if !still && !mended && !known {
			// Gone with no good spec ever read: Removed all the same, so
			// that the file is known to be no more.
			events = append(events, Event{Kind: Removed, Name: name})
		}
	}
	sw.bad = bad
	for name, s := range specs {
		old, known := sw.specs[name]
		switch {
		case !known:
			events = append(events, Event{Kind: Added, Name: name, Spec: s})
		case !reflect.DeepEqual(old, s):
			events = append(events, Event{Kind: Changed, Name: name, Spec: s})
		}
		sw.specs[name] = s
	}
	for name, old := range sw.specs {
		if _, ok := specs[name]; ok {
			continue
		}
		if _, ok := bad[name]; ok {
			continue
		}
		events = append(events, Event{Kind: Removed, Name: name, Spec: old})
		delete(sw.specs, name)
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Name < events[j].Name })
	return events, nil
}
