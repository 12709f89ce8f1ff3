package hart

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/hex"
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
	// Progress, when set, is called with the number of payload
	// (compressed) bytes read so far; compare it with the file's size. It
	// may be called from another goroutine.
	Progress func(done int64)
}

// Extract verifies the signature and extracts the payload under fsRoot
// (normally a fresh temporary directory on the same file system as the
// store) in ONE streaming pass. Every entry must lie under the package's
// own prefix hab/pkgs/O/N/V/R/ (parent directories hab/, hab/pkgs/... are
// allowed as directory entries); absolute paths, "..", entries outside the
// prefix, hard links whose target is outside the prefix, and symlinks
// whose target escapes (relative targets must resolve inside the prefix;
// absolute targets only under /hab/) are refused with an error naming the
// entry. Extraction never follows a symlink it created. If the signature
// does not verify (detected at the end of the stream) or anything fails,
// it returns an error and the caller removes fsRoot. Modes are kept
// (setuid/setgid dropped unless running as root), owners are NOT applied,
// mtimes are kept.
func Extract(ctx context.Context, path string, keys KeyLookup, fsRoot string) (*Metadata, error) {
	return ExtractWith(ctx, path, keys, fsRoot, ExtractOptions{})
}

// ExtractWith is Extract with options.
func ExtractWith(ctx context.Context, path string, keys KeyLookup, fsRoot string, opts ExtractOptions) (*Metadata, error) {
	m, err := extract(ctx, path, keys, fsRoot, opts)
	if err != nil {
		return nil, fmt.Errorf("extract %w", err)
	}
	return m, nil
}

func extract(ctx context.Context, path string, keys KeyLookup, fsRoot string, opts ExtractOptions) (*Metadata, error) {
	impl, err := opts.XZ.resolve()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st, err := os.Stat(fsRoot); err != nil {
		return nil, fmt.Errorf("%s: destination: %w", path, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s: destination %s is not a directory", path, fsRoot)
	}
	f, br, h, want, err := openSigned(path, keys)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkXZMagic(br); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dec, digest, err := openPayload(ctx, impl, f, br, opts.Progress)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	x := &extractor{
		root:    fsRoot,
		nonDirs: map[string]bool{},
		files:   map[string]bool{},
		links:   map[string]string{},
		dirs:    map[string]bool{},
		meta:    map[string][]byte{},
		setID:   os.Geteuid() == 0,
		buf:     make([]byte, 256<<10),
	}
	m, err := x.run(ctx, tar.NewReader(dec))
	if err == nil {
		// Drain the rest of the decompressed stream (tar padding) so that
		// the decoder checks the xz index and checksums to the end.
		if _, derr := io.CopyBuffer(io.Discard, dec, x.buf); derr != nil {
			err = derr
		}
	}
	dec.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	got, err := digest()
	if err != nil {
		return nil, fmt.Errorf("%s: read payload: %w", path, err)
	}
	if got != want {
		return nil, fmt.Errorf("%s: %w", path, digestMismatch(h.KeyName, got, want))
	}
	if err := x.finishDirs(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// openPayload starts decompressing the payload that br (reading f) is
// positioned at, and hashing it. digest, called once the decompressed
// stream has been read to its end and closed, returns the hex digest of
// the whole payload.
//
// With the pure-Go implementation, a payload of several xz blocks is
// decoded block-parallel on every core, and hashed on the side; otherwise
// (one block, or the xz program) the payload streams through one decoder
// and is hashed as it is read.
func openPayload(ctx context.Context, impl xzImpl, f *os.File, br *bufio.Reader, progress func(int64)) (io.ReadCloser, func() (string, error), error) {
	if impl.mode == XZGo {
		if dec, digest, ok := openParallel(ctx, f, br, progress); ok {
			return dec, digest, nil
		}
	}
	pr := &payloadReader{ctx: ctx, r: br, h: newHash(), progress: progress}
	dec, err := impl.newDecoder(ctx, pr)
	if err != nil {
		return nil, nil, err
	}
	digest := func() (string, error) {
		// Hash whatever the decoder did not need to read (nothing, for a
		// well-formed payload).
		if _, err := io.CopyBuffer(io.Discard, pr, make([]byte, 64<<10)); err != nil {
			return "", err
		}
		return hex.EncodeToString(pr.h.Sum(nil)), nil
	}
	return dec, digest, nil
}

func openParallel(ctx context.Context, f *os.File, br *bufio.Reader, progress func(int64)) (io.ReadCloser, func() (string, error), bool) {
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, nil, false
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, nil, false
	}
	off := pos - int64(br.Buffered())
	size := st.Size() - off
	blocks, err := xzBlocks(io.NewSectionReader(f, off, size), size)
	if err != nil || !parallelUsable(blocks) {
		return nil, nil, false
	}
	type result struct {
		sum string
		err error
	}
	res := make(chan result, 1)
	go func() {
		h := newHash()
		_, err := copyCtx(ctx, h, io.NewSectionReader(f, off, size))
		res <- result{hex.EncodeToString(h.Sum(nil)), err}
	}()
	dec := newParDecoder(io.NewSectionReader(f, off, size), size, blocks, runtime.GOMAXPROCS(0), progress)
	return dec, func() (string, error) {
		r := <-res
		return r.sum, r.err
	}, true
}

// extractor writes entries below root, tracking what it created.
type extractor struct {
	root    string
	l       layout
	base    string            // root/hab/pkgs/O/N/V/R, once known
	nonDirs map[string]bool   // rel paths of files and symlinks created
	files   map[string]bool   // rel paths of regular files (hard link targets)
	links   map[string]string // rel path -> target of symlinks created
	dirs    map[string]bool   // rel paths of directories created
	dirMeta []dirMeta         // modes and mtimes to apply at the end
	meta    map[string][]byte
	setID   bool
	buf     []byte
}

type dirMeta struct {
	path  string
	mode  os.FileMode
	mtime time.Time
}

func (x *extractor) run(ctx context.Context, tr *tar.Reader) (*Metadata, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, tarError(err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return nil, err
		}
	}
	if err := checkThroughLinks(x.l.prefix(), x.links); err != nil {
		return nil, err
	}
	return x.l.finish(x.meta)
}

func (x *extractor) entry(hdr *tar.Header, tr *tar.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil
	case tar.TypeReg, tar.TypeRegA, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
	case tar.TypeGNUSparse: // read back expanded by archive/tar
		hdr.Typeflag = tar.TypeReg
	default:
		return fmt.Errorf("%w: entry %q has unsupported type %q (only files, directories, symlinks and hard links are allowed)", ErrFormat, hdr.Name, string(hdr.Typeflag))
	}
	pl, err := x.l.place(hdr)
	if err != nil {
		return err
	}
	if pl.parent {
		return nil // created as needed, with default modes
	}
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
		if err := x.file(hdr, tr, rel, dst, mode); err != nil {
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
func (x *extractor) file(hdr *tar.Header, tr *tar.Reader, rel, dst string, mode os.FileMode) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	var n int64
	if isMetaFile(rel, hdr.Typeflag) {
		var b []byte
		b, err = readMeta(hdr.Name, hdr.Size, tr, f)
		n = int64(len(b))
		x.meta[rel] = b
	} else {
		n, err = io.CopyBuffer(onlyWriter{f}, tr, x.buf)
	}
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
