package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/sup/service"
)

// tickerRunHook is the run hook of a service that prints a numbered
// tick five times a second, so that a test sees its output still reach
// the supervisor after a take-over.
const tickerRunHook = "#!/bin/sh\ni=0\nwhile :; do i=$((i+1)); echo \"tick $i\"; sleep 0.2; done\n"

// TestSupRestartKeepsServices: hab sup restart, by signal and through
// the control gateway, restarts the supervisor in its own process (the
// same pid, its own binary executed again) and its service keeps
// running: the same process with the same start time, one copy, its
// output still reaching the supervisor's; the supervisor answers again
// (svc status, the HTTP gateway). A release installed meanwhile is not
// kept running in the old one's process: the restarted supervisor ends
// it and starts the service on the release its spec now resolves to. A
// service the restarted supervisor cannot load has its process ended.
func TestSupRestartKeepsServices(t *testing.T) {
	e := newSupEnv(t)
	ticker := map[string]string{"hooks/run": tickerRunHook}
	e.buildService("ticker", ticker)
	first := fmt.Sprintf("habtest/ticker/0.1.0/%d", e.release)
	s := e.startSup("habtest/ticker")
	supPID := s.cmd.Process.Pid
	supWaitFor(t, "ticker up", func() bool { return s.pid("ticker") != 0 })
	svcPID := s.pid("ticker")
	svcStart, ok := service.StartTime(svcPID)
	if !ok {
		t.Fatalf("no start time for the service's process %d", svcPID)
	}
	run := filepath.Join(e.root, "hab", "svc", "ticker", "run")
	took := fmt.Sprintf("Took over the running service (PID %d) from the previous Supervisor", svcPID)
	answers := func(when, release string, pid int) {
		t.Helper()
		var rows []serviceStatus
		supWaitFor(t, "svc status "+when, func() bool {
			code, out, _ := s.hab("", "svc", "status")
			if code != 0 {
				return false
			}
			rows = readStatusTable(t, out)
			return len(rows) == 1 && rows[0].State == "up"
		})
		if r := rows[0]; r.Package != release || r.PID == nil || *r.PID != pid {
			t.Errorf("svc status %s: %+v, want %s up as PID %d", when, r, release, pid)
		}
		if got := s.pid("ticker"); got != pid {
			t.Errorf("the HTTP gateway %s: the service runs as PID %d, want %d", when, got, pid)
		}
		if s.exited() {
			t.Fatalf("the supervisor exited %s", when)
		}
		if procs := processesIn(run); len(procs) != 1 || procs[0] != pid {
			t.Errorf("processes running %s %s: %v, want only %d", run, when, procs, pid)
		}
	}

	for i, route := range []struct {
		name, says string
		args       []string
	}{
		{"by signal", "(SIGHUP)", []string{"sup", "restart"}},
		{"through the control gateway", "(asked through the control gateway)", []string{"sup", "restart", "--remote-sup", s.ctl}},
	} {
		out := s.mustHab("", route.args...)
		if !strings.Contains(out, "Restarting the Supervisor") {
			t.Errorf("hab sup restart %s: %q", route.name, out)
		}
		supWaitFor(t, fmt.Sprintf("take-over %d (%s)", i+1, route.name), func() bool { return strings.Count(s.output(), took) == i+1 })
		s.waitOutput("hab-sup(MR): Restarting the Supervisor " + route.says)
		answers("after a restart "+route.name, first, svcPID)
		if st, ok := service.StartTime(svcPID); !ok || st != svcStart {
			t.Errorf("after a restart %s: the service's process %d was restarted (start time %d, was %d)", route.name, svcPID, st, svcStart)
		}
		// The same process, its own binary executed again.
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", supPID)); exe != e.bin {
			t.Errorf("after a restart %s: the supervisor (PID %d) runs %q, want %s", route.name, supPID, exe, e.bin)
		}
		// Its output, through the pipe handed over, still reaches the
		// supervisor's.
		supWaitFor(t, "a tick after take-over "+route.name, func() bool {
			out := s.output()
			at := strings.LastIndex(out, took)
			return at >= 0 && strings.Contains(out[at:], "ticker.default(O): tick ")
		})
	}
	if out := s.output(); strings.Contains(out, "Ending process") || strings.Contains(out, "Terminating service") {
		t.Errorf("a restart stopped the service:\n%s", s.output())
	}

	// A newer release installed while it runs: its spec (habtest/ticker)
	// resolves to it after the restart; the old release's process is not
	// taken over but ended, and the new release runs once.
	e.buildService("ticker", ticker)
	second := fmt.Sprintf("habtest/ticker/0.1.0/%d", e.release)
	if pid := s.pid("ticker"); pid != svcPID {
		t.Fatalf("installing a release restarted the service (PID %d, was %d)", pid, svcPID)
	}
	s.mustHab("", "sup", "restart")
	s.waitOutput("it runs " + first + ", not " + second)
	s.waitOutput(fmt.Sprintf("Ending process %d left running by a previous supervisor", svcPID))
	supWaitFor(t, "the new release up", func() bool { p := s.pid("ticker"); return p != 0 && p != svcPID })
	answers("after a restart onto a newer release", second, s.pid("ticker"))
	if strings.Count(s.output(), took) != 2 {
		t.Errorf("the old release's process was taken over:\n%s", s.output())
	}

	// A spec edited into nonsense keeps its service running until a
	// restart, whose supervisor cannot load it: the process handed over
	// is not left running unwatched but ended (and reaped).
	e.buildService("sleeper", nil)
	s.mustHab("", "svc", "load", "habtest/sleeper")
	var pid int
	supWaitFor(t, "sleeper up", func() bool { pid = s.pid("sleeper"); return pid != 0 })
	if err := os.WriteFile(filepath.Join(e.root, "hab", "sup", "default", "specs", "sleeper.spec"), []byte("ident = ]] nonsense"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitOutput("specs/sleeper.spec:1:")
	s.mustHab("", "sup", "restart")
	s.waitOutput("ending a handed-over process no service took over")
	supWaitFor(t, "the unclaimed process ended and reaped", func() bool { _, ok := service.StartTime(pid); return !ok })
	if code, out, errs := s.hab("", "svc", "status"); code != 0 || s.exited() {
		t.Errorf("svc status after the restart: exit %d\n%s%s", code, out, errs)
	}
	s.mustHab("", "sup", "term")
	<-s.done
}
