package builder

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/habgo/hab/planner/shell"
)

// unpackFile is unpack_file FILE: it extracts an archive of the source
// cache into HAB_CACHE_SRC_PATH, choosing the format by extension as the
// original does (tar with gzip, bzip2, xz or zstd, zip; lone .gz, .bz2,
// .xz and .zst files are decompressed beside themselves).
func (b *builder) unpackFile(ctx context.Context, c *shell.Call) error {
	name := c.Arg(1)
	buildLine(c, "Unpacking "+name)
	path := srcPath(c, name)
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		warnLine(c, fmt.Sprintf("'%s' is not a valid file!", name))
		return b.failWith(c, "'%s' is not a valid file!", name)
	}
	if err := Unpack(ctx, path, c.Get("HAB_CACHE_SRC_PATH")); err != nil {
		var uf *unknownFormatError
		if errors.As(err, &uf) {
			warnLine(c, fmt.Sprintf("Error: unknown archive format '.%s'", uf.ext))
		}
		return b.failWith(c, "unpack %s: %v", name, err)
	}
	return nil
}

type unknownFormatError struct{ ext string }

func (e *unknownFormatError) Error() string {
	return fmt.Sprintf("unknown archive format '.%s'", e.ext)
}

// Unpack extracts the archive at path into dir. Every entry, and every
// hard link's target, is resolved beneath dir with no symbolic link in
// any component (see unpacker): entries that would land outside dir, or
// go through a link, are refused.
func Unpack(ctx context.Context, path, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lower := strings.ToLower(filepath.Base(path))
	has := func(exts ...string) bool {
		for _, e := range exts {
			if strings.HasSuffix(lower, e) {
				return true
			}
		}
		return false
	}
	switch {
	case has(".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst", ".tzst", ".tar"):
		return unpackTar(ctx, path, dir)
	case has(".zip"):
		return unpackZip(ctx, path, dir)
	case has(".gz", ".bz2", ".xz", ".zst"):
		return decompressSingle(path)
	}
	ext := filepath.Ext(lower)
	return &unknownFormatError{ext: strings.TrimPrefix(ext, ".")}
}

// decompressor opens the decompressed stream of r by the name's
// extension (identity for .tar).
func decompressor(name string, r io.Reader) (io.Reader, func(), error) {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".gz"), strings.HasSuffix(lower, ".tgz"):
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return z, func() { z.Close() }, nil
	case strings.HasSuffix(lower, ".bz2"), strings.HasSuffix(lower, ".tbz2"), strings.HasSuffix(lower, ".tbz"):
		return bzip2.NewReader(r), func() {}, nil
	case strings.HasSuffix(lower, ".xz"), strings.HasSuffix(lower, ".txz"):
		z, err := xz.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return z, func() {}, nil
	case strings.HasSuffix(lower, ".zst"), strings.HasSuffix(lower, ".tzst"):
		z, err := zstd.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return z, z.Close, nil
	}
	return r, func() {}, nil
}

// within returns name cleaned and relative to the destination ("a/b"),
// or an error when it escapes it. Absolute names are taken relative to
// the destination, as tar does when it strips the leading '/'.
func within(name string) (string, error) {
	if strings.Contains(name, "\x00") || name == "" {
		return "", fmt.Errorf("invalid entry name %q", name)
	}
	for _, part := range strings.Split(filepath.ToSlash(name), "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q escapes the destination", name)
		}
	}
	rel := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(name)), "/")
	if rel == "" {
		rel = "."
	}
	return rel, nil
}

func unpackTar(ctx context.Context, path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, done, err := decompressor(path, bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	defer done()
	u, err := newUnpacker(dir)
	if err != nil {
		return err
	}
	defer u.close()
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Base(path), err)
		}
		mode := os.FileMode(h.Mode).Perm() | os.FileMode(h.Mode)&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky)
		switch h.Typeflag {
		case tar.TypeDir:
			err = u.dir(h.Name, mode, h.ModTime)
		case tar.TypeReg, tar.TypeRegA:
			err = u.file(h.Name, mode, h.ModTime, tr)
		case tar.TypeSymlink:
			err = u.symlink(h.Name, h.Linkname)
		case tar.TypeLink:
			err = u.hardlink(h.Name, h.Linkname)
		default:
			// Devices, fifos and global headers have no place in a
			// source tree.
		}
		if err != nil {
			return err
		}
	}
	return u.finish()
}

func unpackZip(ctx context.Context, path, dir string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer zr.Close()
	u, err := newUnpacker(dir)
	if err != nil {
		return err
	}
	defer u.close()
	for _, zf := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		mode := zf.Mode()
		switch {
		case mode.IsDir():
			err = u.dir(zf.Name, 0o755, time.Time{})
		case mode&os.ModeSymlink != 0:
			err = func() error {
				rc, err := zf.Open()
				if err != nil {
					return fmt.Errorf("read %s: %w", zf.Name, err)
				}
				defer rc.Close()
				link, err := io.ReadAll(io.LimitReader(rc, 4096))
				if err != nil {
					return fmt.Errorf("read %s: %w", zf.Name, err)
				}
				return u.symlink(zf.Name, string(link))
			}()
		case mode.IsRegular():
			perm := mode.Perm()
			if perm == 0 {
				perm = 0o644
			}
			err = func() error {
				rc, err := zf.Open()
				if err != nil {
					return fmt.Errorf("read %s: %w", zf.Name, err)
				}
				defer rc.Close()
				return u.file(zf.Name, perm, zf.Modified, rc)
			}()
		}
		if err != nil {
			return err
		}
	}
	return u.finish()
}

// decompressSingle decompresses FILE.gz (.bz2, .xz, .zst) into FILE and
// removes the compressed file, as gunzip does.
func decompressSingle(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, done, err := decompressor(path, bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer done()
	dst := strings.TrimSuffix(path, filepath.Ext(path))
	// Replace what is there, never writing through a link planted by an
	// archive unpacked before.
	if fi, err := os.Lstat(dst); err == nil && !fi.IsDir() {
		os.Remove(dst)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		os.Remove(dst)
		return fmt.Errorf("decompress %s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Remove(path)
}
