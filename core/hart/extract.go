package hart

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// ExtractOptions tune Extract.
type ExtractOptions struct {
	XZ XZ // xz implementation (XZAuto when empty)
	// Progress, when set, is called with a count that goes from 0 to the
	// payload's (compressed) size over verification and extraction;
	// compare it with the file's size. It may be called from another
	// goroutine.
	Progress func(done int64)
	// Limits bound the payload, even a well-signed one.
	Limits Limits
	// Keep selects the metadata files returned in Metadata.Files (nil
	// keeps every upper-case top-level file). Every file is extracted.
	Keep func(name string) bool
}

// Extract verifies the hart at path and extracts its payload under fsRoot
// (normally a fresh temporary directory on the same file system as the
// store).
//
// Verification comes first: the signature is checked and the payload's
// compressed bytes are hashed in a first pass, as they are copied into a
// private spool (an unnamed file in fsRoot), and nothing is decompressed
// or written before the digest is the signed one. A forged or damaged
// payload is refused as such (crypto.ErrBadSignature) after reading it
// once, with constant memory, whatever it would expand to. The second pass
// decompresses (block-parallel when the payload has several xz blocks and
// the pure-Go decoder is used) and extracts from the spool, which nothing
// else can change: the file at path is read once, and a change to it
// after verification changes nothing. Files, pipes and devices are all
// read this way (see extractStream).
//
// Every entry must lie under the package's own prefix
// hab/pkgs/O/N/V/R/ (parent directories hab/, hab/pkgs/... are allowed as
// directory entries); absolute paths, "..", entries outside the prefix,
// hard links whose target is outside the prefix, and symlinks whose target
// escapes (relative targets must resolve inside the prefix; absolute
// targets only under /hab/) are refused with an error naming the entry.
// Extraction never follows a symlink it created. If anything fails, it
// returns an error and the caller removes fsRoot. Modes are kept
// (setuid/setgid dropped unless running as root), owners are NOT applied,
// mtimes are kept.
func Extract(ctx context.Context, path string, keys KeyLookup, fsRoot string) (*Metadata, error) {
	return ExtractWith(ctx, path, keys, fsRoot, ExtractOptions{})
}

// ExtractWith is Extract with options.
func ExtractWith(ctx context.Context, path string, keys KeyLookup, fsRoot string, opts ExtractOptions) (*Metadata, error) {
	m, err := extractPath(ctx, path, keys, fsRoot, opts)
	if err != nil {
		return nil, fmt.Errorf("extract %s: %w", path, err)
	}
	return m, nil
}

// ExtractReader verifies and extracts a hart streamed from r (a download,
// an upload) under fsRoot, as Extract does: r is verified as it is spooled
// into an unnamed file in fsRoot (gone when done), which is extracted.
func ExtractReader(ctx context.Context, r io.Reader, keys KeyLookup, fsRoot string, opts ExtractOptions) (*Metadata, error) {
	m, err := extractReader(ctx, r, keys, fsRoot, opts)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	return m, nil
}

func checkDest(fsRoot string) error {
	if st, err := os.Stat(fsRoot); err != nil {
		return fmt.Errorf("destination: %w", err)
	} else if !st.IsDir() {
		return fmt.Errorf("destination %s is not a directory", fsRoot)
	}
	return nil
}

func extractPath(ctx context.Context, path string, keys KeyLookup, fsRoot string, opts ExtractOptions) (*Metadata, error) {
	if err := checkDest(fsRoot); err != nil {
		return nil, err
	}
	in, err := openInput(ctx, path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return extractStream(ctx, in, keys, fsRoot, opts)
}

func extractReader(ctx context.Context, r io.Reader, keys KeyLookup, fsRoot string, opts ExtractOptions) (*Metadata, error) {
	if err := checkDest(fsRoot); err != nil {
		return nil, err
	}
	return extractStream(ctx, r, keys, fsRoot, opts)
}

// extractStream verifies, then extracts, the hart r holds, reading r
// once.
//
// Pass 1 reads r: the header, the signer's key and signature, then every
// payload byte is hashed and, on another goroutine, copied into a private
// spool, an unnamed file in fsRoot; nothing is decompressed before the
// digest is the signed one. Pass 2 decompresses from the spool. The spool
// is unnamed from the moment it is created and open only here, so it
// cannot change between the passes as the caller's file could: it is not
// hashed again. (Extraction used to read a file twice and hash it twice,
// once per pass, to notice a file changed in between.)
func extractStream(ctx context.Context, r io.Reader, keys KeyLookup, fsRoot string, opts ExtractOptions) (*Metadata, error) {
	impl, err := opts.XZ.resolve()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(fsRoot, ".hart-spool-*")
	if err != nil {
		return nil, fmt.Errorf("spool the hart: %w", err)
	}
	os.Remove(f.Name()) // unnamed from now on: gone with the descriptor
	spool, err := newInput(ctx, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	defer spool.Close()
	progress := func(int64) {}
	if opts.Progress != nil {
		progress = opts.Progress
	}
	// Pass 1: verify while spooling, nothing decompressed.
	v, err := verifyStreamed(ctx, r, keys, streamJob{
		StreamOptions: StreamOptions{Copy: spoolWriter{f}},
		progress:      func(n int64) { progress(n / 2) },
	})
	if err != nil {
		return nil, err
	}
	off := v.payloadOffset
	size := v.Size - off
	if err := checkXZMagic(bufio.NewReaderSize(io.NewSectionReader(f, off, size), 16)); err != nil {
		return nil, err
	}
	spool.size = v.Size
	// Pass 2: decompress and extract from the spool.
	lim := opts.Limits.resolved()
	dec, err := openPayload(ctx, impl, spool, off, size, lim, func(n int64) { progress(size/2 + n/2) })
	if err != nil {
		return nil, err
	}
	w := &payloadWalk{lim: lim, keep: opts.Keep}
	x := &extractor{
		l:       &w.l,
		root:    fsRoot,
		nonDirs: map[string]bool{},
		files:   map[string]bool{},
		links:   map[string]string{},
		dirs:    map[string]bool{},
		setID:   os.Geteuid() == 0,
		buf:     make([]byte, 256<<10),
	}
	m, err := w.walk(ctx, dec, x.entry)
	if err == nil {
		err = checkThroughLinks(w.l.prefix(), x.links)
	}
	if err == nil {
		// Drain the rest of the decompressed stream (tar padding) so that
		// the decoder checks the xz index and checksums to the end.
		if _, derr := io.CopyBuffer(io.Discard, w.src, x.buf); derr != nil {
			err = derr
		}
	}
	dec.Close()
	if err != nil {
		return nil, err
	}
	if err := x.finishDirs(); err != nil {
		return nil, err
	}
	progress(size)
	return m, nil
}

// spoolWriter names the spool in its write errors.
type spoolWriter struct{ f *os.File }

func (s spoolWriter) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("spool the hart: %w", err)
	}
	return n, nil
}

// openPayload starts decompressing the size bytes of payload at off in
// in. With the pure-Go implementation, a payload of several xz blocks is
// decoded block-parallel on every core; otherwise (one block, or the xz
// program) it streams through one decoder.
func openPayload(ctx context.Context, impl xzImpl, in *input, off, size int64, lim Limits, progress func(int64)) (io.ReadCloser, error) {
	if impl.mode == XZGo {
		if dec, ok := openParallel(in, off, size, lim, progress); ok {
			return dec, nil
		}
	}
	pr := &payloadReader{ctx: ctx, r: io.NewSectionReader(in.f, off, size), progress: progress}
	return impl.newDecoder(ctx, pr)
}

func openParallel(in *input, off, size int64, lim Limits, progress func(int64)) (io.ReadCloser, bool) {
	blocks, err := xzBlocks(io.NewSectionReader(in.f, off, size), size)
	if err != nil || !parallelUsable(blocks) {
		return nil, false
	}
	var total int64
	for _, b := range blocks {
		total += b.uncompressed
	}
	if total > lim.MaxBytes {
		// The sequential decoder stops at the limit with the error.
		return nil, false
	}
	return newParDecoder(io.NewSectionReader(in.f, off, size), size, blocks, runtime.GOMAXPROCS(0), progress), true
}

// extractor writes entries below root, tracking what it created.
type extractor struct {
	root    string
	l       *layout           // the payload walk's, which placed the entries
	base    string            // root/hab/pkgs/O/N/V/R, once known
	nonDirs map[string]bool   // rel paths of files and symlinks created
	files   map[string]bool   // rel paths of regular files (hard link targets)
	links   map[string]string // rel path -> target of symlinks created
	dirs    map[string]bool   // rel paths of directories created
	dirMeta []dirMeta         // modes and mtimes to apply at the end
	setID   bool
	buf     []byte
}

type dirMeta struct {
	path  string
	mode  os.FileMode
	mtime time.Time
}

// entry writes one entry below the package prefix (placed by the
// payload walk); body is its content.
func (x *extractor) entry(hdr *tar.Header, pl place, body io.Reader) error {
	if x.base == "" {
		x.base = filepath.Join(x.root, filepath.FromSlash(x.l.prefix()))
		if err := os.MkdirAll(x.base, 0o755); err != nil {
			return fmt.Errorf("create package directory: %w", err)
		}
		x.dirs[""] = true
	}
	rel := pl.rel
	if via, ok := throughLink(rel, x.nonDirs); ok {
		return unsafeEntry(hdr.Name, "would be written through %q, which is not a directory", x.l.prefix()+"/"+via)
	}
	if x.nonDirs[rel] || (x.dirs[rel] && hdr.Typeflag != tar.TypeDir && rel != "") {
		return fmt.Errorf("%w: entry %q: duplicate entry", ErrFormat, hdr.Name)
	}
	dst := filepath.Join(x.base, filepath.FromSlash(rel))
	if rel != "" {
		if err := x.mkdirs(pathDir(rel)); err != nil {
			return err
		}
	}
	mode := x.mode(hdr)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if !x.dirs[rel] {
			if err := os.Mkdir(dst, 0o700); err != nil {
				return fmt.Errorf("entry %q: %w", hdr.Name, err)
			}
			x.dirs[rel] = true
		}
		x.dirMeta = append(x.dirMeta, dirMeta{dst, mode, hdr.ModTime})
	case tar.TypeReg, tar.TypeRegA:
		if err := x.file(hdr, body, rel, dst, mode); err != nil {
			return err
		}
		x.nonDirs[rel], x.files[rel] = true, true
	case tar.TypeSymlink:
		if err := checkSymlinkTarget(hdr.Name, rel, hdr.Linkname); err != nil {
			return err
		}
		if err := os.Symlink(hdr.Linkname, dst); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		if err := lchtimes(dst, hdr.ModTime); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		x.nonDirs[rel] = true
		x.links[rel] = hdr.Linkname
	case tar.TypeLink:
		target, err := x.l.linkTarget(hdr.Name, hdr.Linkname)
		if err != nil {
			return err
		}
		if !x.files[target] {
			return unsafeEntry(hdr.Name, "is a hard link to %q, which is not a regular file extracted before it", hdr.Linkname)
		}
		if err := os.Link(filepath.Join(x.base, filepath.FromSlash(target)), dst); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		x.nonDirs[rel], x.files[rel] = true, true
	}
	return nil
}

// file writes a regular file, never through a symlink, never over
// anything.
func (x *extractor) file(hdr *tar.Header, body io.Reader, rel, dst string, mode os.FileMode) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	n, err := io.CopyBuffer(onlyWriter{f}, body, x.buf)
	if err == nil && n != hdr.Size {
		err = fmt.Errorf("%w: the tar archive in the payload is truncated", ErrFormat)
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(dst, time.Time{}, hdr.ModTime)
	}
	if err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, tarError(err))
	}
	return nil
}

// onlyWriter hides ReadFrom, so that CopyBuffer uses our buffer and the
// tar reader's Read rather than the file's generic ReadFrom.
type onlyWriter struct{ io.Writer }

// mkdirs creates the directory rel (below the prefix) and its missing
// parents, which are known not to be symlinks.
func (x *extractor) mkdirs(rel string) error {
	if x.dirs[rel] {
		return nil
	}
	if rel != "" {
		if err := x.mkdirs(pathDir(rel)); err != nil {
			return err
		}
	}
	if err := os.Mkdir(filepath.Join(x.base, filepath.FromSlash(rel)), 0o755); err != nil {
		return fmt.Errorf("create directory %s/%s: %w", x.l.prefix(), rel, err)
	}
	x.dirs[rel] = true
	return nil
}

func pathDir(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

// mode is the entry's permission bits, without setuid/setgid unless
// running as root.
func (x *extractor) mode(hdr *tar.Header) os.FileMode {
	m := os.FileMode(hdr.Mode) & os.ModePerm
	if hdr.Mode&0o4000 != 0 && x.setID {
		m |= os.ModeSetuid
	}
	if hdr.Mode&0o2000 != 0 && x.setID {
		m |= os.ModeSetgid
	}
	if hdr.Mode&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// finishDirs applies directory modes and mtimes, deepest last-created
// first, once everything inside them is written.
func (x *extractor) finishDirs() error {
	for i := len(x.dirMeta) - 1; i >= 0; i-- {
		d := x.dirMeta[i]
		if err := os.Chmod(d.path, d.mode); err != nil {
			return err
		}
		if err := os.Chtimes(d.path, time.Time{}, d.mtime); err != nil {
			return err
		}
	}
	return nil
}
