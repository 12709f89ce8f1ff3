package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/studio/rootfs"
)

// habProcess is a running hab whose stdout is read line by line.
type habProcess struct {
	cmd    *exec.Cmd
	lines  *bufio.Scanner
	stderr *syncBuffer
}

// startHab starts the hab binary bin with env and args.
func startHab(t *testing.T, bin string, env map[string]string, args ...string) *habProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &habProcess{cmd: cmd, lines: bufio.NewScanner(out), stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return p
}

// waitLine reads stdout until a line containing want.
func (p *habProcess) waitLine(t *testing.T, want string) {
	t.Helper()
	for p.lines.Scan() {
		if strings.Contains(p.lines.Text(), want) {
			return
		}
	}
	t.Fatalf("hab %v never printed %q:\n%s", p.cmd.Args[1:], want, p.stderr.String())
}

// wait waits for the end of p (its stdout drained) and returns its exit
// code.
func (p *habProcess) wait(t *testing.T) int {
	t.Helper()
	for p.lines.Scan() {
	}
	_ = p.cmd.Wait()
	return p.cmd.ProcessState.ExitCode()
}

// gatePlan is a plan whose build says it runs and then waits until the
// file /src/GATE exists.
func gatePlan(name, gate string) string {
	return "pkg_name=" + name + "\npkg_origin=habtest\npkg_version=1.0.0\n" +
		"do_build() {\n  echo \"" + name + " is building\"\n  while [ ! -e /src/" + gate + " ]; do sleep 0.05; done\n}\n" +
		"do_install() { echo " + name + " > \"$pkg_prefix/" + name + "\"; }\n"
}

func writePlans(t *testing.T, src string, plans map[string]string) {
	t.Helper()
	for name, plan := range plans {
		if err := os.MkdirAll(filepath.Join(src, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name, "plan.sh"), []byte(plan), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStudioRmRefusedWhileInUse (issue 7, item 10): hab studio rm refuses
// a studio in which a run, an enter (a shell) or a -R build is going on,
// and removes it once they have finished.
func TestStudioRmRefusedWhileInUse(t *testing.T) {
	bin := needStudioRoot(t)
	for _, user := range [][]string{
		{"studio", "run", "echo in use; while [ ! -e /src/go ]; do sleep 0.05; done"},
		{"studio", "build", "-R", "gated"},
	} {
		t.Run(user[1], func(t *testing.T) {
			src := t.TempDir()
			writePlans(t, src, map[string]string{"gated": gatePlan("gated", "go")})
			env := pkgBuildEnv(t, bin, src)
			root := filepath.Join(env["FS_ROOT"], "hab", "studios", rootfs.DirName(src))
			p := startHab(t, bin, env, user...)
			if user[1] == "run" {
				p.waitLine(t, "in use")
			} else {
				p.waitLine(t, "gated is building")
			}
			code, _, stderr := studioCLI(t, "", env, "studio", "rm")
			if code != 1 || !strings.Contains(stderr, "in use") {
				t.Errorf("hab studio rm of a studio in use: exit %d, %s", code, stderr)
			}
			if _, err := os.Stat(filepath.Join(root, rootfs.MarkerFile)); err != nil {
				t.Errorf("the studio in use was removed: %v", err)
			}
			if err := os.WriteFile(filepath.Join(src, "go"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(t); code != 0 {
				t.Fatalf("hab %v: exit %d\n%s", user, code, p.stderr.String())
			}
			if code, _, stderr := studioCLI(t, "", env, "studio", "rm"); code != 0 {
				t.Fatalf("hab studio rm after the run: %d %s", code, stderr)
			}
			if _, err := os.Stat(root); !os.IsNotExist(err) {
				t.Errorf("studio not removed: %v", err)
			}
		})
	}
}

// TestPkgBuildsOfOneSourceWait (issue 7, item 10): two hab pkg build of
// different plans from one directory share its studio's name: the second
// waits, saying so, until the first has finished and removed its studio,
// and both build. Two -R builds do not share a studio: the second is
// refused (the same release would replace the first's hart).
func TestPkgBuildsOfOneSourceWait(t *testing.T) {
	bin := needStudioRoot(t)
	src := t.TempDir()
	writePlans(t, src, map[string]string{"first": gatePlan("first", "go-first"), "second": gatePlan("second", "go-second")})
	env := pkgBuildEnv(t, bin, src)

	first := startHab(t, bin, env, "pkg", "build", "--release", "20260101000001", "first")
	first.waitLine(t, "first is building")
	second := startHab(t, bin, env, "pkg", "build", "--release", "20260101000001", "second")
	// The second says it waits, and does not start while the first runs.
	if err := os.WriteFile(filepath.Join(src, "go-second"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second build to say it waits", func() bool { return strings.Contains(second.stderr.String(), "Waiting for the Studio") }, second.stderr)
	if err := os.WriteFile(filepath.Join(src, "go-first"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := first.wait(t); code != 0 {
		t.Fatalf("first build: exit %d\n%s", code, first.stderr.String())
	}
	if code := second.wait(t); code != 0 {
		t.Fatalf("second build: exit %d\n%s", code, second.stderr.String())
	}
	for _, name := range []string{"first", "second"} {
		if m, _ := filepath.Glob(filepath.Join(src, "results", "habtest-"+name+"-1.0.0-20260101000001-*.hart")); len(m) != 1 {
			t.Errorf("the %s build's hart is missing: %v", name, m)
		}
	}
	if strings.Contains(first.stderr.String(), "Waiting") {
		t.Errorf("the first build waited:\n%s", first.stderr.String())
	}

	// -R: the second is refused while the first holds the studio.
	for _, f := range []string{"go-first", "go-second"} {
		os.Remove(filepath.Join(src, f))
	}
	first = startHab(t, bin, env, "pkg", "build", "-R", "--release", "20260101000002", "first")
	first.waitLine(t, "first is building")
	code, _, stderr := studioCLI(t, "", env, "pkg", "build", "-R", "--release", "20260101000002", "second")
	if code != 1 || !strings.Contains(stderr, "in use") {
		t.Errorf("a second -R build of a studio in use: exit %d\n%s", code, stderr)
	}
	if err := os.WriteFile(filepath.Join(src, "go-first"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := first.wait(t); code != 0 {
		t.Fatalf("first -R build: exit %d\n%s", code, first.stderr.String())
	}
	if m, _ := filepath.Glob(filepath.Join(src, "results", "habtest-second-1.0.0-20260101000002-*.hart")); len(m) != 0 {
		t.Errorf("the refused build made a hart: %v", m)
	}
	if code, _, stderr := studioCLI(t, "", env, "studio", "rm"); code != 0 {
		t.Fatalf("hab studio rm: %d %s", code, stderr)
	}
}

// TestStudioWarningInStyle (issue 8): the warning that the host's
// toolchain stands in for the studio's base packages is printed as the
// studio's other lines are ("   hab-studio: ..."), not as a log record,
// by hab studio and by hab pkg build, once per run.
func TestStudioWarningInStyle(t *testing.T) {
	bin := needStudioRoot(t)
	src := t.TempDir()
	writePlans(t, src, map[string]string{"plain": "pkg_name=plain\npkg_origin=habtest\npkg_version=1.0.0\ndo_build() { return 0; }\ndo_install() { return 0; }\n"})
	env := pkgBuildEnv(t, bin, src)
	for _, args := range [][]string{{"studio", "run", "true"}, {"pkg", "build", "plain"}} {
		p := startHab(t, bin, env, args...)
		if code := p.wait(t); code != 0 {
			t.Fatalf("hab %v: exit %d\n%s", args, code, p.stderr.String())
		}
		stderr := p.stderr.String()
		if n := strings.Count(stderr, "   hab-studio: WARNING: the studio has no base packages"); n != 1 {
			t.Errorf("hab %v: the warning is printed %d times in the studio's style:\n%s", args, n, stderr)
		}
		if strings.Contains(stderr, "level=WARN") || strings.Contains(stderr, "time=") {
			t.Errorf("hab %v: a raw log record among the output:\n%s", args, stderr)
		}
	}
}
