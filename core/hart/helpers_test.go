package hart

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/internal/conformance"
)

// conformanceData locates the read-only conformance data beside the repository.
func conformanceData(t *testing.T, elem ...string) string {
	t.Helper()
	return conformance.Path(t, elem...)
}

// testKey makes a signing pair for origin and a key cache holding its
// public half.
func testKey(t *testing.T, origin string) (*crypto.SigningSecretKey, crypto.Cache) {
	t.Helper()
	pub, sec, err := crypto.GenerateSigningPair(origin, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	c := crypto.Cache{Dir: t.TempDir()}
	if _, err := c.Write(pub.KeyFile()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(sec.KeyFile()); err != nil {
		t.Fatal(err)
	}
	return sec, c
}

// xzModes are the implementations to run a test with; exec only when the
// xz program is present.
func xzModes(t *testing.T) []XZ {
	modes := []XZ{XZGo}
	if _, err := exec.LookPath("xz"); err == nil {
		modes = append(modes, XZExec)
	} else {
		t.Logf("xz program not found on PATH: testing the pure-Go implementation only")
	}
	return modes
}

var testID = ident.MustParse("acme/widget/1.2.3/20240102030405")

// makeTree writes a small package of every kind of entry under
// root/hab/pkgs/acme/widget/1.2.3/20240102030405 and returns that path.
func makeTree(t *testing.T, root string) string {
	t.Helper()
	base := filepath.Join(root, "hab", "pkgs", "acme", "widget", "1.2.3", "20240102030405")
	files := map[string]struct {
		data string
		mode os.FileMode
	}{
		"IDENT":            {testID.String() + "\n", 0o644},
		"TARGET":           {"x86_64-linux\n", 0o644},
		"DEPS":             {"core/glibc/2.27/20190115002733\n", 0o644},
		"MANIFEST":         {"# acme widget\n", 0o644},
		"BINDS_OPTIONAL":   {"db=port\n", 0o644},
		"bin/widget":       {"#!/bin/sh\necho widget\n", 0o755},
		"lib/libw.so.1.0":  {strings.Repeat("\x7fELF binary-ish\x00\x01", 4000), 0o644},
		"share/doc/README": {strings.Repeat("text line\n", 500), 0o444},
		"config/app.toml":  {"port = {{cfg.port}}\n", 0o640},
		"hooks/run":        {"#!/bin/sh\nexec widget\n", 0o700},
	}
	for rel, f := range files {
		p := filepath.Join(base, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []struct{ name, target string }{
		{"lib/libw.so.1", "libw.so.1.0"},
		{"lib/libw.so", "libw.so.1"},
		{"bin/w", "../bin/widget"},
		{"lib/glibc", "/hab/pkgs/core/glibc/2.27/20190115002733/lib"},
	} {
		if err := os.Symlink(l.target, filepath.Join(base, filepath.FromSlash(l.name))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(base, "bin", "widget"), filepath.Join(base, "bin", "widget-hard")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"var/empty", "data"} {
		if err := os.MkdirAll(filepath.Join(base, filepath.FromSlash(d)), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(base, "share", "doc"), 0o555); err != nil {
		t.Fatal(err)
	}
	return base
}

// writeTestHart writes the hart of the tree under root into dir.
func writeTestHart(t *testing.T, dir, root string, key *crypto.SigningSecretKey, opts WriteOptions) string {
	t.Helper()
	p := filepath.Join(dir, "acme-widget-1.2.3-20240102030405-x86_64-linux.hart")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), f, root, testID, key, opts); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// entry describes one tar entry of a hand-made payload.
type entry struct {
	name     string
	typ      byte
	body     string
	linkname string
	mode     int64
}

func reg(name, body string) entry {
	return entry{name: name, typ: tar.TypeReg, body: body, mode: 0o644}
}
func dir(name string) entry { return entry{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, target string) entry {
	return entry{name: name, typ: tar.TypeSymlink, linkname: target, mode: 0o777}
}
func hardlink(name, target string) entry {
	return entry{name: name, typ: tar.TypeLink, linkname: target, mode: 0o644}
}

const pfx = "hab/pkgs/acme/widget/1.2.3/20240102030405/"

// tarBytes makes a tar of the given entries, in the given order.
func tarBytes(t *testing.T, entries []entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.linkname, Mode: e.mode, Size: int64(len(e.body)),
			ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// xzBytes compresses data with the pure-Go encoder.
func xzBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	enc, err := xzImpl{mode: XZGo}.newEncoder(context.Background(), &b, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// signedHart writes a hart of the raw payload signed by key into dir/name.
func signedHart(t *testing.T, dir, name string, key *crypto.SigningSecretKey, payload []byte) string {
	t.Helper()
	h := newHash()
	h.Write(payload)
	digest := hex.EncodeToString(h.Sum(nil))
	hdr := Header{Format: FormatVersion, KeyName: key.NamedRevision.String(), HashType: HashType, Signature: key.Sign([]byte(digest))}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, append(hdr.Encode(), payload...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// listTree lists every path under root (relative, slash-separated), with
// a type mark: "/" for directories, "@target" for symlinks.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			rel += "/"
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			rel += "@" + target
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// makeWritable undoes read-only directory modes so t.TempDir can clean up.
func makeWritable(root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
}

func hexSum(h interface{ Sum([]byte) []byte }) string { return hex.EncodeToString(h.Sum(nil)) }
