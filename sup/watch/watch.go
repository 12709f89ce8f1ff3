// Package watch tells the supervisor when files in a directory change,
// with inotify (fsnotify) instead of reading them again on a timer. A
// watched directory need not exist yet, nor its parents: the nearest
// existing ancestor is watched until it appears, and a directory removed
// or replaced is followed the same way.
//
// One Watcher (one inotify instance, one goroutine) serves every
// directory a supervisor watches: the kernel allows a user 128 inotify
// instances by default, and a supervisor may run more services.
package watch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// Watcher holds one inotify instance for many directories.
type Watcher struct {
	fs   *fsnotify.Watcher
	done chan struct{}

	mu    sync.Mutex
	dirs  map[*Dir]struct{}
	refs  map[string]int // inotify watches: path → how many Dirs use it
	close bool
}

// Dir is one watched directory.
type Dir struct {
	w        *Watcher
	path     string
	watching string // path itself, or its nearest existing ancestor
	changed  chan struct{}
}

// New starts a Watcher.
func New() (*Watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("start watching files: %w", err)
	}
	w := &Watcher{fs: fw, done: make(chan struct{}), dirs: map[*Dir]struct{}{}, refs: map[string]int{}}
	go w.run()
	return w, nil
}

// Close stops watching every directory; their Changed channels are left
// open and quiet.
func (w *Watcher) Close() error {
	w.mu.Lock()
	w.close = true
	w.mu.Unlock()
	err := w.fs.Close()
	<-w.done
	return err
}

// Watch watches path (cleaned, made absolute), a directory that may not
// exist yet. Its Changed channel has a signal waiting from the start, so
// that the first look at the directory needs no special case.
func (w *Watcher) Watch(path string) (*Dir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", path, err)
	}
	d := &Dir{w: w, path: abs, changed: make(chan struct{}, 1)}
	d.changed <- struct{}{}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.close {
		return nil, fmt.Errorf("watch %s: the watcher is closed", abs)
	}
	if err := w.follow(d); err != nil {
		w.release(d.watching)
		return nil, err
	}
	w.dirs[d] = struct{}{}
	return d, nil
}

// Changed receives a signal (several changes may be one) after something
// in the directory was created, written, renamed or removed, or the
// directory itself appeared, disappeared or was replaced.
func (d *Dir) Changed() <-chan struct{} { return d.changed }

// Path is the watched directory.
func (d *Dir) Path() string { return d.path }

// Close stops watching the directory.
func (d *Dir) Close() {
	w := d.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.dirs[d]; !ok {
		return
	}
	delete(w.dirs, d)
	w.release(d.watching)
}

func (d *Dir) signal() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// follow points d's inotify watch at its directory, or at the nearest
// ancestor that exists, and signals d when it reaches the directory.
// Called with w.mu held.
func (w *Watcher) follow(d *Dir) error {
	for {
		target := d.path
		for {
			if fi, err := os.Stat(target); err == nil && fi.IsDir() {
				break
			}
			parent := filepath.Dir(target)
			if parent == target {
				return fmt.Errorf("watch %s: no ancestor of it is a directory", d.path)
			}
			target = parent
		}
		if target == d.watching {
			return nil
		}
		if err := w.hold(target); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // removed in between: look again
			}
			return fmt.Errorf("watch %s: %w", d.path, err)
		}
		if d.watching != "" {
			w.release(d.watching)
		}
		d.watching = target
		if target == d.path {
			// Anything created before the watch is seen by the
			// reader's next look.
			d.signal()
		}
		// Look again: what appeared below target before its watch was
		// in place sent no event.
	}
}

func (w *Watcher) hold(path string) error {
	if w.refs[path] == 0 {
		if err := w.fs.Add(path); err != nil {
			return err
		}
	}
	w.refs[path]++
	return nil
}

func (w *Watcher) release(path string) {
	if path == "" {
		return
	}
	w.refs[path]--
	if w.refs[path] <= 0 {
		delete(w.refs, path)
		_ = w.fs.Remove(path) // gone with the directory, or closing
	}
}

// run hands each event to the directories it concerns.
func (w *Watcher) run() {
	defer close(w.done)
	for {
		select {
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			w.event(ev.Name)
		case _, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			// An overflow (or a read error) may have lost events: every
			// directory looks again, and one left watching nothing
			// tries to watch again.
			w.mu.Lock()
			for d := range w.dirs {
				if d.watching == "" {
					_ = w.follow(d)
				}
				d.signal()
			}
			w.mu.Unlock()
		}
	}
}

// event: name changed (a file in a watched directory, or the watched
// directory itself).
func (w *Watcher) event(name string) {
	parent := filepath.Dir(name)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.close {
		return
	}
	self := w.refs[name] > 0
	if self {
		// A watched directory itself was removed, renamed or changed:
		// its watch may follow an inode that is no longer at that path
		// (or none), so every Dir using it watches what is there now.
		_ = w.fs.Remove(name)
		delete(w.refs, name)
	}
	for d := range w.dirs {
		switch {
		case self && d.watching == name:
			d.watching = ""
			_ = w.follow(d) // on failure the Dir watches nothing until an overflow
			d.signal()
		case d.watching == d.path && parent == d.path:
			d.signal()
		case d.watching != d.path && parent == d.watching:
			// Something appeared in the ancestor watched while the
			// directory is missing: perhaps the next step of its path.
			_ = w.follow(d)
		}
	}
}
