package builder

import (
	"fmt"
	"github.com/habgo/hab/internal/habbin"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
)

// tmuxSession is a terminal the test types into: its own tmux server
// (socket in a temporary directory), one session running a command.
type tmuxSession struct {
	t    *testing.T
	sock string
	name string
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is what the terminal shows, its scrollback included.
func (s *tmuxSession) screen() string {
	s.t.Helper()
	return s.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", s.name)
}

// await polls the screen until ok accepts it.
func (s *tmuxSession) await(what string, ok func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		scr := s.screen()
		if ok(scr) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s; the terminal shows:\n%s", what, scr)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an outcome
	}
}

func (s *tmuxSession) awaitText(text string) string {
	s.t.Helper()
	return s.await(fmt.Sprintf("%q", text), func(scr string) bool { return strings.Contains(scr, text) })
}

// typeLine types a line and Enter.
func (s *tmuxSession) typeLine(line string) {
	s.t.Helper()
	if line != "" {
		s.tmux("send-keys", "-t", s.name, "-l", line)
	}
	s.tmux("send-keys", "-t", s.name, "Enter")
}

// TestAttachOnTerminal runs the real hab binary's `hab plan build` on a
// terminal (tmux), outside a studio: attach stops the build at the
// prompt, the typed commands run in the plan's shell, whereami shows the
// plan, and exit or ^D lets the build finish with what was set, while
// quit-program fails it (status 1, no package, no last_build.env).
func TestAttachOnTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the terminal test needs it (CI installs it)")
	}
	bin, err := habbin.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sockDir, err := os.MkdirTemp("", "hab-tmux-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(sockDir, "s")
	t.Cleanup(func() {
		exec.Command("tmux", "-S", sock, "kill-server").Run()
		os.RemoveAll(sockDir)
	})

	tests := []struct {
		name   string
		leave  func(s *tmuxSession) // ends the session after the common commands
		status string
		foo    string
	}{
		{"exit", func(s *tmuxSession) { s.typeLine("exit") }, "0", "tty"},
		{"ctrl-d", func(s *tmuxSession) { s.tmux("send-keys", "-t", s.name, "C-d") }, "0", "tty"},
		{"quit-program", func(s *tmuxSession) { s.typeLine("quit-program") }, "1", ""},
		{"ctrl-c", func(s *tmuxSession) { s.tmux("send-keys", "-t", s.name, "C-c") }, "130", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			root, keys, out := filepath.Join(base, "root"), filepath.Join(base, "keys"), filepath.Join(base, "results")
			if _, _, err := (crypto.Cache{Dir: keys}).NewSigningPair("habtest", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			dir := writePlan(t, map[string]string{"plan.sh": attachPlan})
			status := filepath.Join(base, "status")
			script := filepath.Join(base, "run.sh")
			// No STUDIO_TYPE: a terminal on standard input is enough.
			// The script outlives a ^C to write hab's status.
			run := fmt.Sprintf("#!/bin/sh\ntrap : INT\ncd %q || exit 1\nenv -i PATH=%q HOME=%q TERM=xterm HAB_NOCOLORING=true FS_ROOT=%q HAB_CACHE_KEY_PATH=%q HAB_OUTPUT_PATH=%q %q plan build --release 20260101000001 %q\necho $? > %q.tmp && mv %q.tmp %q\n",
				base, os.Getenv("PATH"), base, root, keys, out, bin, dir, status, status, status)
			if err := os.WriteFile(script, []byte(run), 0o755); err != nil {
				t.Fatal(err)
			}
			s := &tmuxSession{t: t, sock: sock, name: fmt.Sprintf("attach%d", i)}
			s.tmux("new-session", "-d", "-s", s.name, "-x", "200", "-y", "50", script)
			s.tmux("set-option", "-t", s.name, "remain-on-exit", "on")

			scr := s.awaitText("[1] attacher(do_build)>")
			if !strings.Contains(scr, "### Attaching to debugging session") || !strings.Contains(scr, " => 10:   if [[ -n \"${NESTED:-}\" ]]; then inspect; else attach; fi") {
				t.Errorf("no banner or whereami:\n%s", scr)
			}
			s.typeLine(`echo "name=$pkg_name"`)
			s.awaitText("[2] attacher(do_build)>")
			s.typeLine("whereami 1")
			scr = s.awaitText("[3] attacher(do_build)>")
			if !regexp.MustCompile(`\[2\] attacher\(do_build\)> whereami 1\n\nFrom: \S+/plan.sh @ line 10 :\n\n    9:   local inner=here.*\n => 10: .*attach; fi\n    11:   test -z`).MatchString(scr) {
				t.Errorf("whereami 1:\n%s", scr)
			}
			s.typeLine("FOO=tty")
			s.awaitText("[4] attacher(do_build)>")
			s.typeLine("vars")
			scr = s.awaitText("[5] attacher(do_build)>")
			for _, w := range []string{"[1] attacher(do_build)> echo \"name=$pkg_name\"\nname=attacher\n", "\nFOO=tty\n", "\ninner=here\n"} {
				if !strings.Contains(scr, w) {
					t.Errorf("the terminal lacks %q:\n%s", w, scr)
				}
			}
			tt.leave(s)
			s.await("the build to end", func(string) bool { _, err := os.Stat(status); return err == nil })
			scr = s.screen()
			got, _ := os.ReadFile(status)
			if strings.TrimSpace(string(got)) != tt.status {
				t.Fatalf("hab plan build exited with %s, want %s:\n%s", got, tt.status, scr)
			}
			_, err := os.Stat(filepath.Join(out, "last_build.env"))
			prefix := filepath.Join(root, "hab", "pkgs", "habtest", "attacher", "1.0", "20260101000001")
			if tt.status != "0" {
				if err == nil {
					t.Errorf("a failed build wrote last_build.env")
				}
				if _, err := os.Stat(prefix); !os.IsNotExist(err) {
					t.Errorf("a failed build left %s (%v)", prefix, err)
				}
				if why := map[string]string{"1": "quit-program at the attach prompt in do_build", "130": "build failed in do_build: context canceled"}[tt.status]; !strings.Contains(scr, why) {
					t.Errorf("no reason on the terminal:\n%s", scr)
				}
				return
			}
			if err != nil {
				t.Fatalf("no last_build.env: %v\n%s", err, scr)
			}
			if !strings.Contains(scr, "### Leaving debugging session") || !strings.Contains(scr, "I love it when a plan.sh comes together.") {
				t.Errorf("the build did not go on after the session:\n%s", scr)
			}
			// The terminal echoed the commands; the log has them too.
			logFile := filepath.Join(out, "logs", "habtest-attacher-20260101000001.log")
			if log, _ := os.ReadFile(logFile); !strings.Contains(string(log), "[3] attacher(do_build)> FOO=tty\n[4] attacher(do_build)> vars\n") {
				t.Errorf("the build log %s lacks the commands:\n%s", logFile, log)
			}
			if foo, _ := os.ReadFile(filepath.Join(prefix, "foo")); string(foo) != tt.foo+"\n" {
				t.Errorf("do_install saw FOO=%q, want %q\n%s", foo, tt.foo, scr)
			}
		})
	}
}
