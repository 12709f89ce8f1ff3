package service

import (
	"io"
	"os"
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
