package service

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/sup/spec"
)

// tickingRun is a run hook that prints a numbered line every 100 ms.
const tickingRun = "#!/bin/sh\ni=0\nwhile :; do i=$((i+1)); echo \"tick $i\"; sleep 0.1; done\n"

func waitUntil(t *testing.T, what string, out *syncBuffer, ok func() bool) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-out.written:
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("gave up waiting for %s; output:\n%s", what, out.String())
		}
	}
}

// handedOver runs a real service with the run hook run (which prints
// tick lines all the time) and hands its process over; it returns the
// service's options and package, the output and the process's pid and
// start time.
func handedOver(t *testing.T, run string) (Options, *pkgs.Package, *syncBuffer, int, uint64) {
	t.Helper()
	root := t.TempDir()
	store, pkg := testPackage(t, root)
	if err := os.WriteFile(filepath.Join(pkg.Path, "hooks", "run"), []byte(run), 0o755); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{written: make(chan struct{}, 1)}
	opts := testOptions(t, root, store, out)
	first, err := New(opts, spec.New("test/watched"), pkg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go first.Run(ctx)
	waitUntil(t, "the first tick", out, func() bool { return strings.Contains(out.String(), "tick 1\n") })
	pid := first.Status().PID
	start, ok := StartTime(pid)
	if pid == 0 || !ok {
		t.Fatalf("no run process (pid %d)", pid)
	}
	t.Cleanup(func() { killTree(pid, syscall.SIGKILL) })
	first.KeepRunning()
	cancel()
	<-first.Done()
	if !strings.Contains(out.String(), fmt.Sprintf("Leaving the service running (PID %d)", pid)) {
		t.Fatalf("not handed over:\n%s", out.String())
	}
	if now, ok := StartTime(pid); !ok || now != start {
		t.Fatalf("the run process %d was stopped by the hand-over", pid)
	}
	if _, err := os.Stat(first.handoverPath()); err != nil {
		t.Fatalf("no hand-over record: %v", err)
	}
	return opts, pkg, out, pid, start
}

// TestStopWithoutRun: a process taken over by a Service whose Run never
// runs (a leader-topology service stopped while it waits for a leader)
// is handed over again when asked to keep running, else stopped.
func TestStopWithoutRun(t *testing.T) {
	opts, pkg, out, pid, start := handedOver(t, tickingRun)
	takeOver := func() *Service {
		t.Helper()
		s, err := New(opts, spec.New("test/watched"), pkg)
		if err != nil {
			t.Fatal(err)
		}
		if !s.TakeOver() {
			t.Fatalf("not taken over:\n%s", out.String())
		}
		return s
	}
	again := takeOver()
	again.KeepRunning()
	again.StopWithoutRun()
	if now, ok := StartTime(pid); !ok || now != start {
		t.Fatalf("the run process %d was stopped although asked to keep running", pid)
	}
	last := takeOver()
	last.StopWithoutRun()
	if _, ok := StartTime(pid); ok {
		t.Errorf("the run process %d outlived StopWithoutRun", pid)
	}
	if _, err := os.Stat(last.handoverPath()); !os.IsNotExist(err) {
		t.Errorf("a hand-over record is left (%v)", err)
	}
}

// TestHandOverAndTakeOver runs a real service whose run process prints
// all the time, hands it over (KeepRunning, then its context ends) and
// takes it over in a second Service in the same process, as a
// supervisor does whose exec of a new binary failed (after an exec the
// same holds, the descriptors being inherited): the process keeps its
// pid and start time, its output keeps arriving through the pipes handed
// over, and stopping the second Service ends it.
func TestHandOverAndTakeOver(t *testing.T) {
	opts, pkg, out, pid, start := handedOver(t, tickingRun)
	second, err := New(opts, spec.New("test/watched"), pkg)
	if err != nil {
		t.Fatal(err)
	}
	if !second.TakeOver() {
		t.Fatalf("not taken over:\n%s", out.String())
	}
	if _, err := os.Stat(second.handoverPath()); !os.IsNotExist(err) {
		t.Errorf("the hand-over record is still there (%v)", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	go second.Run(ctx2)
	took := fmt.Sprintf("Took over the running service (PID %d)", pid)
	waitUntil(t, "a tick after the take-over", out, func() bool {
		s := out.String()
		i := strings.Index(s, took)
		return i >= 0 && strings.Contains(s[i:], "watched.default(O): tick ")
	})
	if st := second.Status(); st.PID != pid || !st.Up || !st.Initialized {
		t.Errorf("status after the take-over: pid %d up %v initialized %v, want pid %d, up and initialized", st.PID, st.Up, st.Initialized, pid)
	}
	if now, ok := StartTime(pid); !ok || now != start {
		t.Errorf("the run process %d was restarted", pid)
	}
	cancel2()
	<-second.Done()
	if _, ok := StartTime(pid); ok {
		t.Errorf("the run process %d outlived the Service that took it over", pid)
	}
}

// TestTakeOverRefused: a record that cannot be taken over is refused,
// removed, and the descriptors it names are closed when they are this
// process's (kept: they are another's, under the same numbers here);
// the Service takes no process. The process of each case is a real one.
func TestTakeOverRefused(t *testing.T) {
	root := t.TempDir()
	store, pkg := testPackage(t, root)
	out := &syncBuffer{written: make(chan struct{}, 1)}
	opts := testOptions(t, root, store, out)
	child := func(t *testing.T) int {
		cmd := exec.Command("sleep", "1000")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd.Process.Pid
	}
	// orphan is a process whose parent exited: not this process's child.
	orphan := func(t *testing.T) int {
		b, err := exec.Command("sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $!").Output()
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
		return pid
	}
	gone := func(t *testing.T) int {
		cmd := exec.Command("true")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		return cmd.Process.Pid
	}
	pipeFD := func(t *testing.T) int {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		t.Cleanup(func() { w.Close() })
		fd, err := unix.Dup(int(r.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
	fileFD := func(t *testing.T) int {
		fd, err := unix.Open(filepath.Join(root, "regular"), unix.O_CREAT|unix.O_RDWR, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		return fd
	}
	for _, c := range []struct {
		name   string
		record func(t *testing.T) (string, []int) // the file's text, the descriptors it names
		kept   bool                               // the descriptors are not this process's: left open
	}{
		{"unreadable record", func(t *testing.T) (string, []int) { return "{not json", nil }, false},
		{"process gone", func(t *testing.T) (string, []int) {
			return recordFor(t, gone(t), 1, pkg.Ident.String(), pipeFD(t), pipeFD(t))
		}, false},
		{"another release", func(t *testing.T) (string, []int) {
			return recordFor(t, child(t), 0, "test/watched/0.0.9/20250101000000", pipeFD(t), pipeFD(t))
		}, false},
		{"not this process's child", func(t *testing.T) (string, []int) {
			return recordFor(t, orphan(t), 0, pkg.Ident.String(), pipeFD(t), pipeFD(t))
		}, false},
		{"a descriptor that is not a pipe", func(t *testing.T) (string, []int) {
			return recordFor(t, child(t), 0, pkg.Ident.String(), pipeFD(t), fileFD(t))
		}, false},
		{"a descriptor that is not open", func(t *testing.T) (string, []int) {
			return recordFor(t, child(t), 0, pkg.Ident.String(), pipeFD(t), 1<<20)
		}, false},
		{"standard error", func(t *testing.T) (string, []int) {
			return recordFor(t, child(t), 0, pkg.Ident.String(), pipeFD(t), 2)
		}, false},
		{"another supervisor's record", func(t *testing.T) (string, []int) {
			rec := newRecord(t, child(t), 0, pkg.Ident.String(), pipeFD(t), pipeFD(t))
			rec.SupervisorStart++ // an earlier process with this pid
			return recordText(t, rec)
		}, true},
		{"a record of a hab before the supervisor was recorded, the process gone", func(t *testing.T) (string, []int) {
			rec := newRecord(t, gone(t), 1, pkg.Ident.String(), pipeFD(t), pipeFD(t))
			rec.Supervisor, rec.SupervisorStart = 0, 0
			return recordText(t, rec)
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(opts, spec.New("test/watched"), pkg)
			if err != nil {
				t.Fatal(err)
			}
			text, fds := c.record(t)
			if err := os.WriteFile(s.handoverPath(), []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			if s.TakeOver() {
				t.Fatalf("record %s was taken over", text)
			}
			if st := s.Status(); st.PID != 0 {
				t.Errorf("the Service took process %d", st.PID)
			}
			if _, err := os.Stat(s.handoverPath()); !os.IsNotExist(err) {
				t.Errorf("the record is still there (%v)", err)
			}
			for _, fd := range fds {
				if fd < 3 || fd >= 1<<20 {
					continue
				}
				var st unix.Stat_t
				open := unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO
				if open != c.kept {
					t.Errorf("the pipe descriptor %d open %v, want %v", fd, open, c.kept)
				}
				if open {
					unix.Close(fd)
				}
			}
		})
	}
}

// recordFor is the text of a hand-over record of process pid (its start
// time plus skew), release id and the descriptors given, handed over by
// this process.
func recordFor(t *testing.T, pid int, skew uint64, id string, stdout, stderr int) (string, []int) {
	t.Helper()
	return recordText(t, newRecord(t, pid, skew, id, stdout, stderr))
}

// newRecord is the hand-over record recordFor writes.
func newRecord(t *testing.T, pid int, skew uint64, id string, stdout, stderr int) handoverRecord {
	t.Helper()
	start, _ := StartTime(pid)
	self, ok := StartTime(os.Getpid())
	if !ok {
		t.Fatal("no start time of this process")
	}
	return handoverRecord{PID: pid, Start: start + skew, Started: time.Now().UnixNano(), Ident: id, Stdout: stdout, Stderr: stderr,
		Supervisor: os.Getpid(), SupervisorStart: self}
}

// recordText is the text of rec, and the descriptors it names.
func recordText(t *testing.T, rec handoverRecord) (string, []int) {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), []int{rec.Stdout, rec.Stderr}
}

// TestTakeOverEarlierRecord: a record written by a hab from before the
// supervisor's process was recorded in it (a self-update from that hab)
// is taken over while its process runs as this process's child.
func TestTakeOverEarlierRecord(t *testing.T) {
	opts, pkg, out, pid, _ := handedOver(t, tickingRun)
	s, err := New(opts, spec.New("test/watched"), pkg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.handoverPath())
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if rec["supervisor_pid"] != float64(os.Getpid()) {
		t.Fatalf("the record names supervisor %v, want this process %d: %s", rec["supervisor_pid"], os.Getpid(), b)
	}
	delete(rec, "supervisor_pid")
	delete(rec, "supervisor_start")
	if b, err = json.Marshal(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.handoverPath(), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if !s.TakeOver() {
		t.Fatalf("record %s not taken over:\n%s", b, out.String())
	}
	if st := s.Status(); st.PID != pid {
		t.Errorf("took over process %d, want %d", st.PID, pid)
	}
	s.StopWithoutRun()
}
