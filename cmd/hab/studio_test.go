package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"github.com/habgo/hab/internal/habbin"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/chroot"
	"github.com/habgo/hab/studio/rootfs"
)

// TestMain lets this test binary be a studio's init, as hab's main does.
func TestMain(m *testing.M) {
	chroot.MaybeInit()
	if os.Getenv("HAB_STUDIO_TEST_MAIN") == "1" {
		os.Exit(studioTestMain())
	}
	os.Exit(m.Run())
}

// studioTestMain is main with the studio commands, for tests that need a
// real hab process (signals).
func studioTestMain() int {
	ctx, stop := signalContext(context.Background())
	defer stop()
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, root: paths.FromEnv(os.Getenv)}
	a.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	root := a.rootCmd()
	if c, _, err := root.Find([]string{"studio"}); err != nil || c == root {
		a.addStudioCommands(root)
	}
	return execute(ctx, root, a, os.Args[1:])
}

// studioHab is a hab built from this tree, mounted in the studios under
// test (the test binary itself is no hab command).
var studioHab = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hab-studio-cli-test-")
	if err != nil {
		return "", err
	}
	return habbin.Build(dir)
})

// studioCLI runs "hab ARGS" in-process with the studio commands added to
// the root (until main.go adds them itself) and the host environment plus
// env.
func studioCLI(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: getenv, root: paths.FromEnv(getenv)}
	a.log = slog.New(slog.DiscardHandler)
	root := a.rootCmd()
	if c, _, err := root.Find([]string{"studio"}); err != nil || c == root {
		a.addStudioCommands(root)
	}
	code := execute(context.Background(), root, a, args)
	return code, out.String(), errb.String()
}

// execute mirrors run's handling of errors and exit codes.
func execute(ctx context.Context, root *cobra.Command, a *app, args []string) int {
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	a.stderr.Write([]byte("✗✗✗ " + err.Error() + "\n"))
	return exitCode(err)
}

// studiosWork says why studios cannot run here, once.
var studiosWork = sync.OnceValue(func() string {
	if os.Geteuid() != 0 {
		return "hab studio needs root (mounts, pivot_root, namespaces); run the tests as root"
	}
	dir, err := os.MkdirTemp("", "hab-studio-probe-")
	if err != nil {
		return err.Error()
	}
	defer os.RemoveAll(dir)
	s, err := chroot.New(filepath.Join(dir, "s"))
	if err == nil {
		err = s.Create(context.Background())
	}
	if err != nil {
		return "cannot lay out a studio: " + err.Error()
	}
	if code, err := s.Run(context.Background(), []string{"true"}, studio.Stdio{}); err != nil || code != 0 {
		return fmt.Sprintf("namespaces are unavailable here: a studio cannot run true: %d %v", code, err)
	}
	return ""
})

func needStudioRoot(t *testing.T) string {
	t.Helper()
	if why := studiosWork(); why != "" {
		t.Skip(why)
	}
	bin, err := studioHab()
	if err != nil {
		t.Fatalf("build hab for the studio: %v", err)
	}
	return bin
}

// studioTestEnv is a temporary FS_ROOT and key cache, with the source
// path src.
func studioTestEnv(t *testing.T, bin, src string) map[string]string {
	base := t.TempDir()
	return map[string]string{
		"FS_ROOT":            filepath.Join(base, "root"),
		"HAB_CACHE_KEY_PATH": filepath.Join(base, "keys"),
		"HOME":               filepath.Join(base, "home"),
		"HAB_STUDIO_HAB_BIN": bin,
		"SRC_PATH":           src,
		"HAB_ORIGIN":         "",
		"HAB_ORIGIN_KEYS":    "",
		"HAB_STUDIO_ROOT":    "",
		"HAB_STUDIOS_HOME":   "",
		"SUDO_UID":           "",
		"SUDO_GID":           "",
	}
}

func TestStudioLifecycle(t *testing.T) {
	bin := needStudioRoot(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("source\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := studioTestEnv(t, bin, src)
	root := filepath.Join(env["FS_ROOT"], "hab", "studios", rootfs.DirName(src))

	code, _, stderr := studioCLI(t, "", env, "studio", "new")
	if code != 0 {
		t.Fatalf("hab studio new: %d %s", code, stderr)
	}
	if !strings.Contains(stderr, "Creating Studio at "+root+" (default)") {
		t.Errorf("hab studio new said %q", stderr)
	}
	if _, err := os.Stat(filepath.Join(root, rootfs.MarkerFile)); err != nil {
		t.Errorf("no studio at %s: %v", root, err)
	}

	code, stdout, stderr := studioCLI(t, "", env, "studio", "run", "cat", "/src/file", "&&", "hab", "--version", "&&", "echo", "$STUDIO_TYPE")
	if code != 0 || !strings.HasPrefix(stdout, "source\nhab "+version+"\n") || !strings.HasSuffix(stdout, "\ndefault\n") {
		t.Errorf("hab studio run: %d %q %q", code, stdout, stderr)
	}

	code, _, stderr = studioCLI(t, "", env, "studio", "run", "exit", "3")
	if code != 3 {
		t.Errorf("hab studio run exit 3: status %d (%s)", code, stderr)
	}

	for _, args := range [][]string{{"studio", "version"}, {"studio", "ver"}, {"studio", "-V"}} {
		code, stdout, _ = studioCLI(t, "", env, args...)
		if code != 0 || stdout != "hab-studio "+version+"\n" {
			t.Errorf("hab %s: %d %q", strings.Join(args, " "), code, stdout)
		}
	}
	// The original's abbreviations.
	if code, stdout, stderr := studioCLI(t, "", env, "studio", "r", "echo", "abbreviated"); code != 0 || stdout != "abbreviated\n" {
		t.Errorf("hab studio r: %d %q %s", code, stdout, stderr)
	}

	code, _, stderr = studioCLI(t, "", env, "studio", "rm")
	if code != 0 {
		t.Fatalf("hab studio rm: %d %s", code, stderr)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("studio %s still there after rm", root)
	}
	if _, err := os.Stat(filepath.Join(src, "file")); err != nil {
		t.Errorf("rm damaged the source tree: %v", err)
	}
}

func TestStudioEnterPrompt(t *testing.T) {
	bin := needStudioRoot(t)
	src := t.TempDir()
	env := studioTestEnv(t, bin, src)
	code, stdout, stderr := studioCLI(t, "echo inside $PWD\nfalse\nexit 0\n", env, "studio", "enter")
	if code != 0 {
		t.Fatalf("hab studio enter: %d %s", code, stderr)
	}
	if !strings.Contains(stdout, "inside /src\n") {
		t.Errorf("stdout %q", stdout)
	}
	for _, want := range []string{"Entering Studio at ", "[1][default:/src:0]# ", "[3][default:/src:1]# "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("enter output lacks %q:\n%s", want, stderr)
		}
	}
}

func TestStudioEnvironmentAndSecrets(t *testing.T) {
	bin := needStudioRoot(t)
	env := studioTestEnv(t, bin, t.TempDir())
	t.Setenv("HAB_STUDIO_SECRET_MY_TOKEN", "t0ps3cret")
	t.Setenv("HAB_BLDR_CHANNEL", "unstable")
	t.Setenv("NOT_PASSED_IN", "x")
	code, stdout, stderr := studioCLI(t, "", env, "studio", "run", "env")
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	for _, want := range []string{"MY_TOKEN=t0ps3cret\n", "HAB_BLDR_CHANNEL=unstable\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("studio environment lacks %q:\n%s", want, stdout)
		}
	}
	for _, not := range []string{"NOT_PASSED_IN", "HAB_STUDIO_SECRET_", "HAB_STUDIO_HAB_BIN", "FS_ROOT"} {
		if strings.Contains(stdout, not) {
			t.Errorf("studio environment has %q:\n%s", not, stdout)
		}
	}
	code, _, stderr = studioCLI(t, "", env, "studio", "enter")
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	if strings.Contains(stderr, "t0ps3cret") || !strings.Contains(stderr, "Exported: MY_TOKEN=[redacted]") {
		t.Errorf("secret report: %s", stderr)
	}
	studioCLI(t, "", env, "studio", "rm")
}

func TestStudioImportsOriginKeys(t *testing.T) {
	bin := needStudioRoot(t)
	env := studioTestEnv(t, bin, t.TempDir())
	cache := crypto.Cache{Dir: env["HAB_CACHE_KEY_PATH"]}
	for _, o := range []string{"acme", "other"} {
		if _, _, err := cache.NewSigningPair(o, time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"HAB_ORIGIN", map[string]string{"HAB_ORIGIN": "acme"}, nil, "acme-20240506070809.pub acme-20240506070809.sig.key "},
		{"HAB_ORIGIN_KEYS", map[string]string{"HAB_ORIGIN": "acme", "HAB_ORIGIN_KEYS": "other"}, nil, "other-20240506070809.pub other-20240506070809.sig.key "},
		{"-k", nil, []string{"-k", "acme,other"}, "acme-20240506070809.pub acme-20240506070809.sig.key other-20240506070809.pub other-20240506070809.sig.key "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := studioTestEnv(t, bin, t.TempDir())
			e["HAB_CACHE_KEY_PATH"] = env["HAB_CACHE_KEY_PATH"]
			for k, v := range tt.env {
				e[k] = v
			}
			args := append(append([]string{"studio"}, tt.args...), "run", "ls /hab/cache/keys | tr '\\n' ' '")
			code, stdout, stderr := studioCLI(t, "", e, args...)
			if code != 0 || stdout != tt.want {
				t.Errorf("keys in the studio: %d %q, want %q (%s)", code, stdout, tt.want, stderr)
			}
			studioCLI(t, "", e, "studio", "rm")
		})
	}
}

func TestStudioSudoUserOwnsSourceFiles(t *testing.T) {
	bin := needStudioRoot(t)
	src := t.TempDir()
	if err := os.Chown(src, 4321, 4322); err != nil {
		t.Fatal(err)
	}
	env := studioTestEnv(t, bin, src)
	env["SUDO_UID"], env["SUDO_GID"] = "4321", "4322"
	if code, _, stderr := studioCLI(t, "", env, "studio", "run", "touch /src/made && mkdir /src/dir"); code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	for _, p := range []string{"made", "dir"} {
		fi, err := os.Stat(filepath.Join(src, p))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 4321 || st.Gid != 4322 {
			t.Errorf("%s belongs to %d:%d, want 4321:4322", p, st.Uid, st.Gid)
		}
	}
	studioCLI(t, "", env, "studio", "rm")
}

func TestStudioBuildRecreatesUnlessReused(t *testing.T) {
	bin := needStudioRoot(t)
	src := t.TempDir()
	env := studioTestEnv(t, bin, src)
	root := filepath.Join(env["FS_ROOT"], "hab", "studios", rootfs.DirName(src))
	if code, _, stderr := studioCLI(t, "", env, "studio", "new"); code != 0 {
		t.Fatal(stderr)
	}
	marker := filepath.Join(root, "var", "marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The outcome of the build itself is "hab plan build"'s business; the
	// studio's part is to run it in a fresh or a reused studio.
	_, _, stderr := studioCLI(t, "", env, "studio", "build", "-R", "nowhere")
	if !strings.Contains(stderr, "Building 'nowhere' in Studio at "+root) {
		t.Errorf("build -R said %q", stderr)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("build -R did not reuse the studio: %v", err)
	}
	studioCLI(t, "", env, "studio", "build", "nowhere")
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("build without -R reused the studio: %v", err)
	}
	studioCLI(t, "", env, "studio", "rm")
}

func TestStudioContainer(t *testing.T) {
	bin := needStudioRoot(t)
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc is not installed (apt-get install runc)")
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("in a container\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := studioTestEnv(t, bin, src)
	code, stdout, stderr := studioCLI(t, "", env, "studio", "-D", "run", "cat /src/file; hab --version")
	if code != 0 || !strings.HasPrefix(stdout, "in a container\nhab "+version+"\n") {
		t.Errorf("hab studio -D run: %d %q %s", code, stdout, stderr)
	}
	if code, _, stderr := studioCLI(t, "", env, "studio", "-D", "rm"); code != 0 {
		t.Errorf("hab studio -D rm: %s", stderr)
	}
}

func TestStudioNoNetworkFlag(t *testing.T) {
	bin := needStudioRoot(t)
	env := studioTestEnv(t, bin, t.TempDir())
	code, stdout, stderr := studioCLI(t, "", env, "studio", "--no-network", "run", "ls /sys/class/net")
	if code != 0 || stdout != "lo\n" {
		t.Errorf("--no-network: %d %q %s", code, stdout, stderr)
	}
	studioCLI(t, "", env, "studio", "rm")
}

func TestStudioErrors(t *testing.T) {
	if os.Geteuid() != 0 {
		// Chroot studios work for other users through a user namespace;
		// container studios still need root.
		env := map[string]string{"SRC_PATH": t.TempDir(), "HOME": t.TempDir()}
		code, _, stderr := studioCLI(t, "", env, "studio", "new", "-D")
		if code != exitStudioNotRoot || !strings.Contains(stderr, "requires root") {
			t.Errorf("-D as non-root: %d %s", code, stderr)
		}
		t.Skip("the rest needs root")
	}
	bin := needStudioRoot(t)
	src := t.TempDir()
	foreign := t.TempDir()
	os.WriteFile(filepath.Join(foreign, "precious"), nil, 0o644)
	keys := t.TempDir()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"unknown type", []string{"studio", "-t", "busybox", "new"}, nil, exitStudioType, "Invalid Studio type: busybox"},
		{"missing source", []string{"studio", "-s", "/nonexistent/src", "new"}, nil, exitError, "/nonexistent/src"},
		{"missing origin key", []string{"studio", "-k", "nokeyorigin", "new"}, map[string]string{"HAB_CACHE_KEY_PATH": keys}, exitError, "nokeyorigin"},
		{"foreign root", []string{"studio", "-r", foreign, "new"}, nil, exitError, foreign},
		{"foreign root rm", []string{"studio", "-r", foreign, "rm"}, nil, exitError, foreign},
		{"hermetic", []string{"studio", "--hermetic", "new"}, nil, exitError, "--hermetic"},
		{"run without command", []string{"studio", "run"}, nil, exitUsage, "requires at least 1 arg"},
		{"unknown subcommand", []string{"studio", "frobnicate"}, nil, exitUsage, ""},
		{"runc missing", []string{"studio", "-D", "new"}, map[string]string{"PATH": "/nonexistent"}, exitError, "runc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := studioTestEnv(t, bin, src)
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.env["PATH"] != "" {
				t.Setenv("PATH", tt.env["PATH"])
			}
			code, _, stderr := studioCLI(t, "", env, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("hab %s: status %d, want %d; stderr %q, want %q", strings.Join(tt.args, " "), code, tt.code, stderr, tt.want)
			}
			if _, err := os.Stat(filepath.Join(foreign, "precious")); err != nil {
				t.Errorf("the foreign directory was damaged: %v", err)
			}
			studios := filepath.Join(env["FS_ROOT"], "hab", "studios")
			if entries, _ := os.ReadDir(studios); len(entries) > 0 {
				t.Errorf("a failed command left %d studio(s) in %s", len(entries), studios)
			}
		})
	}
}

// SIGINT to hab while a command runs in a studio kills the command and
// everything it started, leaves no mount behind and fails.
func TestStudioInterrupt(t *testing.T) {
	bin := needStudioRoot(t)
	src := t.TempDir()
	before, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for i, phase := range []string{"while the command runs", "right after start"} {
		env := studioTestEnv(t, bin, src)
		cmd := exec.Command("/proc/self/exe", "studio", "-q", "run", "echo ready; sleep 4244."+strconv.Itoa(i))
		cmd.Env = []string{"HAB_STUDIO_TEST_MAIN=1", "PATH=" + os.Getenv("PATH")}
		for k, v := range env {
			if v != "" {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			if line != "ready\n" {
				t.Fatalf("%s: the command did not start: %q %s", phase, line, stderr.String())
			}
		}
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if err == nil {
			t.Errorf("%s: hab exited 0 after SIGINT", phase)
		}
		after, _ := os.ReadFile("/proc/self/mountinfo")
		if !bytes.Equal(before, after) {
			t.Errorf("%s: the mount table changed", phase)
		}
		if left := processesWith("4244." + strconv.Itoa(i)); len(left) > 0 {
			t.Errorf("%s: processes left behind: %v", phase, left)
		}
		studioCLI(t, "", env, "studio", "rm")
	}
}

// processesWith lists the processes whose command line contains arg.
func processesWith(arg string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cl, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cl, []byte(arg)) {
			out = append(out, e.Name())
		}
	}
	return out
}

// syncBuffer collects a process's output for waiting on.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls until cond holds, failing after a while.
func waitFor(t *testing.T, what string, cond func() bool, out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; output so far:\n%s", what, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hab studio enter on a real terminal: the shell gets the terminal's
// foreground, so ^C interrupts the shell's command and not the studio.
func TestStudioEnterOnATerminal(t *testing.T) {
	bin := needStudioRoot(t)
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) (util-linux) is needed to give hab a terminal")
	}
	src := t.TempDir()
	env := studioTestEnv(t, bin, src)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, "-qec", "exec "+self+" studio -q enter", "/dev/null")
	cmd.Env = []string{"HAB_STUDIO_TEST_MAIN=1", "PATH=" + os.Getenv("PATH"), "TERM=dumb"}
	for k, v := range env {
		if v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "the first prompt", func() bool { return strings.Contains(out.String(), "[1][default:/src:0]#") }, out)
	io.WriteString(in, "echo answer $((6*7)) $(tty)\n")
	waitFor(t, "the answer", func() bool { return strings.Contains(out.String(), "answer 42 /dev/console") }, out)
	io.WriteString(in, "sleep 4246\n")
	waitFor(t, "sleep to start", func() bool { return len(processesWith("4246")) > 0 }, out)
	io.WriteString(in, "\x03")
	waitFor(t, "the prompt after ^C", func() bool { return strings.Contains(out.String(), ":130]#") }, out)
	io.WriteString(in, "exit 0\n")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("hab studio enter: %v\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("hab studio enter did not exit:\n%s", out.String())
	}
	if left := processesWith("4246"); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
	studioCLI(t, "", env, "studio", "rm")
}
