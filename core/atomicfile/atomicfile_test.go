package atomicfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// readOnlyDir is an empty directory no one, root included, can create a
// file in: a read-only tmpfs when run as root (permissions do not stop
// root), a directory without write permission otherwise.
func readOnlyDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return dir
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("a read-only directory as root needs a read-only tmpfs mount: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	return dir
}

// entries lists dir's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestCreate(t *testing.T) {
	errFill := errors.New("disk full")
	fillWith := func(data string) func(*os.File) error {
		return func(f *os.File) error { _, err := f.WriteString(data); return err }
	}
	tests := []struct {
		name string
		// setup prepares the directory and returns the target path in it.
		setup func(t *testing.T, dir string) string
		mode  os.FileMode
		fill  func(*os.File) error
		opts  []Option
		// want is the target's content afterwards ("" when it must not be
		// a file); wantErr the error the write must wrap (nil: any error).
		want    string
		wantErr error
		fails   bool
	}{
		{name: "new file", mode: 0o644, fill: fillWith("new"), want: "new"},
		{name: "secret mode", mode: 0o600, fill: fillWith("secret"), want: "secret"},
		{name: "executable mode", mode: 0o755, fill: fillWith("#!/bin/sh\n"), want: "#!/bin/sh\n"},
		{name: "durable", mode: 0o644, fill: fillWith("kept"), opts: []Option{Durable()}, want: "kept"},
		{name: "missing directory created", mode: 0o644, fill: fillWith("deep"),
			setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "a", "b", "f") }, want: "deep"},
		{name: "replaces an existing file", mode: 0o644, fill: fillWith("new"),
			setup: existing("old"), want: "new"},
		{name: "no replace of a missing file", mode: 0o600, fill: fillWith("key"),
			opts: []Option{NoReplace(), Durable()}, want: "key"},
		{name: "no replace refuses an existing file", mode: 0o600, fill: fillWith("other key"),
			opts: []Option{NoReplace()}, setup: existing("old"), want: "old", wantErr: fs.ErrExist, fails: true},
		{name: "fill error", mode: 0o644, fill: func(f *os.File) error {
			f.WriteString("half")
			return errFill
		}, wantErr: errFill, fails: true},
		{name: "fill error keeps the old file", mode: 0o644, fill: func(*os.File) error { return errFill },
			setup: existing("old"), want: "old", wantErr: errFill, fails: true},
		{name: "target is a directory", mode: 0o644, fill: fillWith("x"), fails: true,
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "f")
				if err := os.MkdirAll(filepath.Join(p, "inside"), 0o755); err != nil {
					t.Fatal(err)
				}
				return p
			}},
		{name: "target is a directory, no replace", mode: 0o644, fill: fillWith("x"), fails: true,
			opts: []Option{NoReplace()}, wantErr: fs.ErrExist,
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "f")
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
				return p
			}},
		{name: "read-only directory", mode: 0o644, fill: fillWith("x"), fails: true,
			setup: func(t *testing.T, _ string) string { return filepath.Join(readOnlyDir(t), "f") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if tt.setup != nil {
				path = tt.setup(t, dir)
			}
			before := entries(t, filepath.Dir(path))
			err := Create(path, tt.mode, tt.fill, tt.opts...)
			switch {
			case tt.fails && err == nil:
				t.Fatal("Create succeeded, want an error")
			case !tt.fails && err != nil:
				t.Fatalf("Create: %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("Create: %v, want it to wrap %v", err, tt.wantErr)
			}
			after := entries(t, filepath.Dir(path))
			if !tt.fails && len(before) == 0 {
				before = []string{filepath.Base(path)}
			}
			if !slices.Equal(before, after) {
				t.Errorf("directory holds %q afterwards, want %q (no temporary left)", after, before)
			}
			fi, serr := os.Lstat(path)
			if tt.want == "" {
				if serr == nil && fi.Mode().IsRegular() {
					t.Errorf("%s was written", path)
				}
				return
			}
			got, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if string(got) != tt.want {
				t.Errorf("content %q, want %q", got, tt.want)
			}
			if !tt.fails && fi.Mode().Perm() != tt.mode {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tt.mode)
			}
		})
	}
}

func existing(content string) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// TestCreateTemporaryBeside checks that the file being filled is hidden,
// beside its final name, and named after it.
func TestCreateTemporaryBeside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cli.toml")
	var tmp string
	err := Create(path, 0o600, func(f *os.File) error {
		tmp = f.Name()
		_, err := f.WriteString("x")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(tmp) != dir {
		t.Errorf("temporary %s not beside %s", tmp, path)
	}
	if m, _ := filepath.Match(".cli.toml.tmp-*", filepath.Base(tmp)); !m {
		t.Errorf("temporary %s not hidden and named after cli.toml", tmp)
	}
	if _, err := os.Lstat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary %s left: %v", tmp, err)
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pin.json")
	data := []byte(`{"release":"20260101000000"}` + "\n")
	if err := WriteFile(path, data, 0o640, Durable()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %q, %v; want %q", got, err, data)
	}
	if err := WriteFile(path, []byte("other"), 0o640, NoReplace()); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("WriteFile over an existing file with NoReplace: %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
		t.Errorf("NoReplace changed the file to %q", got)
	}
}

// TestSyncDir: a directory is flushed; one that is missing is an error
// naming it.
func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	if err := SyncDir(dir); err != nil {
		t.Errorf("SyncDir(%s): %v", dir, err)
	}
	missing := filepath.Join(dir, "missing")
	err := SyncDir(missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "sync directory "+missing) {
		t.Errorf("SyncDir(%s) = %v, want a not-exist error naming it", missing, err)
	}
}
