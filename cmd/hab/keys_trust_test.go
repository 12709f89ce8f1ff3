package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
)

// TestOriginKeyImportRefusesBadSecretKeys: `hab origin key import` refuses
// a secret signing key whose public half is not its seed's, and one that
// is not the pair of the cached public key of the same name and revision
// (signing with it would make harts that do not verify); nothing is
// written; the genuine one imports.
func TestOriginKeyImportRefusesBadSecretKeys(t *testing.T) {
	e := newKeysEnv(t)
	now := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	pub, sec, _ := crypto.GenerateSigningPair("acme", now)
	_, other, _ := crypto.GenerateSigningPair("acme", now)
	e.mustRun(t, string(pub.KeyFile().Encode()), "origin", "key", "import")

	bad := sec.KeyFile()
	bad.Key = append([]byte(nil), bad.Key...)
	copy(bad.Key[32:], other.Key[32:]) // seed of one key, public half of another
	e.mustFail(t, 1, "does not match its seed", string(bad.Encode()), "origin", "key", "import")
	e.mustFail(t, 1, "does not match the public key", string(other.KeyFile().Encode()), "origin", "key", "import")
	// A mismatched pair in one input, into an empty cache.
	e2 := newKeysEnv(t)
	e2.mustFail(t, 1, "does not match", string(pub.KeyFile().Encode())+string(other.KeyFile().Encode()), "origin", "key", "import")
	if entries, _ := os.ReadDir(e2.keys); len(entries) != 0 {
		t.Fatalf("a refused import wrote %d files", len(entries))
	}
	if _, err := os.Stat(e.cache().Path(crypto.SigSecret, sec.NamedRevision)); !os.IsNotExist(err) {
		t.Fatalf("a refused secret key was written: %v", err)
	}
	out := e.mustRun(t, string(sec.KeyFile().Encode()), "origin", "key", "import")
	if !strings.Contains(out, "Imported secret origin key acme-20230506070809") {
		t.Fatalf("genuine secret key: %s", out)
	}
	// Key names with paths are refused on import too.
	evil := strings.Replace(string(pub.KeyFile().Encode()), "acme-20230506070809", "../evil-20230506070809", 1)
	e.mustFail(t, 1, "invalid key", evil, "origin", "key", "import")
}
