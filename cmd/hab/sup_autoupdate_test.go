package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/internal/depottest"
	"github.com/habgo/hab/internal/habbin"
	"github.com/habgo/hab/sup/service"
)

// habPlan is the plan of core/hab at version around the hab binary bin.
func habPlan(version, bin string) string {
	return "pkg_name=hab\npkg_origin=core\npkg_version=" + version + "\npkg_bin_dirs=(bin)\n" +
		"do_build() { return 0; }\ndo_strip() { return 0; }\n" +
		"do_install() { mkdir -p \"$pkg_prefix/bin\"; cp " + bin + " \"$pkg_prefix/bin/hab\"; chmod 0755 \"$pkg_prefix/bin/hab\"; }\n"
}

// TestSupAutoUpdate: hab sup run --auto-update, a real supervisor (hab
// 0.5.0, not from a package) running a real service, watching a real
// depot's stable channel for core/hab. An older release, a release
// whose hab is built for another machine and the newer release while its
// file in the depot is tampered with are each refused with a log line
// saying why, the supervisor and its service untouched. The newer
// release, its file restored, is installed and the supervisor
// re-executes into its bin/hab in the same process: it then reports
// 0.8.0, runs from the package, and took over the service's process,
// which was never restarted and whose output still reaches the
// supervisor.
func TestSupAutoUpdate(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the depot's packages here are x86_64-linux; this machine is", runtime.GOARCH)
	}
	e := newSupEnv(t)
	if _, _, err := (crypto.Cache{Dir: e.keys}).NewSigningPair("core", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	bins := t.TempDir()
	build := func(version, goarch string) string {
		t.Helper()
		dir := filepath.Join(bins, version)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		bin, err := habbin.BuildVersion(dir, goarch, version)
		if err != nil {
			t.Fatal(err)
		}
		return bin
	}
	running, newer, arm := build("0.5.0", "amd64"), build("0.8.0", "amd64"), build("0.6.0", "arm64")

	// The core/hab packages are built in a root of their own: the
	// supervisor's root gets them from the depot only.
	pb := &supEnv{t: t, dir: filepath.Join(e.dir, "habpkgs"), root: filepath.Join(e.dir, "habpkgs", "root"), keys: e.keys, release: 20260201000000}
	if err := os.MkdirAll(pb.root, 0o755); err != nil {
		t.Fatal(err)
	}
	pkg := func(version, bin string) (string, ident.Ident) {
		h := pb.build(pb.plan("hab-"+version, map[string]string{"plan.sh": habPlan(version, bin)}))
		return h, ident.MustParse(fmt.Sprintf("core/hab/%s/%d", version, pb.release))
	}
	olderHart, older := pkg("0.4.0", running)
	armHart, armRel := pkg("0.6.0", arm)
	newerHart, newerRel := pkg("0.8.0", newer)
	data := t.TempDir()
	c, url := depottest.StartIn(t, data, crypto.Cache{Dir: e.keys}, "core", olderHart, armHart, newerHart)
	restore := tamper(t, data, newerHart)

	e.buildService("ticker", map[string]string{"hooks/run": tickerRunHook})
	e.bin = running
	s := e.startSup("habtest/ticker", "-A", "--auto-update-period", "1", "--url", url, "--channel", "stable", "-v")
	supPID := s.cmd.Process.Pid
	supWaitFor(t, "ticker up", func() bool { return s.pid("ticker") != 0 })
	svcPID := s.pid("ticker")
	svcStart, ok := service.StartTime(svcPID)
	if !ok {
		t.Fatalf("no start time for the service's process %d", svcPID)
	}
	version := func() string {
		sys, _ := s.service("ticker")["sys"].(map[string]any)
		v, _ := sys["version"].(string)
		return v
	}
	exe := func() string {
		p, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", supPID))
		return p
	}
	untouched := func(when string) {
		t.Helper()
		if v := version(); v != "0.5.0" {
			t.Errorf("%s: the supervisor reports version %q, want 0.5.0", when, v)
		}
		if exe() != running || s.exited() {
			t.Errorf("%s: the supervisor (PID %d) runs %q (exited %v), want %s", when, supPID, exe(), s.exited(), running)
		}
		if pid := s.pid("ticker"); pid != svcPID {
			t.Errorf("%s: the service runs as PID %d, want %d", when, pid, svcPID)
		}
	}
	promote := func(id ident.Ident) {
		t.Helper()
		if err := c.Promote(context.Background(), "stable", id, ident.X86_64Linux); err != nil {
			t.Fatal(err)
		}
	}

	// Refused: an older release, one built for another machine, the
	// newer one while its file in the depot is tampered with.
	promote(older)
	s.waitOutput("self-update: refusing an older release")
	s.waitOutput("head=" + older.String())
	untouched("after the older release")
	promote(armRel)
	s.waitOutput("refusing " + armRel.String() + ": hab binary for target x86_64-linux")
	s.waitOutput("is built for EM_AARCH64, not EM_X86_64")
	untouched("after the release for another machine")
	promote(newerRel)
	s.waitOutput("refusing " + newerRel.String() + ": install (its signature is verified)")
	s.waitOutput("payload altered or truncated")
	untouched("after the tampered release")
	if _, err := os.Stat(filepath.Join(append([]string{e.root, "hab", "pkgs"}, newerRel.Parts()...)...)); err == nil {
		t.Errorf("the tampered release was installed")
	}

	// The newer release, its file restored (a failed install is tried
	// again at the next period): installed, checked, executed in this
	// process.
	restore()
	s.waitOutput("Supervisor shutting down for automatic update to " + newerRel.String())
	took := fmt.Sprintf("Took over the running service (PID %d) from the previous Supervisor", svcPID)
	s.waitOutput(took)
	supWaitFor(t, "the supervisor reporting 0.8.0", func() bool { return version() == "0.8.0" })
	want := filepath.Join(append([]string{e.root, "hab", "pkgs"}, append(newerRel.Parts(), "bin", "hab")...)...)
	if got := exe(); got != want || s.exited() {
		t.Errorf("the supervisor (PID %d) runs %q (exited %v), want %s in the same process", supPID, got, s.exited(), want)
	}
	s.waitOutput("running=" + newerRel.String()) // the new supervisor knows it is that release
	if pid := s.pid("ticker"); pid != svcPID {
		t.Errorf("the service runs as PID %d after the update, want %d", pid, svcPID)
	}
	if st, ok := service.StartTime(svcPID); !ok || st != svcStart {
		t.Errorf("the service's process %d was restarted (start time %d, was %d)", svcPID, st, svcStart)
	}
	run := filepath.Join(e.root, "hab", "svc", "ticker", "run")
	if procs := processesIn(run); len(procs) != 1 {
		t.Errorf("processes running %s: %v, want the one", run, procs)
	}
	// Its output, through the pipe handed over, still reaches the
	// supervisor's.
	supWaitFor(t, "a tick after the take-over", func() bool {
		out := s.output()
		i := strings.Index(out, took)
		return i >= 0 && strings.Contains(out[i:], "ticker.default(O): tick ")
	})
	if strings.Contains(s.output(), "Ending process") {
		t.Errorf("the new supervisor ended a process as a leftover:\n%s", s.output())
	}

	// Stopping the updated supervisor stops the service it took over.
	s.mustHab("", "sup", "term")
	<-s.done
	if procs := processesIn(run); len(procs) != 0 {
		t.Errorf("processes still running %s after sup term: %v", run, procs)
	}
}

// tamper flips a byte in the middle of the payload of the depot's copy
// of hart (found under the depot's data directory by its content), as
// an attacker with the depot's storage would; restore puts it back.
func tamper(t *testing.T, data, hart string) (restore func()) {
	t.Helper()
	want, err := os.ReadFile(hart)
	if err != nil {
		t.Fatal(err)
	}
	found := ""
	err = filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || found != "" {
			return err
		}
		if fi, err := d.Info(); err != nil || fi.Size() != int64(len(want)) {
			return err
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Equal(b, want) {
			found = p
		}
		return nil
	})
	if err != nil || found == "" {
		t.Fatalf("the depot's copy of %s not found under %s (%v)", hart, data, err)
	}
	f, err := os.OpenFile(found, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	at := int64(len(want) / 2)
	if _, err := f.WriteAt([]byte{want[at] ^ 0xff}, at); err != nil {
		t.Fatal(err)
	}
	t.Logf("tampered with %s at byte %s", found, strconv.FormatInt(at, 10))
	return func() {
		t.Helper()
		if err := os.WriteFile(found, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSupRunAutoUpdateFlags: the two flags as settings (--generate-config
// writes them under the original's names), and bad values refused as
// usage errors (exit 2) naming the flag, before anything starts.
func TestSupRunAutoUpdateFlags(t *testing.T) {
	root := t.TempDir()
	getenv := func(k string) string {
		return map[string]string{"FS_ROOT": root, "HOME": filepath.Join(root, "home"), "HAB_CACHE_KEY_PATH": filepath.Join(root, "keys")}[k]
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"settings", []string{"-A", "--auto-update-period", "5", "--generate-config"}, 0, "auto_update = true\nauto_update_period = 5\n"},
		{"defaults", []string{"--generate-config"}, 0, "auto_update_period = 60\n"},
		{"period zero", []string{"-A", "--auto-update-period", "0"}, exitUsage, "--auto-update-period must be at least 1 second"},
		{"period not a number", []string{"-A", "--auto-update-period", "soon"}, exitUsage, `invalid argument "soon" for "--auto-update-period"`},
		{"depot not a URL", []string{"--auto-update", "--url", "ftp://depot.example"}, exitUsage, `--url: depot URL "ftp://depot.example": not an http:// or https:// URL with a host`},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"sup", "run", "--listen-ctl", "127.0.0.1:0", "--listen-http", "127.0.0.1:0", "--listen-gossip", "127.0.0.1:0"}, c.args...)
			var out, errb bytes.Buffer
			code := run(context.Background(), args, strings.NewReader(""), &out, &errb, getenv)
			if code != c.code || !strings.Contains(out.String()+errb.String(), c.want) {
				t.Fatalf("hab %s: exit %d, want %d with %q\n%s%s", strings.Join(args, " "), code, c.code, c.want, out.String(), errb.String())
			}
			if _, err := os.Stat(filepath.Join(root, "hab", "sup", "default", "LOCK")); err == nil {
				t.Errorf("hab %s started a supervisor", strings.Join(args, " "))
			}
		})
	}
}
