package crypto

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func tempCache(t *testing.T) Cache {
	t.Helper()
	return Cache{Dir: filepath.Join(t.TempDir(), "cache", "keys")}
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestCacheFileModesAndNames generates every kind of key into a new cache:
// secret files are 0600, public ones 0644, under the original's names.
func TestCacheFileModesAndNames(t *testing.T) {
	c := tempCache(t)
	now := time.Date(2024, 2, 29, 23, 59, 58, 0, time.UTC)
	if _, _, err := c.NewSigningPair("acme", now); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewRingKey("prod", now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.NewBoxPair(ServiceKeyName("redis.default", "acme"), now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.NewBoxPair("korben", now); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{
		"acme-20240229235958.pub":                   0o644,
		"acme-20240229235958.sig.key":               0o600,
		"prod-20240229235958.sym.key":               0o600,
		"redis.default@acme-20240229235958.pub":     0o644,
		"redis.default@acme-20240229235958.box.key": 0o600,
		"korben-20240229235958.pub":                 0o644,
		"korben-20240229235958.box.key":             0o600,
	}
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("cache holds %v, want %d files", names, len(want))
	}
	for name, m := range want {
		p := filepath.Join(c.Dir, name)
		if got := mode(t, p); got != m {
			t.Errorf("%s: mode %o, want %o", name, got, m)
		}
		if _, err := LoadKeyFile(p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestCacheLatest picks the newest revision and ignores keys of other
// names that share a prefix, and other types under the same extension.
func TestCacheLatest(t *testing.T) {
	c := tempCache(t)
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{time.Hour, 0, 48 * time.Hour, 2 * time.Second} {
		if _, _, err := c.NewSigningPair("acme", t0.Add(d)); err != nil {
			t.Fatal(err)
		}
	}
	// A longer name with the same prefix, newer: must not be chosen.
	if _, _, err := c.NewSigningPair("acme-labs", t0.Add(100*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A box key named acme, newer, sharing the .pub extension.
	if _, _, err := c.NewBoxPair("acme", t0.Add(200*time.Hour)); err != nil {
		t.Fatal(err)
	}
	sec, err := c.LatestSigningSecretKey("acme")
	if err != nil {
		t.Fatal(err)
	}
	if sec.Revision != "20200103000000" {
		t.Fatalf("latest secret key %s", sec.NamedRevision)
	}
	pub, err := c.Latest(SigPublic, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if pub.Revision != "20200103000000" {
		t.Fatalf("latest public signing key %s", pub.NamedRevision)
	}
	bpub, err := c.LatestBoxPublicKey("acme")
	if err != nil || bpub.Revision != "20200109080000" {
		t.Fatalf("latest box key %v %v", bpub, err)
	}
	revs, err := c.Revisions(SigSecret, "acme")
	if err != nil || len(revs) != 4 {
		t.Fatalf("revisions %v %v", revs, err)
	}
	if _, err := c.LatestRingKey("acme"); !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), "no ring key for acme in the key cache "+c.Dir) {
		t.Fatalf("missing ring key: %v", err)
	}
	if _, err := (Cache{Dir: filepath.Join(t.TempDir(), "absent")}).LatestSigningSecretKey("acme"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("missing cache: %v", err)
	}
}

// TestCacheWriteConflicts: the same key twice is fine; a different key
// under the same name is refused and the file left as it was.
func TestCacheWriteConflicts(t *testing.T) {
	c := tempCache(t)
	now := time.Date(2021, 6, 1, 12, 0, 0, 0, time.UTC)
	k, err := c.NewRingKey("prod", now)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Path(SymSecret, k.NamedRevision)
	before, _ := os.ReadFile(p)
	if _, err := c.Write(k.KeyFile()); err != nil {
		t.Fatalf("same key again: %v", err)
	}
	other, _ := GenerateRingKey("prod", now)
	_, err = c.Write(other.KeyFile())
	if err == nil || !strings.Contains(err.Error(), p+" already exists with different content") {
		t.Fatalf("conflict: %v", err)
	}
	after, _ := os.ReadFile(p)
	if !bytes.Equal(before, after) {
		t.Fatal("conflicting write changed the file")
	}
	// Generating in the same second collides the same way, and leaves no
	// half-written pair behind.
	if _, _, err := c.NewSigningPair("acme", now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.NewSigningPair("acme", now); err == nil {
		t.Fatal("second pair in the same second overwrote the first")
	}
	entries, _ := os.ReadDir(c.Dir)
	if len(entries) != 3 {
		t.Fatalf("cache holds %d files, want 3 (no temporary files)", len(entries))
	}
}

// TestCacheImportAllOrNothing: when one key of an import conflicts,
// nothing is written.
func TestCacheImportAllOrNothing(t *testing.T) {
	c := tempCache(t)
	now := time.Date(2021, 6, 1, 12, 0, 0, 0, time.UTC)
	pub, sec, err := GenerateSigningPair("acme", now)
	if err != nil {
		t.Fatal(err)
	}
	_, sec2, _ := GenerateSigningPair("acme", now)
	if _, err := c.Write(sec2.KeyFile()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Import(pub.KeyFile(), sec.KeyFile()); err == nil {
		t.Fatal("import of a conflicting secret key succeeded")
	}
	if _, err := os.Stat(c.Path(SigPublic, pub.NamedRevision)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("public key written by a failed import: %v", err)
	}
	if _, _, err := c.WritePair(pub.KeyFile(), sec.KeyFile()); err == nil {
		t.Fatal("WritePair over a conflicting secret key succeeded")
	}
	if _, err := os.Stat(c.Path(SigPublic, pub.NamedRevision)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("public key written by a failed pair write: %v", err)
	}
	_, other, _ := GenerateSigningPair("other", now)
	if _, _, err := c.WritePair(pub.KeyFile(), other.KeyFile()); err == nil || !strings.Contains(err.Error(), "are not a pair") {
		t.Fatalf("mismatched pair: %v", err)
	}
	// The public key of another pair than the cached secret key of the
	// same name is refused too (harts signed with that secret key would
	// not verify with it); the matching one imports.
	if _, err := c.Import(pub.KeyFile()); err == nil || !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("public key of another pair: %v", err)
	}
	paths, err := c.Import(sec2.Public().KeyFile())
	if err != nil || len(paths) != 1 || paths[0] != c.Path(SigPublic, pub.NamedRevision) {
		t.Fatalf("import: %v %v", paths, err)
	}
}

// TestCacheReadRefusesMisplacedKeys: a file under a key's canonical name
// holding another key is refused with an error naming the file.
func TestCacheReadRefusesMisplacedKeys(t *testing.T) {
	c := tempCache(t)
	now := time.Date(2021, 6, 1, 12, 0, 0, 0, time.UTC)
	pub, _, _ := GenerateSigningPair("acme", now)
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	wrongName := NewRevision("acme", now.Add(time.Second))
	p := c.Path(SigPublic, wrongName)
	if err := os.WriteFile(p, pub.KeyFile().Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SigningPublicKey(wrongName.String()); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "names key acme-20210601120000") {
		t.Fatalf("misplaced key: %v", err)
	}
	bpub, _, _ := GenerateBoxPair("acme", now)
	p = c.Path(BoxPublic, bpub.NamedRevision)
	if err := os.WriteFile(p, bpub.KeyFile().Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SigningPublicKey(bpub.NamedRevision.String()); err == nil || !strings.Contains(err.Error(), "holds a BOX-PUB-1 key, expected SIG-PUB-1") {
		t.Fatalf("box key read as signing key: %v", err)
	}
}

// TestCacheNames: the names with keys of a type, once each and sorted;
// files of other types, other names and directories are not counted.
func TestCacheNames(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	if names, err := c.Names(SigSecret); err != nil || names != nil {
		t.Fatalf("empty cache: %v, %v", names, err)
	}
	for i, o := range []string{"zeta", "acme", "acme"} {
		if _, _, err := c.NewSigningPair(o, time.Date(2020, 1, 1, 0, 0, i, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.NewRingKey("ring1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(c.Dir, "dir-20200101000000.sig.key"), 0o755); err != nil {
		t.Fatal(err)
	}
	names, err := c.Names(SigSecret)
	if err != nil || !slices.Equal(names, []string{"acme", "zeta"}) {
		t.Errorf("signing names: %v, %v; want [acme zeta]", names, err)
	}
	if names, err := c.Names(SymSecret); err != nil || !slices.Equal(names, []string{"ring1"}) {
		t.Errorf("ring names: %v, %v; want [ring1]", names, err)
	}
	missing := Cache{Dir: filepath.Join(c.Dir, "nope")}
	if names, err := missing.Names(SigSecret); err != nil || names != nil {
		t.Errorf("missing cache: %v, %v", names, err)
	}
}
