package service

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestEndUnclaimed: a process handed over that no Service takes over
// (its service is no longer loaded, or failed to start) is ended and
// reaped, and its record removed; a record whose process is gone, and a
// spoiled one, are removed with nothing ended.
func TestEndUnclaimed(t *testing.T) {
	opts, _, out, pid, _ := handedOver(t, tickingRun)
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
	// Exited and reaped (a zombie still has a start time).
	waitUntil(t, fmt.Sprintf("the unclaimed process %d to end and be reaped", pid), out, func() bool {
		_, ok := StartTime(pid)
		return !ok
	})
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

// TestEndUnclaimedClosesPipes looks at a record's descriptors around
// EndUnclaimed. A record this process wrote whose process exited before
// anyone took it over (reaped already, as the supervisor before an exec
// reaps a process that exits after its hand-over) has its two pipes
// closed: they were left open. A record another supervisor's process
// wrote names descriptors that are not this one's: pipes open here under
// those numbers stay open, though its process is ended.
func TestEndUnclaimedClosesPipes(t *testing.T) {
	for _, tt := range []struct {
		name   string
		record func(t *testing.T) (dataDir string, fds []int, pid int)
		closed int // how many descriptors EndUnclaimed closes
	}{
		{"this process's, the process gone", func(t *testing.T) (string, []int, int) {
			opts, _, out, pid, _ := handedOver(t, tickingRun)
			b, err := os.ReadFile(filepath.Join(opts.DataDir, "watched.handover"))
			if err != nil {
				t.Fatal(err)
			}
			var rec handoverRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			killTree(pid, syscall.SIGKILL)
			// Exited and reaped by the Service that handed it over.
			waitUntil(t, fmt.Sprintf("the handed-over process %d to be gone after SIGKILL", pid), out, func() bool {
				_, ok := StartTime(pid)
				return !ok
			})
			return opts.DataDir, []int{rec.Stdout, rec.Stderr}, pid
		}, 2},
		{"another supervisor's, the process running", func(t *testing.T) (string, []int, int) {
			dir := t.TempDir()
			cmd := exec.Command("sleep", "1000")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close(); w.Close() })
			rec := newRecord(t, cmd.Process.Pid, 0, "test/watched/0.1.0/20260101000000", int(r.Fd()), int(w.Fd()))
			// An earlier process with this pid, as a supervisor that is
			// PID 1 of a container restarted.
			rec.SupervisorStart++
			text, fds := recordText(t, rec)
			if err := os.WriteFile(filepath.Join(dir, "watched.handover"), []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			return dir, fds, cmd.Process.Pid
		}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dataDir, fds, pid := tt.record(t)
			EndUnclaimed(dataDir, time.Minute, slog.New(slog.DiscardHandler))
			// A process ended is waited for through a pidfd, closed once
			// it has exited and been reaped. The record's descriptors are
			// looked at one by one: a count of all this process's would
			// also see what other goroutines open and close meanwhile.
			isOpen := func(fd int) bool {
				var st unix.Stat_t
				return unix.Fstat(fd, &st) == nil
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				_, running := StartTime(pid)
				closed := 0
				for _, fd := range fds {
					if !isOpen(fd) {
						closed++
					}
				}
				if !running && closed == tt.closed {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("EndUnclaimed closed %d of the record's descriptors %v, want %d (process %d still there: %v)", closed, fds, tt.closed, pid, running)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if left, _ := filepath.Glob(filepath.Join(dataDir, "*.handover")); len(left) != 0 {
				t.Errorf("records left: %v", left)
			}
		})
	}
}
