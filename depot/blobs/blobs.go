// Package blobs keeps the depot's package files in a directory, named by
// the BLAKE2b-256 of their content (as `hab pkg hash` prints it): a blob is
// written to a temporary file, synced, and renamed into place only when
// complete, so a reader never sees a partial blob and a crash leaves at
// most a temporary file, which Open ignores and New clears.
package blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/crypto/blake2b"

	"github.com/habgo/hab/core/atomicfile"
)

// ErrNotFound is returned by Open for a digest that is not stored.
var ErrNotFound = errors.New("blob not found")

// Dir is a content-addressed blob directory.
type Dir struct {
	root string
}

// New opens (creating) the blob directory root and removes temporary files
// that a crash left behind.
func New(root string) (*Dir, error) {
	tmp := filepath.Join(root, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("blob directory %s: clear temporary files: %w", root, err)
	}
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, fmt.Errorf("blob directory %s: %w", root, err)
	}
	return &Dir{root: root}, nil
}

// ValidDigest reports whether d is a lowercase hex BLAKE2b-256 digest, the
// only name a blob has (and so safe in a path or an object key).
func ValidDigest(d string) bool {
	if len(d) != 2*blake2b.Size256 {
		return false
	}
	for _, c := range d {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (d *Dir) path(digest string) string {
	return filepath.Join(d.root, digest[:2], digest)
}

// Writer receives one blob. It does not hash what it receives: the
// caller names the digest at Commit, computed from the same bytes (the
// depot's upload verification hashes every byte once for the checksum;
// hashing here too made uploads a third slower).
type Writer struct {
	d       *Dir
	f       *os.File
	n       int64
	started int64 // bytes whose writeback has been started
	done    bool
}

// writebackStep is how much is written before its writeback to disk is
// started, so that the sync at Commit waits only for the tail.
const writebackStep = 8 << 20

// Create starts a new blob.
func (d *Dir) Create(ctx context.Context) (*Writer, error) {
	f, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "upload-*")
	if err != nil {
		return nil, fmt.Errorf("create blob: %w", err)
	}
	return &Writer{d: d, f: f}, nil
}

// Write appends to the blob.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("write blob %s: %w", w.f.Name(), err)
	}
	if w.n-w.started >= writebackStep {
		startWriteback(w.f, w.started, w.n-w.started)
		w.started = w.n
	}
	return n, nil
}

// Size is the number of bytes written.
func (w *Writer) Size() int64 { return w.n }

// File is the temporary file being written, for reading back what was
// received before it is committed.
func (w *Writer) File() string { return w.f.Name() }

// Commit makes the blob durable and visible under digest, the hex
// BLAKE2b-256 of what was written, which the caller computed. Storing the
// same content twice is harmless: a blob already stored under digest, of
// the same size, is kept and the new copy discarded. A malformed digest
// is refused and the blob discarded.
func (w *Writer) Commit(ctx context.Context, digest string) error {
	if w.done {
		return errors.New("commit blob: already finished")
	}
	if !ValidDigest(digest) {
		w.Abort()
		return fmt.Errorf("commit blob as %q: not a lowercase hex BLAKE2b-256 digest", digest)
	}
	dst := w.d.path(digest)
	if fi, err := os.Stat(dst); err == nil && fi.Mode().IsRegular() && fi.Size() == w.n {
		// The same content is stored already (a blob is named by its
		// digest and only ever takes its name complete and synced): keep
		// that file, and the pages of it the kernel has cached.
		w.Abort()
		return nil
	}
	w.done = true
	tmp := w.f.Name()
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = os.MkdirAll(filepath.Dir(dst), 0o750)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err == nil {
		err = atomicfile.SyncDir(filepath.Dir(dst))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("commit blob %s: %w", digest, err)
	}
	return nil
}

// Finish syncs and closes the temporary file and returns its size, for a
// store that publishes the file elsewhere (object storage); Abort then
// removes it.
func (w *Writer) Finish() (size int64, err error) {
	err = w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("finish blob %s: %w", w.f.Name(), err)
	}
	return w.n, nil
}

// Abort discards the blob; it is a no-op after Commit.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

// Open opens a stored blob for reading, with its size.
func (d *Dir) Open(ctx context.Context, digest string) (io.ReadSeekCloser, int64, error) {
	if !ValidDigest(digest) {
		return nil, 0, fmt.Errorf("open blob %q: %w (not a lowercase hex BLAKE2b-256 digest)", digest, ErrNotFound)
	}
	f, err := os.Open(d.path(digest))
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("open blob %s: %w", digest, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open blob %s: %w", digest, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open blob %s: %w", digest, err)
	}
	return f, fi.Size(), nil
}

// Count is the number of blobs stored (temporary files excluded).
func (d *Dir) Count() (int, error) {
	n := 0
	err := filepath.WalkDir(d.root, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && p == filepath.Join(d.root, "tmp") {
			return filepath.SkipDir
		}
		if !e.IsDir() {
			n++
		}
		return nil
	})
	return n, err
}
