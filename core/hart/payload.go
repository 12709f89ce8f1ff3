package hart

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/habgo/hab/core/pkgmeta"
)

// ErrLimit is wrapped by the refusal of a payload that exceeds one of the
// Limits (the error names the limit and its value).
var ErrLimit = errors.New("hart exceeds a limit")

// Limits bound what reading a payload may cost, whatever its signature
// says: a hart signed by a trusted key can still be hostile or broken.
// Zero fields take the defaults.
type Limits struct {
	// MaxBytes bounds the decompressed payload (the tar stream) and,
	// separately, the total size of the files it holds (sparse entries
	// count with their full size). Default DefaultMaxBytes.
	MaxBytes int64
	// MaxEntries bounds the number of tar entries. Default
	// DefaultMaxEntries.
	MaxEntries int
	// MaxMetadata bounds the total size of the metadata files held in
	// memory (Metadata.Files). Default DefaultMaxMetadata.
	MaxMetadata int64
}

// The default Limits: far above any real package (the largest core
// packages are a few GiB in some 100,000 files), far below what would
// exhaust a machine.
const (
	DefaultMaxBytes    = 64 << 30
	DefaultMaxEntries  = 2_000_000
	DefaultMaxMetadata = 64 << 20
)

func (l Limits) resolved() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxMetadata <= 0 {
		l.MaxMetadata = DefaultMaxMetadata
	}
	return l
}

// payloadWalk is THE reader of a payload's tar stream: extraction,
// metadata reading, identification and inspection all go through it. It
// checks every entry's place against the package prefix (see layout),
// counts entries and bytes against the limits, and holds the content of
// the metadata files it is asked to keep, within MaxMetadata.
type payloadWalk struct {
	lim Limits
	// keep selects the metadata files (upper-case top-level names) to
	// hold; nil holds all of them.
	keep func(name string) bool
	// extra are other top-level regular files to hold (default.toml).
	extra []string
	// stopEarly ends the walk as soon as no file to hold can follow, in a
	// payload marked sorted (see sortedMarker).
	stopEarly bool

	l         layout
	src       *decompressed // the bounded stream; drain the rest through it
	files     map[string][]byte
	metaBytes int64
	entries   int
	fileBytes int64
	sorted    bool
	prev      []string
}

// errStopWalk, returned by a visit function, ends the walk without error.
var errStopWalk = errors.New("stop")

// visitFunc is called for every entry at or below the package prefix
// (not for the directories above it), with its content: the tar reader,
// or the held bytes of a metadata file.
type visitFunc func(hdr *tar.Header, pl place, body io.Reader) error

// decompressed bounds the tar stream read from a decoder.
type decompressed struct {
	r   io.Reader
	n   int64
	max int64
}

func (d *decompressed) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.n += int64(n)
	if d.n > d.max {
		return n, fmt.Errorf("%w: the decompressed payload is larger than %d bytes (Limits.MaxBytes)", ErrLimit, d.max)
	}
	return n, err
}

// walk reads the tar stream from dec to its end (or an early stop), and
// returns the package's metadata.
func (w *payloadWalk) walk(ctx context.Context, dec io.Reader, visit visitFunc) (*Metadata, error) {
	w.lim = w.lim.resolved()
	w.files = map[string][]byte{}
	w.src = &decompressed{r: dec, max: w.lim.MaxBytes}
	tr := tar.NewReader(w.src)
	first := true
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
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		w.entries++
		if w.entries > w.lim.MaxEntries {
			return nil, fmt.Errorf("%w: the payload holds more than %d entries (Limits.MaxEntries)", ErrLimit, w.lim.MaxEntries)
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
		case tar.TypeGNUSparse: // read back expanded by archive/tar
			hdr.Typeflag = tar.TypeReg
		default:
			return nil, fmt.Errorf("%w: entry %q has unsupported type %q (only files, directories, symlinks and hard links are allowed)", ErrFormat, hdr.Name, string(hdr.Typeflag))
		}
		if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA {
			if hdr.Size < 0 || hdr.Size > w.lim.MaxBytes-w.fileBytes {
				return nil, fmt.Errorf("%w: entry %q: the files of the payload add up to more than %d bytes (Limits.MaxBytes)", ErrLimit, hdr.Name, w.lim.MaxBytes)
			}
			w.fileBytes += hdr.Size
		}
		pl, err := w.l.place(hdr)
		if err != nil {
			return nil, err
		}
		comps := strings.Split(pl.clean, "/")
		if first {
			w.sorted = pl.clean == "hab" && hdr.Typeflag == tar.TypeDir && hdr.PAXRecords["comment"] == sortedMarker
			first = false
		} else if w.sorted && compareComps(w.prev, comps) >= 0 {
			w.sorted = false
		}
		w.prev = comps
		if pl.parent {
			continue
		}
		var body io.Reader = tr
		if w.held(pl.rel, hdr.Typeflag) {
			b, err := w.hold(hdr, tr)
			if err != nil {
				return nil, err
			}
			w.files[pl.rel] = b
			body = bytes.NewReader(b)
		} else if w.stopEarly && w.sorted && w.past(pl.rel) {
			break
		}
		if visit != nil {
			if err := visit(hdr, pl, body); err != nil {
				if errors.Is(err, errStopWalk) {
					break
				}
				return nil, err
			}
		}
	}
	if !w.l.complete() {
		return nil, w.l.incomplete()
	}
	return w.l.finish(w.files)
}

// held reports whether the entry at rel (below the prefix) is a file to
// hold in memory.
func (w *payloadWalk) held(rel string, typ byte) bool {
	if typ != tar.TypeReg && typ != tar.TypeRegA || strings.Contains(rel, "/") {
		return false
	}
	if pkgmeta.IsName(rel) {
		return w.keep == nil || w.keep(rel)
	}
	for _, e := range w.extra {
		if rel == e {
			return true
		}
	}
	return false
}

// past reports whether, in a sorted payload, no file to hold can follow
// the entry at rel: metadata names ([A-Z0-9_]+) sort before any name
// starting with a character after '_', and so must the extra names.
func (w *payloadWalk) past(rel string) bool {
	if rel == "" || rel[0] <= '_' {
		return false
	}
	top, _, _ := strings.Cut(rel, "/")
	for _, e := range w.extra {
		if top <= e {
			return false
		}
	}
	return true
}

// hold reads a file to keep, within the metadata budget.
func (w *payloadWalk) hold(hdr *tar.Header, r io.Reader) ([]byte, error) {
	if hdr.Size > w.lim.MaxMetadata-w.metaBytes {
		return nil, fmt.Errorf("%w: entry %q: the metadata files add up to more than %d bytes (Limits.MaxMetadata)", ErrLimit, hdr.Name, w.lim.MaxMetadata)
	}
	b := make([]byte, hdr.Size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("entry %q: %w", hdr.Name, tarError(err))
	}
	w.metaBytes += hdr.Size
	return b, nil
}
