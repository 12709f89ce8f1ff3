package hart

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAutoSkipsAnXZThatIsNotXZUtils: in auto mode, a program named xz that
// is not XZ Utils (busybox's applet cannot compress) is passed over for the
// pure-Go implementation; XZ Utils' xz is used.
func TestAutoSkipsAnXZThatIsNotXZUtils(t *testing.T) {
	t.Setenv(EnvXZ, "")
	fake := t.TempDir()
	if err := os.WriteFile(filepath.Join(fake, "xz"), []byte("#!/bin/sh\necho 'BusyBox v1.35.0 multi-call binary.'\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", fake)
	if m, err := XZAuto.Mode(); err != nil || m != XZGo {
		t.Fatalf("auto with a non-XZ-Utils xz on PATH: %v, %v; want go", m, err)
	}
	real, err := execLookPathIn("/usr/bin:/bin", "xz")
	if err != nil {
		t.Skipf("no XZ Utils xz on this machine: %v", err)
	}
	t.Setenv("PATH", filepath.Dir(real))
	if m, err := XZAuto.Mode(); err != nil || m != XZExec {
		t.Fatalf("auto with XZ Utils on PATH: %v, %v; want exec", m, err)
	}
}

func execLookPathIn(path, name string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", os.ErrNotExist
}
