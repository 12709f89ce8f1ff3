package hart

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/habgo/hab/core/ident"
)

// Metadata of the package inside a hart: its ident, target, and the raw
// content of every top-level regular file of the package directory whose
// name is all uppercase letters, digits and underscores (IDENT, TARGET,
// DEPS, TDEPS, BUILD_DEPS, EXPOSES, EXPORTS, BINDS, BINDS_OPTIONAL, PATH,
// MANIFEST, ...).
type Metadata struct {
	Ident  ident.Ident  // fully qualified, from the entry paths hab/pkgs/O/N/V/R/, checked against IDENT
	Target ident.Target // from TARGET (x86_64-linux if absent, as very old harts lack it)
	Files  map[string][]byte
}

var metaNameRE = regexp.MustCompile(`^[A-Z0-9_]+$`)

// maxMetaFile bounds one metadata file held in memory.
const maxMetaFile = 64 << 20

// isMetaFile reports whether rel (below the prefix) names a metadata file.
func isMetaFile(rel string, typ byte) bool {
	return (typ == tar.TypeReg || typ == tar.TypeRegA) && !strings.Contains(rel, "/") && metaNameRE.MatchString(rel)
}

// readMeta reads a metadata file's content from the tar reader, writing it
// also to w when w is not nil.
func readMeta(name string, size int64, tr io.Reader, w io.Writer) ([]byte, error) {
	if size > maxMetaFile {
		return nil, fmt.Errorf("%w: entry %q: metadata file of %d bytes is larger than %d", ErrFormat, name, size, maxMetaFile)
	}
	var b bytes.Buffer
	b.Grow(int(size))
	var dst io.Writer = &b
	if w != nil {
		dst = io.MultiWriter(&b, w)
	}
	if _, err := io.Copy(dst, tr); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// finish checks the collected metadata and fills Ident and Target.
func (l *layout) finish(files map[string][]byte) (*Metadata, error) {
	if !l.complete() {
		if len(l.parts) == 0 {
			return nil, fmt.Errorf("%w: the payload holds no package (no entry under hab/pkgs/ORIGIN/NAME/VERSION/RELEASE/)", ErrFormat)
		}
		return nil, fmt.Errorf("%w: the payload holds no complete package prefix (only hab/pkgs/%s/)", ErrFormat, strings.Join(l.parts, "/"))
	}
	m := &Metadata{Ident: l.ident(), Target: ident.X86_64Linux, Files: files}
	if b, ok := files["IDENT"]; ok {
		if got := strings.TrimSpace(string(b)); got != m.Ident.String() {
			return nil, fmt.Errorf("%w: IDENT says %q but the package is stored under %s", ErrFormat, got, l.prefix())
		}
	}
	if b, ok := files["TARGET"]; ok {
		t, err := ident.ParseTarget(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%w: TARGET: %w", ErrFormat, err)
		}
		m.Target = t
	}
	return m, nil
}

// tarError describes an error of the tar reader.
func tarError(err error) error {
	if errors.Is(err, ErrFormat) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	switch {
	case errors.Is(err, tar.ErrHeader), errors.Is(err, tar.ErrInsecurePath):
		return fmt.Errorf("%w: the decompressed payload is not a tar archive: %v", ErrFormat, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the tar archive in the payload is truncated", ErrFormat)
	}
	return err
}

// payloadReader counts and hashes the payload as it is read, reports
// progress and honours cancellation.
type payloadReader struct {
	ctx      context.Context
	r        io.Reader
	h        hash.Hash
	n        int64
	progress func(int64)
}

func (p *payloadReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.r.Read(b)
	if n > 0 {
		if p.h != nil {
			p.h.Write(b[:n])
		}
		p.n += int64(n)
		if p.progress != nil {
			p.progress(p.n)
		}
	}
	return n, err
}

// ReadOptions tune ReadMetadata.
type ReadOptions struct {
	XZ XZ // xz implementation (XZAuto when empty)
}

// sortedMarker is the PAX "comment" record Write puts on the payload's first
// entry (the hab/ directory) to say that entries are in name order. Tar
// programs ignore comments; ReadMetadata relies on it to stop early. (The
// order alone proves nothing: harts built on Windows start with hab/ and
// sort names ignoring case, so metadata files come after bin/.)
const sortedMarker = "hab: entries sorted by name"

// ReadMetadata reads the package's metadata from the hart at path, without
// checking its signature. For a payload that Write made (marked sorted,
// and in order), it stops as soon as no metadata file can follow;
// otherwise it reads the whole payload.
func ReadMetadata(ctx context.Context, path string) (*Metadata, error) {
	return ReadMetadataWith(ctx, path, ReadOptions{})
}

// ReadMetadataWith is ReadMetadata with options.
func ReadMetadataWith(ctx context.Context, path string, opts ReadOptions) (*Metadata, error) {
	m, err := readMetadata(ctx, path, opts)
	if err != nil {
		return nil, fmt.Errorf("read metadata of %s: %w", path, err)
	}
	return m, nil
}

func readMetadata(ctx context.Context, path string, opts ReadOptions) (*Metadata, error) {
	impl, err := opts.XZ.resolve()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	if _, err := ReadHeader(br); err != nil {
		return nil, err
	}
	if err := checkXZMagic(br); err != nil {
		return nil, err
	}
	dec, err := impl.newDecoder(ctx, &payloadReader{ctx: ctx, r: br})
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	tr := tar.NewReader(dec)
	var (
		l      layout
		files  = map[string][]byte{}
		sorted = true
		prev   []string
		first  = true
	)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, tarError(err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		pl, err := l.place(hdr)
		if err != nil {
			return nil, err
		}
		comps := strings.Split(pl.clean, "/")
		if first {
			sorted = pl.clean == "hab" && hdr.Typeflag == tar.TypeDir && hdr.PAXRecords["comment"] == sortedMarker
			first = false
		} else if sorted && compareComps(prev, comps) >= 0 {
			sorted = false
		}
		prev = comps
		if pl.parent {
			continue
		}
		if isMetaFile(pl.rel, hdr.Typeflag) {
			b, err := readMeta(hdr.Name, hdr.Size, tr, nil)
			if err != nil {
				return nil, tarError(err)
			}
			files[pl.rel] = b
			continue
		}
		if sorted && pl.rel != "" && pl.rel[0] > '_' {
			// Every metadata name ([A-Z0-9_]+) sorts before this entry.
			break
		}
	}
	return l.finish(files)
}

// compareComps orders paths component by component, which is the order of
// a depth-first walk with each directory's names sorted (Write's order, and
// GNU tar's --sort=name).
func compareComps(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}
