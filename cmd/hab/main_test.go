package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestUsageErrorsByType: wrong command lines exit 2 and everything else a
// command fails with exits 1, told apart by the errors' types (where
// cobra's checks make them), not by their text: a command's own error
// that reads like cobra's is no usage error.
func TestUsageErrorsByType(t *testing.T) {
	dir := t.TempDir()
	getenv := func(k string) string {
		switch k {
		case "FS_ROOT", "HOME":
			return dir
		case "HAB_CACHE_KEY_PATH":
			return dir + "/keys"
		}
		return ""
	}
	tests := []struct {
		args []string
		code int
		says string
	}{
		{nil, exitUsage, "Usage:"},
		{[]string{"frob"}, exitUsage, `unknown command "frob" for "hab"`},
		{[]string{"pkg", "frob"}, exitUsage, `unknown command "frob" for "hab pkg"`},
		{[]string{"origin", "key", "frob"}, exitUsage, "unknown command"},
		{[]string{"pkg", "verify"}, exitUsage, "accepts 1 arg(s), received 0"},
		{[]string{"pkg", "hash", "a", "b", "c"}, exitUsage, "arg(s)"},
		{[]string{"studio", "run"}, exitUsage, "requires at least 1 arg(s)"},
		{[]string{"pkg", "--bogus-flag"}, exitUsage, "unknown flag: --bogus-flag"},
		{[]string{"pkg"}, exitUsage, "requires a subcommand"},
		// A command's own failure naming what cobra's messages name.
		{[]string{"pkg", "verify", dir + "/accepts 2 arg(s), received 1"}, exitError, "accepts 2 arg(s)"},
		{[]string{"pkg", "hash", dir + "/unknown command x"}, exitError, "unknown command x"},
		{[]string{"svc", "key", "generate", "not-a-group", "acme"}, exitUsage, "invalid service group"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(context.Background(), tt.args, strings.NewReader(""), &out, &errb, getenv)
		if code != tt.code || !strings.Contains(out.String()+errb.String(), tt.says) {
			t.Errorf("hab %q: exit %d, want %d saying %q:\n%s%s", tt.args, code, tt.code, tt.says, out.String(), errb.String())
		}
	}
}

// TestSignalStatus: a command stopped by a signal exits 128+N, known by
// the type of the context's cause; a real SIGTERM sent to the process
// reaches it.
func TestSignalStatus(t *testing.T) {
	for _, tt := range []struct {
		cause error
		want  int
	}{
		{&signalError{sig: syscall.SIGTERM}, 143},
		{&signalError{sig: syscall.SIGINT}, 130},
		{nil, 130},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(tt.cause)
		if got := signalStatus(ctx); got != tt.want {
			t.Errorf("cause %v: status %d, want %d", tt.cause, got, tt.want)
		}
	}
	ctx, stop := signalContext(context.Background())
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	if got := signalStatus(ctx); got != 143 {
		t.Errorf("after a real SIGTERM: status %d, want 143", got)
	}
}
