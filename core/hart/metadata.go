package hart

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/habgo/hab/core/ident"
)

// Metadata of the package inside a hart: its ident, target, and the raw
// content of the top-level metadata files of the package directory (names
// of upper-case letters, digits and underscores: IDENT, TARGET, DEPS,
// TDEPS, BUILD_DEPS, EXPOSES, EXPORTS, BINDS, PATH, MANIFEST, ...) that
// the reader was asked to keep (all of them by default), within
// Limits.MaxMetadata.
type Metadata struct {
	Ident  ident.Ident  // fully qualified, from the entry paths hab/pkgs/O/N/V/R/, checked against IDENT
	Target ident.Target // from TARGET (x86_64-linux if absent, as very old harts lack it)
	Files  map[string][]byte
}

// incomplete is the error for a payload whose package prefix was never
// complete.
func (l *layout) incomplete() error {
	if len(l.parts) == 0 {
		return fmt.Errorf("%w: the payload holds no package (no entry under hab/pkgs/ORIGIN/NAME/VERSION/RELEASE/)", ErrFormat)
	}
	return fmt.Errorf("%w: the payload holds no complete package prefix (only hab/pkgs/%s/)", ErrFormat, strings.Join(l.parts, "/"))
}

// finish checks the collected metadata and fills Ident and Target.
func (l *layout) finish(files map[string][]byte) (*Metadata, error) {
	if !l.complete() {
		return nil, l.incomplete()
	}
	id, err := l.ident()
	if err != nil {
		return nil, err
	}
	m := &Metadata{Ident: id, Target: ident.X86_64Linux, Files: files}
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

// ReadOptions tune ReadMetadata, ReadIdent and Inspect.
type ReadOptions struct {
	XZ     XZ // xz implementation (XZAuto when empty)
	Limits Limits
	// Keep selects the metadata files to return in Metadata.Files (nil
	// keeps every upper-case top-level file); a reader that knows which
	// files it uses keeps only those, so that others cost no memory.
	Keep func(name string) bool
	// Files are other top-level regular files of the package to return
	// in Metadata.Files (such as default.toml), within the same budget.
	Files []string
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
	in, err := openInput(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("read metadata of %s: %w", path, err)
	}
	defer in.Close()
	_, m, err := readPayload(ctx, in, opts, true, nil)
	if err != nil {
		return nil, fmt.Errorf("read metadata of %s: %w", path, err)
	}
	return m, nil
}

// ReadMetadataFrom reads the header and the package's metadata from a
// hart streamed from r (without checking its signature), consuming r up
// to the end of the metadata in a sorted payload, else to its end.
func ReadMetadataFrom(ctx context.Context, r io.Reader, opts ReadOptions) (Header, *Metadata, error) {
	h, m, err := readPayload(ctx, r, opts, true, nil)
	if err != nil {
		return Header{}, nil, fmt.Errorf("read metadata: %w", err)
	}
	return h, m, nil
}

// readPayload reads the header from r and walks the payload, calling
// visit (which may be nil) for the entries below the package prefix.
func readPayload(ctx context.Context, r io.Reader, opts ReadOptions, stopEarly bool, visit visitFunc) (Header, *Metadata, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	h, err := ReadHeader(br)
	if err != nil {
		return Header{}, nil, err
	}
	m, err := walkPayload(ctx, br, opts, stopEarly, visit)
	if err != nil {
		return Header{}, nil, err
	}
	return h, m, nil
}

// walkPayload decompresses the payload br is positioned at and walks it.
func walkPayload(ctx context.Context, br *bufio.Reader, opts ReadOptions, stopEarly bool, visit visitFunc) (*Metadata, error) {
	impl, err := opts.XZ.resolve()
	if err != nil {
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
	w := &payloadWalk{lim: opts.Limits, keep: opts.Keep, extra: opts.Files, stopEarly: stopEarly}
	m, err := w.walk(ctx, dec, visit)
	if err != nil || stopEarly {
		return m, err
	}
	// Read to the end of the xz stream, so that the decoder checks its
	// index and checksums: a truncated payload is an error.
	if _, err := copyCtx(ctx, io.Discard, w.src); err != nil {
		return nil, err
	}
	return m, nil
}

// Info is what Inspect tells about a hart.
type Info struct {
	Header   Header
	Checksum string // hex BLAKE2b-256 of the whole file, as `hab pkg hash` prints it
	Size     int64  // of the whole file
	Metadata *Metadata
}

// Inspect reads the header, checksum, size and metadata of the hart at
// path, without checking its signature (`hab pkg info`). The file is read
// once. A sorted payload whose xz index is intact (so: not truncated) is
// decompressed only up to its metadata; any other is decompressed to its
// end, so that a truncated or corrupt payload is an error (ErrFormat).
func Inspect(ctx context.Context, path string, opts ReadOptions) (*Info, error) {
	info, err := inspect(ctx, path, opts)
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", path, err)
	}
	return info, nil
}

func inspect(ctx context.Context, path string, opts ReadOptions) (*Info, error) {
	in, err := openInput(ctx, path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	whole := newHash()
	cw := &countWriter{w: whole}
	br := bufio.NewReaderSize(io.TeeReader(in, cw), 256<<10)
	h, err := ReadHeader(br)
	if err != nil {
		return nil, err
	}
	stopEarly := false
	if in.regular {
		off := cw.n - int64(br.Buffered())
		_, ierr := xzBlocks(io.NewSectionReader(in.f, off, in.size-off), in.size-off)
		stopEarly = ierr == nil
	}
	m, err := walkPayload(ctx, br, opts, stopEarly, nil)
	if err != nil {
		return nil, err
	}
	if _, err := copyCtx(ctx, io.Discard, br); err != nil { // the rest, through the checksum
		return nil, err
	}
	return &Info{Header: h, Checksum: hex.EncodeToString(whole.Sum(nil)), Size: cw.n, Metadata: m}, nil
}

// ReadIdent reads the header of the hart at path and the identifier of
// the package it claims to hold, from the path of the first entries of
// its payload (hab/pkgs/ORIGIN/NAME/VERSION/RELEASE/), decompressing only
// the start. It does not check the signature: Extract then checks that
// the package really is that one.
func ReadIdent(ctx context.Context, path string, opts ReadOptions) (Header, ident.Ident, error) {
	in, err := openInput(ctx, path)
	if err != nil {
		return Header{}, ident.Ident{}, fmt.Errorf("read the package identifier of %s: %w", path, err)
	}
	defer in.Close()
	opts.Keep = func(string) bool { return false }
	opts.Files = nil
	h, m, err := readPayload(ctx, in, opts, true, func(*tar.Header, place, io.Reader) error { return errStopWalk })
	if err != nil {
		return Header{}, ident.Ident{}, fmt.Errorf("read the package identifier of %s: %w", path, err)
	}
	return h, m.Ident, nil
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
