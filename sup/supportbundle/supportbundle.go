// Package supportbundle writes hab supportbundle's tarball: what someone
// helping with a supervisor's problem asks for, in one gzipped tar.
//
// It holds, as the original's does, the supervisor's tree
// (FS_ROOT/hab/sup: specs, member id, rumors, configuration), and beyond
// the original each service's logs (FS_ROOT/hab/svc/NAME/logs), the
// environment, a description of the machine, and reports the caller
// fetches from the running supervisor (its status, the HTTP gateway's
// /services, /census and /butterfly). A report that cannot be fetched is
// recorded as NAME.error: a bundle of a supervisor that is down is still
// a bundle.
//
// Secrets never go in: the control gateway's CTL_SECRET, key files of
// every kind (signing, box, ring, TLS) are left out, and the values of
// environment variables that hold secrets are replaced by <redacted>.
package supportbundle

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/core/paths"
)

// Report is one document fetched when the bundle is made.
type Report struct {
	// Name is the entry's name in the bundle ("gateway/census.json").
	Name  string
	Fetch func(ctx context.Context) ([]byte, error)
}

// Options say what goes into a bundle.
type Options struct {
	Root paths.Root
	// Env is the environment to record (KEY=VALUE), secrets redacted.
	Env []string
	// Host is the machine's name, Version hab's.
	Host, Version string
	// Now is when the bundle is made (its name, the entries' time).
	Now     time.Time
	Reports []Report
}

// Summary says what a bundle holds.
type Summary struct {
	// Path is the bundle file's path (Create).
	Path string
	// Files is how many files of the supervisor's and services' trees
	// went in; Left lists those left out (secrets, special files, files
	// that could not be read), each with the reason.
	Files int
	Left  []string
}

// ErrNoSupervisor is wrapped when FS_ROOT/hab/sup does not exist: there
// is nothing of a supervisor to bundle.
var ErrNoSupervisor = errors.New("no Supervisor root directory")

// FileName is the bundle's name, as the original's:
// support-bundle-HOST-YYYYMMDDhhmmss.tar.gz (local time).
func FileName(host string, now time.Time) string {
	return fmt.Sprintf("support-bundle-%s-%s.tar.gz", host, now.Local().Format("20060102150405"))
}

// Create writes the bundle into dir under FileName, all or nothing: the
// file appears only when complete.
func Create(ctx context.Context, dir string, o Options) (Summary, error) {
	path := filepath.Join(dir, FileName(o.Host, o.Now))
	if _, err := os.Stat(o.Root.Join("hab", "sup")); err != nil {
		return Summary{}, fmt.Errorf("support bundle: %w %s: %v", ErrNoSupervisor, o.Root.Join("hab", "sup"), err)
	}
	// The bundle goes into an existing directory only (atomicfile would
	// create it).
	if _, err := os.Stat(dir); err != nil {
		return Summary{}, fmt.Errorf("support bundle %s: %w", path, err)
	}
	var s Summary
	var werr error // Write's errors name the bundle already
	err := atomicfile.Create(path, 0o600, func(f *os.File) error {
		s, werr = Write(ctx, f, o)
		return werr
	})
	if werr != nil {
		return Summary{}, werr
	}
	if err != nil {
		return Summary{}, fmt.Errorf("support bundle %s: %w", path, err)
	}
	s.Path = path
	return s, nil
}

// Write writes the bundle, a gzipped tar, to w.
func Write(ctx context.Context, w io.Writer, o Options) (Summary, error) {
	zw := gzip.NewWriter(w)
	b := &bundle{tw: tar.NewWriter(zw), now: o.Now}
	if err := b.write(ctx, o); err != nil {
		return Summary{}, fmt.Errorf("support bundle: %w", err)
	}
	if err := b.tw.Close(); err != nil {
		return Summary{}, fmt.Errorf("support bundle: %w", err)
	}
	if err := zw.Close(); err != nil {
		return Summary{}, fmt.Errorf("support bundle: %w", err)
	}
	return b.sum, nil
}

type bundle struct {
	tw  *tar.Writer
	now time.Time
	sum Summary
}

func (b *bundle) write(ctx context.Context, o Options) error {
	if err := b.tree(ctx, o.Root.FS, "hab/sup"); err != nil {
		return err
	}
	svcs, _ := filepath.Glob(o.Root.Join("hab", "svc", "*", "logs"))
	slices.Sort(svcs)
	for _, logs := range svcs {
		rel, err := filepath.Rel(o.Root.FS, logs)
		if err != nil {
			return err
		}
		if err := b.tree(ctx, o.Root.FS, filepath.ToSlash(rel)); err != nil {
			return err
		}
	}
	if err := b.doc("system.txt", []byte(System(o))); err != nil {
		return err
	}
	if err := b.doc("environment.txt", []byte(strings.Join(Redact(o.Env), "\n")+"\n")); err != nil {
		return err
	}
	for _, r := range o.Reports {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := r.Fetch(ctx)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if err := b.doc(r.Name+".error", []byte(err.Error()+"\n")); err != nil {
				return err
			}
			continue
		}
		if err := b.doc(r.Name, data); err != nil {
			return err
		}
	}
	if len(b.sum.Left) > 0 {
		return b.doc("left-out.txt", []byte(strings.Join(b.sum.Left, "\n")+"\n"))
	}
	return nil
}

// System describes the machine and hab for the bundle's system.txt.
func System(o Options) string {
	var u syscall.Utsname
	uname := ""
	if syscall.Uname(&u) == nil {
		uname = fmt.Sprintf("%s %s %s %s", chars(u.Sysname[:]), chars(u.Release[:]), chars(u.Version[:]), chars(u.Machine[:]))
	}
	return fmt.Sprintf("hab %s\nhost %s\ntime %s\nos %s/%s\nkernel %s\nuid %d gid %d\nFS_ROOT %s\n",
		o.Version, o.Host, o.Now.UTC().Format(time.RFC3339), runtime.GOOS, runtime.GOARCH, uname, os.Getuid(), os.Getgid(), o.Root.FS)
}

func chars(a []int8) string {
	var sb strings.Builder
	for _, c := range a {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

// doc adds a document made now.
func (b *bundle) doc(name string, data []byte) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: b.now}
	if err := b.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("add %s: %w", name, err)
	}
	if _, err := b.tw.Write(data); err != nil {
		return fmt.Errorf("add %s: %w", name, err)
	}
	return nil
}

// Secret tells a file that never goes into a bundle: the control
// gateway's secret, and key files of every kind.
func Secret(name string) bool {
	if name == "CTL_SECRET" {
		return true
	}
	for _, ext := range []string{".sig.key", ".box.key", ".sym.key", ".key.pem", ".key"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// tree adds the tree at fsRoot/rel, which need not exist: directories,
// regular files and symbolic links (as links, never followed); secrets,
// special files and files that vanish or cannot be read are left out,
// each listed in the summary.
func (b *bundle) tree(ctx context.Context, fsRoot, rel string) error {
	base := filepath.Join(fsRoot, filepath.FromSlash(rel))
	return filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		r, rerr := filepath.Rel(fsRoot, p)
		if rerr != nil {
			return rerr
		}
		name := filepath.ToSlash(r)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			b.leave(name, err.Error())
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if Secret(d.Name()) {
			b.leave(name, "a secret")
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				b.leave(name, err.Error())
			}
			return nil
		}
		hdr := &tar.Header{Name: name, Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()}
		switch {
		case fi.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
			return b.header(hdr)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				b.leave(name, err.Error())
				return nil
			}
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
			return b.header(hdr)
		case fi.Mode().IsRegular():
			return b.file(p, hdr)
		}
		b.leave(name, "not a regular file, directory or link: "+fi.Mode().Type().String())
		return nil
	})
}

func (b *bundle) header(hdr *tar.Header) error {
	if err := b.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("add %s: %w", hdr.Name, err)
	}
	return nil
}

// file adds a regular file as it is when opened: a log that grows
// meanwhile is cut at that size, one that shrinks is padded with zeros.
func (b *bundle) file(p string, hdr *tar.Header) error {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			b.leave(hdr.Name, err.Error())
		}
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		b.leave(hdr.Name, "changed while being read")
		return nil
	}
	hdr.Typeflag, hdr.Size, hdr.ModTime = tar.TypeReg, st.Size(), st.ModTime()
	if err := b.header(hdr); err != nil {
		return err
	}
	n, err := io.Copy(b.tw, io.LimitReader(f, st.Size()))
	if err != nil && !isReadErr(err) {
		return fmt.Errorf("add %s: %w", hdr.Name, err)
	}
	if n < st.Size() {
		if _, err := io.CopyN(b.tw, zeros{}, st.Size()-n); err != nil {
			return fmt.Errorf("add %s: %w", hdr.Name, err)
		}
	}
	b.sum.Files++
	return nil
}

// isReadErr tells a failed read of the file (kept, padded) from a failed
// write of the bundle.
func isReadErr(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func (b *bundle) leave(name, why string) {
	b.sum.Left = append(b.sum.Left, name+": "+why)
}

// Entry is one entry of a bundle read back: a file's content, a link's
// target, or nothing for a directory (whose name ends in /).
type Entry struct {
	Data     []byte
	Linkname string
}

// Entries reads a bundle back: each entry by name. It is how the tests,
// and whoever receives a bundle in a program, look inside one.
func Entries(r io.Reader) (map[string]Entry, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("read support bundle: %w", err)
	}
	out := map[string]Entry{}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read support bundle: %w", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("read support bundle: %s: %w", hdr.Name, err)
		}
		out[hdr.Name] = Entry{Data: data, Linkname: hdr.Linkname}
	}
}

// Redact is env with the values of variables that hold secrets (tokens,
// secrets, passwords, keys, credentials) replaced by <redacted>, sorted.
func Redact(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, ok := strings.Cut(kv, "=")
		if ok && secretVar(k) {
			kv = k + "=<redacted>"
		}
		out = append(out, kv)
	}
	slices.Sort(out)
	return out
}

func secretVar(name string) bool {
	u := strings.ToUpper(name)
	if strings.HasPrefix(u, "HAB_STUDIO_SECRET_") {
		return true
	}
	for _, w := range []string{"SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "PRIVATE"} {
		if strings.Contains(u, w) {
			return true
		}
	}
	// HAB_RING_KEY and AWS_SECRET_ACCESS_KEY hold keys; HAB_CACHE_KEY_PATH
	// names a directory.
	return strings.HasSuffix(u, "_KEY") || strings.Contains(u, "_KEY_") && !strings.HasSuffix(u, "_PATH")
}
