package builder

import (
	"bytes"
	"os"
	"sync"
)

// logSink is the build log: it buffers what is printed until the log
// file can be created (its name needs the plan's name), then writes
// through to it.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
	f   *os.File
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		// A log that cannot be written must not fail the build.
		l.f.Write(p)
		return len(p), nil
	}
	return l.buf.Write(p)
}

func (l *logSink) attach(f *os.File) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f.Write(l.buf.Bytes())
	l.buf.Reset()
	l.f = f
}

func (l *logSink) path() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return ""
	}
	return l.f.Name()
}

func (l *logSink) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
	}
}
