package hart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// input is a file opened for reading that honours a context: a read
// blocked on a pipe is interrupted by cancellation, and every read checks
// the context first, so that endless files (/dev/zero) stop too.
type input struct {
	f       *os.File
	ctx     context.Context
	regular bool
	size    int64 // of a regular file, when opened
	stop    func() bool
}

// openInput opens path for reading. A FIFO blocks in open(2) until a
// writer comes; cancelling ctx wakes it (see openFIFO). Directories are
// refused.
func openInput(ctx context.Context, path string) (*input, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	var f *os.File
	if st.Mode()&fs.ModeNamedPipe != 0 {
		f, err = openFIFO(ctx, path)
	} else {
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, err
	}
	return newInput(ctx, f)
}

func newInput(ctx context.Context, f *os.File) (*input, error) {
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	in := &input{f: f, ctx: ctx, regular: st.Mode().IsRegular(), size: st.Size()}
	// Pipes are read through the runtime's poller, where a deadline in
	// the past interrupts a blocked read; regular files never block.
	in.stop = context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
	return in, nil
}

func (in *input) Read(p []byte) (int, error) {
	if err := in.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := in.f.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && in.ctx.Err() != nil {
		return n, in.ctx.Err()
	}
	return n, err
}

func (in *input) Close() error {
	in.stop()
	return in.f.Close()
}

// openFIFO opens a named pipe for reading. open(2) blocks until a writer
// opens the other end, in a system call the runtime cannot interrupt, so
// it runs on its own goroutine; on cancellation this function opens the
// pipe for writing itself (without blocking: there is a reader), which
// completes the pending open, and closes both.
func openFIFO(ctx context.Context, path string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := os.Open(path)
		done <- result{f, err}
	}()
	select {
	case r := <-done:
		return r.f, r.err
	case <-ctx.Done():
	}
	// The goroutine may not have reached open(2) yet, in which case
	// opening the writer fails (ENXIO: no reader); try again until the
	// pending open returns.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if w, err := openNonBlockingWriter(path); err == nil {
			w.Close()
		}
		select {
		case r := <-done:
			if r.f != nil {
				r.f.Close()
			}
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// copyCtx copies with a large buffer, checking ctx between chunks.
func copyCtx(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, rerr := src.Read(buf)
		if m > 0 {
			if _, werr := dst.Write(buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}
