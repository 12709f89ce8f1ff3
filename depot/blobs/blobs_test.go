package blobs

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"
)

func TestCommitAbortOpen(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("hart"), 100000)
	sum := blake2b.Sum256(data)
	want := hex.EncodeToString(sum[:])

	w, err := d.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:1000])
	// Not visible before Commit.
	if _, _, err := d.Open(ctx, want); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open before commit: %v", err)
	}
	w.Write(data[1000:])
	if w.Size() != int64(len(data)) {
		t.Fatalf("size %d", w.Size())
	}
	if err := w.Commit(ctx, want); err != nil {
		t.Fatalf("commit: %v", err)
	}
	w.Abort() // no-op after commit
	f, n, err := d.Open(ctx, want)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("open: %d %v", n, err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(b, data) {
		t.Fatal("content differs")
	}
	// The same content again: harmless.
	w2, _ := d.Create(ctx)
	w2.Write(data)
	if err := w2.Commit(ctx, want); err != nil {
		t.Fatal(err)
	}
	// Abort leaves nothing.
	w3, _ := d.Create(ctx)
	w3.Write([]byte("partial"))
	w3.Abort()
	// A cancelled commit publishes nothing.
	w4, _ := d.Create(ctx)
	w4.Write([]byte("cancelled"))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := w4.Commit(cctx, want); err == nil {
		t.Fatal("commit with a cancelled context succeeded")
	}
	// A malformed digest publishes nothing.
	for _, bad := range []string{"", "../../etc/passwd", want[:63], strings.ToUpper(want)} {
		w5, _ := d.Create(ctx)
		w5.Write([]byte("misnamed"))
		if err := w5.Commit(ctx, bad); err == nil || !strings.Contains(err.Error(), "digest") {
			t.Errorf("commit as %q: %v, want a refusal naming the digest", bad, err)
		}
	}
	tmp, _ := os.ReadDir(filepath.Join(root, "tmp"))
	if len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	for _, bad := range []string{"", "../../etc/passwd", want[:63], want + "0", "ZZ" + want[2:]} {
		if _, _, err := d.Open(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("open %q: %v, want ErrNotFound", bad, err)
		}
	}
}

// TestNewClearsLeftovers: temporary files a crash left are removed when the
// directory is opened again; committed blobs stay.
func TestNewClearsLeftovers(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, _ := New(root)
	w, _ := d.Create(ctx)
	w.Write([]byte("kept"))
	sum := blake2b.Sum256([]byte("kept"))
	digest := hex.EncodeToString(sum[:])
	if err := w.Commit(ctx, digest); err != nil {
		t.Fatal(err)
	}
	crashed, _ := d.Create(ctx)
	crashed.Write([]byte("half"))
	// (the process dies here: no Abort)
	d, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	tmp, _ := os.ReadDir(filepath.Join(root, "tmp"))
	if len(tmp) != 0 {
		t.Errorf("leftovers after reopen: %v", tmp)
	}
	if _, _, err := d.Open(ctx, digest); err != nil {
		t.Errorf("committed blob lost: %v", err)
	}
}
