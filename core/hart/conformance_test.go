package hart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
)

// realHarts lists the builder fixtures (top level and oddversions/).
func realHarts(t *testing.T) []string {
	dir := conformanceData(t, "builder")
	var out []string
	for _, pat := range []string{"*.hart", "oddversions/*.hart"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) < 30 {
		t.Fatalf("expected the builder fixtures, found %d harts", len(out))
	}
	return out
}

// hartNameRE splits ORIGIN-NAME-VERSION-RELEASE-TARGET.hart; the release
// is the 14-digit field, the target one of the known ones.
var hartNameRE = regexp.MustCompile(`^([a-z0-9_-]+?)-(.+)-(.+)-(\d{14})-(x86_64-linux-kernel2|x86_64-linux|x86_64-windows|aarch64-linux|aarch64-darwin|x86_64-darwin)\.hart$`)

// TestConformanceHeaders prints what the header of every real hart says,
// and checks what can be checked without keys.
func TestConformanceHeaders(t *testing.T) {
	files := append(realHarts(t), filepath.Join(conformanceData(t, "builder", "fake"), "neurosis-testapp-0.1.3-20171205003213-x86_64-linux.hart"))
	arts := conformanceData(t, "habitat", "artifacts")
	files = append(files,
		filepath.Join(arts, "happyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart"),
		filepath.Join(arts, "unhappyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart"))
	t.Logf("%-72s %-7s %-26s %-8s %s", "file", "format", "key", "hash", "signed digest")
	for _, p := range files {
		h, err := ReadHeaderFile(context.Background(), p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		rel, _ := filepath.Rel(conformanceData(t), p)
		t.Logf("%-72s %-7s %-26s %-8s %s", rel, h.Format, h.KeyName, h.HashType, h.SignedDigest())
		if h.Format != "HART-1" || h.HashType != "BLAKE2b" || len(h.Signature) != 64+64 || !isHexDigest([]byte(h.SignedDigest())) {
			t.Errorf("%s: unexpected header %+v", p, h)
		}
	}
	// bogus_and_corrupt.hart: its key name line is not NAME-REVISION, and
	// the file ends right after the signature line (no empty line, no
	// payload). The first problem is what is reported.
	_, err := ReadHeaderFile(context.Background(), filepath.Join(arts, "bogus_and_corrupt.hart"))
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "bogus_and_corrupt.hart") || !strings.Contains(err.Error(), "happyhumans-20160424223347-not-valid-identifier!") {
		t.Errorf("bogus_and_corrupt.hart: got %v", err)
	}
	t.Logf("bogus_and_corrupt.hart: %v", err)
	raw, _ := os.ReadFile(filepath.Join(arts, "bogus_and_corrupt.hart"))
	if lines := strings.Split(string(raw), "\n"); len(lines) != 5 || lines[4] != "" {
		t.Errorf("bogus_and_corrupt.hart: expected 4 lines and nothing after, found %q", lines)
	}
}

func TestVerifyConformance(t *testing.T) {
	ctx := context.Background()
	arts := conformanceData(t, "habitat", "artifacts")
	builder := conformanceData(t, "builder")
	happyKeys := crypto.Cache{Dir: arts}
	neurosis := crypto.Cache{Dir: builder}

	h, err := Verify(ctx, filepath.Join(arts, "happyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart"), happyKeys)
	if err != nil {
		t.Fatalf("happyhumans: %v", err)
	}
	if h.KeyName != "happyhumans-20160424223347" || h.EncodedSignature() != "U0cp/+npru0ZxhK76zm+PDVSV/707siyrO1r7T6CZZ4ShSLrIxyx8jLSMr5wnLuGrVIV358smQPWOSTOmyfFCjBmMmM1ZjRkZTE0NWM3Zjc4NjAxY2FhZTljN2I4NzY3MDk4NDEzZDA1NzM5ZGU5MTNjMDEyOTIyYjdlZWQ3NjA=" {
		t.Errorf("happyhumans header %+v", h)
	}

	unhappy := filepath.Join(arts, "unhappyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart")
	if _, err := Verify(ctx, unhappy, happyKeys); !errors.Is(err, crypto.ErrBadSignature) || !strings.Contains(err.Error(), unhappy) {
		t.Errorf("unhappyhumans: want a signature error naming the file, got %v", err)
	}

	verified := 0
	for _, p := range realHarts(t) {
		hdr, err := ReadHeaderFile(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Verify(ctx, p, neurosis)
		if hdr.KeyName == "neurosis-20171211220037" {
			if err != nil {
				t.Errorf("%s: %v", p, err)
			}
			verified++
			continue
		}
		if !errors.Is(err, crypto.ErrKeyNotFound) || !strings.Contains(err.Error(), hdr.KeyName) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: want key-not-found naming %s, got %v", p, hdr.KeyName, err)
		}
	}
	if verified < 25 {
		t.Errorf("only %d builder harts verified", verified)
	}

	// fake/ is the genuine 0.1.3 hart with one byte of its signature
	// changed; its signer key is not in the fixtures, so it is refused
	// for that first.
	fake := filepath.Join(builder, "fake", "neurosis-testapp-0.1.3-20171205003213-x86_64-linux.hart")
	if _, err := Verify(ctx, fake, neurosis); err == nil || !strings.Contains(err.Error(), "neurosis-20171205003147") {
		t.Errorf("fake: want refusal naming the key, got %v", err)
	}
	genuine, _ := os.ReadFile(filepath.Join(builder, "neurosis-testapp-0.1.3-20171205003213-x86_64-linux.hart"))
	faked, _ := os.ReadFile(fake)
	if diff := countDiff(genuine, faked); diff != 1 {
		t.Errorf("fake differs from the genuine hart in %d bytes, expected 1", diff)
	}
	fh, _ := ReadHeaderFile(context.Background(), fake)
	gh, _ := ReadHeaderFile(context.Background(), filepath.Join(builder, "neurosis-testapp-0.1.3-20171205003213-x86_64-linux.hart"))
	if string(fh.Signature) == string(gh.Signature) {
		t.Error("fake: expected its signature to differ from the genuine one")
	}

	bogus := filepath.Join(arts, "bogus_and_corrupt.hart")
	if _, err := Verify(ctx, bogus, happyKeys); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "signing key name") {
		t.Errorf("bogus_and_corrupt: got %v", err)
	}
}

func countDiff(a, b []byte) int {
	if len(a) != len(b) {
		return -1
	}
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// TestMetadataConformance reads the metadata of every real hart (no key
// needed) and checks it against the file name.
func TestMetadataConformance(t *testing.T) {
	ctx := context.Background()
	files := append(realHarts(t), filepath.Join(conformanceData(t, "habitat", "artifacts"), "happyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart"))
	for _, mode := range xzModes(t) {
		for _, p := range files {
			m, err := ReadMetadataWith(ctx, p, ReadOptions{XZ: mode})
			if err != nil {
				t.Errorf("%s (%s): %v", p, mode, err)
				continue
			}
			checkAgainstName(t, p, m)
		}
	}
}

func checkAgainstName(t *testing.T, p string, m *Metadata) {
	t.Helper()
	sm := hartNameRE.FindStringSubmatch(filepath.Base(p))
	if sm == nil {
		t.Fatalf("cannot parse file name %s", p)
	}
	want := ident.Ident{Origin: sm[1], Name: sm[2], Version: sm[3], Release: sm[4]}
	if m.Ident.Origin != want.Origin || m.Ident.Release != want.Release || m.Ident.Name+"-"+m.Ident.Version != want.Name+"-"+want.Version {
		t.Errorf("%s: ident %s", p, m.Ident)
	}
	if string(m.Target) != sm[5] {
		t.Errorf("%s: target %s, name says %s", p, m.Target, sm[5])
	}
	if _, ok := m.Files["IDENT"]; !ok {
		t.Errorf("%s: no IDENT among %d metadata files", p, len(m.Files))
	}
}

// TestExtractConformance extracts every real hart whose key is available,
// with both xz implementations.
func TestExtractConformance(t *testing.T) {
	ctx := context.Background()
	arts := conformanceData(t, "habitat", "artifacts")
	builder := conformanceData(t, "builder")
	type tc struct {
		path string
		keys crypto.Cache
	}
	cases := []tc{{filepath.Join(arts, "happyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart"), crypto.Cache{Dir: arts}}}
	for _, p := range realHarts(t) {
		if h, _ := ReadHeaderFile(context.Background(), p); h.KeyName == "neurosis-20171211220037" {
			cases = append(cases, tc{p, crypto.Cache{Dir: builder}})
		}
	}
	for _, mode := range xzModes(t) {
		for _, c := range cases {
			root := t.TempDir()
			m, err := ExtractWith(ctx, c.path, c.keys, root, ExtractOptions{XZ: mode})
			if err != nil {
				t.Errorf("%s (%s): %v", c.path, mode, err)
				continue
			}
			checkAgainstName(t, c.path, m)
			got, err := os.ReadFile(filepath.Join(root, "hab", "pkgs", m.Ident.Origin, m.Ident.Name, m.Ident.Version, m.Ident.Release, "IDENT"))
			if err != nil || strings.TrimSpace(string(got)) != m.Ident.String() {
				t.Errorf("%s: extracted IDENT %q, %v", c.path, got, err)
			}
		}
	}
	// The happyhumans payload holds share/signme.dat, the fixture beside it.
	root := t.TempDir()
	if _, err := Extract(ctx, cases[0].path, cases[0].keys, root); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(root, "hab/pkgs/happyhumans/possums/8.1.4/20160427165340/share/signme.dat"))
	want, _ := os.ReadFile(filepath.Join(arts, "signme.dat"))
	if string(got) != string(want) || len(want) == 0 {
		t.Errorf("signme.dat: got %q want %q", got, want)
	}
	st, err := os.Stat(filepath.Join(root, "hab/pkgs/happyhumans/possums/8.1.4/20160427165340/share/signme.dat"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("signme.dat mode: %v %v", st.Mode(), err)
	}
}
