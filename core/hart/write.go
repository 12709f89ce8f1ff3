package hart

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
)

// WriteOptions tune Write.
type WriteOptions struct {
	// SourceDateEpoch, when set, is every entry's mtime (reproducible
	// builds); otherwise entries keep the files' own mtimes.
	SourceDateEpoch *time.Time
	// XZ chooses the encoder (XZAuto when empty). Output is deterministic
	// per encoder; see XZ.
	XZ XZ
	// Level is the xz preset 1-9; 0 means DefaultLevel (5).
	Level int
	// BlockSize splits the xz stream into independently compressed blocks
	// of this many uncompressed bytes (which multi-threaded encoders and
	// decoders use); 0 means DefaultBlockSize, negative means one block.
	BlockSize int64
	// TempDir holds the compressed payload while it is hashed, before the
	// signed header can be written (os.TempDir() when empty), when the
	// destination is not a regular file (a regular file gets the payload
	// directly, and the header last).
	TempDir string
	// Progress, when set, is called with the number of bytes of file
	// content archived so far.
	Progress func(done int64)
}

func (o WriteOptions) level() int {
	if o.Level == 0 {
		return DefaultLevel
	}
	return o.Level
}

func (o WriteOptions) blockSize() int64 {
	switch {
	case o.BlockSize == 0:
		return DefaultBlockSize
	case o.BlockSize < 0:
		return 0
	}
	return o.BlockSize
}

// Write builds a hart from the installed-layout tree fsRoot/hab/pkgs/O/N/V/R
// (id fully qualified): a deterministic tar (entries in depth-first order
// with each directory's names sorted, directories included, uid/gid 0,
// uname/gname "root", mtimes = SourceDateEpoch when set, else the files'
// own, hard links kept), xz-compressed, signed with key.
//
// Trees that Extract would refuse (special files, symlinks escaping the
// package, an IDENT that disagrees with id) are refused here already.
func Write(ctx context.Context, w io.Writer, fsRoot string, id ident.Ident, key *crypto.SigningSecretKey, opts WriteOptions) error {
	if err := write(ctx, w, fsRoot, id, key, opts); err != nil {
		return fmt.Errorf("write hart of %s: %w", id, err)
	}
	return nil
}

func write(ctx context.Context, w io.Writer, fsRoot string, id ident.Ident, key *crypto.SigningSecretKey, opts WriteOptions) error {
	if !id.FullyQualified() {
		return fmt.Errorf("%w %q: a fully qualified identifier is required", ident.ErrInvalid, id)
	}
	if err := id.Validate(); err != nil {
		return err
	}
	if key == nil {
		return errors.New("no signing key")
	}
	impl, err := opts.XZ.resolve()
	if err != nil {
		return err
	}
	signed := func(digest string) Header {
		return Header{Format: FormatVersion, KeyName: key.NamedRevision.String(), HashType: HashType, Signature: key.Sign([]byte(digest))}
	}
	// The header's length does not depend on the digest. Into a regular
	// file, the payload goes straight after room left for the header,
	// which is written last; into anything else, the payload waits in a
	// temporary file until it is hashed.
	if f, ok := w.(*os.File); ok {
		if pos, err := f.Seek(0, io.SeekCurrent); err == nil {
			if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
				hdrLen := int64(len(signed(strings.Repeat("0", 64)).Encode()))
				ow := io.NewOffsetWriter(f, pos+hdrLen)
				digest, n, err := compressTo(ctx, ow, impl, fsRoot, id, opts)
				if err != nil {
					return err
				}
				if _, err := f.WriteAt(signed(digest).Encode(), pos); err != nil {
					return fmt.Errorf("write header: %w", err)
				}
				if _, err := f.Seek(pos+hdrLen+n, io.SeekStart); err != nil {
					return err
				}
				return nil
			}
		}
	}
	tmp, err := os.CreateTemp(opts.TempDir, ".hart-payload-*")
	if err != nil {
		return fmt.Errorf("temporary payload file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	digest, _, err := compressTo(ctx, tmp, impl, fsRoot, id, opts)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("temporary payload file: %w", err)
	}
	return writeSigned(ctx, w, tmp, digest, key)
}

// compressTo writes the compressed tar of the package to w and returns
// its hex digest and length.
func compressTo(ctx context.Context, w io.Writer, impl xzImpl, fsRoot string, id ident.Ident, opts WriteOptions) (string, int64, error) {
	h := newHash()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	bw := bufio.NewWriterSize(cw, 256<<10)
	enc, err := impl.newEncoder(ctx, bw, opts.level(), opts.blockSize())
	if err != nil {
		return "", 0, err
	}
	ew := bufio.NewWriterSize(enc, 1<<20)
	if err := writeTar(ctx, ew, fsRoot, id, TarOptions{ModTime: opts.SourceDateEpoch, Progress: opts.Progress}); err != nil {
		enc.Close()
		return "", 0, err
	}
	if err := ew.Flush(); err != nil {
		enc.Close()
		return "", 0, fmt.Errorf("compress: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", 0, fmt.Errorf("compress: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return "", 0, fmt.Errorf("write payload: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeSigned writes the header signing digest, then the payload.
func writeSigned(ctx context.Context, w io.Writer, payload io.Reader, digest string, key *crypto.SigningSecretKey) error {
	hdr := Header{Format: FormatVersion, KeyName: key.NamedRevision.String(), HashType: HashType, Signature: key.Sign([]byte(digest))}
	if _, err := w.Write(hdr.Encode()); err != nil { // same bytes as Write's own header
		return fmt.Errorf("write header: %w", err)
	}
	if _, err := copyCtx(ctx, w, payload); err != nil {
		return fmt.Errorf("write payload: %w", err)
	}
	return nil
}

// TarOptions tune Tar.
type TarOptions struct {
	// ModTime, when set, is every entry's mtime; otherwise entries keep
	// the files' own mtimes (truncated to the second).
	ModTime *time.Time
	// Progress, when set, is called with the number of bytes of file
	// content archived so far.
	Progress func(done int64)
}

// Tar writes the package tree fsRoot/hab/pkgs/O/N/V/R (id fully
// qualified) as an uncompressed tar stream in a deterministic form: the
// directories above the package, then the tree in depth-first order with
// each directory's names sorted, directories included, owners root (uid
// and gid 0), modes from the files, mtimes opts.ModTime when set, hard
// links kept as links. The same tree (contents, modes, links) and
// options give the same bytes whoever owns the files and whenever they
// were written. A hart's payload is this stream xz-compressed (Write); an
// exporter makes an image layer of it.
//
// Trees that Extract would refuse (special files, symlinks escaping the
// package, an IDENT that disagrees with id) are refused.
func Tar(ctx context.Context, w io.Writer, fsRoot string, id ident.Ident, opts TarOptions) error {
	if !id.FullyQualified() {
		return fmt.Errorf("tar of %s: %w %q: a fully qualified identifier is required", id, ident.ErrInvalid, id)
	}
	if err := id.Validate(); err != nil {
		return fmt.Errorf("tar of %s: %w", id, err)
	}
	if err := writeTar(ctx, w, fsRoot, id, opts); err != nil {
		return fmt.Errorf("tar of %s: %w", id, err)
	}
	return nil
}

// writeTar archives the package tree in a deterministic order and form.
func writeTar(ctx context.Context, w io.Writer, fsRoot string, id ident.Ident, opts TarOptions) error {
	prefix := "hab/pkgs/" + strings.Join(id.Parts(), "/")
	base := filepath.Join(fsRoot, filepath.FromSlash(prefix))
	st, err := os.Lstat(base)
	if err != nil {
		return fmt.Errorf("package directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("package directory %s is not a directory", base)
	}
	if b, err := os.ReadFile(filepath.Join(base, "IDENT")); err == nil {
		if got := strings.TrimSpace(string(b)); got != id.String() {
			return fmt.Errorf("%s says %q, not %s", filepath.Join(base, "IDENT"), got, id)
		}
	}
	mtime := func(t time.Time) time.Time {
		if opts.ModTime != nil {
			return opts.ModTime.UTC().Truncate(time.Second)
		}
		return t.UTC().Truncate(time.Second)
	}
	tw := tar.NewWriter(w)
	dirHeader := func(name string, mode int64, t time.Time) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime(t),
			Uname: "root", Gname: "root"}
	}
	// The directories above the package, so that the payload unpacks by
	// hand with tar; their mode is fixed, their mtime the package's.
	// The first one carries the mark that says the entries are sorted.
	parts := strings.Split(prefix, "/")
	for i := 1; i < len(parts); i++ {
		hdr := dirHeader(strings.Join(parts[:i], "/"), 0o755, st.ModTime())
		if i == 1 {
			hdr.PAXRecords = map[string]string{"comment": sortedMarker}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
	}
	var (
		done  int64
		seen  = map[[2]uint64]string{}
		links = map[string]string{}
		buf   = make([]byte, 256<<10)
	)
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := prefix
		if rel != "." {
			name += "/" + rel
		} else {
			rel = ""
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		perm := int64(fi.Mode().Perm())
		if fi.Mode()&fs.ModeSetuid != 0 {
			perm |= 0o4000
		}
		if fi.Mode()&fs.ModeSetgid != 0 {
			perm |= 0o2000
		}
		if fi.Mode()&fs.ModeSticky != 0 {
			perm |= 0o1000
		}
		hdr := &tar.Header{Name: name, Mode: perm, ModTime: mtime(fi.ModTime()), Uname: "root", Gname: "root"}
		switch {
		case fi.IsDir():
			return tw.WriteHeader(dirHeader(name, perm, fi.ModTime()))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := checkSymlinkTarget(name, rel, target); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			links[rel] = target
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
			return tw.WriteHeader(hdr)
		case fi.Mode().IsRegular():
			if key, ok := inode(fi); ok {
				if first, dup := seen[key]; dup {
					hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
					return tw.WriteHeader(hdr)
				}
				seen[key] = name
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			n, err := io.CopyBuffer(tw, io.LimitReader(f, fi.Size()), buf)
			f.Close()
			if err != nil {
				return fmt.Errorf("archive %s: %w", p, err)
			}
			if n != fi.Size() {
				return fmt.Errorf("archive %s: file shrank from %d to %d bytes while being archived", p, fi.Size(), n)
			}
			done += n
			if opts.Progress != nil {
				opts.Progress(done)
			}
			return nil
		}
		return fmt.Errorf("%s: unsupported file type %s (only files, directories and symlinks can be packaged)", p, fi.Mode().Type())
	})
	if err != nil {
		return err
	}
	if err := checkThroughLinks(prefix, links); err != nil {
		return err
	}
	return tw.Close()
}

// xzMagic starts every xz stream.
var xzMagic = []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}

// Sign wraps an existing .tar.xz payload (hab pkg sign SRC DST) into a hart
// signed by key. The payload is hashed first (from a seekable src, or from
// a temporary copy), then written after the header.
func Sign(ctx context.Context, src io.Reader, dst io.Writer, key *crypto.SigningSecretKey) error {
	if err := sign(ctx, src, dst, key); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	return nil
}

func sign(ctx context.Context, src io.Reader, dst io.Writer, key *crypto.SigningSecretKey) error {
	if key == nil {
		return errors.New("no signing key")
	}
	// A seekable source (a file) is hashed, rewound and copied; anything
	// else is copied to a temporary file while it is hashed.
	start := int64(-1)
	s, seekable := src.(io.ReadSeeker)
	if seekable {
		if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
			start = pos
		}
	}
	br := bufio.NewReaderSize(src, 256<<10)
	magic, err := br.Peek(len(xzMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read payload: %w", err)
	}
	if !bytes.Equal(magic, xzMagic) {
		return fmt.Errorf("%w: the payload to sign is not xz-compressed (expected a .tar.xz)", ErrFormat)
	}
	h := newHash()
	if start >= 0 {
		if _, err := copyCtx(ctx, h, br); err != nil {
			return fmt.Errorf("read payload: %w", err)
		}
		if _, err := s.Seek(start, io.SeekStart); err != nil {
			return fmt.Errorf("rewind payload: %w", err)
		}
		return writeSigned(ctx, dst, src, hex.EncodeToString(h.Sum(nil)), key)
	}
	tmp, err := os.CreateTemp("", ".hart-sign-*")
	if err != nil {
		return fmt.Errorf("temporary payload file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := copyCtx(ctx, io.MultiWriter(tmp, h), br); err != nil {
		return fmt.Errorf("read payload: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("temporary payload file: %w", err)
	}
	return writeSigned(ctx, dst, tmp, hex.EncodeToString(h.Sum(nil)), key)
}
