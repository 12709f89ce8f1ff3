package service

import (
	"io"
	"os"
	"strings"
)

// MaxHookOutput bounds how much of a hook's output HealthCheck carries:
// its last bytes.
const MaxHookOutput = 64 << 10

// logSize is the size of a hook's log file before it runs (0 when
// there is none yet).
func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logSince is what a hook's log file gained from offset on (the hook's
// own output, as its logs are appended to), up to the last
// MaxHookOutput bytes; "" when it cannot be read or shrank.
func logSince(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() < offset {
		return ""
	}
	if fi.Size()-offset > MaxHookOutput {
		offset = fi.Size() - MaxHookOutput
	}
	b, err := io.ReadAll(io.NewSectionReader(f, offset, fi.Size()-offset))
	if err != nil {
		return ""
	}
	return string(b)
}

// logTail is the last n lines of a hook's log file, read from its last
// MaxHookOutput bytes only: the log grows with every run of the hook
// (lines longer than that come cut at its start); "" when it cannot be
// read.
func logTail(path string, n int) string {
	lines := strings.Split(strings.TrimRight(logSince(path, 0), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
