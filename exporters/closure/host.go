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

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

// HostBinary makes a package of one binary of this machine under root (a
// work directory): ORIGIN/NAME/VERSION/RELEASE with the binary as
// bin/BIN, links bin/LINK -> BIN for each link, and the metadata files a
// store needs (IDENT, TARGET, PATH, MANIFEST). The release is the first
// 12 hex digits of the binary's SHA-256, so that the same binary always
// makes the same package and another binary another one.
func HostBinary(ctx context.Context, root string, target ident.Target, origin, name, version, src, bin string, links []string) (*Package, error) {
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
	return load(store, id)
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
	return HostBinary(ctx, root, target, "core", "busybox-static", string(m[1]), busybox, "busybox", applets)
}
