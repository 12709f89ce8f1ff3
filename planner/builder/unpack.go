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
	"path/filepath"
	"strings"
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

// Unpack extracts the archive at path into dir. Entries that would land
// outside dir are refused.
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

// safeParent fails when the directory that will hold target resolves,
// through symbolic links extracted earlier, to a place outside dir.
func safeParent(dir, target string) error {
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	parent := filepath.Dir(target)
	for {
		if _, err := os.Lstat(parent); err == nil {
			break
		}
		if parent == dir || parent == filepath.Dir(parent) {
			return nil
		}
		parent = filepath.Dir(parent)
	}
	real, err := filepath.EvalSymlinks(parent)
	if err != nil {
		return err
	}
	if real != realDir && !strings.HasPrefix(real, realDir+string(filepath.Separator)) {
		rel, _ := filepath.Rel(dir, target)
		return fmt.Errorf("entry %q escapes the destination through a symbolic link", rel)
	}
	return nil
}

// within returns dir/name, or an error when name escapes dir.
func within(dir, name string) (string, error) {
	clean := filepath.Clean("/" + name)
	if strings.Contains(name, "\x00") || name == "" {
		return "", fmt.Errorf("invalid entry name %q", name)
	}
	for _, part := range strings.Split(filepath.ToSlash(name), "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q escapes the destination", name)
		}
	}
	return filepath.Join(dir, clean), nil
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
	tr := tar.NewReader(r)
	type dirTime struct {
		path string
		t    time.Time
	}
	var dirs []dirTime
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
		target, err := within(dir, h.Name)
		if err != nil {
			return err
		}
		if err := safeParent(dir, target); err != nil {
			return err
		}
		mode := os.FileMode(h.Mode).Perm() | os.FileMode(h.Mode)&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			os.Chmod(target, mode|0o700)
			dirs = append(dirs, dirTime{target, h.ModTime})
		case tar.TypeReg, tar.TypeRegA:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			os.Remove(target)
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return fmt.Errorf("extract %s: %w", h.Name, err)
			}
			if err := out.Close(); err != nil {
				return err
			}
			os.Chmod(target, mode)
			os.Chtimes(target, h.ModTime, h.ModTime)
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			os.Remove(target)
			if err := os.Symlink(h.Linkname, target); err != nil {
				return err
			}
		case tar.TypeLink:
			old, err := within(dir, h.Linkname)
			if err != nil {
				return err
			}
			os.Remove(target)
			if err := os.Link(old, target); err != nil {
				return err
			}
		case tar.TypeXGlobalHeader:
		default:
			// Devices and fifos have no place in a source tree.
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Chtimes(dirs[i].path, dirs[i].t, dirs[i].t)
	}
	return nil
}

func unpackZip(ctx context.Context, path, dir string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		target, err := within(dir, zf.Name)
		if err != nil {
			return err
		}
		if err := safeParent(dir, target); err != nil {
			return err
		}
		mode := zf.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		case mode&os.ModeSymlink != 0:
			rc, err := zf.Open()
			if err != nil {
				return err
			}
			link, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			os.MkdirAll(filepath.Dir(target), 0o755)
			os.Remove(target)
			if err := os.Symlink(string(link), target); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		perm := mode.Perm()
		if perm == 0 {
			perm = 0o644
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("read %s: %w", zf.Name, err)
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
		if err != nil {
			rc.Close()
			return err
		}
		_, err = io.Copy(out, rc)
		rc.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("extract %s: %w", zf.Name, err)
		}
		os.Chtimes(target, zf.Modified, zf.Modified)
	}
	return nil
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
	out, err := os.Create(dst)
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
