package hart

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/habgo/hab/core/crypto"
)

// refhart finds a Python 3 that has PyNaCl (Debian: python3-nacl), and the
// tar and xz programs refhart.py drives; it skips the test otherwise.
func refhart(t *testing.T) func(args ...string) (string, error) {
	t.Helper()
	for _, tool := range []string{"tar", "xz"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("interoperability test needs %s on PATH: %v", tool, err)
		}
	}
	var python string
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if err := exec.Command(p, "-c", "import nacl.signing").Run(); err == nil {
			python = p
			break
		}
	}
	if python == "" {
		t.Skip("interoperability test needs Python 3 with PyNaCl (apt-get install -y python3-nacl)")
	}
	script, err := filepath.Abs(filepath.Join("testdata", "refhart.py"))
	if err != nil {
		t.Fatal(err)
	}
	return func(args ...string) (string, error) {
		out, err := exec.Command(python, append([]string{script}, args...)...).CombinedOutput()
		return string(out), err
	}
}

// TestInteropWriteToReference: a hart written by Write verifies with the
// reference implementation (libsodium, hashlib), and GNU tar extracts the
// same tree from it.
func TestInteropWriteToReference(t *testing.T) {
	ref := refhart(t)
	key, keys := testKey(t, "acme")
	src := t.TempDir()
	base := makeTree(t, src)
	t.Cleanup(func() { makeWritable(src) })
	for _, mode := range xzModes(t) {
		t.Run(string(mode), func(t *testing.T) {
			p := writeTestHart(t, t.TempDir(), src, key, WriteOptions{XZ: mode})
			out, err := ref("verify", keys.Dir, p)
			if err != nil {
				t.Fatalf("refhart.py verify: %v\n%s", err, out)
			}
			if h := mustHeader(t, p); !strings.Contains(out, h.SignedDigest()) {
				t.Errorf("refhart.py verified another digest: %s", out)
			}
			dest := t.TempDir()
			t.Cleanup(func() { makeWritable(dest) })
			if out, err := ref("extract", keys.Dir, p, dest); err != nil {
				t.Fatalf("refhart.py extract: %v\n%s", err, out)
			}
			compareTrees(t, base, filepath.Join(dest, filepath.FromSlash(pfx)))
		})
	}
	// And the reference refuses a tampered one, so its "verified" means something.
	p := writeTestHart(t, t.TempDir(), src, key, WriteOptions{XZ: XZGo})
	b, _ := os.ReadFile(p)
	b[len(b)-20] ^= 1
	os.WriteFile(p, b, 0o644)
	if out, err := ref("verify", keys.Dir, p); err == nil {
		t.Errorf("refhart.py verified a tampered hart: %s", out)
	}
}

// TestInteropReferenceToRead: a hart made by the reference implementation
// (GNU tar + xz CLI payload, libsodium signature) verifies and extracts.
func TestInteropReferenceToRead(t *testing.T) {
	ref := refhart(t)
	key, keys := testKey(t, "acme")
	src := t.TempDir()
	base := makeTree(t, src)
	t.Cleanup(func() { makeWritable(src) })
	p := filepath.Join(t.TempDir(), "ref.hart")
	if out, err := ref("sign", keys.Path(crypto.SigSecret, key.NamedRevision), src, testID.String(), p); err != nil {
		t.Fatalf("refhart.py sign: %v\n%s", err, out)
	}
	ctx := context.Background()
	h, err := Verify(ctx, p, keys)
	if err != nil {
		t.Fatal(err)
	}
	if h.KeyName != key.NamedRevision.String() {
		t.Errorf("key %s", h.KeyName)
	}
	for _, mode := range xzModes(t) {
		t.Run(string(mode), func(t *testing.T) {
			m, err := ReadMetadataWith(ctx, p, ReadOptions{XZ: mode})
			if err != nil || m.Ident != testID || len(m.Files) != 5 {
				t.Fatalf("metadata %+v %v", m, err)
			}
			root := t.TempDir()
			t.Cleanup(func() { makeWritable(root) })
			m, err = ExtractWith(ctx, p, keys, root, ExtractOptions{XZ: mode})
			if err != nil {
				t.Fatal(err)
			}
			if m.Ident != testID || string(m.Files["TARGET"]) != "x86_64-linux\n" {
				t.Errorf("metadata %+v", m)
			}
			compareTrees(t, base, filepath.Join(root, filepath.FromSlash(pfx)))
		})
	}
}
