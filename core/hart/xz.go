package hart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"

	rxz "github.com/therootcompany/xz"
	uxz "github.com/ulikunitz/xz"
)

// XZ chooses the xz implementation that compresses and decompresses
// payloads. Both produce and accept the same format (.xz, LZMA2, CRC64
// checks); a payload written by one is read by the other.
//
// Output is deterministic per encoder: the same tree and options always
// give the same bytes with the pure-Go encoder, and with a given version
// of the xz program; the two encoders do not give the same bytes as each
// other (which does not matter for reading: every reader reads both).
type XZ string

const (
	// XZAuto uses the xz program when XZ Utils' xz is found on PATH,
	// else the pure-Go implementation. (The library reads no environment:
	// the CLI turns $HAB_XZ into one of these values with ParseXZ.)
	XZAuto XZ = ""
	// XZGo is the pure-Go implementation, which always works (the hab
	// binary is static and must work where no xz program exists).
	XZGo XZ = "go"
	// XZExec runs the xz program found on PATH, several times faster.
	XZExec XZ = "exec"
)

// EnvXZ is the environment variable the CLI reads the xz choice from
// (values as ParseXZ reads them).
const EnvXZ = "HAB_XZ"

// ParseXZ reads an XZ mode: "", "auto", "go" or "exec".
func ParseXZ(s string) (XZ, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return XZAuto, nil
	case "go":
		return XZGo, nil
	case "exec":
		return XZExec, nil
	}
	return "", fmt.Errorf("invalid %s value %q: expected go, exec or auto", EnvXZ, s)
}

// xzImpl is a resolved implementation: mode XZGo, or XZExec with the path
// of the program.
type xzImpl struct {
	mode XZ
	prog string
}

// resolve turns a mode into an implementation.
func (x XZ) resolve() (xzImpl, error) {
	switch x {
	case XZGo:
		return xzImpl{mode: XZGo}, nil
	case XZExec:
		p, err := exec.LookPath("xz")
		if err != nil {
			return xzImpl{}, fmt.Errorf("the xz program was asked for (%s=exec) but is not usable: %w", EnvXZ, err)
		}
		return xzImpl{mode: XZExec, prog: p}, nil
	case XZAuto:
		if p, err := exec.LookPath("xz"); err == nil && isXZUtils(p) {
			return xzImpl{mode: XZExec, prog: p}, nil
		}
		return xzImpl{mode: XZGo}, nil
	}
	return xzImpl{}, fmt.Errorf("invalid xz mode %q: expected go, exec or auto", string(x))
}

// isXZUtils reports whether prog is XZ Utils' xz, which both compresses
// and decompresses with the options used here. Other programs named xz
// (busybox's applet only decompresses) are passed over in auto mode.
func isXZUtils(prog string) bool {
	out, err := exec.Command(prog, "--version").Output()
	return err == nil && bytes.Contains(out, []byte("XZ Utils"))
}

// Mode is the resolved mode, for reports.
func (x XZ) Mode() (XZ, error) {
	impl, err := x.resolve()
	return impl.mode, err
}

// xzEnv is the environment the xz program runs with: none, so that
// XZ_OPT and XZ_DEFAULTS cannot change its output and its messages are in
// the C locale (they are matched below).
func xzEnv() []string { return []string{} }

// ---- decompression ----

// chunkSize is the unit the pipelined readers hand over between goroutines.
const chunkSize = 1 << 20

// newDecoder decompresses r. All of r is consumed by the time the returned
// reader reports io.EOF (trailing garbage is an error, as for xz). Close
// stops early and releases everything; it must be called.
func (impl xzImpl) newDecoder(ctx context.Context, r io.Reader) (io.ReadCloser, error) {
	if impl.mode == XZExec {
		return newExecDecoder(ctx, impl.prog, r)
	}
	return newGoDecoder(r), nil
}

// goDecoder runs the pure-Go decoder on its own goroutine, so that
// decompression and whatever consumes its output use two cores.
type goDecoder struct {
	chunks chan []byte
	free   chan []byte
	done   chan struct{}
	wg     sync.WaitGroup
	buf    []byte // the chunk being read, returned to free when done
	cur    []byte // its unread part
	err    error  // set by the goroutine before closing chunks
	closed bool
}

func newGoDecoder(r io.Reader) *goDecoder {
	d := &goDecoder{
		chunks: make(chan []byte, 4),
		free:   make(chan []byte, 6),
		done:   make(chan struct{}),
	}
	for i := 0; i < 6; i++ {
		d.free <- make([]byte, chunkSize)
	}
	d.wg.Add(1)
	go d.run(r)
	return d
}

func (d *goDecoder) run(r io.Reader) {
	defer d.wg.Done()
	defer close(d.chunks)
	zr, err := rxz.NewReader(r, 0)
	if err != nil {
		d.err = xzError(err)
		return
	}
	for {
		var buf []byte
		select {
		case buf = <-d.free:
		case <-d.done:
			return
		}
		n, err := io.ReadFull(zr, buf[:cap(buf)])
		if n > 0 {
			select {
			case d.chunks <- buf[:n]:
			case <-d.done:
				return
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return
		}
		if err != nil {
			d.err = xzError(err)
			return
		}
	}
}

func (d *goDecoder) Read(p []byte) (int, error) {
	if len(d.cur) == 0 {
		if d.buf != nil {
			d.free <- d.buf
			d.buf = nil
		}
		c, ok := <-d.chunks
		if !ok {
			if d.err != nil {
				return 0, d.err
			}
			return 0, io.EOF
		}
		d.buf, d.cur = c, c
	}
	n := copy(p, d.cur)
	d.cur = d.cur[n:]
	return n, nil
}

func (d *goDecoder) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	close(d.done)
	for range d.chunks { // let the goroutine finish
	}
	d.wg.Wait()
	return nil
}

func xzError(err error) error {
	switch {
	case errors.Is(err, rxz.ErrFormat):
		return fmt.Errorf("%w: payload is not xz-compressed (no xz stream header)", ErrFormat)
	case errors.Is(err, rxz.ErrBuf), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: xz payload is truncated or corrupt", ErrFormat)
	case errors.Is(err, rxz.ErrData):
		return fmt.Errorf("%w: xz payload is corrupt", ErrFormat)
	case errors.Is(err, rxz.ErrUnsupportedCheck), errors.Is(err, rxz.ErrOptions), errors.Is(err, rxz.ErrMemlimit):
		return fmt.Errorf("%w: xz payload uses unsupported options: %v", ErrFormat, err)
	}
	return err
}

// execDecoder runs `xz -dc`: a goroutine feeds r to its standard input
// while the caller reads its standard output.
type execDecoder struct {
	ctx     context.Context
	cmd     *exec.Cmd
	stdout  io.ReadCloser
	stderr  *bytes.Buffer
	feedErr chan error
	waited  bool
	waitErr error
}

func newExecDecoder(ctx context.Context, prog string, r io.Reader) (*execDecoder, error) {
	args := []string{"--decompress", "--stdout", "--quiet", "--no-warn"}
	if runtime.NumCPU() >= 4 {
		// xz 5.4 decodes the blocks of a multi-block payload on several
		// cores (older versions accept the option and ignore it). It costs
		// a third more CPU time, which on two cores is taken from the
		// extraction running beside it: measured no faster there.
		args = append(args, "--threads=0")
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = xzEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	d := &execDecoder{ctx: ctx, cmd: cmd, stdout: stdout, stderr: &bytes.Buffer{}, feedErr: make(chan error, 1)}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", prog, err)
	}
	go func() {
		_, err := io.CopyBuffer(stdin, r, make([]byte, 256<<10))
		stdin.Close()
		d.feedErr <- err
	}()
	return d, nil
}

func (d *execDecoder) Read(p []byte) (int, error) {
	if d.waited {
		if d.waitErr != nil {
			return 0, d.waitErr
		}
		return 0, io.EOF
	}
	n, err := d.stdout.Read(p)
	if err == io.EOF {
		if werr := d.wait(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// wait collects the feeder and the process; called at EOF or Close.
func (d *execDecoder) wait() error {
	if d.waited {
		return d.waitErr
	}
	d.waited = true
	ferr := <-d.feedErr
	werr := d.cmd.Wait()
	switch {
	case werr != nil && d.ctx.Err() != nil: // killed on cancellation
		d.waitErr = d.ctx.Err()
	case werr != nil:
		msg := strings.TrimSpace(d.stderr.String())
		if strings.Contains(msg, "File format not recognized") {
			d.waitErr = fmt.Errorf("%w: payload is not xz-compressed (no xz stream header)", ErrFormat)
		} else if strings.Contains(msg, "Unexpected end of input") {
			d.waitErr = fmt.Errorf("%w: xz payload is truncated or corrupt", ErrFormat)
		} else if msg != "" {
			d.waitErr = fmt.Errorf("%w: xz payload: %s", ErrFormat, strings.TrimPrefix(msg, "xz: (stdin): "))
		} else {
			d.waitErr = fmt.Errorf("xz: %w", werr)
		}
	case ferr != nil:
		d.waitErr = ferr
	}
	return d.waitErr
}

func (d *execDecoder) Close() error {
	if d.waited {
		return nil
	}
	// Stop early: closing our end makes xz fail on its next write, and
	// killing it makes the feeder's writes fail, so both end promptly.
	d.stdout.Close()
	if d.cmd.Process != nil {
		_ = d.cmd.Process.Kill()
	}
	d.waited = true
	<-d.feedErr
	_ = d.cmd.Wait()
	return nil
}

// ---- compression ----

// Compression settings for Write. Preset 5 (an 8 MiB dictionary, as 6)
// gives output within half a percent of `xz -6` for 15% less CPU time, so
// that creating a hart costs less than `tar | xz -6` even on a machine
// with no idle core; 24 MiB blocks (xz's own default for 6) cost another
// half percent and let the blocks be compressed and decompressed in
// parallel.
const (
	DefaultLevel     = 5
	DefaultBlockSize = 24 << 20
)

// newEncoder compresses into w. Close finishes the stream and waits.
func (impl xzImpl) newEncoder(ctx context.Context, w io.Writer, level int, blockSize int64) (io.WriteCloser, error) {
	if level < 0 || level > 9 {
		return nil, fmt.Errorf("xz level %d out of range 0-9", level)
	}
	if impl.mode == XZExec {
		return newExecEncoder(ctx, impl.prog, w, level, blockSize)
	}
	cfg := uxz.WriterConfig{DictCap: dictCap(level), CheckSum: uxz.CRC64}
	if blockSize > 0 {
		return newGoParEncoder(w, cfg, blockSize, runtime.GOMAXPROCS(0)), nil
	}
	zw, err := cfg.NewWriter(w)
	if err != nil {
		return nil, fmt.Errorf("xz encoder: %w", err)
	}
	return zw, nil
}

// goParEncoder compresses each blockSize piece of its input into an xz
// stream of its own, on several goroutines, and writes the streams in
// order: a valid multi-stream xz file, the same bytes whatever the number
// of goroutines.
type goParEncoder struct {
	w       io.Writer
	cfg     uxz.WriterConfig
	size    int
	buf     []byte
	written bool
	jobs    chan parJob
	order   chan parJob
	done    chan error
	wg      sync.WaitGroup
}

type parJob struct {
	data []byte
	out  chan parResult
}

type parResult struct {
	b   []byte
	err error
}

func newGoParEncoder(w io.Writer, cfg uxz.WriterConfig, blockSize int64, workers int) *goParEncoder {
	if workers < 1 {
		workers = 1
	}
	e := &goParEncoder{w: w, cfg: cfg, size: int(blockSize), jobs: make(chan parJob, workers), order: make(chan parJob, workers), done: make(chan error, 1)}
	for i := 0; i < workers; i++ {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			for j := range e.jobs {
				var b bytes.Buffer
				zw, err := e.cfg.NewWriter(&b)
				if err == nil {
					_, err = zw.Write(j.data)
				}
				if err == nil {
					err = zw.Close()
				}
				j.out <- parResult{b.Bytes(), err}
			}
		}()
	}
	go func() { // writes the streams in order
		var first error
		for j := range e.order {
			r := <-j.out
			if first == nil && r.err != nil {
				first = fmt.Errorf("xz encoder: %w", r.err)
			}
			if first == nil {
				if _, err := e.w.Write(r.b); err != nil {
					first = err
				}
			}
		}
		e.done <- first
	}()
	return e
}

func (e *goParEncoder) submit() {
	j := parJob{data: e.buf, out: make(chan parResult, 1)}
	e.buf = nil
	e.written = true
	e.order <- j
	e.jobs <- j
}

func (e *goParEncoder) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if e.buf == nil {
			e.buf = make([]byte, 0, e.size)
		}
		k := copy(e.buf[len(e.buf):e.size], p)
		e.buf = e.buf[:len(e.buf)+k]
		p = p[k:]
		if len(e.buf) == e.size {
			e.submit()
		}
	}
	return n, nil
}

func (e *goParEncoder) Close() error {
	if len(e.buf) > 0 || !e.written {
		e.submit()
	}
	close(e.jobs)
	close(e.order)
	e.wg.Wait()
	return <-e.done
}

// dictCap is xz's dictionary size for a preset level.
func dictCap(level int) int {
	switch {
	case level <= 1:
		return 1 << 20
	case level <= 4:
		return 4 << 20 // levels 2-4 use 2-4 MiB; 4 MiB keeps it simple
	case level <= 6:
		return 8 << 20
	case level == 7:
		return 16 << 20
	case level == 8:
		return 32 << 20
	}
	return 64 << 20
}

type execEncoder struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *bytes.Buffer
}

func newExecEncoder(ctx context.Context, prog string, w io.Writer, level int, blockSize int64) (*execEncoder, error) {
	// Multi-threaded mode (even with one thread, "+1"-like behaviour is
	// forced by --no-adjust and an explicit thread count of at least 2)
	// writes the same bytes whatever the number of threads, given the
	// block size; the single-threaded mode would write other bytes.
	threads := runtime.NumCPU()
	if threads < 2 {
		threads = 2
	}
	if threads > 8 {
		threads = 8
	}
	args := []string{"--compress", "--stdout", "--format=xz", "--check=crc64", "-" + strconv.Itoa(level),
		"--threads=" + strconv.Itoa(threads), "--no-adjust"}
	if blockSize > 0 {
		args = append(args, "--block-size="+strconv.FormatInt(blockSize, 10))
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = xzEnv()
	cmd.Stdout = w
	e := &execEncoder{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = e.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	e.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", prog, err)
	}
	return e, nil
}

func (e *execEncoder) Write(p []byte) (int, error) {
	n, err := e.stdin.Write(p)
	if err != nil {
		e.stdin.Close()
		_ = e.cmd.Wait()
		return n, fmt.Errorf("xz: %w %s", err, strings.TrimSpace(e.stderr.String()))
	}
	return n, nil
}

func (e *execEncoder) Close() error {
	e.stdin.Close()
	if err := e.cmd.Wait(); err != nil {
		return fmt.Errorf("xz: %w %s", err, strings.TrimSpace(e.stderr.String()))
	}
	return nil
}
