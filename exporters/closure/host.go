package closure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/habgo/hab/core/atomicfile"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

// HostBinary makes a package of one binary of this machine under root (a
// work directory): ORIGIN/NAME/VERSION/RELEASE with the binary as
// bin/BIN, links bin/LINK -> BIN for each link, and the metadata files a
// store needs (IDENT, TARGET, PATH, MANIFEST). The release is the first
// 12 hex digits of the binary's SHA-256, so that the same binary always
// makes the same package and another binary another one.
//
// The package made is remembered under root by the binary's identity as
// a file (device, inode, size, modification and change times), so that
// the next export of an unchanged binary reads none of it.
func HostBinary(ctx context.Context, root string, target ident.Target, origin, name, version, src, bin string, links []string) (*Package, error) {
	key, keyed := fileKey(src, "host-binary", origin, name, version, bin, strings.Join(links, " "))
	if keyed {
		if p := remembered(root, target, key); p != nil {
			return p, nil
		}
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("package %s from %s: %w", name, src, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("package %s: read %s: %w", name, src, err)
	}
	id := ident.Ident{Origin: origin, Name: name, Version: version, Release: hex.EncodeToString(h.Sum(nil))[:12]}
	if err := id.Validate(); err != nil {
		return nil, fmt.Errorf("package %s from %s: %w", name, src, err)
	}
	store := storeAt(root, target)
	if p, err := load(store, id); err == nil {
		if keyed {
			remember(root, key, id)
		}
		return p, nil // made earlier in this work root
	}
	dir := store.PathFor(id)
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "bin"), 0o755); err != nil {
		return nil, fmt.Errorf("package %s: %w", id, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	out, err := os.OpenFile(filepath.Join(tmp, "bin", bin), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", id, err)
	}
	_, err = io.Copy(out, f)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("package %s: copy %s: %w", id, src, err)
	}
	for _, l := range links {
		if l == bin || strings.ContainsAny(l, "/\x00") || l == "" || l == "." || l == ".." {
			continue
		}
		if err := os.Symlink(bin, filepath.Join(tmp, "bin", l)); err != nil && !os.IsExist(err) {
			return nil, fmt.Errorf("package %s: link %s: %w", id, l, err)
		}
	}
	prefix := pkgmeta.InstallPrefix(id)
	meta := map[string]string{
		pkgmeta.FileIdent:    id.String() + "\n",
		pkgmeta.FileTarget:   string(target) + "\n",
		pkgmeta.FilePath:     prefix + "/bin\n",
		pkgmeta.FileManifest: fmt.Sprintf("# %s / %s\n\nMade by hab pkg export from %s on the exporting machine.\n\n* __Version__: %s\n* __Release__: %s\n* __Target__: %s\n", origin, name, filepath.Base(src), version, id.Release, target),
	}
	for f, content := range meta {
		if err := os.WriteFile(filepath.Join(tmp, f), []byte(content), 0o644); err != nil {
			return nil, fmt.Errorf("package %s: %w", id, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if p, lerr := load(store, id); lerr == nil {
			return p, nil // another export made it meanwhile
		}
		return nil, fmt.Errorf("package %s: %w", id, err)
	}
	p, err := load(store, id)
	if err == nil && keyed {
		remember(root, key, id)
	}
	return p, err
}

// fileKey names the file at path as it is now (its device and inode,
// size, modification and change times) together with what is made of
// it; ok is false when the file cannot be examined (the caller reads it
// and reports that).
func fileKey(path string, what ...string) (key string, ok bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d %d %d %d %d\n%q\n", st.Dev, st.Ino, fi.Size(), st.Mtim.Nano(), st.Ctim.Nano(), what)
	return hex.EncodeToString(h.Sum(nil)), true
}

// memo is where root remembers which package a file made.
func memo(root, key string) string { return filepath.Join(root, "made", key) }

// remembered is the package the file of key made in root before, if it
// is still there.
func remembered(root string, target ident.Target, key string) *Package {
	data, err := os.ReadFile(memo(root, key))
	if err != nil {
		return nil
	}
	id, err := ident.ParseFullyQualified(strings.TrimSpace(string(data)))
	if err != nil {
		return nil
	}
	p, err := load(storeAt(root, target), id)
	if err != nil {
		return nil
	}
	return p
}

// remember records that the file of key made package id in root; a
// failure only costs reading the file again next time.
func remember(root, key string, id ident.Ident) {
	_ = atomicfile.WriteFile(memo(root, key), []byte(id.String()+"\n"), 0o644)
}

// Hab makes the package of this hab binary: core/hab/VERSION/RELEASE
// with bin/hab.
func Hab(ctx context.Context, root string, target ident.Target, habBinary, version string) (*Package, error) {
	return HostBinary(ctx, root, target, "core", "hab", version, habBinary, "hab", nil)
}

var busyboxVersion = regexp.MustCompile(`BusyBox v([0-9][0-9.]*)`)

// Busybox makes core/busybox-static from a static busybox binary (such
// as Debian's busybox-static), with a link for each of its applets.
func Busybox(ctx context.Context, root string, target ident.Target, busybox string) (*Package, error) {
	key, keyed := fileKey(busybox, "busybox")
	if keyed {
		if p := remembered(root, target, key); p != nil {
			return p, nil // the same file: neither run nor read again
		}
	}
	var help bytes.Buffer
	cmd := exec.CommandContext(ctx, busybox, "--help")
	cmd.Stdout, cmd.Stderr = &help, &help
	_ = cmd.Run() // busybox --help exits 0 on some builds, 1 on others
	m := busyboxVersion.FindSubmatch(help.Bytes())
	if m == nil {
		return nil, fmt.Errorf("shell package: %s is not a busybox (its --help says: %.80q)", busybox, help.String())
	}
	list, err := exec.CommandContext(ctx, busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("shell package: %s --list: %w", busybox, err)
	}
	applets := strings.Fields(string(list))
	slices.Sort(applets)
	p, err := HostBinary(ctx, root, target, "core", "busybox-static", string(m[1]), busybox, "busybox", applets)
	if err == nil && keyed {
		remember(root, key, p.Ident)
	}
	return p, err
}
