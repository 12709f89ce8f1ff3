//go:build unix

package hart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// readers are every function that reads a hart from a path.
func readers(keys KeyLookup, dest string) map[string]func(ctx context.Context, p string) error {
	return map[string]func(ctx context.Context, p string) error{
		"Hash":           func(ctx context.Context, p string) error { _, err := Hash(ctx, p); return err },
		"Verify":         func(ctx context.Context, p string) error { _, err := Verify(ctx, p, keys); return err },
		"ReadHeaderFile": func(ctx context.Context, p string) error { _, err := ReadHeaderFile(ctx, p); return err },
		"ReadMetadata":   func(ctx context.Context, p string) error { _, err := ReadMetadata(ctx, p); return err },
		"ReadIdent":      func(ctx context.Context, p string) error { _, _, err := ReadIdent(ctx, p, ReadOptions{}); return err },
		"Inspect":        func(ctx context.Context, p string) error { _, err := Inspect(ctx, p, ReadOptions{}); return err },
		"Extract": func(ctx context.Context, p string) error {
			_, err := ExtractWith(ctx, p, keys, dest, ExtractOptions{XZ: XZGo})
			return err
		},
	}
}

func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo.hart")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return p
}

// TestFIFOReadsAreCancellable: reading a FIFO nobody writes to (blocked in
// open(2)), or one whose writer stalls mid-header or mid-payload (blocked
// in read(2)), returns the context's error once it is cancelled, for every
// reader.
func TestFIFOReadsAreCancellable(t *testing.T) {
	key, keys := testKey(t, "acme")
	good := validHart(t, key)
	for name, read := range readers(keys, t.TempDir()) {
		for _, stall := range []struct {
			what string
			data []byte
		}{{"no writer", nil}, {"stalled in the header", good[:20]}, {"stalled in the payload", good[:len(good)-100]}} {
			t.Run(name+"/"+stall.what, func(t *testing.T) {
				p := mkfifo(t)
				if stall.data != nil {
					// A writer that writes some bytes and keeps the pipe open.
					go func() {
						w, err := os.OpenFile(p, os.O_WRONLY, 0)
						if err != nil {
							return
						}
						w.Write(stall.data)
						t.Cleanup(func() { w.Close() })
					}()
				}
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				err := read(ctx, p)
				if err == nil && stall.what == "stalled in the payload" && (name == "ReadHeaderFile" || name == "ReadIdent" || name == "ReadMetadata") {
					return // what it reads came before the stall
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("%v; want the context's error", err)
				}
			})
		}
	}
}

// TestFIFOHarts: a hart fed through a FIFO is read like a file (Extract
// spools it first).
func TestFIFOHarts(t *testing.T) {
	key, keys := testKey(t, "acme")
	good := validHart(t, key)
	for name, read := range readers(keys, t.TempDir()) {
		t.Run(name, func(t *testing.T) {
			p := mkfifo(t)
			go func() {
				w, err := os.OpenFile(p, os.O_WRONLY, 0)
				if err != nil {
					return
				}
				defer w.Close()
				w.Write(good)
			}()
			if err := read(context.Background(), p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestEndlessInputIsCancellable: /dev/zero never ends; Hash and Verify
// stop on cancellation.
func TestEndlessInputIsCancellable(t *testing.T) {
	_, keys := testKey(t, "acme")
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip(err)
	}
	for name, read := range readers(keys, t.TempDir()) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := read(ctx, "/dev/zero")
		cancel()
		if name == "Hash" && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v; want the context's error", name, err)
		}
		if name != "Hash" && !errors.Is(err, ErrFormat) && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v; want a format or context error", name, err)
		}
	}
	// A directory is refused, clearly.
	if _, err := Hash(context.Background(), t.TempDir()); err == nil || !errors.Is(err, err) || err.Error() == "" {
		t.Errorf("directory: %v", err)
	}
}
