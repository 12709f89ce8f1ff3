package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/studio/rootfs"
)

// studioAttachPlan stops its build at attach in do_build; do_install
// records what FOO was when the build went on.
const studioAttachPlan = `pkg_name=attacher
pkg_origin=habtest
pkg_version=1.0
do_build() {
  local inner=here
  attach
  true
}
do_install() {
  echo "${FOO:-unset}" > "$pkg_prefix/foo"
}
`

// studioTerm is a terminal for hab: a session of a tmux server of its
// own (tmux -S, a socket in a temporary directory), running one script
// whose exit status it writes to a file.
type studioTerm struct {
	t      *testing.T
	sock   string
	name   string
	status string
}

// newStudioTerm starts script (a shell script's body) on a new 200x50
// terminal with only env in its environment (and PATH).
func newStudioTerm(t *testing.T, name string, env map[string]string, script string) *studioTerm {
	t.Helper()
	dir := t.TempDir()
	// The server's socket in a short temporary path (a socket's path is
	// limited to 108 bytes), gone with the server.
	sockDir, err := os.MkdirTemp("", "hab-tmux-")
	if err != nil {
		t.Fatal(err)
	}
	s := &studioTerm{t: t, sock: filepath.Join(sockDir, "s"), name: name, status: filepath.Join(dir, "status")}
	t.Cleanup(func() {
		exec.Command("tmux", "-S", s.sock, "kill-server").Run()
		os.RemoveAll(sockDir)
	})
	var vars []string
	for k, v := range env {
		if v != "" {
			vars = append(vars, fmt.Sprintf("%s=%q", k, v))
		}
	}
	body := fmt.Sprintf("#!/bin/sh\nenv -i PATH=%q TERM=xterm HAB_NOCOLORING=true %s sh -c %q\necho $? > %q.tmp && mv %q.tmp %q\n",
		os.Getenv("PATH"), strings.Join(vars, " "), script, s.status, s.status, s.status)
	run := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(run, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	s.tmux("new-session", "-d", "-s", name, "-x", "200", "-y", "50", run)
	s.tmux("set-option", "-t", name, "remain-on-exit", "on")
	return s
}

func (s *studioTerm) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is what the terminal shows, its scrollback included.
func (s *studioTerm) screen() string {
	s.t.Helper()
	return s.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", s.name)
}

// exitStatus is the script's exit status, "" while it runs.
func (s *studioTerm) exitStatus() string {
	b, err := os.ReadFile(s.status)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// awaitText polls the screen until it shows text after the first
// occurrence of after ("" for anywhere), failing at a deadline or when
// the script ends without it.
func (s *studioTerm) awaitText(after, text string) string {
	s.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		scr := s.screen()
		rest := scr
		if i := strings.Index(scr, after); i >= 0 {
			rest = scr[i+len(after):]
		} else {
			rest = ""
		}
		if strings.Contains(rest, text) {
			return scr
		}
		if st := s.exitStatus(); st != "" {
			s.t.Fatalf("waiting for %q, the command ended (status %s); the terminal shows:\n%s", text, st, s.screen())
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %q; the terminal shows:\n%s", text, scr)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an outcome
	}
}

// awaitExit waits for the script to end and returns its status.
func (s *studioTerm) awaitExit() string {
	s.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for s.exitStatus() == "" {
		if time.Now().After(deadline) {
			s.t.Fatalf("the command did not end; the terminal shows:\n%s", s.screen())
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	return s.exitStatus()
}

// typeLine types a line and Enter.
func (s *studioTerm) typeLine(line string) {
	s.t.Helper()
	s.tmux("send-keys", "-t", s.name, "-l", line)
	s.tmux("send-keys", "-t", s.name, "Enter")
}

// attachSession drives the attach prompt of studioAttachPlan: whereami
// marks the attach line, vars lists the plan's variables, FOO=bar is set
// in the plan's shell; leave ends the session.
func attachSession(t *testing.T, s *studioTerm, leave string) {
	t.Helper()
	scr := s.awaitText("", "[1] attacher(do_build)>")
	if !strings.Contains(scr, "### Attaching to debugging session") {
		t.Errorf("no banner before the prompt:\n%s", scr)
	}
	s.typeLine("whereami 1")
	scr = s.awaitText("whereami 1", "[2] attacher(do_build)>")
	if !regexp.MustCompile(`\[1\] attacher\(do_build\)> whereami 1\n\nFrom: /src/attacher/plan.sh @ line 6 :\n\n    5:   local inner=here\n => 6:   attach\n    7:   true\n`).MatchString(scr) {
		t.Errorf("whereami 1 does not mark the attach line of /src/attacher/plan.sh:\n%s", scr)
	}
	s.typeLine("vars")
	scr = s.awaitText("> vars", "[3] attacher(do_build)>")
	for _, w := range []string{"\ninner=here\n", "\npkg_name=attacher\n", "\npkg_origin=habtest\n", "\nSTUDIO_TYPE=default\n"} {
		if !strings.Contains(scr, w) {
			t.Errorf("vars lacks %q:\n%s", w, scr)
		}
	}
	s.typeLine("FOO=bar")
	s.awaitText("> FOO=bar", "[4] attacher(do_build)>")
	s.typeLine(leave)
}

// needTmux skips when tmux is missing.
func needTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the terminal tests need it (CI installs it; apt-get install tmux)")
	}
}

// attachSource is a source tree holding the plan attacher/.
func attachSource(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "attacher"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "attacher", "plan.sh"), []byte(studioAttachPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	return src
}

// harts lists the .hart files in dir.
func harts(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "*.hart"))
	return m
}

// TestStudioBuildAttachOnTerminal runs the real hab's "hab studio build"
// and "hab pkg build -R" on a
// terminal (tmux): the plan's attach stops the build in the studio
// at the prompt; whereami marks the attach line of /src/attacher/plan.sh,
// vars shows the plan's variables, and what is typed runs in the plan's
// shell. exit lets the build go on with FOO=bar and finish (a .hart in
// results/ and the artifact cache); quit-program fails it with no package
// anywhere. Either way the mount table is as it was, and the studio,
// having nothing mounted, can be removed.
func TestStudioBuildAttachOnTerminal(t *testing.T) {
	bin := needStudioRoot(t)
	needTmux(t)
	before, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		command string // builds attacher in the source path
		leave   string
		status  string
		skip    string
	}{
		{"studio build/exit", "studio build attacher", "exit", "0", ""},
		{"studio build/quit-program", "studio build attacher", "quit-program", "1", ""},
		// -R keeps the studio, to look at the package installed in it.
		{"pkg build/exit", "pkg build -R attacher", "exit", "0", ""},
		{"pkg build/quit-program", "pkg build -R attacher", "quit-program", "1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip != "" {
				t.Skip(tt.skip)
			}
			start := time.Now()
			src := attachSource(t)
			env := pkgBuildEnv(t, bin, src)
			studioRoot := filepath.Join(env["FS_ROOT"], "hab", "studios", rootfs.DirName(src))
			artifacts := filepath.Join(env["FS_ROOT"], "hab", "cache", "artifacts")
			results := filepath.Join(src, "results")
			s := newStudioTerm(t, strings.ReplaceAll(tt.name, "/", "-"), env, "cd "+src+" && exec "+bin+" "+tt.command)

			attachSession(t, s, tt.leave)
			status := s.awaitExit()
			scr := s.screen()
			if status != tt.status {
				t.Fatalf("hab %s exited %s, want %s:\n%s", tt.command, status, tt.status, scr)
			}
			pkgs := filepath.Join(studioRoot, "hab", "pkgs", "habtest", "attacher")
			if tt.status == "0" {
				if !strings.Contains(scr, "### Leaving debugging session") || !strings.Contains(scr, "I love it when a plan.sh comes together.") {
					t.Errorf("the build did not go on after exit:\n%s", scr)
				}
				if len(harts(results)) != 1 || len(harts(artifacts)) != 1 {
					t.Errorf("no .hart: results %v, artifact cache %v\n%s", harts(results), harts(artifacts), scr)
				}
				foo, _ := filepath.Glob(filepath.Join(pkgs, "1.0", "*", "foo"))
				if len(foo) != 1 {
					t.Fatalf("no installed package with foo under %s: %v", pkgs, foo)
				}
				if b, _ := os.ReadFile(foo[0]); string(b) != "bar\n" {
					t.Errorf("do_install saw FOO=%q, want bar (set at the prompt)", b)
				}
			} else {
				if !strings.Contains(scr, "quit-program at the attach prompt in do_build") {
					t.Errorf("no reason on the terminal:\n%s", scr)
				}
				if h := append(harts(results), harts(artifacts)...); len(h) > 0 {
					t.Errorf("a build stopped by quit-program left %v", h)
				}
				if _, err := os.Stat(filepath.Join(results, "last_build.env")); !os.IsNotExist(err) {
					t.Errorf("a build stopped by quit-program wrote last_build.env (%v)", err)
				}
				if left, _ := filepath.Glob(filepath.Join(pkgs, "*", "*")); len(left) > 0 {
					t.Errorf("a build stopped by quit-program left %v", left)
				}
			}
			if after, _ := os.ReadFile("/proc/self/mountinfo"); string(after) != string(before) {
				t.Errorf("the mount table changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if m := mountsUnder(t, studioRoot); len(m) > 0 {
				t.Errorf("mounts left under the studio: %v", m)
			}
			if code, _, stderr := studioCLI(t, "", env, "studio", "rm"); code != 0 {
				t.Errorf("hab studio rm after the build: %d %s", code, stderr)
			}
			if _, err := os.Stat(studioRoot); !os.IsNotExist(err) {
				t.Errorf("studio %s still there after rm (%v)", studioRoot, err)
			}
			t.Logf("hab %s, then %s: %v", tt.command, tt.leave, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestStudioEnterBuildAttach is the original's documented flow on a
// terminal: hab studio enter, a build at the studio's prompt stopping at
// attach, exit there (the build finishes), then exit the studio.
func TestStudioEnterBuildAttach(t *testing.T) {
	bin := needStudioRoot(t)
	needTmux(t)
	before, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	src := attachSource(t)
	env := pkgBuildEnv(t, bin, src)
	env["HAB_STUDIO_SUP"] = "false" // no Supervisor on the default ports (TestStudioEnterSupervisor has one)
	studioRoot := filepath.Join(env["FS_ROOT"], "hab", "studios", rootfs.DirName(src))
	s := newStudioTerm(t, "enter", env, "cd "+src+" && exec "+bin+" studio enter")

	s.awaitText("", "[1][default:/src:0]#")
	// The studio's build function, as the original's studio has.
	s.typeLine(`build attacher`)
	attachSession(t, s, "exit")
	scr := s.awaitText("I love it when a plan.sh comes together.", "[2][default:/src:0]#")
	if len(harts(filepath.Join(src, "results"))) != 1 {
		t.Errorf("no .hart in %s/results:\n%s", src, scr)
	}
	s.typeLine("exit")
	if st := s.awaitExit(); st != "0" {
		t.Errorf("hab studio enter exited %s:\n%s", st, s.screen())
	}
	if after, _ := os.ReadFile("/proc/self/mountinfo"); string(after) != string(before) {
		t.Errorf("the mount table changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if code, _, stderr := studioCLI(t, "", env, "studio", "rm"); code != 0 {
		t.Errorf("hab studio rm: %d %s", code, stderr)
	}
	if _, err := os.Stat(studioRoot); !os.IsNotExist(err) {
		t.Errorf("studio %s still there after rm (%v)", studioRoot, err)
	}
}
