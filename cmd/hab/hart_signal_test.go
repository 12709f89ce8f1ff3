//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// awaitFD waits until process pid has a descriptor open on path (it has
// started reading it).
func awaitFD(t *testing.T, pid int, path string, exited <-chan struct{}) {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	for {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && target == path {
				return
			}
		}
		select {
		case <-exited:
			t.Fatal("hab exited before it opened " + path)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestHartCommandsStopOnSignals runs a real hab reading an endless device
// or a FIFO that never ends (blocked in open(2) or in read(2)), sends it
// SIGINT or SIGTERM, and checks it stops by itself with a failure status
// (not killed by the signal, not hanging).
func TestHartCommandsStopOnSignals(t *testing.T) {
	hab, err := studioHab()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := append(os.Environ(), "FS_ROOT="+filepath.Join(dir, "root"), "HOME="+filepath.Join(dir, "home"), "HAB_CACHE_KEY_PATH="+filepath.Join(dir, "keys"))
	type input struct {
		what  string
		path  func(t *testing.T) string
		await func(t *testing.T, pid int, p string, exited <-chan struct{})
	}
	fifo := func(t *testing.T) string {
		p := filepath.Join(t.TempDir(), "x.hart")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skip(err)
		}
		return p
	}
	inputs := []input{
		{"/dev/zero", func(*testing.T) string { return "/dev/zero" }, awaitFD},
		{"FIFO without writer", fifo, func(t *testing.T, pid int, p string, exited <-chan struct{}) {
			// Blocked in open(2): wait until it is (the FIFO has a reader).
			for {
				if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					// A writer that writes nothing: hab is now blocked in read(2).
					t.Cleanup(func() { w.Close() })
					return
				} else if !errors.Is(err, syscall.ENXIO) {
					t.Fatal(err)
				}
				select {
				case <-exited:
					t.Fatal("hab exited before it opened the FIFO")
				case <-time.After(5 * time.Millisecond):
				}
			}
		}},
	}
	for _, in := range inputs {
		for _, args := range [][]string{{"pkg", "hash"}, {"pkg", "verify"}, {"pkg", "header"}, {"pkg", "info"}, {"pkg", "install"}} {
			for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
				if in.what == "/dev/zero" && args[1] != "hash" {
					continue // these fail at once: /dev/zero holds no header
				}
				if in.what != "/dev/zero" && args[1] == "install" {
					continue // refused before it is opened: below
				}
				name := strings.Join(args, " ") + " " + in.what + " " + sig.String()
				t.Run(name, func(t *testing.T) {
					p := in.path(t)
					cmd := exec.Command(hab, append(args, p)...)
					cmd.Env = env
					var stderr bytes.Buffer
					cmd.Stderr = &stderr
					if err := cmd.Start(); err != nil {
						t.Fatal(err)
					}
					exited := make(chan struct{})
					var werr error
					go func() { werr = cmd.Wait(); close(exited) }()
					in.await(t, cmd.Process.Pid, p, exited)
					cmd.Process.Signal(sig)
					select {
					case <-exited:
					case <-time.After(60 * time.Second): // a failsafe, not a speed check
						cmd.Process.Kill()
						<-exited
						t.Fatalf("hab did not stop on %s; stderr:\n%s", sig, stderr.String())
					}
					var ee *exec.ExitError
					if !errors.As(werr, &ee) || ee.ExitCode() <= 0 {
						t.Fatalf("want a failure exit status, got %v; stderr:\n%s", werr, stderr.String())
					}
					if !strings.Contains(stderr.String(), "context canceled") {
						t.Errorf("stderr does not say it was cancelled:\n%s", stderr.String())
					}
				})
			}
		}
	}
}

// TestPkgInstallRefusesAFIFO: install reads a hart three times (verify,
// extract, cache), which a pipe cannot give, so a FIFO is refused before
// it is opened (no blocking in open(2)), naming it and what it is.
func TestPkgInstallRefusesAFIFO(t *testing.T) {
	hab, err := studioHab()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "x.hart")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(hab, "pkg", "install", p)
	cmd.Env = append(os.Environ(), "FS_ROOT="+filepath.Join(dir, "root"), "HOME="+filepath.Join(dir, "home"), "HAB_CACHE_KEY_PATH="+filepath.Join(dir, "keys"))
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second): // a failsafe, not a speed check
		cmd.Process.Kill()
		<-done
		t.Fatalf("hab pkg install blocked on a FIFO:\n%s", out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("want exit status 1, got %v:\n%s", err, out)
	}
	if !strings.Contains(string(out), p) || !strings.Contains(strings.ToLower(string(out)), "fifo") {
		t.Errorf("the error does not name the FIFO:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "root", "hab", "pkgs")); err == nil {
		entries, _ := os.ReadDir(filepath.Join(dir, "root", "hab", "pkgs"))
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				t.Errorf("something was installed: %s", e.Name())
			}
		}
	}
}
