package chroot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/habgo/hab/studio"
)

// ErrUserNamespaces is wrapped by the errors of studios a non-root user
// cannot run because the kernel refuses an unprivileged user namespace.
var ErrUserNamespaces = errors.New("unprivileged user namespaces are unavailable")

// UserNSError says why a non-root user cannot run a chroot studio and
// what would let them.
type UserNSError struct {
	// UID is the invoking user.
	UID int
	// Blocker names the kernel setting that forbids user namespaces
	// ("user.max_user_namespaces = 0"); empty when no known one does.
	Blocker string
	// Fix is what lifts the blocker (a sysctl command line).
	Fix string
	// Cause is the kernel's refusal as it surfaced.
	Cause error
}

func (e *UserNSError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "a chroot studio run by a non-root user (uid %d) needs an unprivileged user namespace, ", e.UID)
	if e.Blocker != "" {
		fmt.Fprintf(&b, "which the kernel forbids (%s): run as root, or allow them with '%s'", e.Blocker, e.Fix)
	} else {
		fmt.Fprintf(&b, "which the kernel refused: run as root, or %s", e.Fix)
	}
	if e.Cause != nil {
		fmt.Fprintf(&b, " (%v)", e.Cause)
	}
	return b.String()
}

// Unwrap gives ErrUserNamespaces and the cause.
func (e *UserNSError) Unwrap() []error { return []error{ErrUserNamespaces, e.Cause} }

// diagnoseUserNS explains, from the kernel settings under proc (normally
// /proc), why uid cannot have a user namespace; cause is the refusal.
// known reports whether a setting explains it.
func diagnoseUserNS(proc string, uid int, cause error) (err *UserNSError, known bool) {
	e := &UserNSError{UID: uid, Cause: cause}
	if _, serr := os.Lstat(filepath.Join(proc, "self", "ns", "user")); errors.Is(serr, os.ErrNotExist) {
		e.Blocker = "this kernel has no user namespaces (built without CONFIG_USER_NS)"
		e.Fix = "use a kernel built with CONFIG_USER_NS=y"
		return e, true
	}
	// The kernel settings that forbid unprivileged user namespaces: the
	// file under /proc, the value that forbids, the sysctl's name and the
	// command that allows.
	blockers := []struct{ file, forbids, name, fix string }{
		{"sys/kernel/unprivileged_userns_clone", "0", "kernel.unprivileged_userns_clone", "sysctl -w kernel.unprivileged_userns_clone=1"},
		{"sys/user/max_user_namespaces", "0", "user.max_user_namespaces", "sysctl -w user.max_user_namespaces=15000"},
		{"sys/kernel/apparmor_restrict_unprivileged_userns", "1", "kernel.apparmor_restrict_unprivileged_userns",
			"sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"},
	}
	for _, b := range blockers {
		data, rerr := os.ReadFile(filepath.Join(proc, b.file))
		if rerr != nil {
			continue // the setting does not exist in this kernel
		}
		if v := strings.TrimSpace(string(data)); v == b.forbids {
			e.Blocker = b.name + " = " + v
			e.Fix = b.fix
			return e, true
		}
	}
	e.Fix = "run where unprivileged user namespaces are allowed (a seccomp filter or the container this runs in may forbid them)"
	return e, false
}

// userNSError turns the refusal cause of a non-root studio into a
// UserNSError (always, when always is set; else only when a kernel
// setting explains it, returning cause otherwise).
func userNSError(cause error, always bool) error {
	e, known := diagnoseUserNS("/proc", os.Geteuid(), cause)
	if !known && !always {
		return cause
	}
	return e
}

// CheckUserNamespaces reports whether this process can run chroot
// studios: nil for root, and for a non-root user whose kernel gives it a
// user namespace it can mount in; else a *UserNSError (wrapping
// ErrUserNamespaces) saying what is needed. It starts a short-lived init
// that tries, so a program using it must call MaybeInit in main.
func CheckUserNamespaces(ctx context.Context) error {
	if os.Geteuid() == 0 {
		return nil
	}
	code, err := start(ctx, initConfig{Probe: true}, studio.Stdio{})
	var ue *UserNSError
	switch {
	case err != nil && (errors.As(err, &ue) || ctx.Err() != nil):
		return fmt.Errorf("check for user namespaces: %w", err)
	case err != nil:
		return userNSError(err, true)
	case code != 0:
		return userNSError(fmt.Errorf("the probe exited with status %d", code), true)
	}
	return nil
}

// procHint explains a proc the kernel refuses in a user namespace.
const procHint = " (in a user namespace the kernel mounts a proc only where the host's /proc is fully visible, not in a container masking parts of it)"

// probe is what the init does for CheckUserNamespaces: the first mounts
// a studio makes.
func probe() error {
	if err := mountPrivate(); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", "/tmp", "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=4k"); err != nil {
		return fmt.Errorf("studio init: mount a tmpfs in a user namespace: %w", err)
	}
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("studio init: mount a proc in a user namespace: %w%s", err, procHint)
	}
	return nil
}
