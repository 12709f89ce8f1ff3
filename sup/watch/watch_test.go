package watch

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// waitUntil waits for signals from d until ok holds after one; a
// directory that never signals once the change is made fails the test.
func waitUntil(t *testing.T, d *Dir, what string, ok func() bool) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case <-d.Changed():
			if ok() {
				return
			}
		case <-deadline.C:
			t.Fatalf("%s: no change signalled for %s", what, d.Path())
		}
	}
}

func content(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newWatcher(t *testing.T) *Watcher {
	t.Helper()
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestDirChanges: each way a file in the directory changes is signalled,
// and the directory is followed when it appears late (parents too),
// is removed and comes back, or is replaced by a rename.
func TestDirChanges(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "user", "svc", "config")
	file := filepath.Join(dir, "user.toml")
	w := newWatcher(t)
	d, err := w.Watch(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	is := func(want string) func() bool { return func() bool { return content(file) == want } }
	gone := func() bool { _, err := os.Stat(file); return os.IsNotExist(err) }

	// The first look needs no event.
	waitUntil(t, d, "start", gone)

	for _, step := range []struct {
		name string
		do   func()
		ok   func() bool
	}{
		{"created later with its parents", func() {
			must(t, os.MkdirAll(dir, 0o755))
			must(t, os.WriteFile(file, []byte("a = 1\n"), 0o644))
		}, is("a = 1\n")},
		{"replaced by rename", func() {
			must(t, os.WriteFile(file+".new", []byte("a = 2\n"), 0o644))
			must(t, os.Rename(file+".new", file))
		}, is("a = 2\n")},
		{"edited in place", func() {
			f, err := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC, 0)
			must(t, err)
			_, err = f.WriteString("a = 3\n")
			must(t, err)
			must(t, f.Close())
		}, is("a = 3\n")},
		{"removed", func() { must(t, os.Remove(file)) }, gone},
		{"written again", func() { must(t, os.WriteFile(file, []byte("a = 4\n"), 0o644)) }, is("a = 4\n")},
		{"directory removed", func() { must(t, os.RemoveAll(filepath.Join(root, "user"))) }, gone},
		{"directory back", func() {
			must(t, os.MkdirAll(dir, 0o755))
			must(t, os.WriteFile(file, []byte("a = 5\n"), 0o644))
		}, is("a = 5\n")},
		{"directory replaced by rename", func() {
			other := filepath.Join(root, "other")
			must(t, os.MkdirAll(other, 0o755))
			must(t, os.WriteFile(filepath.Join(other, "user.toml"), []byte("a = 6\n"), 0o644))
			must(t, os.Rename(dir, filepath.Join(root, "old")))
			must(t, os.Rename(other, dir))
		}, is("a = 6\n")},
		{"the replacement is watched", func() { must(t, os.WriteFile(file, []byte("a = 7\n"), 0o644)) }, is("a = 7\n")},
	} {
		step.do()
		waitUntil(t, d, step.name, step.ok)
	}
}

// TestManyDirsOneInstance: more directories than the kernel's default
// limit of inotify instances per user (128) share the one Watcher; two
// Dirs on one path both hear of a change, and closing one leaves the
// other watching.
func TestManyDirsOneInstance(t *testing.T) {
	root := t.TempDir()
	w := newWatcher(t)
	var dirs []*Dir
	for i := range 200 {
		d, err := w.Watch(filepath.Join(root, "svc", string(rune('a'+i%26))+string(rune('a'+i/26)), "config"))
		if err != nil {
			t.Fatalf("dir %d: %v", i, err)
		}
		dirs = append(dirs, d)
	}
	last := dirs[len(dirs)-1]
	twin, err := w.Watch(last.Path())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(last.Path(), "user.toml")
	must(t, os.MkdirAll(last.Path(), 0o755))
	must(t, os.WriteFile(file, []byte("x"), 0o644))
	for _, d := range []*Dir{last, twin} {
		waitUntil(t, d, "write", func() bool { return content(file) == "x" })
	}
	twin.Close()
	must(t, os.WriteFile(file, []byte("y"), 0o644))
	waitUntil(t, last, "write after the twin closed", func() bool { return content(file) == "y" })
}

func TestWatchClosed(t *testing.T) {
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	must(t, w.Close())
	if _, err := w.Watch(t.TempDir()); err == nil {
		t.Fatal("a closed watcher accepted a directory")
	}
}
