package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
)

// happyParts splits the conformance hart into its header and payload.
func happyParts(t *testing.T, arts string) (header, payload []byte) {
	t.Helper()
	good, err := os.ReadFile(filepath.Join(arts, hartHappy))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(bytes.NewReader(good))
	if _, err := hart.ReadHeader(br); err != nil {
		t.Fatal(err)
	}
	n := len(good) - br.Buffered()
	return good[:n], good[n:]
}

// TestSignerNameWithAPath: a hart whose header names its signer with a
// path, validly signed by the key planted at that path outside the key
// cache, is refused by `hab pkg verify`, `hab pkg install` and `hab pkg
// header`, with an empty key cache and with a full one, and the name is
// printed escaped.
func TestSignerNameWithAPath(t *testing.T) {
	arts := hartConformance(t)
	e := newHartEnv(t)
	e.env["FS_ROOT"] = filepath.Join(t.TempDir(), "root")
	_, payload := happyParts(t, arts)
	sum, _, _ := hart.HashReader(t.Context(), bytes.NewReader(payload))
	evilPub, evil, _ := crypto.GenerateSigningPair("evil", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	sig := base64.StdEncoding.EncodeToString(evil.Sign([]byte(sum)))
	// The planted key, where the traversing names lead from the cache.
	out := filepath.Join(filepath.Dir(e.keys), "out")
	os.MkdirAll(out, 0o755)
	os.WriteFile(filepath.Join(out, "evil-20200101000000.pub"), evilPub.KeyFile().Encode(), 0o644)
	for _, name := range []string{"../out/evil-20200101000000", "../keys/../out/evil-20200101000000", "/etc/evil-20200101000000", "evil\x1b[31m-20200101000000", "evil\u202e-20200101000000"} {
		p := filepath.Join(t.TempDir(), "happyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart")
		os.WriteFile(p, append([]byte("HART-1\n"+name+"\nBLAKE2b\n"+sig+"\n\n"), payload...), 0o644)
		for _, full := range []bool{false, true} {
			if full {
				hartCopyInto(t, e.keys, arts, "happyhumans-20160424223347.pub")
			}
			for _, args := range [][]string{{"pkg", "verify", p}, {"pkg", "install", p}, {"pkg", "header", p}} {
				code, stdout, stderr := e.run("", args...)
				if code != 1 || !strings.Contains(stderr, "signing key name") {
					t.Errorf("hab %s with signer %q (cache full: %v): exit %d\n%s%s", args[1], name, full, code, stdout, stderr)
				}
				if strings.ContainsAny(stderr, "\x1b\u202e") {
					t.Errorf("hab %s: the name is printed raw: %q", args[1], stderr)
				}
			}
			if _, err := os.Stat(filepath.Join(e.env["FS_ROOT"], "hab", "pkgs", "happyhumans")); err == nil {
				t.Fatalf("%q: installed", name)
			}
		}
	}
}

// TestPkgInfoTruncated: `hab pkg info` of a cut hart exits 1 naming it.
func TestPkgInfoTruncated(t *testing.T) {
	arts := hartConformance(t)
	e := newHartEnv(t)
	good, err := os.ReadFile(filepath.Join(arts, hartHappy))
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := e.run("", "pkg", "info", filepath.Join(arts, hartHappy)); code != 0 {
		t.Fatalf("intact: exit %d %s", code, stderr)
	}
	for _, cut := range []int{len(good) - 1, len(good) - 30, len(good) / 2, 300} {
		p := filepath.Join(t.TempDir(), "cut.hart")
		os.WriteFile(p, good[:cut], 0o644)
		for _, args := range [][]string{{"pkg", "info", p}, {"pkg", "info", "--json", p}} {
			code, stdout, stderr := e.run("", args...)
			if code != 1 || !strings.Contains(stderr, p) || !strings.Contains(stderr, "not a valid hart") {
				t.Errorf("cut at %d: hab %s: exit %d\n%s%s", cut, strings.Join(args, " "), code, stdout, stderr)
			}
		}
	}
}

// xzOf compresses b.
func xzOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := xz.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestInstallOfAForgedBombReportsForgery: the genuine signed header of a
// real hart followed by a payload of a few hundred KB that expands to
// 4 GiB: `hab pkg install` and `hab pkg verify` report a forgery, and
// nothing is written to the store or its temporaries.
func TestInstallOfAForgedBombReportsForgery(t *testing.T) {
	arts := hartConformance(t)
	e := newHartEnv(t)
	hartCopyInto(t, e.keys, arts, "happyhumans-20160424223347.pub")
	header, _ := happyParts(t, arts)
	var th bytes.Buffer
	tw := tar.NewWriter(&th)
	tw.WriteHeader(&tar.Header{Name: "hab/pkgs/happyhumans/possums/8.1.4/20160427165340/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "hab/pkgs/happyhumans/possums/8.1.4/20160427165340/fill", Typeflag: tar.TypeReg, Mode: 0o644, Size: 4 << 30})
	tw.Flush()
	payload := xzOf(t, th.Bytes())
	zeros := xzOf(t, make([]byte, 64<<20))
	for range 64 {
		payload = append(payload, zeros...)
	}
	p := filepath.Join(t.TempDir(), hartHappy)
	os.WriteFile(p, append(append([]byte(nil), header...), payload...), 0o644)
	for _, args := range [][]string{{"pkg", "install", p}, {"pkg", "verify", p}} {
		code, stdout, stderr := e.run("", args...)
		if code != 1 || !strings.Contains(stderr, "signature verification failed") || !strings.Contains(stderr, "differs from") {
			t.Errorf("hab %s: exit %d\n%s%s", args[1], code, stdout, stderr)
		}
	}
	var written int64
	filepath.Walk(e.env["FS_ROOT"], func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			written += fi.Size()
		}
		return nil
	})
	if written > 1<<20 {
		t.Errorf("%d bytes written under FS_ROOT", written)
	}
}
