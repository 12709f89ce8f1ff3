package crypto

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Untrusted key names (from hart headers, key files, standard input):
// every form that could leave the key cache, or hide in a terminal, is
// refused by the one parser, and errors show the name escaped.
var badKeyNames = []string{
	"../out/evil-20200101000000",
	"../../../../etc/passwd-20200101000000",
	"a/b-20200101000000",
	`a\b-20200101000000`,
	"..-20200101000000",
	".-20200101000000",
	"x..y-20200101000000",
	"/abs-20200101000000",
	"evil\x1b[2J-20200101000000",
	"evil\u202egnp-20200101000000",
	"evil\x00-20200101000000",
	"ev il-20200101000000",
	"\xff\xfe-20200101000000",
	strings.Repeat("a", MaxKeyNameLen+1) + "-20200101000000",
}

func TestParseNamedRevisionRefusesUnsafeNames(t *testing.T) {
	for _, in := range badKeyNames {
		_, err := ParseNamedRevision(in)
		if err == nil || !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%q: %v; want ErrInvalidKey", in, err)
			continue
		}
		for _, raw := range []string{"\x1b", "\u202e", "\x00", "\xff"} {
			if strings.Contains(err.Error(), raw) {
				t.Errorf("%q: the error prints the name unescaped: %q", in, err)
			}
		}
	}
}

// TestCacheNeverReadsOutsideItself: a public key planted next to the cache
// is not found through a traversing name, with an empty cache or not.
func TestCacheNeverReadsOutsideItself(t *testing.T) {
	base := t.TempDir()
	c := Cache{Dir: filepath.Join(base, "keys")}
	out := filepath.Join(base, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	pub, _, _ := GenerateSigningPair("evil", now)
	if err := os.WriteFile(filepath.Join(out, "evil-20200101000000.pub"), pub.KeyFile().Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, withCache := range []bool{false, true} {
		if withCache {
			if _, _, err := c.NewSigningPair("core", now); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range []string{"../out/evil-20200101000000", "x/../../out/evil-20200101000000"} {
			if k, err := c.SigningPublicKey(name); err == nil || !errors.Is(err, ErrInvalidKey) {
				t.Errorf("cache=%v %q: key %v, %v; want ErrInvalidKey", withCache, name, k, err)
			}
		}
		// A NamedRevision built by hand cannot escape either.
		if _, err := c.Read(SigPublic, NamedRevision{Name: "../out/evil", Revision: "20200101000000"}); err == nil || !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Read of a traversing name: %v", err)
		}
		if _, err := c.Write(&KeyFile{Type: SigPublic, NamedRevision: NamedRevision{Name: "../evil", Revision: "20200101000000"}, Key: pub.Key}); err == nil {
			t.Error("Write of a traversing name succeeded")
		}
	}
	if _, err := os.Stat(filepath.Join(base, "evil-20200101000000.pub")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key was written outside the cache: %v", err)
	}
}

// TestParseKeyFileRefusesUnsafeNames: key files (import, beside a hart,
// downloaded) are parsed with the same rule.
func TestParseKeyFileRefusesUnsafeNames(t *testing.T) {
	pub, _, _ := GenerateSigningPair("core", time.Now())
	good := string(pub.KeyFile().Encode())
	for _, name := range badKeyNames[:8] {
		data := strings.Replace(good, pub.NamedRevision.String(), name, 1)
		if _, err := ParseKeyFile([]byte(data), "stdin"); err == nil || !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%q: %v", name, err)
		}
		if _, err := ParseKeyFiles([]byte(good+"\n"+data), "stdin"); err == nil {
			t.Errorf("%q as the second key: accepted", name)
		}
	}
}

// TestSecretKeyMustMatchItsSeed: a secret signing key whose stored public
// half is not derived from its seed is refused when parsed, imported or
// written.
func TestSecretKeyMustMatchItsSeed(t *testing.T) {
	now := time.Date(2022, 3, 4, 5, 6, 7, 0, time.UTC)
	_, sec, _ := GenerateSigningPair("acme", now)
	_, other, _ := GenerateSigningPair("acme", now)
	for name, mutate := range map[string]func(k []byte){
		"other public half": func(k []byte) { copy(k[32:], other.Key[32:]) },
		"flipped bit":       func(k []byte) { k[40] ^= 1 },
		"other seed":        func(k []byte) { copy(k[:32], other.Key[:32]) },
		"zero public half":  func(k []byte) { clear(k[32:]) },
	} {
		kf := sec.KeyFile()
		kf.Key = append([]byte(nil), kf.Key...)
		mutate(kf.Key)
		if _, err := ParseKeyFile(kf.Encode(), "stdin"); err == nil || !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), "does not match its seed") {
			t.Errorf("%s: parse: %v", name, err)
		}
		c := tempCache(t)
		if _, err := c.Import(kf); err == nil {
			t.Errorf("%s: imported", name)
		}
		if entries, _ := os.ReadDir(c.Dir); len(entries) != 0 {
			t.Errorf("%s: the cache holds %d files after a refused import", name, len(entries))
		}
	}
}

// TestSecretKeyMustMatchCachedPublicKey: importing (or writing) a secret
// key that is not the pair of the cached public key of the same name and
// revision is refused, in the cache and within one import; the matching
// one imports.
func TestSecretKeyMustMatchCachedPublicKey(t *testing.T) {
	now := time.Date(2022, 3, 4, 5, 6, 7, 0, time.UTC)
	pub, sec, _ := GenerateSigningPair("acme", now)
	_, sec2, _ := GenerateSigningPair("acme", now)
	c := tempCache(t)
	if _, err := c.Import(pub.KeyFile()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Import(sec2.KeyFile()); err == nil || !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), "does not match the public key") {
		t.Fatalf("import of another secret key: %v", err)
	}
	if _, err := c.Write(sec2.KeyFile()); err == nil {
		t.Fatal("Write of another secret key succeeded")
	}
	if _, err := os.Stat(c.Path(SigSecret, sec2.NamedRevision)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("secret key written: %v", err)
	}
	// Both in one import, into an empty cache.
	c2 := tempCache(t)
	if _, err := c2.Import(pub.KeyFile(), sec2.KeyFile()); err == nil {
		t.Fatal("import of a mismatched pair succeeded")
	}
	if _, err := c2.Import(sec2.KeyFile(), pub.KeyFile()); err == nil {
		t.Fatal("import of a mismatched pair (secret first) succeeded")
	}
	if entries, _ := os.ReadDir(c2.Dir); len(entries) != 0 {
		t.Fatalf("the cache holds %d files after refused imports", len(entries))
	}
	if _, err := c.Import(sec.KeyFile()); err != nil {
		t.Fatalf("the matching secret key: %v", err)
	}
	// Another revision of the same origin is another pair: fine.
	_, sec3, _ := GenerateSigningPair("acme", now.Add(time.Second))
	if _, err := c.Import(sec3.KeyFile()); err != nil {
		t.Fatalf("another revision: %v", err)
	}
}
