package elfarch_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/core/elfarch"
	"github.com/habgo/hab/core/ident"
)

// TestCheck: a binary of another machine than the target's, or a
// file that is not ELF, is refused naming the target and the file; only
// the first is ErrOtherMachine.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	short := filepath.Join(dir, "short")
	broken := filepath.Join(dir, "broken")
	for p, b := range map[string]string{script: "#!/bin/sh\n", short: "\x7fE", broken: "\x7fELF\x09 not a header"} {
		if err := os.WriteFile(p, []byte(b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := elfarch.Check("/bin/busybox", ident.X86_64Linux, "shell"); err != nil {
		t.Errorf("x86-64 busybox for x86_64-linux: %v", err)
	}
	for _, tc := range []struct {
		path   string
		target ident.Target
		want   []string
	}{
		{"/bin/busybox", ident.AArch64Linux, []string{"shell for target aarch64-linux", "/bin/busybox is built for EM_X86_64, not EM_AARCH64", "another machine"}},
		{script, ident.X86_64Linux, []string{"shell for target x86_64-linux", script + " is not an ELF binary"}},
		{short, ident.X86_64Linux, []string{"shell for target x86_64-linux", short + " is not an ELF binary"}},
		{broken, ident.X86_64Linux, []string{"shell for target x86_64-linux", broken + ": "}},
		{dir, ident.X86_64Linux, []string{"shell for target x86_64-linux", dir + ": is a directory"}},
		{filepath.Join(t.TempDir(), "none"), ident.X86_64Linux, []string{"shell for target x86_64-linux", "no such file"}},
		{"/bin/busybox", ident.Target("x86_64-windows"), []string{"x86_64-windows", "no known ELF machine"}},
	} {
		err := elfarch.Check(tc.path, tc.target, "shell")
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Check(%s, %s): %v, want it to say %q", tc.path, tc.target, err, w)
			}
		}
	}
	if err := elfarch.Check("/bin/busybox", ident.AArch64Linux, "shell"); !errors.Is(err, elfarch.ErrOtherMachine) {
		t.Errorf("another machine's binary: %v, want ErrOtherMachine", err)
	}
	if err := elfarch.Check(script, ident.X86_64Linux, "shell"); errors.Is(err, elfarch.ErrOtherMachine) {
		t.Errorf("a script: %v, is not ErrOtherMachine", err)
	}
}
