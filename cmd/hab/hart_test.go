package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"github.com/habgo/hab/internal/conformance"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/cliconfig"
	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/paths"
)

// hartEnv is a throw-away FS_ROOT, HOME and key cache for in-process runs.
type hartEnv struct {
	env  map[string]string
	keys string
}

func newHartEnv(t *testing.T) *hartEnv {
	t.Helper()
	dir := t.TempDir()
	e := &hartEnv{keys: filepath.Join(dir, "keys"), env: map[string]string{}}
	e.env["FS_ROOT"] = filepath.Join(dir, "root")
	e.env["HOME"] = filepath.Join(dir, "home")
	e.env["HAB_CACHE_KEY_PATH"] = e.keys
	if err := os.MkdirAll(e.keys, 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *hartEnv) run(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return e.env[k] })
	return code, out.String(), errb.String()
}

// hartConformance locates the conformance artifacts beside the repository.
func hartConformance(t *testing.T) string {
	t.Helper()
	return conformance.Path(t, "habitat", "artifacts")
}

const hartHappy = "happyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart"

// hartCopyInto copies files from dir into dst.
func hartCopyInto(t *testing.T, dst, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPkgVerify(t *testing.T) {
	arts := hartConformance(t)
	e := newHartEnv(t)
	hartCopyInto(t, e.keys, arts, "happyhumans-20160424223347.pub")
	src := filepath.Join(arts, hartHappy)

	code, out, errOut := e.run("", "pkg", "verify", src)
	want := "» Verifying artifact " + src + "\n" +
		"✓ Verified checksum 0f2c5f4de145c7f78601caae9c7b8767098413d05739de913c012922b7eed760 signed with happyhumans-20160424223347\n" +
		"★ Verified artifact " + src + ".\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errOut)
	}

	unhappy := filepath.Join(arts, "un"+hartHappy)
	code, _, errOut = e.run("", "pkg", "verify", unhappy)
	if code != 1 || !strings.Contains(errOut, "signature verification failed") || !strings.Contains(errOut, unhappy) {
		t.Errorf("tampered: exit %d, stderr %s", code, errOut)
	}

	// The key is looked up in --cache-key-path when given.
	empty := t.TempDir()
	code, _, errOut = e.run("", "pkg", "verify", "--cache-key-path", empty, src)
	if code != 1 || !strings.Contains(errOut, "happyhumans-20160424223347") || !strings.Contains(errOut, "not in the key cache "+empty) {
		t.Errorf("missing key: exit %d, stderr %s", code, errOut)
	}
	code, _, errOut = e.run("", "pkg", "verify", filepath.Join(arts, "bogus_and_corrupt.hart"))
	if code != 1 || !strings.Contains(errOut, "bogus_and_corrupt.hart") || !strings.Contains(errOut, "signing key name") {
		t.Errorf("bogus: exit %d, stderr %s", code, errOut)
	}
	code, _, errOut = e.run("", "pkg", "verify", filepath.Join(t.TempDir(), "missing.hart"))
	if code != 1 || !strings.Contains(errOut, "missing.hart") {
		t.Errorf("missing file: exit %d, stderr %s", code, errOut)
	}
	if code, _, _ := e.run("", "pkg", "verify"); code != 2 {
		t.Errorf("no SOURCE: exit %d, want 2", code)
	}
}

// hartPayloadOf writes the payload (the .tar.xz) of a hart to a file.
func hartPayloadOf(t *testing.T, hartPath, dst string) {
	t.Helper()
	f, err := os.Open(hartPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if _, err := hart.ReadHeader(br); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(br); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPkgSignReproducesOriginal re-signs the payload of the original's
// happyhumans hart with its key: the result is byte-identical to the
// original file.
func TestPkgSignReproducesOriginal(t *testing.T) {
	arts := hartConformance(t)
	e := newHartEnv(t)
	hartCopyInto(t, e.keys, arts, "happyhumans-20160424223347.pub", "happyhumans-20160424223347.sig.key")
	dir := t.TempDir()
	src := filepath.Join(dir, "possums.tar.xz")
	hartPayloadOf(t, filepath.Join(arts, hartHappy), src)
	dst := filepath.Join(dir, "possums.hart")

	code, out, errOut := e.run("", "pkg", "sign", "--origin", "happyhumans", src, dst)
	want := "» Signing " + src + "\n☛ Signing " + src + " with happyhumans-20160424223347 to create " + dst + "\n★ Signed artifact " + dst + ".\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errOut)
	}
	got, _ := os.ReadFile(dst)
	orig, _ := os.ReadFile(filepath.Join(arts, hartHappy))
	if !bytes.Equal(got, orig) {
		t.Fatal("re-signed hart differs from the original")
	}
	if code, _, errOut := e.run("", "pkg", "verify", dst); code != 0 {
		t.Fatalf("verify: %s", errOut)
	}
}

func TestPkgSign(t *testing.T) {
	arts := hartConformance(t)
	e := newHartEnv(t)
	kc := crypto.Cache{Dir: e.keys}
	for _, when := range []time.Time{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)} {
		pub, sec, err := crypto.GenerateSigningPair("acme", when)
		if err != nil {
			t.Fatal(err)
		}
		kc.Write(pub.KeyFile())
		kc.Write(sec.KeyFile())
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "p.tar.xz")
	hartPayloadOf(t, filepath.Join(arts, hartHappy), src)

	// The origin comes from HAB_ORIGIN; the newest key is used.
	e.env["HAB_ORIGIN"] = "acme"
	dst := filepath.Join(dir, "p.hart")
	code, out, errOut := e.run("", "pkg", "sign", src, dst)
	if code != 0 || !strings.Contains(out, "with acme-20210101000000 to create") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if h, err := hart.ReadHeaderFile(context.Background(), dst); err != nil || h.KeyName != "acme-20210101000000" {
		t.Fatalf("%+v %v", h, err)
	}
	code, out, _ = e.run("", "pkg", "verify", dst)
	if code != 0 || !strings.Contains(out, "signed with acme-20210101000000") {
		t.Fatalf("verify: %d %s", code, out)
	}
	if st, _ := os.Stat(dst); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}

	// Without HAB_ORIGIN, the origin of cli.toml (hab setup's), as the
	// original's.
	e.env["HAB_ORIGIN"] = ""
	if code, out, errOut := e.run("", "setup", "--non-interactive", "--origin", "acme"); code != 0 {
		t.Fatalf("setup: %d\n%s%s", code, out, errOut)
	}
	dst2 := filepath.Join(dir, "p2.hart")
	if code, out, errOut := e.run("", "pkg", "sign", src, dst2); code != 0 || !strings.Contains(out, "with acme-20210101000000 to create") {
		t.Fatalf("sign with cli.toml's origin: exit %d\n%s\n%s", code, out, errOut)
	}
	if err := os.Remove(cliconfig.Path(paths.FromEnv(func(k string) string { return e.env[k] }))); err != nil {
		t.Fatal(err)
	}
	e.env["HAB_ORIGIN"] = "acme"

	// Refusals: nothing is left at DEST.
	bad := filepath.Join(dir, "bad.hart")
	notXZ := filepath.Join(dir, "plain.tar")
	os.WriteFile(notXZ, []byte("plain"), 0o644)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		{"no origin", map[string]string{"HAB_ORIGIN": ""}, []string{src, bad}, 2, "--origin"},
		{"invalid origin", nil, []string{"--origin", "Not Valid", src, bad}, 2, "invalid origin"},
		{"no key", nil, []string{"--origin", "nokeys", src, bad}, 1, "nokeys"},
		{"missing source", nil, []string{filepath.Join(dir, "missing.tar.xz"), bad}, 1, "missing.tar.xz"},
		{"not xz", nil, []string{notXZ, bad}, 1, "not xz-compressed"},
		{"one argument", nil, []string{src}, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := map[string]string{}
			for k, v := range tc.env {
				saved[k] = e.env[k]
				e.env[k] = v
			}
			defer func() {
				for k, v := range saved {
					e.env[k] = v
				}
			}()
			code, _, errOut := e.run("", append([]string{"pkg", "sign"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.msg) {
				t.Errorf("exit %d (want %d), stderr %s", code, tc.code, errOut)
			}
			if _, err := os.Stat(bad); err == nil {
				t.Error("DEST was written")
			}
			if m, _ := filepath.Glob(filepath.Join(dir, ".bad.hart*")); len(m) != 0 {
				t.Errorf("temporary files left: %v", m)
			}
		})
	}
}

func TestPkgHeader(t *testing.T) {
	arts := hartConformance(t)
	e := newHartEnv(t)
	src := filepath.Join(arts, hartHappy)
	code, out, errOut := e.run("", "pkg", "header", src)
	want := "» Reading package header for " + src + "\n\n" +
		"Package        : " + src + "\n" +
		"Format Version : HART-1\n" +
		"Key Name       : happyhumans-20160424223347\n" +
		"Hash Type      : BLAKE2b\n" +
		"Raw Signature  : U0cp/+npru0ZxhK76zm+PDVSV/707siyrO1r7T6CZZ4ShSLrIxyx8jLSMr5wnLuGrVIV358smQPWOSTOmyfFCjBmMmM1ZjRkZTE0NWM3Zjc4NjAxY2FhZTljN2I4NzY3MDk4NDEzZDA1NzM5ZGU5MTNjMDEyOTIyYjdlZWQ3NjA=\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d\n%s\nwant\n%s\n%s", code, out, want, errOut)
	}
	code, out, _ = e.run("", "pkg", "header", "--json", src)
	var j map[string]string
	if err := json.Unmarshal([]byte(out), &j); code != 0 || err != nil || j["key_name"] != "happyhumans-20160424223347" || j["format_version"] != "HART-1" || j["package"] != src {
		t.Errorf("json: %d %v %s", code, err, out)
	}
	bogus := filepath.Join(arts, "bogus_and_corrupt.hart")
	code, _, errOut = e.run("", "pkg", "header", bogus)
	if code != 1 || !strings.Contains(errOut, bogus) || !strings.Contains(errOut, "not-valid-identifier!") {
		t.Errorf("bogus: %d %s", code, errOut)
	}
}

func TestPkgHash(t *testing.T) {
	e := newHartEnv(t)
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b c")
	os.WriteFile(a, []byte("abc"), 0o644)
	os.WriteFile(b, nil, 0o644)
	const abc = "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
	const empty = "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
	code, out, _ := e.run("", "pkg", "hash", a)
	if code != 0 || out != abc+"  "+a+"\n" {
		t.Errorf("%d %q", code, out)
	}
	// Without SOURCE, file names come from standard input, one per line.
	code, out, _ = e.run(a+"\n"+b+"  \n", "pkg", "hash")
	if code != 0 || out != abc+"  "+a+"\n"+empty+"  "+b+"\n" {
		t.Errorf("stdin: %d %q", code, out)
	}
	code, _, errOut := e.run("", "pkg", "hash", filepath.Join(dir, "missing"))
	if code != 1 || !strings.Contains(errOut, filepath.Join(dir, "missing")) {
		t.Errorf("missing: %d %s", code, errOut)
	}
	code, _, errOut = e.run("", "pkg", "hash", dir)
	if code != 1 || !strings.Contains(errOut, "is a directory") {
		t.Errorf("directory: %d %s", code, errOut)
	}
}

func TestPkgHartCommandsHelp(t *testing.T) {
	e := newHartEnv(t)
	for _, tc := range []struct {
		cmd   string
		flags []string
	}{
		{"sign", []string{"--origin", "--cache-key-path", "SOURCE DEST"}},
		{"verify", []string{"--cache-key-path", "SOURCE"}},
		{"header", []string{"--json", "SOURCE"}},
		{"hash", []string{"[SOURCE]"}},
	} {
		code, out, _ := e.run("", "pkg", tc.cmd, "--help")
		if code != 0 {
			t.Errorf("%s --help: exit %d", tc.cmd, code)
		}
		for _, f := range tc.flags {
			if !strings.Contains(out, f) {
				t.Errorf("%s --help lacks %s:\n%s", tc.cmd, f, out)
			}
		}
	}
}
