package templating

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteRendered(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results", "rendered")
	got, err := WriteRendered(dir, "app.conf", "port = 80\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "app.conf"); got != want {
		t.Errorf("written to %s, want %s", got, want)
	}
	data, err := os.ReadFile(got)
	if err != nil || string(data) != "port = 80\n" {
		t.Fatalf("read back %q, %v", data, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left beside app.conf: %d entries", len(entries))
	}
}

func TestWriteRenderedErrors(t *testing.T) {
	r := t.TempDir()
	blocker := filepath.Join(r, "rendered")
	if err := os.WriteFile(blocker, []byte("a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(r, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(r, "out", "app.conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, dir string }{
		{"directory is a file", blocker},
		{"name is a directory", filepath.Join(r, "out")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(tc.dir, "app.conf")
			_, err := WriteRendered(tc.dir, "app.conf", "port = 80\n")
			if err == nil || !strings.Contains(err.Error(), "write "+dest) {
				t.Fatalf("WriteRendered = %v, want an error naming %s", err, dest)
			}
		})
	}
	if entries, _ := os.ReadDir(filepath.Join(r, "out")); len(entries) != 1 {
		t.Errorf("temporary files left in out: %d entries", len(entries))
	}
}
