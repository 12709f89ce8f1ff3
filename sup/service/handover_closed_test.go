package service

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/habgo/hab/sup/spec"
)

// TestHandOverClosedStream: a run process that has closed one of its
// output streams (the original's run scripts exec the command with
// 2>&1, closing the supervisor's stderr pipe) is handed over all the
// same, twice in a row: the new Service takes it over with the stream
// still open, whose lines keep arriving, and no copy of the closed one.
func TestHandOverClosedStream(t *testing.T) {
	for _, tt := range []struct {
		name, run, prefix string
	}{
		{"stderr into stdout", "#!/bin/sh\nexec 2>&1\ni=0\nwhile :; do i=$((i+1)); echo \"tick $i\" >&2; sleep 0.1; done\n", "(O): tick "},
		{"stderr closed", "#!/bin/sh\nexec 2>&-\ni=0\nwhile :; do i=$((i+1)); echo \"tick $i\"; sleep 0.1; done\n", "(O): tick "},
		{"stdout closed", "#!/bin/sh\nexec >&-\ni=0\nwhile :; do i=$((i+1)); echo \"tick $i\" >&2; sleep 0.1; done\n", "(E): tick "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts, pkg, out, pid, start := handedOver(t, tt.run)
			for round := 1; round <= 2; round++ {
				s, err := New(opts, spec.New("test/watched"), pkg)
				if err != nil {
					t.Fatal(err)
				}
				if !s.TakeOver() {
					t.Fatalf("round %d: not taken over:\n%s", round, out.String())
				}
				ctx, cancel := context.WithCancel(context.Background())
				go s.Run(ctx)
				took := fmt.Sprintf("Took over the running service (PID %d)", pid)
				waitUntil(t, fmt.Sprintf("a tick after take-over %d", round), out, func() bool {
					o := out.String()
					i := strings.LastIndex(o, took)
					return strings.Count(o, took) == round && strings.Contains(o[i:], "watched.default"+tt.prefix)
				})
				if round == 2 {
					cancel()
					<-s.Done()
					break
				}
				s.KeepRunning()
				cancel()
				<-s.Done()
				if now, ok := StartTime(pid); !ok || now != start {
					t.Fatalf("round %d: the run process %d was stopped by the hand-over:\n%s", round, pid, out.String())
				}
			}
			if _, ok := StartTime(pid); ok {
				t.Errorf("the run process %d outlived the Service that took it over last", pid)
			}
		})
	}
}
