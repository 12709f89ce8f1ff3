package container

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/exporters/closure"
)

// layerFormat changes whenever the bytes a layer is made of would change
// for the same packages (tar form, compression), so that the cache never
// serves a layer made the old way.
const layerFormat = "hab-layer-2 gzip-1 klauspost body+trailer"

// blob is a finished layer: its compressed bytes in a file and the
// digests an image needs. It implements v1.Layer without reading the file
// again.
//
// Its gzip stream has two members: the tar's entries, then the tar's end
// (two zero blocks) alone. One gzip stream of one tar, as every reader
// takes it; and the first members of an image's layers, one after the
// other, and one end make the flattened root file system compressed
// without decompressing anything (WriteRootfsGzip).
type blob struct {
	path           string
	digest, diffID v1.Hash
	size           int64
	// body is the size of the first member (the entries).
	body int64
}

var _ v1.Layer = (*blob)(nil)

func (b *blob) Digest() (v1.Hash, error)            { return b.digest, nil }
func (b *blob) DiffID() (v1.Hash, error)            { return b.diffID, nil }
func (b *blob) Size() (int64, error)                { return b.size, nil }
func (b *blob) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (b *blob) Compressed() (io.ReadCloser, error)  { return os.Open(b.path) }
func (b *blob) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(b.path)
	if err != nil {
		return nil, err
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("layer %s: %w", b.digest, err)
	}
	return readCloser{z, func() error { z.Close(); return f.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// record is what the cache keeps about a layer beside its blob.
type record struct {
	Digest string `json:"digest"`
	DiffID string `json:"diff_id"`
	Size   int64  `json:"size"`
	Body   int64  `json:"body"`
}

// layerCache keeps finished layers in dir: blobs/sha256/HEX and, for each
// key (what the layer was made from), keys/KEY.json. A layer whose
// packages have not changed is not made again.
type layerCache struct{ dir string }

func (c layerCache) blobPath(h v1.Hash) string {
	return filepath.Join(c.dir, "blobs", h.Algorithm, h.Hex)
}

func (c layerCache) lookup(key string) (*blob, bool) {
	data, err := os.ReadFile(filepath.Join(c.dir, "keys", key+".json"))
	if err != nil {
		return nil, false
	}
	var r record
	if json.Unmarshal(data, &r) != nil {
		return nil, false
	}
	d, err1 := v1.NewHash(r.Digest)
	id, err2 := v1.NewHash(r.DiffID)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	b := &blob{path: c.blobPath(d), digest: d, diffID: id, size: r.Size, body: r.Body}
	if fi, err := os.Stat(b.path); err != nil || fi.Size() != r.Size || r.Body <= 0 || r.Body >= r.Size {
		return nil, false
	}
	return b, true
}

// make writes a layer from the tar stream write produces, gzip-compressed,
// into the cache under key, unless the key is there.
func (c layerCache) make(ctx context.Context, key string, write func(w io.Writer) error) (*blob, error) {
	if b, ok := c.lookup(key); ok {
		return b, nil
	}
	tmpDir := filepath.Join(c.dir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return nil, fmt.Errorf("layer cache %s: %w", c.dir, err)
	}
	f, err := os.CreateTemp(tmpDir, "layer-*")
	if err != nil {
		return nil, fmt.Errorf("layer cache %s: %w", c.dir, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	compressed, uncompressed := sha256.New(), sha256.New()
	out := io.MultiWriter(f, compressed)
	z, err := gzip.NewWriterLevel(out, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	body := &withoutEnd{w: z}
	if err := write(io.MultiWriter(body, uncompressed)); err != nil {
		return nil, err
	}
	end, err := body.end()
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	if err := z.Close(); err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	bodySize, err := f.Seek(0, io.SeekCurrent) // what the first member took
	if err != nil {
		return nil, err
	}
	z.Reset(out)
	if _, err := z.Write(end); err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	if err := z.Close(); err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write layer %s: %w", f.Name(), err)
	}
	b := &blob{digest: sum(compressed), diffID: sum(uncompressed), size: fi.Size(), body: bodySize}
	b.path = c.blobPath(b.digest)
	if err := os.MkdirAll(filepath.Dir(b.path), 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(f.Name(), b.path); err != nil {
		return nil, fmt.Errorf("layer cache: %w", err)
	}
	data, _ := json.Marshal(record{Digest: b.digest.String(), DiffID: b.diffID.String(), Size: b.size, Body: b.body})
	if err := atomicfile.WriteFile(filepath.Join(c.dir, "keys", key+".json"), data, 0o644); err != nil {
		return nil, fmt.Errorf("layer cache: %w", err)
	}
	return b, ctx.Err()
}

// tarEnd is the size of a tar stream's end: two zero blocks, as
// archive/tar writes it.
const tarEnd = 2 * 512

// withoutEnd passes a tar stream on to w except its last tarEnd bytes,
// which end returns once the stream is complete.
type withoutEnd struct {
	w    io.Writer
	held []byte
}

func (e *withoutEnd) Write(p []byte) (int, error) {
	if len(p) >= tarEnd {
		if _, err := e.w.Write(e.held); err != nil {
			return 0, err
		}
		if _, err := e.w.Write(p[:len(p)-tarEnd]); err != nil {
			return 0, err
		}
		e.held = append(e.held[:0], p[len(p)-tarEnd:]...)
		return len(p), nil
	}
	e.held = append(e.held, p...)
	if over := len(e.held) - tarEnd; over > 0 {
		if _, err := e.w.Write(e.held[:over]); err != nil {
			return 0, err
		}
		e.held = append(e.held[:0], e.held[over:]...)
	}
	return len(p), nil
}

// end is the held end of the stream, which must be a tar's end.
func (e *withoutEnd) end() ([]byte, error) {
	if len(e.held) != tarEnd || bytes.Count(e.held, []byte{0}) != tarEnd {
		return nil, errors.New("the tar stream does not end with two zero blocks")
	}
	return e.held, nil
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// packagesKey is the cache key of a layer of packages: the layer format,
// then for each package its ident, its layer time and every entry of its
// tree (name, mode, size, modification time), so that a package changed
// in place under the same ident is archived again.
func packagesKey(ctx context.Context, ps []*closure.Package) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", layerFormat)
	for _, p := range ps {
		fmt.Fprintf(h, "pkg %s %d\n", p.Ident, p.ModTime().Unix())
		err := filepath.WalkDir(p.Path, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%q %o %d %d\n", path, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("layer of %s: %w", p.Ident, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// packagesLayer is the layer of one package, or of several merged into
// one tar (their trees in the order given; a directory shared by two, such
// as hab/pkgs/core, appears once). Every entry carries the package's own
// time (closure.Package.ModTime), never the image's creation time, so the
// layer is the same in every image holding the package.
func packagesLayer(ctx context.Context, cache layerCache, ps []*closure.Package) (*blob, error) {
	key, err := packagesKey(ctx, ps)
	if err != nil {
		return nil, err
	}
	return cache.make(ctx, key, func(w io.Writer) error {
		if len(ps) == 1 {
			mt := ps[0].ModTime()
			return hart.Tar(ctx, w, ps[0].FSRoot, ps[0].Ident, hart.TarOptions{ModTime: &mt})
		}
		return mergeTars(ctx, w, ps)
	})
}

// mergeTars writes the package trees of ps as one tar stream.
func mergeTars(ctx context.Context, w io.Writer, ps []*closure.Package) error {
	tw := tar.NewWriter(w)
	if err := closure.WriteTrees(ctx, tw, ps, map[string]bool{}); err != nil {
		return err
	}
	return tw.Close()
}

// fileEntry is one entry of a layer made in memory.
type fileEntry struct {
	name     string
	mode     int64
	typ      byte
	linkname string
	data     []byte
}

// memLayer is the layer of entries (written in the order given, all owned
// by root, all with time mt), through the cache.
func memLayer(ctx context.Context, cache layerCache, entries []fileEntry, mt time.Time) (*blob, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s mem %d\n", layerFormat, mt.Unix())
	for _, e := range entries {
		fmt.Fprintf(h, "%q %o %c %q %d\n", e.name, e.mode, e.typ, e.linkname, len(e.data))
		h.Write(e.data)
	}
	return cache.make(ctx, hex.EncodeToString(h.Sum(nil)), func(w io.Writer) error {
		tw := tar.NewWriter(w)
		for _, e := range entries {
			hdr := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: e.typ, Linkname: e.linkname, ModTime: mt,
				Uname: "root", Gname: "root", Size: int64(len(e.data))}
			if e.typ == tar.TypeDir {
				hdr.Name += "/"
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
		}
		return tw.Close()
	})
}

// WriteRootfsGzip writes the root file system of img, an image Build
// made, to w as one gzip-compressed tar stream: the entries of every
// layer, bottom first (unpacked in order, a later entry of a path
// replaces an earlier one, as the image's layers do: Build writes no
// whiteouts), then the tar's end. The layers' compressed entries are
// copied as they are, not decompressed and compressed again.
func WriteRootfsGzip(ctx context.Context, w io.Writer, img v1.Image) error {
	ls, err := img.Layers()
	if err != nil {
		return err
	}
	for i, l := range ls {
		b, ok := l.(*blob)
		if !ok || b.body <= 0 {
			return fmt.Errorf("root file system: layer %d was not made by this exporter", i)
		}
		if err := copyPrefix(ctx, w, b.path, b.body); err != nil {
			return fmt.Errorf("root file system: layer %s: %w", b.digest, err)
		}
	}
	z, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if _, err := z.Write(make([]byte, tarEnd)); err != nil {
		return err
	}
	return z.Close()
}

// copyPrefix copies the first n bytes of the file at path to w.
func copyPrefix(ctx context.Context, w io.Writer, path string, n int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := io.CopyN(w, f, n); err != nil {
		return err
	}
	return ctx.Err()
}
