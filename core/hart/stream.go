package hart

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/habgo/hab/core/blake2pair"
)

// ErrChecksum is wrapped by VerifyStream's refusal of a hart whose whole
// digest is not StreamOptions.Checksum.
var ErrChecksum = errors.New("hart checksum differs")

// StreamOptions tune VerifyStream.
type StreamOptions struct {
	// Copy, when set, receives every byte read, in order (a depot's blob
	// file). A write error stops the verification and is returned.
	Copy io.Writer
	// Checksum, when set, is the expected hex BLAKE2b-256 of the whole
	// hart; another digest is an error wrapping ErrChecksum.
	Checksum string
	// Metadata, when set, reads the package's metadata from the same
	// bytes (Verified.Metadata), as ReadMetadataFrom does with these
	// options.
	Metadata *ReadOptions
}

// Verified is what VerifyStream found.
type Verified struct {
	Header Header
	// Checksum is the hex BLAKE2b-256 digest of the whole hart (header
	// and payload), as `hab pkg hash` prints it and a depot names it.
	Checksum string
	// Size is the length of the whole hart.
	Size int64
	// Metadata is the package's metadata, when StreamOptions.Metadata
	// asked for it.
	Metadata *Metadata

	payloadOffset int64 // the header's length
}

// VerifyStream verifies a hart as it streams from r, reading each byte of
// r once: header, signer key, signature, payload digest (the payload is
// not decompressed, except its start when opts.Metadata asks for the
// metadata; memory is constant), and the whole hart's checksum. A depot
// copies an upload into its blob store through opts.Copy and publishes
// the blob only when this returns no error.
//
// The work is spread over goroutines that share each piece read: the
// digests, the copy and the metadata reader each take every piece in
// turn. The two digests (the bulk of the work) are computed together
// where the machine can (blake2pair), else side by side, each on a core.
//
// Errors wrap what Verify's do, checked in this order: reading r or
// writing the copy, the header and signature (reported as soon as the
// header arrives; r is then not read further), the payload digest, the
// checksum (ErrChecksum), the metadata (ErrFormat or ErrLimit).
func VerifyStream(ctx context.Context, r io.Reader, keys KeyLookup, opts StreamOptions) (*Verified, error) {
	v, err := verifyStreamed(ctx, r, keys, streamJob{StreamOptions: opts, whole: true, pair: blake2pair.Accelerated()})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return v, nil
}

// streamJob is what verifyStreamed does: the options, whether to compute
// the whole hart's digest (extraction has no use for it) and whether the
// two digests are computed together (blake2pair, when this machine
// compresses two chains at once; else each on a core of its own), and a
// progress function called with the count of payload bytes hashed.
type streamJob struct {
	StreamOptions
	whole    bool
	pair     bool
	progress func(int64)
}

// The pieces a stream is read in, and how many are in flight at once.
const (
	pieceSize   = 256 << 10
	piecesInUse = 16
)

// piece is a buffer read from the stream, shared read-only by the
// consumers; the last to release it returns it to the pool.
type piece struct {
	b    []byte
	refs atomic.Int32
	pool chan *piece
}

func (p *piece) release() {
	if p.refs.Add(-1) == 0 {
		p.pool <- p
	}
}

// fanout reads r in pieces and hands every piece to each consumer, in
// order; a consumer's error (or a read error) stops the reading.
type fanout struct {
	pool chan *piece
	made int // pieces allocated, up to piecesInUse: a small hart needs one
	outs []chan *piece
	wg   sync.WaitGroup
	stop chan struct{}
	once sync.Once
	err  error
}

func newFanout() *fanout {
	return &fanout{pool: make(chan *piece, piecesInUse), stop: make(chan struct{})}
}

// take returns a free piece, making one while fewer than piecesInUse
// exist; nil when the reading must stop.
func (f *fanout) take(ctx context.Context) *piece {
	select {
	case p := <-f.pool:
		return p
	default:
	}
	if f.made < piecesInUse {
		f.made++
		return &piece{b: make([]byte, pieceSize), pool: f.pool}
	}
	select {
	case p := <-f.pool:
		return p
	case <-f.stop:
	case <-ctx.Done():
		f.fail(ctx.Err())
	}
	return nil
}

// fail records the first error and stops the reading.
func (f *fanout) fail(err error) {
	f.once.Do(func() {
		f.err = err
		close(f.stop)
	})
}

// consume starts a consumer that takes each piece in turn (after an error
// of its own or another's, the pieces are only released).
func (f *fanout) consume(take func([]byte) error) {
	ch := make(chan *piece, piecesInUse)
	f.outs = append(f.outs, ch)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		failed := false
		for p := range ch {
			if !failed {
				if err := take(p.b); err != nil {
					f.fail(err)
					failed = true
				}
			}
			p.release()
		}
	}()
}

// consumeStream starts a consumer that reads the pieces as a stream
// (pieceReader) until it returns, then releases the rest.
func (f *fanout) consumeStream(run func(*pieceReader) error) {
	ch := make(chan *piece, piecesInUse)
	f.outs = append(f.outs, ch)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		pr := &pieceReader{ch: ch}
		if err := run(pr); err != nil {
			f.fail(err)
		}
		pr.drain()
	}()
}

// run reads r to its end (or the first error, which it records in f.err)
// and waits for the consumers; it returns the number of bytes read.
func (f *fanout) run(ctx context.Context, r io.Reader) int64 {
	var n int64
	defer func() {
		for _, ch := range f.outs {
			close(ch)
		}
		f.wg.Wait()
	}()
	for {
		p := f.take(ctx)
		if p == nil {
			return n
		}
		m, err := io.ReadFull(r, p.b[:pieceSize])
		if m > 0 {
			n += int64(m)
			p.b = p.b[:m]
			p.refs.Store(int32(len(f.outs)))
			for _, ch := range f.outs {
				ch <- p // never blocks: a channel holds every piece
			}
		} else {
			f.pool <- p
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return n
		case err != nil:
			f.fail(fmt.Errorf("read hart: %w", err))
			return n
		}
		if err := ctx.Err(); err != nil {
			f.fail(err)
			return n
		}
		select {
		case <-f.stop:
			return n
		default:
		}
	}
}

// pieceReader reads the pieces a consumer receives as a stream.
type pieceReader struct {
	ch  <-chan *piece
	cur *piece
	off int
	n   int64 // bytes returned by Read
}

// next returns the unread rest of the current piece, or the next piece
// (releasing the one before); false at the end of the stream.
func (pr *pieceReader) next() ([]byte, bool) {
	if pr.cur != nil && pr.off < len(pr.cur.b) {
		b := pr.cur.b[pr.off:]
		pr.off = len(pr.cur.b)
		return b, true
	}
	if pr.cur != nil {
		pr.cur.release()
		pr.cur = nil
	}
	p, ok := <-pr.ch
	if !ok {
		return nil, false
	}
	pr.cur, pr.off = p, len(p.b)
	return p.b, true
}

func (pr *pieceReader) Read(b []byte) (int, error) {
	if pr.cur == nil || pr.off == len(pr.cur.b) {
		if _, ok := pr.next(); !ok {
			return 0, io.EOF
		}
		pr.off = 0
	}
	n := copy(b, pr.cur.b[pr.off:])
	pr.off += n
	pr.n += int64(n)
	return n, nil
}

// drain releases every piece left.
func (pr *pieceReader) drain() {
	for {
		if _, ok := pr.next(); !ok {
			return
		}
	}
}

// laneA writes to a pair's lane A.
type laneA struct{ h *blake2pair.Hasher }

func (l laneA) Write(p []byte) (int, error) {
	l.h.WriteA(p)
	return len(p), nil
}

// verifyStreamed is VerifyStream without the wrapping.
func verifyStreamed(ctx context.Context, r io.Reader, keys KeyLookup, opts streamJob) (*Verified, error) {
	f := newFanout()
	together := opts.whole && opts.pair
	whole := newHash()
	if opts.whole && !together {
		f.consume(func(b []byte) error {
			whole.Write(b)
			return nil
		})
	}
	if opts.Copy != nil {
		f.consume(func(b []byte) error {
			_, err := opts.Copy.Write(b)
			return err
		})
	}
	var (
		h               Header
		want, got, wsum string
		off             int64 // where the payload starts
	)
	// The metadata reader takes the pieces too, skips the header and
	// decompresses the start of the payload, beside the digests rather
	// than in their way. The header's problems are the digests' consumer
	// to report; the metadata's wait until the digests are known good.
	var (
		meta    *Metadata
		metaErr error
	)
	if opts.Metadata != nil {
		f.consumeStream(func(pr *pieceReader) error {
			br := bufio.NewReaderSize(pr, 64<<10)
			if _, metaErr = ReadHeader(br); metaErr == nil {
				meta, metaErr = walkPayload(ctx, br, *opts.Metadata, true, nil)
			}
			return nil
		})
	}
	f.consumeStream(func(pr *pieceReader) (err error) {
		// Together, the pair's lane A takes every byte as it is read
		// (the header's through the tee) and lane B the payload's;
		// apart, whole takes every piece in its own consumer.
		var src io.Reader = pr
		var pair *blake2pair.Hasher
		if together {
			pair = blake2pair.New()
			src = io.TeeReader(pr, laneA{pair})
		}
		br := bufio.NewReaderSize(src, 8192)
		h, want, err = readSigned(br, keys)
		if err != nil {
			return err
		}
		off = pr.n - int64(br.Buffered())
		ph := newHash()
		var hashed int64
		feed := func(b []byte, read bool) {
			switch {
			case pair == nil:
				ph.Write(b)
			case read: // lane A has it already
				pair.WriteB(b)
			default:
				pair.Write(b)
			}
			if hashed += int64(len(b)); opts.progress != nil {
				opts.progress(hashed)
			}
		}
		start, _ := br.Peek(br.Buffered())
		feed(start, true)
		for {
			b, ok := pr.next()
			if !ok {
				break
			}
			feed(b, false)
		}
		if pair != nil {
			a, b := pair.Sums()
			wsum, got = hex.EncodeToString(a[:]), hex.EncodeToString(b[:])
			return nil
		}
		got = hex.EncodeToString(ph.Sum(nil))
		return nil
	})
	n := f.run(ctx, r)
	if f.err != nil {
		return nil, f.err
	}
	if got != want {
		return nil, digestMismatch(h.KeyName, got, want)
	}
	v := &Verified{Header: h, Size: n, payloadOffset: off}
	switch {
	case together:
		v.Checksum = wsum
	case opts.whole:
		v.Checksum = hex.EncodeToString(whole.Sum(nil))
	}
	if opts.Checksum != "" && v.Checksum != opts.Checksum {
		return nil, fmt.Errorf("%w: the hart's BLAKE2b-256 is %s, not %s", ErrChecksum, v.Checksum, opts.Checksum)
	}
	if opts.Metadata != nil {
		if metaErr != nil {
			return nil, fmt.Errorf("read metadata: %w", metaErr)
		}
		v.Metadata = meta
	}
	return v, nil
}
