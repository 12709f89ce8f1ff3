package chroot

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/habgo/hab/studio/internal/beneath"
	"github.com/habgo/hab/studio/rootfs"
)

// MaybeInit runs the studio init and exits when this process is one (the
// re-executed hab a Run starts); otherwise it returns at once. Call it
// first thing in main, and in TestMain of tests that run studios.
func MaybeInit() {
	if os.Getenv(initEnv) != "1" {
		return
	}
	os.Exit(initMain())
}

// initMain is the studio's PID 1: fd 3 carries its configuration, fd 4
// reports a setup failure (closed without a word once the command runs).
func initMain() int {
	syscall.CloseOnExec(3)
	syscall.CloseOnExec(4)
	cfgIn := os.NewFile(3, "studio-config")
	status := os.NewFile(4, "studio-status")
	fail := func(err error) int {
		fmt.Fprint(status, err.Error())
		status.Close()
		return 127
	}
	var ic initConfig
	if err := json.NewDecoder(cfgIn).Decode(&ic); err != nil {
		return fail(fmt.Errorf("studio init: read configuration: %w", err))
	}
	cfgIn.Close()
	if ic.Probe {
		if err := probe(); err != nil {
			return fail(err)
		}
		status.Close()
		return 0
	}
	if err := setup(ic); err != nil {
		return fail(err)
	}
	path, err := lookPath(ic.Argv[0], ic.Env)
	if err != nil {
		return fail(err)
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH)
	proc, err := os.StartProcess(path, ic.Argv, &os.ProcAttr{
		Dir:   ic.Workdir,
		Env:   ic.Env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
	})
	if err != nil {
		return fail(fmt.Errorf("start %s in the studio: %w", ic.Argv[0], err))
	}
	status.Close()
	go func() {
		for sig := range sigs {
			// A terminal's ^C already reached the command's group.
			if sig != syscall.SIGINT {
				_ = proc.Signal(sig)
			}
		}
	}()
	// As PID 1, reap every orphan until the command itself exits.
	code := 127
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return 127
		}
		if pid == proc.Pid {
			code = ws.ExitStatus()
			if ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
			break
		}
	}
	endRest(leftGrace)
	return code
}

// leftGrace is how long what the command left running (the background
// Supervisor of hab studio enter, and its services, which it stops with
// their own shutdown timeouts) has to end after SIGTERM.
const leftGrace = 15 * time.Second

// endRest ends every process left in the studio's PID namespace once its
// command has exited: SIGTERM to all, so that a Supervisor stops its
// services and hooks run, then SIGKILL to what remains after grace. It
// returns when none is left (the kernel would SIGKILL them when the init
// exits anyway; this lets them end cleanly first).
func endRest(grace time.Duration) {
	if err := syscall.Kill(-1, syscall.SIGTERM); errors.Is(err, syscall.ESRCH) {
		return // nothing left
	}
	timer := time.AfterFunc(grace, func() { _ = syscall.Kill(-1, syscall.SIGKILL) })
	defer timer.Stop()
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil { // ECHILD: every process is gone
			return
		}
	}
}

// setup makes the studio's mounts in the init's new mount namespace and
// pivots into it.
func setup(ic initConfig) error {
	if err := mountPrivate(); err != nil {
		return err
	}
	root := ic.Root
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("studio init: bind %s: %w", root, err)
	}
	// Mount points are opened beneath the root, following no link: a
	// link planted by a build (or swapped in by a build running in the
	// same studio) cannot carry a mount out of it.
	d, err := beneath.Open(root)
	if err != nil {
		return fmt.Errorf("studio init: %w", err)
	}
	defer d.Close()
	for _, m := range ic.Mounts {
		if err := mount(d, m, ic.UserNS); err != nil {
			return err
		}
	}
	if err := console(d); err != nil {
		return err
	}
	if err := unix.Sethostname([]byte(ic.Hostname)); err != nil {
		return fmt.Errorf("studio init: set host name %s: %w", ic.Hostname, err)
	}
	if !ic.Network {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("studio init: enter %s: %w", root, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("studio init: pivot_root into %s: %w", root, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("studio init: detach the host root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("studio init: %w", err)
	}
	return nil
}

// mountPrivate makes every mount of the init's namespace private:
// nothing done in it may propagate to the host.
func mountPrivate() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("studio init: make mounts private: %w", err)
	}
	return nil
}

// mount makes m beneath the studio root d. In a user namespace (userNS)
// the kernel refuses device nodes and some file systems: the host's
// devices are bound instead, and what cannot be had is said.
func mount(d *beneath.Dir, m rootfs.Mount, userNS bool) error {
	if err := rootfs.MountPoint(d, m); err != nil {
		return fmt.Errorf("studio init: %w", err)
	}
	target, err := d.OpenPath(m.Target)
	if err != nil {
		return fmt.Errorf("studio init: mount point %s: %w", m.Target, err)
	}
	defer target.Close()
	at := procPath(target)
	switch m.Kind {
	case rootfs.Tmpfs:
		flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV)
		if m.Target == "/dev" {
			flags = unix.MS_NOSUID
		}
		err = unix.Mount("tmpfs", at, "tmpfs", flags, m.Data)
		if err == nil && m.Target == "/dev" {
			err = makeDev(d, userNS)
		}
	case rootfs.Devpts:
		data := m.Data
		if userNS {
			// Only the invoking user's group (0 inside) is mapped: a
			// gid= option naming another is invalid there.
			data = withoutOption(data, "gid")
		}
		err = unix.Mount("devpts", at, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, data)
		if err != nil && userNS {
			// A kernel refusing a devpts instance in a user namespace
			// leaves the host's.
			err = bind(d, "/dev/pts", m.Target, false)
		}
	case rootfs.Proc:
		err = unix.Mount("proc", at, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
		if err != nil && userNS {
			err = fmt.Errorf("%w%s", err, procHint)
		}
	case rootfs.Sysfs:
		err = unix.Mount("sysfs", at, "sysfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
		if err != nil {
			// Without a network namespace of its own, a kernel refuses a
			// fresh sysfs; the host's, read-only, will do.
			err = bind(d, "/sys", m.Target, true)
		}
		if err != nil && userNS {
			fmt.Fprintf(os.Stderr, "hab-studio: note: /sys is empty in this studio: the kernel refuses sysfs in a user namespace here (%v)\n", err)
			err = nil
		}
	case rootfs.Bind:
		err = bind(d, m.Source, m.Target, m.ReadOnly)
	default:
		err = fmt.Errorf("unknown mount kind %d", m.Kind)
	}
	if err != nil {
		return fmt.Errorf("studio init: mount %s at %s: %w", describe(m), m.Target, err)
	}
	return nil
}

// procPath names what f was opened on, through this process's /proc.
func procPath(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

func describe(m rootfs.Mount) string {
	switch m.Kind {
	case rootfs.Bind:
		return m.Source
	case rootfs.Tmpfs:
		return "tmpfs"
	case rootfs.Devpts:
		return "devpts"
	case rootfs.Proc:
		return "proc"
	case rootfs.Sysfs:
		return "sysfs"
	}
	return "?"
}

// bind mounts the host path source at target beneath the studio root d
// (opened following no link), read-only when readOnly.
func bind(d *beneath.Dir, source, target string, readOnly bool) error {
	t, err := d.OpenPath(target)
	if err != nil {
		return err
	}
	defer t.Close()
	if err := unix.Mount(source, procPath(t), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	if !readOnly {
		return nil
	}
	// The remount must reach the new mount, which t (opened before it)
	// is under: the target is opened again, and must be the source.
	var src, got unix.Stat_t
	if err := unix.Stat(source, &src); err != nil {
		return err
	}
	mnt, err := d.OpenPath(target)
	if err != nil {
		return err
	}
	defer mnt.Close()
	if err := unix.Fstat(int(mnt.Fd()), &got); err != nil {
		return err
	}
	if got.Dev != src.Dev || got.Ino != src.Ino {
		return fmt.Errorf("%s changed under the studio while %s was mounted on it", target, source)
	}
	// A read-only remount keeps the flags the source mount has.
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(mnt.Fd()), &st); err != nil {
		return err
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	return unix.Mount("", procPath(mnt), "", flags, "")
}

// withoutOption drops the option name (name=value) from a
// comma-separated mount option list.
func withoutOption(data, name string) string {
	var keep []string
	for _, o := range strings.Split(data, ",") {
		if k, _, _ := strings.Cut(o, "="); k != name && o != "" {
			keep = append(keep, o)
		}
	}
	return strings.Join(keep, ",")
}

// makeDev fills the studio's /dev tmpfs (beneath the root d) with the
// minimal set of nodes: made with mknod, or, where that is not allowed
// (always in a user namespace, userNS), the host's nodes bound onto empty
// files. It works in the tmpfs through its descriptor.
func makeDev(d *beneath.Dir, userNS bool) error {
	dev, err := d.OpenDir("dev")
	if err != nil {
		return fmt.Errorf("open /dev: %w", err)
	}
	defer dev.Close()
	if st, err := dev.Fstatfs(); err != nil || st.Type != unix.TMPFS_MAGIC {
		return fmt.Errorf("/dev is not the tmpfs just mounted on it (changed from inside the studio?)")
	}
	nodes := []struct {
		name         string
		major, minor uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}}
	for _, n := range nodes {
		var err error = unix.EPERM
		if !userNS {
			err = unix.Mknodat(dev.Fd(), n.name, unix.S_IFCHR|0o666, int(unix.Mkdev(n.major, n.minor)))
		}
		if err != nil {
			if cerr := dev.CreateFile(n.name, 0o666); cerr != nil {
				return fmt.Errorf("create /dev/%s: %w", n.name, err)
			}
			if berr := bind(dev, "/dev/"+n.name, n.name, false); berr != nil {
				if userNS {
					return fmt.Errorf("create /dev/%s: bind the host's: %w", n.name, berr)
				}
				return fmt.Errorf("create /dev/%s: %w", n.name, errors.Join(err, berr))
			}
			continue
		}
		// mknod obeys the umask.
		if err := dev.Chmod(n.name, 0o666); err != nil {
			return fmt.Errorf("create /dev/%s: %w", n.name, err)
		}
	}
	links := [][2]string{{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
		{"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}, {"core", "/proc/kcore"}}
	for _, l := range links {
		if err := dev.Symlink(l[1], l[0]); err != nil {
			return fmt.Errorf("create /dev/%s: %w", l[0], err)
		}
	}
	for _, name := range []string{"pts", "shm"} {
		if err := dev.MkdirAll(name, 0o755); err != nil {
			return fmt.Errorf("create /dev/%s: %w", name, err)
		}
	}
	return nil
}

// console makes the terminal on the init's stdin, if any, the studio's
// /dev/console, so that programs inside can name their terminal.
func console(d *beneath.Dir) error {
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
		return nil
	}
	tty, err := os.Readlink("/proc/self/fd/0")
	if err != nil || !strings.HasPrefix(tty, "/dev/") {
		return nil
	}
	if err := d.CreateFile("dev/console", 0o600); err != nil {
		return fmt.Errorf("studio init: create /dev/console: %w", err)
	}
	if err := bind(d, tty, "dev/console", false); err != nil {
		return fmt.Errorf("studio init: mount %s at /dev/console: %w", tty, err)
	}
	return nil
}

// loopbackUp brings up lo in a new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("studio init: bring up lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("studio init: bring up lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("studio init: bring up lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("studio init: bring up lo: %w", err)
	}
	return nil
}

// lookPath finds name on the PATH of the command's environment, inside
// the studio.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := "/hab/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %s not found in the studio (PATH=%s)", name, path)
}
