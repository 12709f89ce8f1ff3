package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
)

// TestSignerNameWithAPath: a hart whose header names its signer with a
// path, validly signed by the key planted at that path outside the key
// cache, is refused by `hab pkg verify`, `hab pkg install` and `hab pkg
// header`, with an empty key cache and with a full one, and the name is
// printed escaped.
func TestSignerNameWithAPath(t *testing.T) {
	arts := hartConformance(t)
	e := newHartEnv(t)
	e.env["FS_ROOT"] = filepath.Join(t.TempDir(), "root")
	good, err := os.ReadFile(filepath.Join(arts, hartHappy))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(bytes.NewReader(good))
	if _, err := hart.ReadHeader(br); err != nil {
		t.Fatal(err)
	}
	payload := good[len(good)-br.Buffered():]
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
