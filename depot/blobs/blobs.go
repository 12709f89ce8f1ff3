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
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/crypto/blake2b"
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
//
// Where the file system has direct I/O (O_DIRECT), the blob goes to the
// disk without passing through the page cache: a depot writes a blob once
// and serves it later, if ever, so caching it gains nothing, while filling
// 100 MB of fresh cache pages cost more CPU than hashing the upload twice
// (bench/depot_speed.sh). What is written is gathered in aligned buffers
// of stageSize; a full one is written by a goroutine of its own at its
// offset while the next fills, up to stageCount at once, so the disk's
// latency overlaps the upload instead of adding to it. The unaligned tail
// goes through the cache before the sync. Without direct I/O the blob is
// written through the cache, its writeback started every writebackStep.
type Writer struct {
	d       *Dir
	f       *os.File
	n       int64 // bytes taken, including those not yet on disk
	started int64 // bytes whose writeback has been started (cached writes)
	done    bool

	direct bool           // the file is open with O_DIRECT
	probed bool           // a direct write has succeeded
	cur    []byte         // the buffer being filled
	free   chan []byte    // buffers not being written
	made   int            // buffers allocated, up to stageCount
	busy   sync.WaitGroup // writes in flight
	errMu  sync.Mutex
	err    error // the first failed write in flight
}

const (
	// writebackStep is how much is written through the cache before its
	// writeback to disk is started, so that the sync at Commit waits only
	// for the tail.
	writebackStep = 8 << 20
	// directAlign is the alignment of memory, offset and length that
	// direct I/O needs: a page, which covers every logical block size.
	directAlign = 4096
	// stageSize and stageCount: the aligned buffers direct writes are
	// gathered in, and how many there are (so how many writes may be in
	// flight at once).
	stageSize  = 1 << 20
	stageCount = 4
)

// Create starts a new blob.
func (d *Dir) Create(ctx context.Context) (*Writer, error) {
	return d.create(true)
}

// create starts a new blob, written with direct I/O when direct is set
// and the file system has it.
func (d *Dir) create(direct bool) (*Writer, error) {
	f, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "upload-*")
	if err != nil {
		return nil, fmt.Errorf("create blob: %w", err)
	}
	w := &Writer{d: d, f: f}
	if direct && setDirect(f, true) == nil {
		w.direct = true
		w.free = make(chan []byte, stageCount)
	}
	return w, nil
}

// alignedBuffer returns n bytes whose address is a multiple of
// directAlign (Go's heap does not move objects).
func alignedBuffer(n int) []byte {
	b := make([]byte, n+directAlign)
	off := 0
	if r := int(uintptr(unsafe.Pointer(unsafe.SliceData(b))) & (directAlign - 1)); r != 0 {
		off = directAlign - r
	}
	return b[off : off+n : off+n]
}

// Write appends to the blob.
func (w *Writer) Write(p []byte) (int, error) {
	if !w.direct {
		return w.writeCached(p)
	}
	taken := 0
	for taken < len(p) {
		if w.cur == nil {
			b, err := w.buffer()
			if err != nil {
				return taken, err
			}
			w.cur = b
		}
		k := copy(w.cur[len(w.cur):cap(w.cur)], p[taken:])
		w.cur = w.cur[:len(w.cur)+k]
		taken += k
		w.n += int64(k)
		if len(w.cur) == cap(w.cur) {
			b := w.cur
			w.cur = nil
			if err := w.writeOut(b, w.n-int64(len(b))); err != nil {
				return taken, err
			}
			if !w.direct { // the file system refused direct writes
				return taken, nil
			}
		}
	}
	return taken, nil
}

// buffer returns an empty stage buffer: a free one, a new one while fewer
// than stageCount exist, or the next one a write in flight frees; the
// first error of a write in flight is returned instead.
func (w *Writer) buffer() ([]byte, error) {
	if err := w.failed(); err != nil {
		return nil, err
	}
	select {
	case b := <-w.free:
		return b[:0], nil
	default:
	}
	if w.made < stageCount {
		w.made++
		return alignedBuffer(stageSize)[:0], nil
	}
	b := <-w.free
	if err := w.failed(); err != nil {
		w.free <- b
		return nil, err
	}
	return b[:0], nil
}

func (w *Writer) failed() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

// writeOut writes a full stage buffer b at off. The first is written
// here: a file system that took O_DIRECT but refuses the write (EINVAL,
// nothing written) gets it, and the rest of the blob, through the cache.
// The others are written by a goroutine each, which frees b when done.
func (w *Writer) writeOut(b []byte, off int64) error {
	if !w.probed {
		n, err := w.f.WriteAt(b, off)
		if err != nil && n == 0 && errors.Is(err, syscall.EINVAL) {
			if err := w.endDirect(); err != nil {
				return err
			}
			n, err = w.f.WriteAt(b, off)
		}
		w.free <- b
		if err != nil {
			return fmt.Errorf("write blob %s: %w", w.f.Name(), err)
		}
		w.probed = w.direct
		if !w.direct {
			_, err := w.f.Seek(off+int64(n), io.SeekStart)
			return err
		}
		return nil
	}
	w.busy.Add(1)
	go func() {
		defer w.busy.Done()
		if _, err := w.f.WriteAt(b, off); err != nil {
			w.errMu.Lock()
			if w.err == nil {
				w.err = fmt.Errorf("write blob %s at %d: %w", w.f.Name(), off, err)
			}
			w.errMu.Unlock()
		}
		w.free <- b
	}()
	return nil
}

// writeCached writes p through the page cache.
func (w *Writer) writeCached(p []byte) (int, error) {
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

// endDirect turns direct I/O off for the rest of the blob.
func (w *Writer) endDirect() error {
	w.direct = false
	if err := setDirect(w.f, false); err != nil {
		return fmt.Errorf("write blob: %w", err)
	}
	return nil
}

// flush waits for the writes in flight and writes the partly filled
// buffer: its aligned part directly, the rest through the cache (direct
// I/O is then over for this blob).
func (w *Writer) flush() error {
	if !w.direct {
		return nil
	}
	w.busy.Wait()
	if err := w.failed(); err != nil {
		return err
	}
	b := w.cur
	w.cur = nil
	off := w.n - int64(len(b))
	if k := len(b) &^ (directAlign - 1); k > 0 {
		if _, err := w.f.WriteAt(b[:k], off); err != nil {
			return fmt.Errorf("write blob %s: %w", w.f.Name(), err)
		}
		b, off = b[k:], off+int64(k)
	}
	if err := w.endDirect(); err != nil {
		return err
	}
	if len(b) > 0 {
		if _, err := w.f.WriteAt(b, off); err != nil {
			return fmt.Errorf("write blob %s: %w", w.f.Name(), err)
		}
	}
	return nil
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
	err := w.flush()
	if err == nil {
		err = w.f.Sync()
	}
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
		err = syncDir(filepath.Dir(dst))
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
	err = w.flush()
	if err == nil {
		err = w.f.Sync()
	}
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
	w.busy.Wait()
	w.f.Close()
	os.Remove(w.f.Name())
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
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
