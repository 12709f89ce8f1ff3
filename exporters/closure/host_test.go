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
