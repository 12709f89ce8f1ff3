package service

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEndUnclaimed: a process handed over that no Service takes over
// (its service is no longer loaded, or failed to start) is ended and
// reaped, and its record removed; a record whose process is gone, and a
// spoiled one, are removed with nothing ended.
func TestEndUnclaimed(t *testing.T) {
	opts, _, _, pid, _ := handedOver(t, tickingRun)
	gone := filepath.Join(opts.DataDir, "gone.handover")
	if err := os.WriteFile(gone, []byte(`{"pid":999999999,"start":1,"ident":"test/gone/1/2","stdout_fd":-1,"stderr_fd":-1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	spoiled := filepath.Join(opts.DataDir, "spoiled.handover")
	if err := os.WriteFile(spoiled, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	EndUnclaimed(opts.DataDir, time.Minute, slog.New(slog.NewTextHandler(&logs, nil)))
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, ok := StartTime(pid); !ok {
			break // exited and reaped (a zombie still has a start time)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the unclaimed process %d still runs (or is unreaped)", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	left, _ := filepath.Glob(filepath.Join(opts.DataDir, "*.handover"))
	if len(left) != 0 {
		t.Errorf("records left: %v", left)
	}
	for _, want := range []string{"ending a handed-over process no service took over", "hand-over record unreadable", "spoiled.handover"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
	if strings.Count(logs.String(), "ending a handed-over process") != 1 {
		t.Errorf("ended more than the one process:\n%s", logs.String())
	}
}
