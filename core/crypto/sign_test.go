package crypto

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"github.com/habgo/hab/internal/conformance"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/blake2b"
)

func conformanceData(t *testing.T, elem ...string) string {
	t.Helper()
	return conformance.Path(t, elem...)
}

// TestOpenRealHartSignature checks the signing primitives against a real
// artifact made by the original: the header's signature opens with the
// origin's public key to the hex BLAKE2b-256 digest of the payload.
func TestOpenRealHartSignature(t *testing.T) {
	dir := conformanceData(t, "habitat", "artifacts")
	c := Cache{Dir: dir}
	pub, err := c.SigningPublicKey("happyhumans-20160424223347")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := c.LatestSigningSecretKey("happyhumans")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sec.Public().Key, pub.Key) {
		t.Fatal("secret key's public half differs from the .pub file")
	}
	f, err := os.Open(filepath.Join(dir, "happyhumans-possums-8.1.4-20160427165340-x86_64-linux.hart"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var lines []string
	for i := 0; i < 5; i++ {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l[:len(l)-1])
	}
	if lines[0] != "HART-1" || lines[1] != "happyhumans-20160424223347" || lines[2] != "BLAKE2b" || lines[4] != "" {
		t.Fatalf("unexpected header %q", lines)
	}
	signed, err := base64.StdEncoding.DecodeString(lines[3])
	if err != nil {
		t.Fatal(err)
	}
	msg, err := pub.Open(signed)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := blake2b.New256(nil)
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != string(msg) {
		t.Fatalf("payload digest %s, signed digest %s", got, msg)
	}
	// Our own signature over the same digest opens with the same key.
	if _, err := pub.Open(sec.Sign(msg)); err != nil {
		t.Fatal(err)
	}
	// Ed25519 is deterministic: we produce the original's exact signature.
	if !bytes.Equal(sec.Sign(msg), signed) {
		t.Fatal("signature differs from the original's for the same key and digest")
	}
}
