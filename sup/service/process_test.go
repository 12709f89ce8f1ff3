package service

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestProcessExit: the channel closes when the process exits (a real
// child, reaped), at once for a pid whose start time is not the
// recorded one (the pid was reused), and at once for a pid that is gone.
func TestProcessExit(t *testing.T) {
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	st, ok := StartTime(pid)
	if !ok {
		t.Fatalf("no start time for %d", pid)
	}
	closed := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the channel did not close", what)
		}
	}
	other, err := processExit(pid, st+1)
	if err != nil {
		t.Fatal(err)
	}
	closed("another process with the pid", other)

	exited, err := processExit(pid, st)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		t.Fatal("closed while the process runs")
	default:
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	closed("the process exited", exited)
	// Reaped: no zombie is left with the pid.
	if _, ok := StartTime(pid); ok {
		var ws syscall.WaitStatus
		if got, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); got == pid {
			t.Fatalf("process %d was left a zombie", pid)
		}
	}

	gone, err := processExit(pid, st)
	if err != nil {
		t.Fatal(err)
	}
	closed("a process already gone", gone)
}
