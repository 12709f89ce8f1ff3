// Package progress draws one progress bar per transfer (a download, an
// upload) on a terminal. Off a terminal it draws nothing at all: no bar,
// no carriage return, no escape code, so that logs and pipes stay clean.
// Whether the output is a terminal is decided by the caller, at the edge.
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Bar follows one transfer: the bytes passing are written to it (through
// io.TeeReader or io.MultiWriter), and Close ends the line. It is safe
// for use from several goroutines. A Bar that is not drawing (off a
// terminal) only counts.
type Bar struct {
	mu     sync.Mutex
	w      io.Writer
	draw   bool
	label  string
	total  int64
	done   int64
	last   time.Time
	closed bool
	now    func() time.Time
}

// Width is the number of cells of the bar itself.
const Width = 30

// interval is the least time between two redraws.
const interval = 100 * time.Millisecond

// New starts a bar labelled label for a transfer of total bytes (unknown
// when total <= 0) drawn on w when terminal is true.
func New(w io.Writer, terminal bool, label string, total int64) *Bar {
	b := &Bar{w: w, draw: terminal, label: label, total: total, now: time.Now}
	b.redraw(true)
	return b
}

// Write counts p as transferred; it never fails.
func (b *Bar) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += int64(len(p))
	b.redraw(false)
	return len(p), nil
}

// Done is the number of bytes counted so far.
func (b *Bar) Done() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done
}

// Close draws the final state and ends the line.
func (b *Bar) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.redraw(true)
	if b.draw {
		fmt.Fprint(b.w, "\n")
	}
	return nil
}

// redraw draws the bar when drawing, at most once per interval unless
// forced. The caller holds mu.
func (b *Bar) redraw(force bool) {
	if !b.draw {
		return
	}
	now := b.now()
	if !force && now.Sub(b.last) < interval {
		return
	}
	b.last = now
	fmt.Fprint(b.w, "\r"+b.line())
}

// line renders the bar: label, cells, percentage and sizes. Its width
// never shrinks for one transfer, so each redraw covers the last.
func (b *Bar) line() string {
	if b.total <= 0 {
		return fmt.Sprintf("%s %s", b.label, Size(b.done))
	}
	done := min(b.done, b.total)
	filled := int(done * Width / b.total)
	cells := strings.Repeat("=", filled)
	if filled < Width {
		cells += ">" + strings.Repeat(" ", Width-filled-1)
	}
	return fmt.Sprintf("%s [%s] %3d%% %9s / %s", b.label, cells, done*100/b.total, Size(b.done), Size(b.total))
}

// Size renders a byte count in binary units.
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
