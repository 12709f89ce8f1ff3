package builder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// unpacker writes the entries of a source archive beneath a directory
// without following a symbolic link in any component: every path is
// walked from the directory's descriptor one component at a time with
// O_NOFOLLOW, and every change (mkdir, create, chmod, times, link,
// unlink) is made through a descriptor or a (parent descriptor, name)
// pair. Symbolic links are created last, as GNU tar defers them, so that
// no later entry, and no hard link's target, can be resolved through a
// link the archive carries; an entry beneath a link entry is refused.
// Hard links are made after the symbolic links (one may name a link).
// A later entry of the same name replaces an earlier one, as in tar.
type unpacker struct {
	path     string // the destination
	root     *os.File
	pending  []pendingLink // symbolic then hard links, in archive order
	dirTimes []dirTime
}

type pendingLink struct {
	name, target string
	hard         bool
}

type dirTime struct {
	name string
	t    time.Time
}

func newUnpacker(dir string) (*unpacker, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	return &unpacker{path: dir, root: root}, nil
}

func (u *unpacker) close() { u.root.Close() }

// throughLink is the error for an entry whose path runs through a
// symbolic link.
func throughLink(name string) error {
	return fmt.Errorf("entry %q escapes the destination through a symbolic link", name)
}

// claim cleans name, refuses it when it lies beneath a pending symbolic
// link, and drops a pending link of the same name (this entry replaces
// it).
func (u *unpacker) claim(name string) (string, error) {
	rel, err := within(name)
	if err != nil {
		return "", err
	}
	if rel == "." {
		return rel, nil
	}
	kept := u.pending[:0]
	for _, p := range u.pending {
		switch {
		case p.name == rel:
			continue
		case !p.hard && strings.HasPrefix(rel, p.name+"/"):
			return "", throughLink(name)
		}
		kept = append(kept, p)
	}
	u.pending = kept
	return rel, nil
}

// walk opens the directory rel (cleaned, relative) beneath the root,
// creating missing components when create is set, never following a
// link. name is the entry, for errors.
func (u *unpacker) walk(name, rel string, create bool) (*os.File, error) {
	fd, err := unix.Dup(int(u.root.Fd()))
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	if rel != "." {
		for _, c := range strings.Split(rel, "/") {
			next, err := unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if errors.Is(err, unix.ENOENT) && create {
				if err = unix.Mkdirat(fd, c, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
					next, err = unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
				}
			}
			if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
				var st unix.Stat_t
				if unix.Fstatat(fd, c, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
					err = throughLink(name)
				} else {
					err = fmt.Errorf("entry %q: %s is not a directory", name, c)
				}
				unix.Close(fd)
				return nil, err
			}
			unix.Close(fd)
			if err != nil {
				return nil, fmt.Errorf("entry %q: %s: %w", name, c, err)
			}
			fd = next
		}
	}
	return os.NewFile(uintptr(fd), u.path+"/"+rel), nil
}

// split returns the parent directory and the last element of rel.
func split(rel string) (string, string) {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i], rel[i+1:]
	}
	return ".", rel
}

// replace removes what is at base in parent unless it is a directory
// (which an entry of the same name merges into or fails on).
func replace(parent *os.File, base string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(int(parent.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return nil
	}
	return unix.Unlinkat(int(parent.Fd()), base, 0)
}

func (u *unpacker) dir(name string, mode fs.FileMode, mtime time.Time) error {
	rel, err := u.claim(name)
	if err != nil {
		return err
	}
	if rel == "." {
		// "./": the destination is the source cache, shared by every
		// source; an archive does not set its mode or times.
		return nil
	}
	pdir, base := split(rel)
	parent, err := u.walk(name, pdir, true)
	if err != nil {
		return err
	}
	err = replace(parent, base)
	parent.Close()
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	d, err := u.walk(name, rel, true)
	if err != nil {
		return err
	}
	defer d.Close()
	// Owner access is kept, so that the rest of the archive can be
	// written; the descriptor is the directory itself, never a link.
	if err := d.Chmod(mode | 0o700); err != nil {
		return fmt.Errorf("entry %q: chmod: %w", name, err)
	}
	if !mtime.IsZero() {
		u.dirTimes = append(u.dirTimes, dirTime{rel, mtime})
	}
	return nil
}

func (u *unpacker) file(name string, mode fs.FileMode, mtime time.Time, r io.Reader) error {
	rel, err := u.claim(name)
	if err != nil {
		return err
	}
	if rel == "." {
		return fmt.Errorf("entry %q: a file cannot replace the destination", name)
	}
	pdir, base := split(rel)
	parent, err := u.walk(name, pdir, true)
	if err != nil {
		return err
	}
	defer parent.Close()
	if err := replace(parent, base); err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	out := os.NewFile(uintptr(fd), u.path+"/"+rel)
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return fmt.Errorf("extract %s: %w", name, err)
	}
	// The mode again, past the umask and with setuid/setgid/sticky.
	err = out.Chmod(mode)
	if err == nil && !mtime.IsZero() {
		ts := unix.NsecToTimespec(mtime.UnixNano())
		err = unix.UtimesNanoAt(int(parent.Fd()), base, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("extract %s: %w", name, err)
	}
	return nil
}

func (u *unpacker) symlink(name, target string) error {
	rel, err := u.claim(name)
	if err != nil {
		return err
	}
	if rel == "." {
		return fmt.Errorf("entry %q: a link cannot replace the destination", name)
	}
	u.pending = append(u.pending, pendingLink{name: rel, target: target})
	return nil
}

func (u *unpacker) hardlink(name, target string) error {
	rel, err := u.claim(name)
	if err != nil {
		return err
	}
	old, err := within(target)
	if err != nil {
		return fmt.Errorf("hard link %q: target %w", name, err)
	}
	if rel == "." || old == "." {
		return fmt.Errorf("hard link %q to %q: not a file", name, target)
	}
	u.pending = append(u.pending, pendingLink{name: rel, target: old, hard: true})
	return nil
}

// finish makes the deferred symbolic links, then the hard links, then
// sets the directories' times (deepest last written first).
func (u *unpacker) finish() error {
	for _, hard := range []bool{false, true} {
		for _, p := range u.pending {
			if p.hard != hard {
				continue
			}
			if err := u.link(p); err != nil {
				return err
			}
		}
	}
	u.pending = nil
	for i := len(u.dirTimes) - 1; i >= 0; i-- {
		d := u.dirTimes[i]
		ts := unix.NsecToTimespec(d.t.UnixNano())
		if d.name == "." {
			unix.UtimesNanoAt(int(u.root.Fd()), ".", []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
			continue
		}
		pdir, base := split(d.name)
		parent, err := u.walk(d.name, pdir, false)
		if err != nil {
			continue // replaced by a later entry
		}
		unix.UtimesNanoAt(int(parent.Fd()), base, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
		parent.Close()
	}
	return nil
}

func (u *unpacker) link(p pendingLink) error {
	pdir, base := split(p.name)
	parent, err := u.walk(p.name, pdir, true)
	if err != nil {
		return err
	}
	defer parent.Close()
	if err := replace(parent, base); err != nil {
		return fmt.Errorf("entry %q: %w", p.name, err)
	}
	if !p.hard {
		if err := unix.Symlinkat(p.target, int(parent.Fd()), base); err != nil {
			return fmt.Errorf("entry %q: symlink: %w", p.name, err)
		}
		return nil
	}
	odir, obase := split(p.target)
	oparent, err := u.walk(p.target, odir, false)
	if err != nil {
		return fmt.Errorf("hard link %q: target %w", p.name, err)
	}
	defer oparent.Close()
	// Flags 0: a target that is itself a link is linked, not followed.
	if err := unix.Linkat(int(oparent.Fd()), obase, int(parent.Fd()), base, 0); err != nil {
		return fmt.Errorf("hard link %q to %q: %w", p.name, p.target, err)
	}
	return nil
}
