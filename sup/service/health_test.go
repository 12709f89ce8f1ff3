package service

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/internal/procio"
	"github.com/habgo/hab/sup/spec"
)

// bytesRead is what this process has read so far (procio.BytesRead).
func bytesRead(t *testing.T) int64 {
	t.Helper()
	n, err := procio.BytesRead()
	if err != nil {
		t.Skipf("%v", err)
	}
	return n
}

// TestHealthCheckReadsLogTail runs a real service whose health-check
// hook's stdout log already holds 32 MiB of earlier runs' lines: the
// health check's output (the gateway's stdout and stderr) is the last
// 20 lines of each log, the hook's own line last, and the supervisor
// reads a small part of the log to get them, not the whole file.
func TestHealthCheckReadsLogTail(t *testing.T) {
	root := t.TempDir()
	store, pkg := testPackage(t, root)
	hook := "#!/bin/sh\necho 'checked now'\necho 'warned now' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(pkg.Path, "hooks", HookHealthCheck), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{written: make(chan struct{}, 1)}
	opts := testOptions(t, root, store, out)
	checked := make(chan HealthCheck, 1)
	opts.HealthChecked = func(_ *Service, h HealthCheck) {
		select {
		case checked <- h:
		default:
		}
	}
	const logSize = 32 << 20
	var old bytes.Buffer
	for i := 0; old.Len() < logSize; i++ {
		fmt.Fprintf(&old, "earlier run %d: all well\n", i)
	}
	logs := filepath.Join(opts.SvcRoot, pkg.Ident.Name, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logs, HookHealthCheck+".stdout.log"), old.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(old.String(), "\n"), "\n")
	wantOut := strings.Join(append(lines[len(lines)-19:], "checked now"), "\n")

	sp := spec.New("test/watched")
	sp.HealthCheckInterval = spec.Duration{Secs: 3600}
	svc, err := New(opts, sp, pkg)
	if err != nil {
		t.Fatal(err)
	}
	before := bytesRead(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		<-svc.Done()
	}()
	go svc.Run(ctx)
	var h HealthCheck
	select {
	case h = <-checked:
	case <-time.After(time.Minute):
		t.Fatalf("no health check; output:\n%s", out.String())
	}
	read := bytesRead(t) - before
	t.Logf("read %d bytes", read)
	st := svc.Status()
	if h.Result != HealthWarning || st.Health != HealthWarning {
		t.Errorf("health %s (event %s), want %s", st.Health, h.Result, HealthWarning)
	}
	if st.HealthStdout != wantOut {
		t.Errorf("health stdout:\n%s\nwant:\n%s", st.HealthStdout, wantOut)
	}
	if st.HealthStderr != "warned now" {
		t.Errorf("health stderr %q, want %q", st.HealthStderr, "warned now")
	}
	if h.Stdout != "checked now\n" || h.Stderr != "warned now\n" {
		t.Errorf("the event's output %q, %q: want this run's alone", h.Stdout, h.Stderr)
	}
	// The service reads its package, templates and the hooks' pipes
	// besides: far less than the log.
	if read > logSize/4 {
		t.Errorf("the supervisor read %d bytes for a health check over a %d-byte log", read, logSize)
	}
}
