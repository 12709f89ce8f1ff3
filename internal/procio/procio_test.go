package procio

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBytesRead: reading a 1 MiB file adds at least its size to the
// count.
func TestBytesRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	const size = 1 << 20
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := BytesRead()
	if err != nil {
		t.Skipf("%v", err)
	}
	if _, err := os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	after, err := BytesRead()
	if err != nil {
		t.Fatal(err)
	}
	if after-before < size {
		t.Errorf("read a %d-byte file: the count grew by %d", size, after-before)
	}
}
