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
	"syscall"
	"testing"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/sys/unix"
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

// TestWriterPatterns writes blobs in many shapes (sizes around a page and
// the writeback step, odd chunks, unaligned memory) and checks the
// committed blob, and the one Finish leaves, byte for byte.
func TestWriterPatterns(t *testing.T) {
	ctx := context.Background()
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const page, step = 4096, writebackStep
	src := make([]byte, 2*step+5000)
	for i := range src {
		src[i] = byte(i*7 + i>>11)
	}
	cases := []struct {
		name   string
		size   int
		chunks []int // written in turn, repeated until size; from an unaligned start when odd
		odd    bool
	}{
		{"empty", 0, []int{1}, false},
		{"one byte", 1, []int{1}, false},
		{"a page less a byte", page - 1, []int{page}, false},
		{"a page", page, []int{page}, false},
		{"a page and a byte", page + 1, []int{page + 1}, false},
		{"a writeback step less a byte", step - 1, []int{256 << 10}, false},
		{"a writeback step", step, []int{256 << 10}, false},
		{"a writeback step and a byte", step + 1, []int{256 << 10}, false},
		{"odd chunks", step + 3*page + 17, []int{7, 65539, 4096, 1, 300000}, false},
		{"unaligned memory", 2*step + 999, []int{262144}, true},
		{"one write of everything", 2*step + 4097, []int{2*step + 4097}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := src[:tc.size]
			if tc.odd {
				data = src[1 : tc.size+1]
			}
			write := func(w *Writer) {
				for off, i := 0, 0; off < len(data); i++ {
					n := min(tc.chunks[i%len(tc.chunks)], len(data)-off)
					if m, err := w.Write(data[off : off+n]); err != nil || m != n {
						t.Fatalf("write %d bytes at %d: wrote %d, %v", n, off, m, err)
					}
					off += n
				}
				if w.Size() != int64(len(data)) {
					t.Fatalf("size %d, wrote %d", w.Size(), len(data))
				}
			}
			sum := blake2b.Sum256(data)
			digest := hex.EncodeToString(sum[:])

			w, err := d.Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			write(w)
			if err := w.Commit(ctx, digest); err != nil {
				t.Fatal(err)
			}
			f, n, err := d.Open(ctx, digest)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(f)
			f.Close()
			if err != nil || n != int64(len(data)) || !bytes.Equal(got, data) {
				t.Fatalf("stored %d bytes (size %d, %v), equal %t", len(got), n, err, bytes.Equal(got, data))
			}

			// Finish (object storage reads the file back).
			w, err = d.Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			write(w)
			size, err := w.Finish()
			if err != nil || size != int64(len(data)) {
				t.Fatalf("finish: %d, %v", size, err)
			}
			got, err = os.ReadFile(w.File())
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("finished file: %d bytes, %v", len(got), err)
			}
			w.Abort()
			if _, err := os.Stat(w.File()); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("abort after finish left %s: %v", w.File(), err)
			}
		})
	}
}

// TestWriterDiskFull fills a small real file system (tmpfs, mounted here:
// root only): a failed write is an error naming the blob, from Write,
// Commit or Finish, and nothing is left behind.
func TestWriterDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	ctx := context.Background()
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=3m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, 0) })
	d, err := New(mnt)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 8<<20+123)
	sum := blake2b.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	for _, end := range []string{"commit", "finish"} {
		t.Run(end, func(t *testing.T) {
			w, err := d.Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for off := 0; off < len(data) && werr == nil; off += 256 << 10 {
				_, werr = w.Write(data[off:min(off+256<<10, len(data))])
			}
			if werr == nil {
				if end == "commit" {
					werr = w.Commit(ctx, digest)
				} else {
					_, werr = w.Finish()
				}
			}
			if !errors.Is(werr, unix.ENOSPC) || !strings.Contains(werr.Error(), "blob") {
				t.Fatalf("writing 8 MiB into 3 MiB: %v", werr)
			}
			w.Abort()
			left, err := os.ReadDir(filepath.Join(mnt, "tmp"))
			if err != nil || len(left) != 0 {
				t.Fatalf("left behind: %v %v", left, err)
			}
			if n, err := d.Count(); err != nil || n != 0 {
				t.Fatalf("%d blobs stored, %v", n, err)
			}
		})
	}
}

// TestCommitKeepsStoredBlob: content stored again leaves the stored file
// in place (same inode, so its cached pages serve the next download) and
// no temporary; a stored file of another size (not what a commit leaves)
// is replaced.
func TestCommitKeepsStoredBlob(t *testing.T) {
	ctx := context.Background()
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("blob"), 300000)
	sum := blake2b.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	store := func() {
		t.Helper()
		w, err := d.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx, digest); err != nil {
			t.Fatal(err)
		}
	}
	inode := func() uint64 {
		t.Helper()
		fi, err := os.Stat(d.path(digest))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	store()
	first := inode()
	store()
	if got := inode(); got != first {
		t.Fatalf("storing the same content again replaced the file (inode %d, was %d)", got, first)
	}
	if left, _ := os.ReadDir(filepath.Join(d.root, "tmp")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if err := os.WriteFile(d.path(digest), data[:10], 0o640); err != nil {
		t.Fatal(err)
	}
	store()
	got, err := os.ReadFile(d.path(digest))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("a stored file of another size was not replaced: %d bytes, %v", len(got), err)
	}
}
