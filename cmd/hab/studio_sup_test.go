package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/studio/rootfs"
)

// markedProcs lists the processes (pid: command line) whose environment
// holds mark: what runs in a studio entered with it.
func markedProcs(t *testing.T, mark string) map[int]string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, []byte(mark)) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out[pid] = strings.TrimSpace(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
	}
	return out
}

// awaitHTTP polls url until it answers 200 with a body containing want,
// and returns the body.
func awaitHTTP(t *testing.T, s *studioTerm, url, want string) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
			if resp.StatusCode == http.StatusOK && strings.Contains(string(b), want) {
				return string(b)
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never answered 200 with %q (last: %s); the terminal shows:\n%s", url, want, last, s.screen())
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a wait for an outcome
	}
}

// TestStudioEnterSupervisor is the documented flow of a studio's
// Supervisor (issue 10): hab studio enter starts one in the background
// with the flags in HAB_STUDIO_SUP (non-default ports here; the control
// gateway's through HAB_LISTEN_CTL, which the clients inside read too); it
// answers on its HTTP gateway; a package built at the prompt runs in it
// by hab svc load and answers on its own port; sup-log shows the
// Supervisor's output until ^C; leaving the studio ends the Supervisor
// and its service (no process of the studio left, ports closed, the
// mount table as it was). HAB_STUDIO_SUP=false starts none; sr (sup-run)
// starts one by hand and st (sup-term) ends it.
func TestStudioEnterSupervisor(t *testing.T) {
	bin := needStudioRoot(t)
	needTmux(t)
	if _, err := os.Stat("/usr/bin/perl"); err != nil {
		t.Skip("the service fixture serves HTTP with perl, which this host lacks")
	}
	before, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var b [8]byte
	rand.Read(b[:])
	mark := "HAB_STUDIO_TEST_MARK=" + hex.EncodeToString(b[:])

	src := copyFixtures(t, "service")
	env := pkgBuildEnv(t, bin, src)
	httpAddr, ctlAddr, gossipAddr, svcAddr := freePort(t), freePort(t), freePort(t), freePort(t)
	env["HAB_STUDIO_SUP"] = "--listen-http " + httpAddr + " --listen-gossip " + gossipAddr
	env["HAB_LISTEN_CTL"] = ctlAddr
	_, svcPort, _ := net.SplitHostPort(svcAddr)
	env["HAB_SERVICE"] = `{"port": ` + svcPort + `, "listen": {"host": "127.0.0.1"}}`
	k, v, _ := strings.Cut(mark, "=")
	env[k] = v
	studioRoot := filepath.Join(env["FS_ROOT"], "hab", "studios", rootfs.DirName(src))
	s := newStudioTerm(t, "sup", env, "cd "+src+" && exec "+bin+" studio enter")

	scr := s.awaitText("", "[1][default:/src:0]#")
	for _, w := range []string{"--> Launching the Habitat Supervisor in the background...", "Running: hab sup run --listen-http " + httpAddr + " --listen-gossip " + gossipAddr, "export 'HAB_STUDIO_SUP=false'"} {
		if !strings.Contains(scr, w) {
			t.Errorf("entering the studio did not say %q:\n%s", w, scr)
		}
	}
	awaitHTTP(t, s, "http://"+httpAddr+"/services", "[")

	s.typeLine("build service")
	s.awaitText("I love it when a plan.sh comes together.", "[2][default:/src:0]#")
	// hab svc load (hab sup start IDENT, the documentation's form, is not
	// a command of hab yet).
	s.typeLine("hab svc load habtest/service")
	s.awaitText("hab svc load habtest/service", "[3][default:/src:0]#")
	if got := awaitHTTP(t, s, "http://"+svcAddr+"/", "hello from the service"); got != "hello from the service\n" {
		t.Errorf("the service answered %q", got)
	}
	awaitHTTP(t, s, "http://"+httpAddr+"/services", `"habtest/service`)

	s.typeLine("sup-log")
	s.awaitText("Tailing the Habitat Supervisor's output", "habtest-service listening on "+svcAddr)
	s.tmux("send-keys", "-t", s.name, "C-c")
	s.awaitText("^C", "[4][default:/src:130]#")
	// The control gateway inside, found by the clients through
	// HAB_LISTEN_CTL and the studio's CTL_SECRET.
	s.typeLine("hab svc status")
	if scr := s.awaitText("# hab svc status", "[5][default:/src:0]#"); !strings.Contains(scr[strings.Index(scr, "# hab svc status"):], "habtest/service/0.1.0/") {
		t.Errorf("hab svc status in the studio does not list the service:\n%s", scr)
	}

	procs := markedProcs(t, mark)
	var sup, svc bool
	for _, cmd := range procs {
		sup = sup || strings.Contains(cmd, "hab sup run")
		svc = svc || strings.Contains(cmd, "habtest-service")
	}
	if !sup || !svc {
		t.Errorf("the studio's processes do not include the Supervisor (%v) and the service (%v): %v", sup, svc, procs)
	}

	s.typeLine("exit")
	if st := s.awaitExit(); st != "0" {
		t.Errorf("hab studio enter exited %s:\n%s", st, s.screen())
	}
	if left := markedProcs(t, mark); len(left) > 0 {
		t.Errorf("processes of the studio left after it: %v", left)
	}
	for _, addr := range []string{httpAddr, ctlAddr, svcAddr} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still answers after the studio was left", addr)
		}
	}
	if log, err := os.ReadFile(filepath.Join(studioRoot, "hab", "sup", "default", "sup.log")); err != nil || !strings.Contains(string(log), "habtest-service stopping") {
		t.Errorf("the service was not stopped by its Supervisor (it says nothing of stopping in sup.log: %v):\n%s", err, log)
	}
	if after, _ := os.ReadFile("/proc/self/mountinfo"); string(after) != string(before) {
		t.Errorf("the mount table changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if m := mountsUnder(t, studioRoot); len(m) > 0 {
		t.Errorf("mounts left under the studio: %v", m)
	}

	// HAB_STUDIO_SUP=false: no Supervisor, the studio otherwise the same.
	env["HAB_STUDIO_SUP"] = "false"
	s = newStudioTerm(t, "nosup", env, "cd "+src+" && exec "+bin+" studio enter")
	scr = s.awaitText("", "[1][default:/src:0]#")
	if strings.Contains(scr, "Launching the Habitat Supervisor") {
		t.Errorf("HAB_STUDIO_SUP=false started a Supervisor:\n%s", scr)
	}
	for _, cmd := range markedProcs(t, mark) {
		if strings.Contains(cmd, "sup run") {
			t.Errorf("HAB_STUDIO_SUP=false, yet %q runs", cmd)
		}
	}
	// sr (sup-run) starts one by hand with its flags, st (sup-term) ends it.
	s.typeLine("sr --listen-http " + httpAddr + " --listen-gossip " + gossipAddr)
	s.awaitText("# sr --listen-http", "[2][default:/src:0]#")
	awaitHTTP(t, s, "http://"+httpAddr+"/services", "[")
	s.typeLine("sup-term")
	s.awaitText("# sup-term", "--> Killed background running Habitat Supervisor.")
	s.awaitText("# sup-term", "[3][default:/src:0]#")
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.Dial("tcp", httpAddr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the gateway %s still answers after sup-term:\n%s", httpAddr, s.screen())
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	s.typeLine("exit")
	if st := s.awaitExit(); st != "0" {
		t.Errorf("hab studio enter exited %s:\n%s", st, s.screen())
	}
	if code, _, stderr := studioCLI(t, "", env, "studio", "rm"); code != 0 {
		t.Errorf("hab studio rm: %d %s", code, stderr)
	}
}
