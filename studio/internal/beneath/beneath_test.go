package beneath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture is a directory with links planted in it, each pointing at a
// host directory or file outside it.
func fixture(t *testing.T) (d *Dir, root, hostDir, hostFile string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	hostDir = filepath.Join(base, "host")
	hostFile = filepath.Join(base, "host-file")
	for _, p := range []string{filepath.Join(root, "etc"), filepath.Join(root, "var"), hostDir} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(hostFile, []byte("host\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"var/tmp":       hostDir,
		"etc/hosts.tmp": hostFile,
		"etc/passwd":    hostFile,
		"mid":           hostDir,
		"rel":           "../host",
		"dangling":      filepath.Join(hostDir, "new"),
	}
	for name, to := range links {
		if err := os.Symlink(to, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, root, hostDir, hostFile
}

func snapshot(t *testing.T, paths ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		s := fi.Mode().String() + " " + fi.ModTime().String()
		if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			s += " " + string(data)
		} else if fi.IsDir() {
			entries, _ := os.ReadDir(p)
			for _, e := range entries {
				s += " " + e.Name()
			}
		}
		out[p] = s
	}
	return out
}

func TestNothingThroughALink(t *testing.T) {
	d, _, hostDir, hostFile := fixture(t)
	before := snapshot(t, hostDir, hostFile)
	ops := []struct {
		name string
		do   func() error
	}{
		{"mkdir a link", func() error { return d.MkdirAll("var/tmp", fs.ModeSticky|0o777) }},
		{"mkdir under a link", func() error { return d.MkdirAll("mid/sub/dir", 0o755) }},
		{"mkdir under a relative link", func() error { return d.MkdirAll("rel/x", 0o755) }},
		{"mkdir a dangling link", func() error { return d.MkdirAll("dangling", 0o755) }},
		{"chmod a link", func() error { return d.Chmod("var/tmp", 0o777) }},
		{"chmod through a middle link", func() error { return d.Chmod("mid/.", 0o777) }},
		{"write under a link", func() error { return d.WriteFile("mid/hosts", []byte("x"), 0o644) }},
		{"create a file under a link", func() error { return d.CreateFile("mid/f", 0o644) }},
		{"create on a link", func() error { return d.CreateFile("dangling", 0o644) }},
		{"symlink under a link", func() error { return d.Symlink("/x", "mid/l") }},
		{"remove under a link", func() error { return d.Remove("var/tmp/x") }},
		{"open a mount point through a link", func() error { _, err := d.OpenPath("var/tmp"); return err }},
		{"chown under a link", func() error { return d.Lchown("mid/x", 1, 1) }},
		{"mkdir one under a link", func() error { return d.Mkdir("mid/new", 0o755) }},
		{"create through a middle link", func() error { _, err := d.Create("mid/new-file", 0o644); return err }},
		{"create through a relative link", func() error { _, err := d.Create("rel/new-file", 0o644); return err }},
		{"rename into a link", func() error { return d.Rename("etc", "mid/etc") }},
		{"rename from under a link", func() error { return d.Rename("mid/x", "etc/x") }},
		{"remove all under a link", func() error { return d.RemoveAll("mid/x") }},
	}
	for _, op := range ops {
		err := op.do()
		if err == nil {
			t.Errorf("%s: no error", op.name)
			continue
		}
		var le *LinkError
		if !errors.As(err, &le) {
			t.Errorf("%s: %v, want a LinkError", op.name, err)
		} else if le != nil && !strings.Contains(err.Error(), le.Link) {
			t.Errorf("%s: %q does not name the link", op.name, err)
		}
	}
	if after := snapshot(t, hostDir, hostFile); !equal(before, after) {
		t.Errorf("host changed:\nbefore %v\nafter  %v", before, after)
	}
	// ".." never leaves the directory: the path is taken from its root.
	if err := d.MkdirAll("../../escape", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(hostDir), "escape")); err == nil {
		t.Error(".. escaped the directory")
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A write replaces a planted link at the name itself, and ignores a
// planted temporary name: the host file is left alone.
func TestWriteReplacesALink(t *testing.T) {
	d, root, _, hostFile := fixture(t)
	before := snapshot(t, hostFile)
	for _, name := range []string{"etc/passwd", "etc/hosts"} {
		if err := d.WriteFile(name, []byte("studio\n"), 0o644); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fi, err := os.Lstat(filepath.Join(root, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v %v", name, fi.Mode(), err)
		}
	}
	if after := snapshot(t, hostFile); !equal(before, after) {
		t.Errorf("host file changed: %v -> %v", before, after)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "etc"))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".hab-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestMkdirAllAndModes(t *testing.T) {
	d, root, _, _ := fixture(t)
	if err := d.MkdirAll("a/b/c", fs.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, "a/b/c"))
	if err != nil || fi.Mode()&fs.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("a/b/c: %v %v", fi.Mode(), err)
	}
	if err := d.MkdirAll("a/b/c", 0o750); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(root, "a/b/c")); fi.Mode().Perm() != 0o750 {
		t.Errorf("mode not set again: %v", fi.Mode())
	}
	if err := d.WriteFile("a/f", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.MkdirAll("a/f/g", 0o755); err == nil {
		t.Error("a directory made under a file")
	}
	if err := d.Remove("var/tmp"); err != nil {
		t.Fatal(err)
	}
	if err := d.MkdirAll("var/tmp", 0o755); err != nil {
		t.Errorf("a removed link is not replaced by a directory: %v", err)
	}
}

// Create and Mkdir make only new names: a planted link (or anything) at
// the name is an error, never written through; RemoveAll removes links
// themselves and leaves their targets; Rename replaces a link at the
// destination.
func TestCreateMkdirRenameRemoveAll(t *testing.T) {
	d, root, hostDir, hostFile := fixture(t)
	before := snapshot(t, hostDir, hostFile)
	if _, err := d.Create("etc/passwd", 0o644); !errors.Is(err, fs.ErrExist) {
		t.Errorf("create over a planted link: %v", err)
	}
	if _, err := d.Create("dangling", 0o644); err == nil {
		t.Error("create on a dangling link succeeded")
	}
	if err := d.Mkdir("var/tmp", 0o755); !errors.Is(err, fs.ErrExist) {
		t.Errorf("mkdir over a planted link: %v", err)
	}
	if err := d.Mkdir("pkg", 0o750); err != nil {
		t.Fatal(err)
	}
	f, err := d.Create("pkg/file", 0o640)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("data\n")
	f.Close()
	if err := d.Symlink(hostDir, "pkg/link"); err != nil {
		t.Fatal(err)
	}
	if err := d.Rename("pkg", "etc/hosts.tmp"); err == nil {
		t.Error("a directory renamed over a link to a file")
	}
	if err := d.Rename("pkg/file", "etc/hosts.tmp"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/hosts.tmp")); err != nil || string(b) != "data\n" {
		t.Errorf("renamed over a link: %q %v", b, err)
	}
	for _, name := range []string{"pkg", "var", "mid", "nothing/here"} {
		if err := d.RemoveAll(name); err != nil {
			t.Errorf("remove all %s: %v", name, err)
		}
	}
	for _, name := range []string{"pkg", "var", "mid"} {
		if _, err := os.Lstat(filepath.Join(root, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s not removed: %v", name, err)
		}
	}
	if after := snapshot(t, hostDir, hostFile); !equal(before, after) {
		t.Errorf("host changed:\nbefore %v\nafter  %v", before, after)
	}
}
