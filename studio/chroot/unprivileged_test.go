package chroot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/chroot"
)

// The environment of a test binary re-executed by the tests below.
const (
	scenarioEnv = "HAB_STUDIO_TEST_SCENARIO" // which scenario a re-executed test plays
	workEnv     = "HAB_STUDIO_TEST_WORK"     // a directory the re-executed test may write
	habEnv      = "HAB_STUDIO_TEST_HAB"      // a hab built by the parent
)

// nobody is the unprivileged uid and gid the tests switch to.
const nobody = 65534

// essentialTests are the studio tests TestUnprivileged re-runs as an
// unprivileged user.
const essentialTests = "^(TestInsideTheStudio|TestIsolation|TestExitStatus|TestOrphansAreReapedAndKilled|" +
	"TestCancelLeavesNothingBehind|TestFilesInSrcBelongToTheUser|TestUserNamespaceInside)$"

// reexecDir makes a directory the unprivileged user can reach, with a copy
// of this test binary and of the hab the studios mount, and a work
// directory belonging to that user. It is removed at the end of the test.
func reexecDir(t *testing.T) (bin, hab, work string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "studio-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "chroot.test")
	hab = filepath.Join(dir, "hab")
	for from, to := range map[string]string{self: bin, habBinary(t): hab} {
		if err := copyFile(from, to, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	work = filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(work, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	return bin, hab, work
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	return out.Close()
}

// reexec runs the test binary bin with attr, the scenario's environment
// and the test flags, and returns its combined output.
func reexec(t *testing.T, bin, scenario, hab, work string, attr *syscall.SysProcAttr, run string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"-test.run=" + run, "-test.v", "-test.count=1", "-test.timeout=110s"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{scenarioEnv + "=" + scenario, workEnv + "=" + work, habEnv + "=" + hab,
		"HOME=" + work, "TMPDIR=" + work, "PATH=" + os.Getenv("PATH")}
	cmd.Dir = work
	cmd.SysProcAttr = attr
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		// Not the studio's failure: this system does not let the test
		// switch users (a TMPDIR the user cannot reach, no user
		// namespaces even for root).
		t.Skipf("cannot start the test binary %s for scenario %s: %v", bin, scenario, err)
	}
	err := cmd.Wait()
	return out.String(), err
}

// The essential studio tests pass for an unprivileged user, whose studios
// run in a user namespace.
func TestUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("re-running the studio tests as uid 65534 needs root to switch users (as a non-root user they run directly)")
	}
	needStudios(t)
	bin, hab, work := reexecDir(t)
	attr := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	out, err := reexec(t, bin, "unprivileged", hab, work, attr, essentialTests)
	if strings.Contains(out, "--- SKIP: TestInsideTheStudio") {
		t.Skipf("as uid %d the studio tests skip (the kernel refuses user namespaces?):\n%s", nobody, out)
	}
	if err != nil || strings.Contains(out, "--- FAIL") {
		t.Fatalf("the studio tests as uid %d: %v\n%s", nobody, err, out)
	}
	for _, name := range []string{"TestInsideTheStudio", "TestIsolation", "TestExitStatus", "TestOrphansAreReapedAndKilled",
		"TestCancelLeavesNothingBehind", "TestFilesInSrcBelongToTheUser", "TestUserNamespaceInside"} {
		if !regexp.MustCompile(`(?m)^--- PASS: ` + name + ` `).MatchString(out) {
			t.Errorf("as uid %d, %s did not pass:\n%s", nobody, name, out)
		}
	}
}

// TestUserNamespaceInside checks what is particular to a non-root user's
// studio: the user is root inside and only that user is mapped, files
// made in /src are the user's, read-only mounts stay read-only.
func TestUserNamespaceInside(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("a user namespace is what a non-root user's studio has; TestUnprivileged runs this as uid 65534")
	}
	src := t.TempDir()
	ro := t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "file"), []byte("read only\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStudio(t, src, studio.WithReadOnlyMount(ro, "/ro"))
	uid, gid := os.Geteuid(), os.Getegid()
	tests := []struct{ name, script, want string }{
		{"root inside", "id -u; id -g", "0\n0\n"},
		{"only the user is mapped", "cat /proc/self/uid_map /proc/self/gid_map | tr -s ' ' | sed 's/^ //'",
			fmt.Sprintf("0 %d 1\n0 %d 1\n", uid, gid)},
		{"no other uid", "touch /src/other; chown 1234 /src/other 2>/dev/null || echo refused", "refused\n"},
		{"/src writable", "echo made > /src/made && cat /src/made", "made\n"},
		{"read-only mount readable", "cat /ro/file", "read only\n"},
		{"read-only mount refuses writes", "(echo x > /ro/file) 2>/dev/null || (touch /ro/new) 2>/dev/null || echo refused", "refused\n"},
		{"read-only mount is ro", "awk '$2 == \"/ro\" {print $4}' /proc/mounts | cut -d, -f1", "ro\n"},
		{"/dev/null is the host's", "stat -c %t:%T /dev/null", "1:3\n"},
		{"/sys readable", "test -d /sys/class && echo ok", "ok\n"},
		{"pty instance of its own", "test -c /dev/pts/ptmx && awk '$2 == \"/dev/pts\" {print $4}' /proc/mounts | tr , '\\n' | grep ptmxmode", "ptmxmode=666\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := sh(t, s, tt.script)
			if code != 0 || out != tt.want {
				t.Errorf("status %d, output %q, want %q", code, out, tt.want)
			}
		})
	}
	for _, name := range []string{"made", "other"} {
		fi, err := os.Lstat(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != uid || int(st.Gid) != gid {
			t.Errorf("/src/%s belongs to %d:%d outside, want the user's %d:%d", name, st.Uid, st.Gid, uid, gid)
		}
	}
	if data, err := os.ReadFile(filepath.Join(ro, "file")); err != nil || string(data) != "read only\n" {
		t.Errorf("the read-only mount's file changed: %q %v", data, err)
	}
}

// A non-root user whose kernel refuses user namespaces gets an error that
// says so and what would help, and nothing is left behind. The refusal is
// made safely: in a user namespace of its own whose user.max_user_namespaces
// is 0, which limits nothing outside it.
func TestUserNamespacesRefused(t *testing.T) {
	switch os.Getenv(scenarioEnv) {
	case "refused-launch":
		refusedLaunch(t)
		return
	case "refused":
		refused(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("making the kernel refuse user namespaces to uid 65534 needs root")
	}
	bin, hab, work := reexecDir(t)
	// Root and nobody are mapped as they are: the launcher, root in the
	// new namespace, limits it and becomes nobody.
	attr := &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: nobody, HostID: nobody, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: nobody, HostID: nobody, Size: 1}},
		GidMappingsEnableSetgroups: true,
	}
	out, err := reexec(t, bin, "refused-launch", hab, work, attr, "^TestUserNamespacesRefused$")
	if strings.Contains(out, "--- SKIP") {
		t.Skipf("cannot simulate a kernel refusing user namespaces:\n%s", out)
	}
	if err != nil || !strings.Contains(out, "--- PASS: TestUserNamespacesRefused") || !strings.Contains(out, "refused as expected") {
		t.Fatalf("the refused scenario: %v\n%s", err, out)
	}
	if i := strings.Index(out, "refused as expected: "); i >= 0 {
		line, _, _ := strings.Cut(out[i:], "\n")
		t.Log(line)
	}
}

// refusedLaunch runs as root in a fresh user namespace: it forbids
// further user namespaces in it and re-runs the test as nobody.
func refusedLaunch(t *testing.T) {
	const limit = "/proc/sys/user/max_user_namespaces"
	if err := os.WriteFile(limit, []byte("0\n"), 0o644); err != nil {
		t.Skipf("cannot limit user namespaces in a user namespace of the test's own: %v", err)
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	work := os.Getenv(workEnv)
	attr := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	out, err := reexec(t, bin, "refused", os.Getenv(habEnv), work, attr, "^TestUserNamespacesRefused$")
	t.Log(out)
	if err != nil || !strings.Contains(out, "--- PASS: TestUserNamespacesRefused") {
		t.Fatalf("as uid %d with user namespaces refused: %v", nobody, err)
	}
}

// refused runs as nobody where user namespaces are refused.
func refused(t *testing.T) {
	ctx := context.Background()
	err := chroot.CheckUserNamespaces(ctx)
	var ue *chroot.UserNSError
	if !errors.As(err, &ue) || !errors.Is(err, chroot.ErrUserNamespaces) {
		t.Fatalf("CheckUserNamespaces: %v, want a UserNSError", err)
	}
	for _, want := range []string{"user.max_user_namespaces = 0", "'sysctl -w user.max_user_namespaces=15000'", "run as root", "uid " + strconv.Itoa(nobody)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CheckUserNamespaces: %q lacks %q", err, want)
		}
	}
	// A studio can be laid out, but not run; the run leaves nothing.
	work := os.Getenv(workEnv)
	src := filepath.Join(work, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(work, "studios", "src")
	s, err := chroot.New(root, chroot.WithMount(src, "/src"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx); err != nil {
		t.Fatal(err)
	}
	before := mountinfo(t)
	code, err := s.Run(ctx, []string{"sh", "-c", "touch /src/ran"}, studio.Stdio{})
	if !errors.Is(err, chroot.ErrUserNamespaces) || !strings.Contains(err.Error(), "user.max_user_namespaces = 0") || !strings.Contains(err.Error(), root) {
		t.Errorf("Run: %d %v, want an error naming the studio and the setting", code, err)
	}
	if _, err := os.Stat(filepath.Join(src, "ran")); err == nil {
		t.Error("the command ran")
	}
	if after := mountinfo(t); after != before {
		t.Error("the mount table changed")
	}
	if err := s.Remove(ctx); err != nil {
		t.Error(err)
	}
	t.Log("refused as expected: " + err.Error())
}
