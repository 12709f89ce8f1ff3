package closure_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/exporters/closure"
)

// TestHostBinary: the same binary makes the same package (release from
// its SHA-256), another binary another one, and the package holds the
// binary as bin/BIN.
func TestHostBinary(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := closure.HostBinary(ctx, root, ident.X86_64Linux, "core", "tool", "1.0.0", self, "tool", nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := closure.HostBinary(ctx, root, ident.X86_64Linux, "core", "tool", "1.0.0", self, "tool", nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Ident != a.Ident || again.Path != a.Path {
		t.Errorf("the same binary made %s at %s, then %s at %s", a.Ident, a.Path, again.Ident, again.Path)
	}
	b, err := closure.HostBinary(ctx, root, ident.X86_64Linux, "core", "tool", "1.0.0", other, "tool", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Ident == a.Ident {
		t.Errorf("two different binaries made the same package %s", a.Ident)
	}
	if got, err := os.ReadFile(filepath.Join(b.Path, "bin", "tool")); err != nil || string(got) != "#!/bin/sh\n" {
		t.Errorf("bin/tool of %s: %q, %v", b.Ident, got, err)
	}
}

// TestHostBinaryErrors: a missing binary, or one that is not a busybox
// given as the shell, fails naming it and leaves no package behind.
func TestHostBinaryErrors(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "no-such-binary")
	notBusybox, err := os.Executable() // a Go test binary: its --help names no BusyBox
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string
		make       func(root string) error
	}{
		{"missing binary", missing, func(root string) error {
			_, err := closure.Hab(ctx, root, ident.X86_64Linux, missing, "1.0.0")
			return err
		}},
		{"not a busybox", notBusybox, func(root string) error {
			_, err := closure.Busybox(ctx, root, ident.X86_64Linux, notBusybox)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			err := tc.make(root)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error naming %s", err, tc.want)
			}
			if ents, _ := os.ReadDir(root); len(ents) != 0 {
				t.Errorf("a failed package left %v in its root", ents)
			}
		})
	}
}

// TestHostBinaryRemembered: the package a binary made is remembered by the
// file's identity, and a file changed in place, even to the same size and
// modification time, makes its own package; a remembered package that is
// gone is made again.
func TestHostBinaryRemembered(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	bin := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho a\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	mk := func() *closure.Package {
		t.Helper()
		p, err := closure.HostBinary(ctx, root, ident.X86_64Linux, "core", "tool", "1.0.0", bin, "tool", nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := mk()
	if memos, _ := os.ReadDir(filepath.Join(root, "made")); len(memos) != 1 {
		t.Fatalf("memos %v", memos)
	}
	if again := mk(); again.Ident != a.Ident {
		t.Errorf("the same file made %s, then %s", a.Ident, again.Ident)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho b\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(bin, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	b := mk()
	if b.Ident == a.Ident {
		t.Fatalf("a changed file (same size and time) was served the old package %s", a.Ident)
	}
	if got, _ := os.ReadFile(filepath.Join(b.Path, "bin", "tool")); string(got) != "#!/bin/sh\necho b\n" {
		t.Errorf("bin/tool of %s: %q", b.Ident, got)
	}
	if err := os.RemoveAll(b.Path); err != nil {
		t.Fatal(err)
	}
	if c := mk(); c.Ident != b.Ident {
		t.Errorf("remade %s as %s", b.Ident, c.Ident)
	} else if _, err := os.Stat(filepath.Join(c.Path, "bin", "tool")); err != nil {
		t.Errorf("a remembered package that was gone was not made again: %v", err)
	}

	// The shell: remembered too, without running it again.
	s1, err := closure.Busybox(ctx, root, ident.X86_64Linux, "/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	s2, err := closure.Busybox(ctx, root, ident.X86_64Linux, "/bin/busybox")
	if err != nil || s2.Ident != s1.Ident {
		t.Errorf("busybox made %s, then %v %v", s1.Ident, s2, err)
	}
}
