package crypto

import (
	"bytes"
	"context"
	"encoding/base64"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// naclPython finds a Python 3 that can import PyNaCl (Debian package
// python3-nacl, bindings to libsodium), or skips the test.
func naclPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import nacl.bindings").Run() == nil {
			return path
		}
	}
	t.Skip("python3-nacl (PyNaCl on libsodium) is not installed: apt-get install -y python3-nacl to run the libsodium interop tests")
	return ""
}

// nacl runs testdata/nacl_interop.py, an independent implementation of the
// key and message formats on libsodium.
func nacl(t *testing.T, py string, stdin []byte, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{filepath.Join("testdata", "nacl_interop.py")}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nacl_interop.py %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestInteropLibsodium checks every primitive both ways against libsodium:
// what we encrypt or sign, PyNaCl opens; what PyNaCl encrypts or signs, we
// open; through the key files and message texts, not raw bytes.
func TestInteropLibsodium(t *testing.T) {
	py := naclPython(t)
	c := Cache{Dir: t.TempDir()}
	now := time.Now()
	userPub, userSec, err := c.NewBoxPair("ruby", now)
	if err != nil {
		t.Fatal(err)
	}
	svcPub, svcSec, err := c.NewBoxPair(ServiceKeyName("web.default", "acme"), now)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := c.NewRingKey("gossip", now)
	if err != nil {
		t.Fatal(err)
	}
	sigPub, sigSec, err := c.NewSigningPair("acme", now)
	if err != nil {
		t.Fatal(err)
	}
	file := func(kf *KeyFile) string { return c.Path(kf.Type, kf.NamedRevision) }
	msg := []byte("port = 8080\n[secrets]\npassword = \"s3cr3t\"\n\x00\xff binary too")

	t.Run("box go to libsodium", func(t *testing.T) {
		sb, err := userSec.EncryptFor(msg, svcPub)
		if err != nil {
			t.Fatal(err)
		}
		got := nacl(t, py, []byte(sb.String()), "box-decrypt", file(svcSec.KeyFile()), file(userPub.KeyFile()))
		if !bytes.Equal(got, msg) {
			t.Fatalf("libsodium opened %q", got)
		}
	})
	t.Run("box libsodium to go", func(t *testing.T) {
		text := nacl(t, py, msg, "box-encrypt", file(userSec.KeyFile()), file(svcPub.KeyFile()))
		got, err := c.Decrypt(text, "python message")
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("opened %q, %v", got, err)
		}
	})
	t.Run("anonymous go to libsodium", func(t *testing.T) {
		ab, err := svcPub.EncryptAnonymous(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got := nacl(t, py, []byte(ab.String()), "anon-decrypt", file(svcSec.KeyFile())); !bytes.Equal(got, msg) {
			t.Fatalf("libsodium opened %q", got)
		}
	})
	t.Run("anonymous libsodium to go", func(t *testing.T) {
		text := nacl(t, py, msg, "anon-encrypt", file(svcPub.KeyFile()))
		got, err := c.Decrypt(text, "python message")
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("opened %q, %v", got, err)
		}
	})
	t.Run("ring go to libsodium", func(t *testing.T) {
		nonce, ct, err := ring.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		in := b64(nonce) + "\n" + b64(ct)
		if got := nacl(t, py, []byte(in), "ring-decrypt", file(ring.KeyFile())); !bytes.Equal(got, msg) {
			t.Fatalf("libsodium opened %q", got)
		}
	})
	t.Run("ring libsodium to go", func(t *testing.T) {
		out := nacl(t, py, msg, "ring-encrypt", file(ring.KeyFile()))
		parts := strings.Split(string(out), "\n")
		nonce, _ := base64.StdEncoding.DecodeString(parts[0])
		ct, _ := base64.StdEncoding.DecodeString(parts[1])
		got, err := ring.Decrypt(nonce, ct)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("opened %q, %v", got, err)
		}
	})
	t.Run("signature go to libsodium", func(t *testing.T) {
		signed := sigSec.Sign(msg)
		if got := nacl(t, py, []byte(b64(signed)), "verify", file(sigPub.KeyFile())); !bytes.Equal(got, msg) {
			t.Fatalf("libsodium verified %q", got)
		}
	})
	t.Run("signature libsodium to go", func(t *testing.T) {
		out := nacl(t, py, msg, "sign", file(sigSec.KeyFile()))
		signed, err := base64.StdEncoding.DecodeString(string(out))
		if err != nil {
			t.Fatal(err)
		}
		got, err := sigPub.Open(signed)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("verified %q, %v", got, err)
		}
		if !bytes.Equal(signed, sigSec.Sign(msg)) {
			t.Fatal("libsodium and Go signatures differ for the same key and message")
		}
	})
}
