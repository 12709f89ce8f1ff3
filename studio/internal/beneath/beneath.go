// Package beneath changes files inside a directory without following a
// symbolic link in any component of their paths. A studio's root is written
// by whatever was built in it: everything the host side creates, changes or
// removes there (as root) goes through a Dir, so that a link planted inside
// (/var/tmp to a host directory, /etc/hosts.tmp to a host file, /etc itself)
// is refused, never followed. Paths are resolved with openat2 and
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS from the directory's descriptor, and
// every change is made through a descriptor or a (parent descriptor, name)
// pair, so a link swapped in between two calls is not followed either.
package beneath

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// LinkError is a path inside the directory that runs through (or ends in)
// a symbolic link where none may be.
type LinkError struct {
	Dir    string // the directory's host path
	Path   string // the path inside it, as asked
	Link   string // the component that is a link
	Target string // what the link points to
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("%s is a symlink (to %s) in %s, where %s needs none: it was planted from inside, and nothing is done through it (remove the studio and retry)",
		e.Link, e.Target, e.Dir, e.Path)
}

// Dir is an open directory under which paths are resolved.
type Dir struct {
	f *os.File
}

// Open opens the directory at the host path dir (the host's own path may
// contain links; nothing below it may).
func Open(dir string) (*Dir, error) {
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return &Dir{f: os.NewFile(uintptr(fd), dir)}, nil
}

// Close closes the directory.
func (d *Dir) Close() error { return d.f.Close() }

// Name is the directory's path (its host path, or DIR/SUB for OpenDir).
func (d *Dir) Name() string { return d.f.Name() }

// ProcPath names the directory itself through this process's descriptor
// (/proc/self/fd/N): a path that reaches it whatever happens to the
// components of its name, for code that only takes paths.
func (d *Dir) ProcPath() string { return fmt.Sprintf("/proc/self/fd/%d", d.f.Fd()) }

// rel cleans name into a path relative to the directory ("." for itself);
// a leading "/" means the directory's root.
func rel(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

func orDot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// openat2 opens name beneath d, following no symlink (and no magic link).
func (d *Dir) openat2(name string, flags int, mode uint32) (int, error) {
	p := orDot(rel(name))
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Mode:    uint64(mode),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(int(d.f.Fd()), p, how)
		switch {
		case err == nil:
			return fd, nil
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
			continue // a rename elsewhere raced the lookup: try again
		case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV):
			if le := d.findLink(p); le != nil {
				return -1, le
			}
		case errors.Is(err, unix.ENOSYS):
			return -1, fmt.Errorf("open %s in %s: this kernel has no openat2 (Linux 5.6 or later is needed to work in a studio root safely): %w", p, d.Name(), err)
		}
		return -1, &fs.PathError{Op: "open", Path: d.Name() + "/" + p, Err: err}
	}
}

// findLink names the first component of p that is a symbolic link.
func (d *Dir) findLink(p string) *LinkError {
	parts := strings.Split(p, "/")
	for i := range parts {
		prefix := strings.Join(parts[:i+1], "/")
		var st unix.Stat_t
		if err := unix.Fstatat(int(d.f.Fd()), prefix, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return nil
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			buf := make([]byte, 4096)
			n, _ := unix.Readlinkat(int(d.f.Fd()), prefix, buf)
			return &LinkError{Dir: d.Name(), Path: "/" + p, Link: "/" + prefix, Target: string(buf[:max(n, 0)])}
		}
	}
	return nil
}

// OpenPath opens name as an O_PATH descriptor: what a mount is made onto
// (through /proc/self/fd/N), or what is changed through /proc.
func (d *Dir) OpenPath(name string) (*os.File, error) {
	fd, err := d.openat2(name, unix.O_PATH, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), d.Name()+"/"+rel(name)), nil
}

// OpenDir opens the directory name beneath d as a Dir of its own.
func (d *Dir) OpenDir(name string) (*Dir, error) {
	fd, err := d.openat2(name, unix.O_DIRECTORY|unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	return &Dir{f: os.NewFile(uintptr(fd), d.Name()+"/"+rel(name))}, nil
}

// parent opens the directory holding name and returns it with name's
// last component.
func (d *Dir) parent(name string) (*os.File, string, error) {
	p := rel(name)
	if p == "" {
		return nil, "", fmt.Errorf("%s: the directory itself, where an entry in it was meant", d.Name())
	}
	dir, base := path.Split(p)
	fd, err := d.openat2(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, "", err
	}
	return os.NewFile(uintptr(fd), d.Name()+"/"+dir), base, nil
}

// Lstat describes name itself (a final link is described, not followed).
func (d *Dir) Lstat(name string) (unix.Stat_t, error) {
	var st unix.Stat_t
	if rel(name) == "" {
		return st, unix.Fstat(int(d.f.Fd()), &st)
	}
	pf, base, err := d.parent(name)
	if err != nil {
		return st, err
	}
	defer pf.Close()
	if err := unix.Fstatat(int(pf.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return st, &fs.PathError{Op: "lstat", Path: d.Name() + "/" + rel(name), Err: err}
	}
	return st, nil
}

// IsLink reports whether st describes a symbolic link.
func IsLink(st unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFLNK }

// IsDir reports whether st describes a directory.
func IsDir(st unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFDIR }

// Readlink reads the link name.
func (d *Dir) Readlink(name string) (string, error) {
	pf, base, err := d.parent(name)
	if err != nil {
		return "", err
	}
	defer pf.Close()
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(int(pf.Fd()), base, buf)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: d.Name() + "/" + rel(name), Err: err}
	}
	return string(buf[:n]), nil
}

// unixMode turns a FileMode into mode bits for the kernel.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	if m&fs.ModeSetuid != 0 {
		u |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= unix.S_ISGID
	}
	return u
}

// Chmod sets the mode of name (never a link's target).
func (d *Dir) Chmod(name string, mode fs.FileMode) error {
	f, err := d.OpenPath(name)
	if err != nil {
		return err
	}
	defer f.Close()
	// chmod through the descriptor's /proc entry changes what it was
	// opened on; fchmod does not take O_PATH descriptors.
	if err := unix.Chmod(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), unixMode(mode)); err != nil {
		return &fs.PathError{Op: "chmod", Path: f.Name(), Err: err}
	}
	return nil
}

// Lchown sets the owner of name itself (a link's own, not its target's).
func (d *Dir) Lchown(name string, uid, gid int) error {
	pf, base, err := d.parent(name)
	if err != nil {
		return err
	}
	defer pf.Close()
	if err := unix.Fchownat(int(pf.Fd()), base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "chown", Path: d.Name() + "/" + rel(name), Err: err}
	}
	return nil
}

// MkdirAll makes the directory name and its missing parents (0755), and
// gives name itself mode. An existing component that is a link, or not a
// directory, is an error.
func (d *Dir) MkdirAll(name string, mode fs.FileMode) error {
	p := rel(name)
	if p == "" {
		return nil
	}
	parts := strings.Split(p, "/")
	for i := range parts {
		prefix := strings.Join(parts[:i+1], "/")
		fd, err := d.openat2(prefix, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err == nil {
			unix.Close(fd)
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("create directory %s: %w", "/"+p, err)
		}
		pf, base, err := d.parent(prefix)
		if err != nil {
			return fmt.Errorf("create directory %s: %w", "/"+p, err)
		}
		err = unix.Mkdirat(int(pf.Fd()), base, 0o755)
		pf.Close()
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create directory %s in %s: %w", "/"+prefix, d.Name(), err)
		}
		// What is there now must be a directory reached without a link
		// (a dangling link makes mkdirat say EEXIST).
		fd, err = d.openat2(prefix, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return fmt.Errorf("create directory %s: %w", "/"+p, err)
		}
		unix.Close(fd)
	}
	return d.Chmod(p, mode)
}

// CreateFile makes name an empty file (mode) unless a file is there;
// a link there is an error.
func (d *Dir) CreateFile(name string, mode fs.FileMode) error {
	fd, err := d.openat2(name, unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW, unixMode(mode))
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// WriteFile replaces name with a file holding data (mode): written to a
// new temporary file beside it (created exclusively, so no planted name
// is followed) and renamed over name, which replaces a link there rather
// than writing through it.
func (d *Dir) WriteFile(name string, data []byte, mode fs.FileMode) error {
	pf, base, err := d.parent(name)
	if err != nil {
		return fmt.Errorf("write %s: %w", "/"+rel(name), err)
	}
	defer pf.Close()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	tmp := "." + base + ".hab-" + hex.EncodeToString(b[:])
	fd, err := unix.Openat(int(pf.Fd()), tmp, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, unixMode(mode))
	if err != nil {
		return &fs.PathError{Op: "create", Path: d.Name() + "/" + rel(name), Err: err}
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode) // the umask took bits away
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(int(pf.Fd()), tmp, int(pf.Fd()), base)
	}
	if err != nil {
		_ = unix.Unlinkat(int(pf.Fd()), tmp, 0)
		return &fs.PathError{Op: "write", Path: d.Name() + "/" + rel(name), Err: err}
	}
	return nil
}

// Mkdir makes the directory name (mode), which must not exist yet.
func (d *Dir) Mkdir(name string, mode fs.FileMode) error {
	pf, base, err := d.parent(name)
	if err != nil {
		return err
	}
	defer pf.Close()
	if err := unix.Mkdirat(int(pf.Fd()), base, unixMode(mode)); err != nil {
		return &fs.PathError{Op: "mkdir", Path: d.Name() + "/" + rel(name), Err: err}
	}
	return nil
}

// Create makes name a new file (mode) and opens it for writing; what is
// there already, a link included, is an error.
func (d *Dir) Create(name string, mode fs.FileMode) (*os.File, error) {
	fd, err := d.openat2(name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW, unixMode(mode))
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), d.Name()+"/"+rel(name)), nil
}

// Rename renames from to to, both beneath d (a link at to is replaced,
// not followed).
func (d *Dir) Rename(from, to string) error {
	pf, fbase, err := d.parent(from)
	if err != nil {
		return err
	}
	defer pf.Close()
	pt, tbase, err := d.parent(to)
	if err != nil {
		return err
	}
	defer pt.Close()
	if err := unix.Renameat(int(pf.Fd()), fbase, int(pt.Fd()), tbase); err != nil {
		return &os.LinkError{Op: "rename", Old: d.Name() + "/" + rel(from), New: d.Name() + "/" + rel(to), Err: err}
	}
	return nil
}

// RemoveAll removes name and everything under it, following no link
// (links are removed, not their targets). A missing name is no error.
func (d *Dir) RemoveAll(name string) error {
	st, err := d.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if IsDir(st) {
		entries, err := d.ReadDir(name)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := d.RemoveAll(path.Join(rel(name), e.Name())); err != nil {
				return err
			}
		}
	}
	return d.Remove(name)
}

// Symlink makes name a link to target.
func (d *Dir) Symlink(target, name string) error {
	pf, base, err := d.parent(name)
	if err != nil {
		return err
	}
	defer pf.Close()
	if err := unix.Symlinkat(target, int(pf.Fd()), base); err != nil {
		return &fs.PathError{Op: "symlink", Path: d.Name() + "/" + rel(name), Err: err}
	}
	return nil
}

// Remove removes the file, link or empty directory name (a link itself,
// never its target).
func (d *Dir) Remove(name string) error {
	pf, base, err := d.parent(name)
	if err != nil {
		return err
	}
	defer pf.Close()
	err = unix.Unlinkat(int(pf.Fd()), base, 0)
	if errors.Is(err, unix.EISDIR) {
		err = unix.Unlinkat(int(pf.Fd()), base, unix.AT_REMOVEDIR)
	}
	if err != nil {
		return &fs.PathError{Op: "remove", Path: d.Name() + "/" + rel(name), Err: err}
	}
	return nil
}

// ReadDir lists the directory name.
func (d *Dir) ReadDir(name string) ([]fs.DirEntry, error) {
	sub, err := d.OpenDir(name)
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	return sub.f.ReadDir(-1)
}

// Fstatfs describes the file system of the directory itself.
func (d *Dir) Fstatfs() (unix.Statfs_t, error) {
	var st unix.Statfs_t
	err := unix.Fstatfs(int(d.f.Fd()), &st)
	return st, err
}

// Fd is the directory's descriptor, for the *at calls this package
// does not wrap (mknodat).
func (d *Dir) Fd() int { return int(d.f.Fd()) }
