// Package rootfs lays out a studio's root directory on the host and plans
// the mounts that turn it into a build environment. Both studio kinds
// (studio/chroot and studio/runc) use it, so a studio looks the same inside
// whichever runs it.
package rootfs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/paths"
	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/backline"
	"github.com/habgo/hab/studio/internal/beneath"
)

// MarkerFile is the file at the root of every studio (the original's
// ".studio" configuration); Remove refuses directories without it.
const MarkerFile = ".studio"

// BasePackages are the packages whose presence in the studio's own
// /hab/pkgs makes the host toolchain fallback unnecessary.
var basePackages = []string{"core/bash", "core/coreutils"}

// DirName turns a source path into a studio directory name as the
// original does: "/" is "root", the leading slash goes, other slashes
// become "--" and spaces "-".
func DirName(src string) string {
	if src == "/" {
		return "root"
	}
	s := strings.TrimPrefix(src, "/")
	s = strings.ReplaceAll(s, "/", "--")
	return strings.ReplaceAll(s, " ", "-")
}

// StudiosDir is where the studios of the user r describes live by
// default: FS_ROOT/hab/studios for root, and ~/.hab/studios for other
// users, whose studios run in a user namespace and are theirs on disk
// (the per-user caches are under ~/.hab/cache likewise).
func StudiosDir(r paths.Root) string {
	if r.Root || r.Home == "" {
		return r.Studios()
	}
	return filepath.Join(r.Home, ".hab", "studios")
}

// Kind is the kind of a planned mount.
type Kind int

// Mount kinds.
const (
	Bind   Kind = iota // bind mount of a host path
	Tmpfs              // fresh tmpfs
	Proc               // fresh proc for the studio's PID namespace
	Sysfs              // sysfs, read-only
	Devpts             // a new devpts instance
)

// Mount is one mount a studio makes, in order.
type Mount struct {
	Kind     Kind
	Source   string // host path, for Bind
	Target   string // path inside the studio
	ReadOnly bool
	File     bool   // Bind of a file
	Data     string // file system options (tmpfs mode, devpts options)
}

// Plan is what a studio mounts and whether it borrows the host toolchain.
type Plan struct {
	Mounts []Mount
	// HostTools are the host directories mounted read-only because the
	// studio has no base packages; empty when it has them.
	HostTools []string
	// Path is the command's PATH when the studio's backline is installed
	// (/hab/bin and the backline's runtime PATH); empty otherwise.
	Path string
}

// Env is the command's environment (see Env) with PATH from the
// backline when the studio has it.
func (p Plan) Env(cfg studio.Config) []string {
	env := Env(cfg)
	if p.Path == "" {
		return env
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PATH=") {
			out = append(out, kv)
		}
	}
	return append(out, "PATH="+p.Path)
}

// HasBasePackages reports whether the studio at root has its own shell and
// core utilities installed in /hab/pkgs.
func HasBasePackages(root string) bool {
	for _, p := range basePackages {
		entries, err := os.ReadDir(filepath.Join(root, "hab", "pkgs", p))
		if err != nil || len(entries) == 0 {
			return false
		}
	}
	return true
}

// hostTools splits the configured host directories into those that exist
// as directories (to bind) and symlinks (to recreate), skipping absent
// ones.
func hostTools(dirs []string) (binds []string, links map[string]string, err error) {
	links = map[string]string{}
	for _, d := range dirs {
		fi, err := os.Lstat(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("inspect host directory %s: %w", d, err)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(d)
			if err != nil {
				return nil, nil, fmt.Errorf("read host symlink %s: %w", d, err)
			}
			links[d] = t
		case fi.IsDir():
			binds = append(binds, d)
		}
	}
	return binds, links, nil
}

// errHermetic explains why a hermetic studio cannot be built.
func errHermetic(root string, cfg studio.Config) error {
	return fmt.Errorf("studio %s has no base packages: %s (nor are %s in the studio), and --hermetic refuses the host toolchain fallback",
		root, backline.Where(root, cfg.Backline), strings.Join(basePackages, ", "))
}

// MakePlan lists the mounts for the studio at root: /dev, /dev/pts,
// /dev/shm, /proc, /sys (read-only), /run and /tmp (private tmpfs), the
// host toolchain (read-only) when the studio has no base packages, the hab
// binary at /hab/bin/hab (read-only) and the configured bind mounts.
func MakePlan(root string, cfg studio.Config) (Plan, error) {
	p := Plan{Mounts: []Mount{
		{Kind: Tmpfs, Target: "/dev", Data: "mode=755"},
		{Kind: Devpts, Target: "/dev/pts", Data: "newinstance,ptmxmode=0666,mode=620,gid=5"},
		{Kind: Tmpfs, Target: "/dev/shm", Data: "mode=1777"},
		{Kind: Proc, Target: "/proc"},
		{Kind: Sysfs, Target: "/sys", ReadOnly: true},
		{Kind: Tmpfs, Target: "/run", Data: "mode=755"},
		{Kind: Tmpfs, Target: "/tmp", Data: "mode=1777"},
	}}
	// Reading the studio's installed metadata is quick local I/O.
	ctx := context.Background()
	bp, err := backline.Installed(ctx, root, cfg.Backline)
	switch {
	case err == nil:
		if p.Path, err = backline.Path(ctx, root, bp); err != nil {
			return Plan{}, err
		}
	case !errors.Is(err, backline.ErrNotFound):
		return Plan{}, fmt.Errorf("studio %s: %w", root, err)
	}
	if p.Path == "" && !HasBasePackages(root) {
		if cfg.Hermetic {
			return Plan{}, errHermetic(root, cfg)
		}
		binds, _, err := hostTools(cfg.HostTools)
		if err != nil {
			return Plan{}, err
		}
		for _, d := range binds {
			p.Mounts = append(p.Mounts, Mount{Kind: Bind, Source: d, Target: d, ReadOnly: true})
		}
		p.HostTools = binds
	}
	if cfg.HabBinary != "" {
		p.Mounts = append(p.Mounts, Mount{Kind: Bind, Source: cfg.HabBinary, Target: "/hab/bin/hab", ReadOnly: true, File: true})
	}
	for _, m := range cfg.Mounts {
		fi, err := os.Stat(m.Source)
		if err != nil {
			return Plan{}, fmt.Errorf("studio mount %s at %s: %w", m.Source, m.Target, err)
		}
		if !filepath.IsAbs(m.Target) {
			return Plan{}, fmt.Errorf("studio mount %s: target %q is not an absolute path", m.Source, m.Target)
		}
		p.Mounts = append(p.Mounts, Mount{Kind: Bind, Source: m.Source, Target: filepath.Clean(m.Target), ReadOnly: m.ReadOnly, File: !fi.IsDir()})
	}
	return p, nil
}

// HostToolsWarning is the line a run prints when the host's toolchain
// stands in for the studio's base packages.
func HostToolsWarning(plan Plan, cfg studio.Config) string {
	return fmt.Sprintf("the studio has no base packages (%s not found): the host's %s are mounted read-only inside",
		cfg.Backline.Ident, strings.Join(plan.HostTools, " "))
}

// ForRun checks that root is a studio, makes the plan of a run in it,
// says (through cfg.Warn) when the host toolchain stands in for base
// packages, and makes sure every mount point exists, following no link
// inside the root.
func ForRun(root string, cfg studio.Config) (Plan, error) {
	d, err := beneath.Open(root)
	if err != nil {
		return Plan{}, fmt.Errorf("not a studio, create it first: %w", err)
	}
	defer d.Close()
	if st, err := d.Lstat(MarkerFile); err != nil {
		return Plan{}, fmt.Errorf("not a studio, create it first: %w", err)
	} else if beneath.IsLink(st) {
		return Plan{}, fmt.Errorf("studio %s: /%s is a symlink, not the studio's marker; remove the studio and create it again", root, MarkerFile)
	}
	plan, err := MakePlan(root, cfg)
	if err != nil {
		return Plan{}, err
	}
	if len(plan.HostTools) > 0 {
		cfg.Warn(HostToolsWarning(plan, cfg))
	}
	for _, m := range plan.Mounts {
		if err := MountPoint(d, m); err != nil {
			return Plan{}, fmt.Errorf("studio %s: %w", root, err)
		}
	}
	return plan, nil
}

// Env is the command's environment: cfg.Env, or a minimal one.
func Env(cfg studio.Config) []string {
	if cfg.Env != nil {
		return cfg.Env
	}
	return []string{"PATH=" + studio.Path, "HOME=/root", "LC_ALL=POSIX", "STUDIO_TYPE=" + cfg.Type}
}

// Prepare lays out the studio at root (idempotent): the directories, the
// studio's backline (cfg.Backline's runtime closure installed into its own
// /hab/pkgs from the host, with the links /bin/sh, /bin/bash and
// /usr/bin/env), the mount points of MakePlan, /etc (passwd, group, hosts,
// resolv.conf, nsswitch.conf, profile), the key cache with the configured
// origin keys imported, and the marker file. It returns the plan. A root
// that did not exist before is removed again when Prepare fails.
func Prepare(ctx context.Context, root string, cfg studio.Config) (plan Plan, err error) {
	if !filepath.IsAbs(root) {
		return Plan{}, fmt.Errorf("studio root %q is not an absolute path", root)
	}
	keys, err := originKeys(root, cfg)
	if err != nil {
		return Plan{}, err
	}
	if _, lerr := os.Lstat(root); errors.Is(lerr, fs.ErrNotExist) {
		defer func() {
			if err != nil {
				os.RemoveAll(root)
			}
		}()
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return Plan{}, fmt.Errorf("create studio root %s: %w", root, err)
	}
	// Everything below is done beneath the root, following no link a
	// build may have planted in it.
	d, err := beneath.Open(root)
	if err != nil {
		return Plan{}, fmt.Errorf("open studio root: %w", err)
	}
	defer d.Close()
	if err := refuseForeign(d); err != nil {
		return Plan{}, err
	}
	for _, dir := range layout {
		if err := mkdir(d, dir.path, dir.mode); err != nil {
			return Plan{}, err
		}
	}
	if !HasBasePackages(root) {
		if err := checkStore(d); err != nil {
			return Plan{}, fmt.Errorf("prepare studio %s: %w", root, err)
		}
		if _, err := backline.Install(ctx, root, cfg.Backline); err != nil && !errors.Is(err, backline.ErrNotFound) {
			return Plan{}, fmt.Errorf("prepare studio %s: %w", root, err)
		} else if err != nil {
			cfg.Log.Debug("no backline for the studio", "studio", root, "err", err)
		}
	}
	if plan, err = MakePlan(root, cfg); err != nil {
		return Plan{}, err
	}
	if plan.Path != "" {
		// The backline's links (/bin/sh, /bin/bash, /usr/bin/env) go
		// into directories made here beneath the root: a /bin link left
		// by the host fallback gives way, any other link is refused.
		if st, err := d.Lstat("bin"); err == nil && beneath.IsLink(st) {
			if err := d.Remove("bin"); err != nil {
				return Plan{}, fmt.Errorf("prepare studio %s: %w", root, err)
			}
		}
		for _, dir := range []string{"bin", "usr/bin"} {
			if err := mkdir(d, dir, 0o755); err != nil {
				return Plan{}, fmt.Errorf("prepare studio %s: %w", root, err)
			}
		}
		if err := backline.Link(root, plan.Path); err != nil {
			return Plan{}, err
		}
	}
	if len(plan.HostTools) > 0 {
		_, links, err := hostTools(cfg.HostTools)
		if err != nil {
			return Plan{}, err
		}
		for from, to := range links {
			if err := symlink(d, from, to); err != nil {
				return Plan{}, err
			}
		}
		// The host's dynamic linker cache finds the host's libraries in
		// their multiarch directories.
		if err := copyIfPresent(d, "/etc/ld.so.cache", "etc/ld.so.cache", 0o644); err != nil {
			return Plan{}, err
		}
	}
	for _, m := range plan.Mounts {
		if err := ctx.Err(); err != nil {
			return Plan{}, fmt.Errorf("prepare studio %s: %w", root, err)
		}
		if err := MountPoint(d, m); err != nil {
			return Plan{}, fmt.Errorf("prepare studio %s: %w", root, err)
		}
	}
	if err := writeEtc(d, cfg); err != nil {
		return Plan{}, fmt.Errorf("prepare studio %s: %w", root, err)
	}
	if len(keys) > 0 {
		// The key cache is written through its descriptor: no link in
		// its path is followed, whatever the build left there.
		kd, err := d.OpenDir("hab/cache/keys")
		if err != nil {
			return Plan{}, fmt.Errorf("import origin keys into studio %s: %w", root, err)
		}
		_, err = (crypto.Cache{Dir: kd.ProcPath()}).Import(keys...)
		kd.Close()
		if err != nil {
			return Plan{}, fmt.Errorf("import origin keys into studio %s: %w", root, err)
		}
		for _, k := range keys {
			cfg.Log.Info("imported origin key into the studio", "key", k.FileName(), "studio", root)
		}
	}
	marker := fmt.Sprintf("studio_type=%q\nstudio_path=%q\n", cfg.Type, "/hab/bin")
	if err := d.WriteFile(MarkerFile, []byte(marker), 0o644); err != nil {
		return Plan{}, fmt.Errorf("prepare studio %s: %w", root, err)
	}
	return plan, nil
}

// checkStore refuses a link in the first four levels of the studio's
// /hab/pkgs (origin, name, version, release), where installing the
// backline creates directories and renames packages into place.
func checkStore(d *beneath.Dir) error {
	var walk func(p string, depth int) error
	walk = func(p string, depth int) error {
		entries, err := d.ReadDir(p)
		if err != nil {
			return err
		}
		for _, e := range entries {
			q := p + "/" + e.Name()
			if e.Type()&fs.ModeSymlink != 0 {
				target, _ := d.Readlink(q)
				return &beneath.LinkError{Dir: d.Name(), Path: "/" + q, Link: "/" + q, Target: target}
			}
			if e.IsDir() && depth < 4 && !strings.HasPrefix(e.Name(), ".") {
				if err := walk(q, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk("hab/pkgs", 1)
}

// layout are the directories every studio has, and their modes.
var layout = []struct {
	path string
	mode fs.FileMode
}{
	{"dev", 0o755}, {"proc", 0o555}, {"sys", 0o555}, {"run", 0o755}, {"etc", 0o755},
	{"home", 0o755}, {"mnt", 0o755}, {"opt", 0o755}, {"var", 0o755}, {"root", 0o750},
	{"tmp", fs.ModeSticky | 0o777}, {"var/tmp", fs.ModeSticky | 0o777}, {"var/log", 0o755}, {"var/cache", 0o755},
	{"src", 0o755}, {"hab/bin", 0o755}, {"hab/pkgs", 0o755}, {"hab/cache/artifacts", 0o755},
	{"hab/cache/src", 0o755}, {"hab/cache/keys", 0o700},
}

// MountPoint makes sure the target of m exists beneath the studio root
// d: a directory, or an empty file for a file bind mount. A link in any
// component of the target is refused (a mount through it would land
// outside), as is a target of the wrong kind.
func MountPoint(d *beneath.Dir, m Mount) error {
	st, err := d.Lstat(m.Target)
	if err == nil {
		if beneath.IsLink(st) {
			target, _ := d.Readlink(m.Target)
			return fmt.Errorf("mount point: %w", &beneath.LinkError{Dir: d.Name(), Path: m.Target, Link: m.Target, Target: target})
		}
		if m.File == beneath.IsDir(st) {
			return fmt.Errorf("studio mount point %s: is a %s, the mount of %s needs a %s", filepath.Join(d.Name(), m.Target), kindOf(beneath.IsDir(st)), m.Source, kindOf(!m.File))
		}
		return nil
	}
	var le *beneath.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("mount point: %w", err)
	}
	if !m.File {
		return mkdir(d, m.Target, 0o755)
	}
	if err := d.MkdirAll(filepath.Dir(m.Target), 0o755); err != nil {
		return fmt.Errorf("studio mount point %s: %w", m.Target, err)
	}
	if err := d.CreateFile(m.Target, 0o644); err != nil {
		return fmt.Errorf("create studio mount point %s: %w", m.Target, err)
	}
	return nil
}

func kindOf(dir bool) string {
	if dir {
		return "directory"
	}
	return "file"
}

func mkdir(d *beneath.Dir, p string, mode fs.FileMode) error {
	if err := d.MkdirAll(p, mode); err != nil {
		return fmt.Errorf("studio directory /%s: %w", strings.TrimPrefix(p, "/"), err)
	}
	return nil
}

// symlink recreates the host symlink from -> to inside the studio d,
// replacing an empty directory left by an earlier layout.
func symlink(d *beneath.Dir, from, to string) error {
	if st, err := d.Lstat(from); err == nil {
		if beneath.IsLink(st) {
			if cur, _ := d.Readlink(from); cur == to {
				return nil
			}
		}
		if beneath.IsDir(st) {
			// A backline's /bin holds only its links (sh, bash): they
			// give way to the host's when the studio falls back.
			if err := removeLinks(d, from); err != nil {
				return fmt.Errorf("replace %s with a symlink to %s: %w", from, to, err)
			}
		}
		if err := d.Remove(from); err != nil {
			return fmt.Errorf("replace %s with a symlink to %s: %w", from, to, err)
		}
	}
	if err := d.MkdirAll(filepath.Dir(from), 0o755); err != nil {
		return fmt.Errorf("create studio directory %s: %w", filepath.Dir(from), err)
	}
	if err := d.Symlink(to, from); err != nil {
		return fmt.Errorf("create studio symlink %s: %w", from, err)
	}
	return nil
}

// removeLinks empties the directory dir when it holds nothing but
// symlinks; otherwise it leaves it as it is.
func removeLinks(d *beneath.Dir, dir string) error {
	entries, err := d.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink == 0 {
			return nil
		}
	}
	for _, e := range entries {
		if err := d.Remove(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// copyIfPresent copies the host file from (if there is one) to the path
// to inside the studio d.
func copyIfPresent(d *beneath.Dir, from, to string, mode fs.FileMode) error {
	data, err := os.ReadFile(from)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read host file %s: %w", from, err)
	}
	return d.WriteFile(to, data, mode)
}

const passwd = `root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/dev/null:/bin/false
daemon:x:6:6:Daemon User:/dev/null:/bin/false
messagebus:x:18:18:D-Bus Message Daemon User:/var/run/dbus:/bin/false
nobody:x:99:99:Unprivileged User:/dev/null:/bin/false
hab:x:42:42:root:/:/bin/sh
`

const group = `root:x:0:
bin:x:1:daemon
sys:x:2:
kmem:x:3:
tape:x:4:
tty:x:5:
daemon:x:6:
floppy:x:7:
disk:x:8:
lp:x:9:
dialout:x:10:
audio:x:11:
video:x:12:
utmp:x:13:
usb:x:14:
cdrom:x:15:
adm:x:16:
messagebus:x:18:
systemd-journal:x:23:
input:x:24:
mail:x:34:
hab:x:42:hab
nogroup:x:99:
users:x:999:
`

const nsswitch = `passwd:     files
group:      files
shadow:     files

hosts:      files dns
networks:   files

rpc:        files
services:   files
`

// profile sets the studio's PATH and its prompt: [N][TYPE:DIR:STATUS]#.
const profile = `# Written by hab studio.
export PATH=/hab/bin:$PATH
export HAB_BINLINK_DIR=/hab/bin
PS1='[\#]['"${STUDIO_TYPE:-default}"':\w:$?]\$ '
# build PLAN_CONTEXT builds a plan, as the original studio's build does.
build() { hab plan build "$@"; }
# The studio's Supervisor, as the original's: sup-run [FLAGS] starts
# "hab sup run" in the background with its output in
# /hab/sup/default/sup.log, sup-log follows that file, sup-term ends the
# Supervisor (leaving the studio ends it too). Aliases, since a POSIX sh
# takes no '-' in a function's name.
_hab_sup_run() {
  mkdir -p /hab/sup/default
  echo "--> Launching the Habitat Supervisor in the background..."
  echo "    Running: hab sup run $*"
  if command -v setsid >/dev/null 2>&1; then
    setsid hab sup run "$@" >/hab/sup/default/sup.log 2>&1 </dev/null &
  else
    hab sup run "$@" >/hab/sup/default/sup.log 2>&1 </dev/null &
  fi
  if command -v disown >/dev/null 2>&1; then disown $!; fi
  echo "    * Use 'hab svc start' & 'hab svc stop' to start and stop services"
  echo "    * Use 'sup-log' to tail the Supervisor's output (Ctrl+c to stop)"
  echo "    * Use 'sup-term' to terminate the Supervisor"
  if [ -z "${HAB_STUDIO_SUP:-}" ]; then
    echo "    * To pass custom arguments to run the Supervisor, export"
    echo "      'HAB_STUDIO_SUP' with the arguments before running"
    echo "      'hab studio enter'."
  fi
  echo ""
}
_hab_sup_term() {
  if hab sup term; then
    echo "--> Killed background running Habitat Supervisor."
  else
    echo "--> Error killing Supervisor; it may not be running"
  fi
}
_hab_sup_log() {
  mkdir -p /hab/sup/default
  touch /hab/sup/default/sup.log
  echo "--> Tailing the Habitat Supervisor's output (use 'Ctrl+c' to stop)"
  tail -f /hab/sup/default/sup.log
}
alias sup-run=_hab_sup_run sr=_hab_sup_run sup-term=_hab_sup_term st=_hab_sup_term sup-log=_hab_sup_log sl=_hab_sup_log
if [ -n "${STUDIO_ENTER:-}" ]; then
  unset STUDIO_ENTER
  if [ -f /src/.studiorc ] && [ -z "${HAB_STUDIO_NOSTUDIORC:-}" ]; then
    echo "--> Detected and loading /src/.studiorc"
    . /src/.studiorc
  fi
  # A Supervisor in the background, unless HAB_STUDIO_SUP says false;
  # otherwise HAB_STUDIO_SUP holds its flags (the original's __sp__
  # stands for a space within one).
  case "${HAB_STUDIO_SUP:-}" in
    false|FALSE|no|NO|0) ;;
    *)
      case "${HAB_STUDIO_SUP:-}" in
        *__sp__*) HAB_STUDIO_SUP=$(echo "$HAB_STUDIO_SUP" | sed 's/__sp__/ /g') ;;
      esac
      # shellcheck disable=SC2086 # the flags are words
      _hab_sup_run ${HAB_STUDIO_SUP:-}
      echo "--> To prevent a Supervisor from running automatically in your"
      echo "    Studio, export 'HAB_STUDIO_SUP=false' before running"
      echo "    'hab studio enter'."
      echo ""
      ;;
  esac
fi
`

func writeEtc(d *beneath.Dir, cfg studio.Config) error {
	files := map[string]string{"passwd": passwd, "group": group, "nsswitch.conf": nsswitch, "profile": profile}
	for name, content := range files {
		if err := d.WriteFile("etc/"+name, []byte(content), 0o644); err != nil {
			return err
		}
	}
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read host file /etc/hosts: %w", err)
	}
	if len(hosts) == 0 {
		hosts = []byte("127.0.0.1\tlocalhost\n::1\tlocalhost\n")
	}
	if cfg.Hostname != "" {
		hosts = append(hosts, []byte("127.0.1.1\t"+cfg.Hostname+"\n")...)
	}
	if err := d.WriteFile("etc/hosts", hosts, 0o644); err != nil {
		return err
	}
	if err := copyIfPresent(d, "/etc/resolv.conf", "etc/resolv.conf", 0o644); err != nil {
		return err
	}
	if _, err := d.Lstat("etc/mtab"); errors.Is(err, fs.ErrNotExist) {
		if err := d.Symlink("/proc/self/mounts", "etc/mtab"); err != nil {
			return fmt.Errorf("create studio symlink /etc/mtab: %w", err)
		}
	}
	return nil
}

// originKeys loads each origin's latest secret signing key (required)
// and public key (when present) from the host key cache.
func originKeys(root string, cfg studio.Config) ([]*crypto.KeyFile, error) {
	host := crypto.Cache{Dir: cfg.KeyCache}
	var kfs []*crypto.KeyFile
	for _, origin := range cfg.OriginKeys {
		sec, err := host.Latest(crypto.SigSecret, origin)
		if err != nil {
			return nil, fmt.Errorf("import the secret origin key %s into studio %s (create one with 'hab origin key generate %s'): %w", origin, root, origin, err)
		}
		kfs = append(kfs, sec)
		if pub, err := host.Latest(crypto.SigPublic, origin); err == nil {
			kfs = append(kfs, pub)
		}
	}
	return kfs, nil
}

// refuseForeign refuses a non-empty directory that is not a studio, so
// that "-r /some/dir" never turns a user's directory into a studio or
// removes it.
func refuseForeign(d *beneath.Dir) error {
	if st, err := d.Lstat(MarkerFile); err == nil && !beneath.IsLink(st) {
		return nil
	}
	entries, err := d.ReadDir(".")
	if err != nil {
		return fmt.Errorf("read studio root %s: %w", d.Name(), err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("directory %s does not appear to be a studio (no %s file) and is not empty", d.Name(), MarkerFile)
	}
	return nil
}

// MountsUnder lists the mount points of this process's mount namespace at
// or under dir, from /proc/self/mountinfo.
func MountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescape(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	return out, nil
}

// unescape decodes the octal escapes (\040 for a space) of mountinfo.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Remove deletes the studio at root. It refuses a directory that is not a
// studio, and one with anything still mounted under it (so a bind-mounted
// source tree can never be deleted through it).
func Remove(ctx context.Context, root string) error {
	if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	d, err := beneath.Open(root)
	if err != nil {
		return fmt.Errorf("remove studio: %w", err)
	}
	err = refuseForeign(d)
	d.Close()
	if err != nil {
		return fmt.Errorf("remove studio: %w", err)
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("remove studio %s: %w", root, err)
	}
	mounts, err := MountsUnder(real)
	if err != nil {
		return fmt.Errorf("remove studio %s: %w", root, err)
	}
	if len(mounts) > 0 {
		return fmt.Errorf("remove studio %s: still mounted under it: %s (unmount them and retry)", root, strings.Join(mounts, ", "))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remove studio %s: %w", root, err)
	}
	if err := os.RemoveAll(root); err != nil {
		// A non-root user's build may leave directories it cannot write
		// (a Go module cache, a read-only tree): open them and retry.
		if os.Geteuid() == 0 || !errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("remove studio %s: %w", root, err)
		}
		if oerr := openDirs(root); oerr != nil {
			return fmt.Errorf("remove studio %s: %w", root, errors.Join(err, oerr))
		}
		if err := os.RemoveAll(root); err != nil {
			return fmt.Errorf("remove studio %s: %w", root, err)
		}
	}
	return nil
}

// openDirs gives the owner every permission on the directories under
// dir that this process owns, following no symlinks.
func openDirs(dir string) error {
	d, err := beneath.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s for removal: %w", dir, err)
	}
	defer d.Close()
	uid := uint32(os.Geteuid())
	var walk func(p string) error
	walk = func(p string) error {
		st, err := d.Lstat(p)
		if err != nil || !beneath.IsDir(st) {
			return nil // gone already, or not a directory
		}
		if st.Uid == uid && st.Mode&0o700 != 0o700 {
			if err := d.Chmod(p, fs.FileMode(st.Mode&0o777|0o700)); err != nil {
				return fmt.Errorf("open directory %s for removal: %w", filepath.Join(dir, p), err)
			}
		}
		entries, err := d.ReadDir(p)
		if err != nil {
			return fmt.Errorf("open directory %s for removal: %w", filepath.Join(dir, p), err)
		}
		for _, e := range entries {
			if e.IsDir() {
				if err := walk(filepath.Join(p, e.Name())); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(".")
}
