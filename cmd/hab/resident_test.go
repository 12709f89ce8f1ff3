package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/habgo/hab/internal/resident"
)

// TestSupReleasesStartupPages: a real `hab sup run` with the fixture
// service, once quiet, pages out the binary's pages its start-up touched
// (main runs internal/resident's settler): its file-backed resident
// memory drops, and the service and the gateways keep answering from the
// pages faulted back in.
func TestSupReleasesStartupPages(t *testing.T) {
	e := newSupEnv(t)
	e.build(fixtureDir("service"))
	port := freeLoopbackPort(t)
	e.userTOML("service", fmt.Sprintf("port = %d\n", port))
	e.env["HAB_LOG"] = "debug"
	s := e.startSup("habtest/service")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	supWaitFor(t, "the service", func() bool { return httpBody(t, url) == "hello from the service\n" })
	before, err := resident.Read("/proc", s.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	s.waitOutput("resident memory: released the binary's idle pages")
	after, err := resident.Read("/proc", s.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("resident before %d KiB (file %d KiB), after %d KiB (file %d KiB)", before.RSS>>10, before.File>>10, after.RSS>>10, after.File>>10)
	if after.File >= before.File {
		t.Errorf("the binary's resident pages did not drop: %d bytes before, %d after", before.File, after.File)
	}
	if got := httpBody(t, url); got != "hello from the service\n" {
		t.Errorf("the service after the release: %q", got)
	}
	if out := s.mustHab("", "svc", "status"); !slices.ContainsFunc(readStatusTable(t, out), func(r serviceStatus) bool { return strings.HasPrefix(r.Package, "habtest/service/") && r.State == "up" }) {
		t.Errorf("svc status after the release: %q", out)
	}
}
