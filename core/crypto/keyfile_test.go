package crypto

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConformanceKeysLoad loads every real key file the original wrote and
// checks its type and name; the invalid-version ones must be refused with
// an error naming the file and the problem.
func TestConformanceKeysLoad(t *testing.T) {
	base := conformanceData(t)
	tests := []struct {
		file    string
		typ     KeyType
		name    string
		rev     string
		wantErr string
	}{
		{file: "habitat/keys/fhloston-paradise-20200813211603.box.key", typ: BoxSecret, name: "fhloston-paradise", rev: "20200813211603"},
		{file: "habitat/keys/fhloston-paradise-20200813211603.pub", typ: BoxPublic, name: "fhloston-paradise", rev: "20200813211603"},
		{file: "habitat/keys/origin-key-valid-20160509190508.pub", typ: SigPublic, name: "origin-key-valid", rev: "20160509190508"},
		{file: "habitat/keys/origin-key-valid-20160509190508.sig.key", typ: SigSecret, name: "origin-key-valid", rev: "20160509190508"},
		{file: "habitat/keys/ring-key-valid-20160504220722.sym.key", typ: SymSecret, name: "ring-key-valid", rev: "20160504220722"},
		{file: "habitat/keys/ruby-rhod-20200813204159.box.key", typ: BoxSecret, name: "ruby-rhod", rev: "20200813204159"},
		{file: "habitat/keys/ruby-rhod-20200813204159.pub", typ: BoxPublic, name: "ruby-rhod", rev: "20200813204159"},
		{file: "habitat/keys/service-key-valid.default@acme-20160509181736.box.key", typ: BoxSecret, name: "service-key-valid.default@acme", rev: "20160509181736"},
		{file: "habitat/keys/service-key-valid.default@acme-20160509181736.pub", typ: BoxPublic, name: "service-key-valid.default@acme", rev: "20160509181736"},
		{file: "habitat/artifacts/happyhumans-20160424223347.pub", typ: SigPublic, name: "happyhumans", rev: "20160424223347"},
		{file: "habitat/artifacts/happyhumans-20160424223347.sig.key", typ: SigSecret, name: "happyhumans", rev: "20160424223347"},
		{file: "builder/neurosis-20171211220037.pub", typ: SigPublic, name: "neurosis", rev: "20171211220037"},
		{file: "habitat/keys/origin-key-invalid-version-20160518021451.pub", wantErr: `line 1: invalid key: unsupported key format "NONSENSE-12"`},
		{file: "habitat/keys/origin-key-invalid-version-20160518021451.sig.key", wantErr: `line 1: invalid key: unsupported key format "NONSENSE-15"`},
		{file: "habitat/keys/ring-key-invalid-version-20160504221247.sym.key", wantErr: `line 1: invalid key: unsupported key format "NONSENSE-12"`},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			p := filepath.Join(base, tt.file)
			kf, err := LoadKeyFile(p)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("loaded %s as %s %s; want an error", p, kf.Type, kf.NamedRevision)
				}
				if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q: want ErrInvalidKey naming %s and saying %q", err, p, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kf.Type != tt.typ || kf.Name != tt.name || kf.Revision != tt.rev {
				t.Fatalf("got %s %s/%s, want %s %s/%s", kf.Type, kf.Name, kf.Revision, tt.typ, tt.name, tt.rev)
			}
			if kf.FileName() != filepath.Base(tt.file) {
				t.Fatalf("canonical file name %s, want %s", kf.FileName(), filepath.Base(tt.file))
			}
			// The typed conversion accepts it too.
			switch kf.Type {
			case SigPublic:
				_, err = SigningPublicKeyFrom(kf)
			case SigSecret:
				_, err = SigningSecretKeyFrom(kf)
			case SymSecret:
				_, err = RingKeyFrom(kf)
			case BoxPublic:
				_, err = BoxPublicKeyFrom(kf)
			case BoxSecret:
				_, err = BoxSecretKeyFrom(kf)
			}
			if err != nil {
				t.Fatal(err)
			}
			// Our encoding parses back to the same key.
			again, err := ParseKeyFile(kf.Encode(), "encoded")
			if err != nil || again.Type != kf.Type || again.NamedRevision != kf.NamedRevision || !bytes.Equal(again.Key, kf.Key) {
				t.Fatalf("re-encoded key differs: %v", err)
			}
		})
	}
	// Every key file in the conformance folders is in the table.
	for _, dir := range []string{"habitat/keys", "habitat/artifacts", "builder"} {
		entries, err := os.ReadDir(filepath.Join(base, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			n := e.Name()
			if strings.HasSuffix(n, ".pub") || strings.HasSuffix(n, ".key") {
				if !seen[dir+"/"+n] {
					t.Errorf("conformance key %s/%s is not in the table", dir, n)
				}
			}
		}
	}
}

// TestConformancePairsMatch checks that the real secret keys derive their
// real public keys, for signing and box pairs.
func TestConformancePairsMatch(t *testing.T) {
	base := conformanceData(t)
	for _, p := range []struct{ dir, name string }{
		{"habitat/keys", "origin-key-valid-20160509190508"},
		{"habitat/artifacts", "happyhumans-20160424223347"},
	} {
		c := Cache{Dir: filepath.Join(base, p.dir)}
		nr, _ := ParseNamedRevision(p.name)
		skf, err := c.Read(SigSecret, nr)
		if err != nil {
			t.Fatal(err)
		}
		sec, err := SigningSecretKeyFrom(skf)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := c.SigningPublicKey(p.name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sec.Public().Key, pub.Key) {
			t.Errorf("%s: secret signing key does not derive the public key", p.name)
		}
	}
	c := Cache{Dir: filepath.Join(base, "habitat/keys")}
	for _, name := range []string{"fhloston-paradise-20200813211603", "ruby-rhod-20200813204159", "service-key-valid.default@acme-20160509181736"} {
		sec, err := c.BoxSecretKey(name)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := c.BoxPublicKey(name)
		if err != nil {
			t.Fatal(err)
		}
		derived, err := sec.Public()
		if err != nil {
			t.Fatal(err)
		}
		if derived.Key != pub.Key {
			t.Errorf("%s: secret box key does not derive the public key", name)
		}
	}
}

// TestMalformedKeys feeds broken key texts to the parser: each is refused
// with ErrInvalidKey and an error naming the input, the line and the
// problem.
func TestMalformedKeys(t *testing.T) {
	const good32 = "RCFaO84j41GmrzWddxMdsXpGdn3iuIy7Mw3xYrjPLsE="
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", "expected 4 lines (format, NAME-REVISION, empty line, base64 key), found 0"},
		{"header only", "SYM-SEC-1\n", "found 1"},
		{"no key line", "SYM-SEC-1\nring-20160504220722\n\n", "found 2"},
		{"missing empty line", "SYM-SEC-1\nring-20160504220722\n" + good32 + "\n", "found 3"},
		{"text instead of empty line", "SYM-SEC-1\nring-20160504220722\nhello\n" + good32, "line 3: invalid key: expected an empty line"},
		{"unknown format", "SYM-SEC-2\nring-20160504220722\n\n" + good32, `line 1: invalid key: unsupported key format "SYM-SEC-2"`},
		{"name without revision", "SYM-SEC-1\nring\n\n" + good32, `line 2: invalid key: key name "ring" is not NAME-YYYYMMDDhhmmss`},
		{"short revision", "SYM-SEC-1\nim-in-trouble-123\n\n" + good32, `key name "im-in-trouble-123" is not NAME-YYYYMMDDhhmmss`},
		{"revision then junk", "SYM-SEC-1\nbarf-20160504220722-wheee\n\n" + good32, "is not NAME-YYYYMMDDhhmmss"},
		{"bad base64", "SYM-SEC-1\nring-20160504220722\n\nnot*base64!\n", "line 4: invalid key: key is not valid base64"},
		{"wrong length", "SYM-SEC-1\nring-20160504220722\n\nAAAA\n", "line 4: invalid key: SYM-SEC-1 key is 3 bytes, expected 32"},
		{"public signing key too long", "SIG-PUB-1\nfoo-20160504220722\n\n" + b64(make([]byte, 64)), "SIG-PUB-1 key is 64 bytes, expected 32"},
		{"secret signing key too short", "SIG-SEC-1\nfoo-20160504220722\n\n" + good32, "SIG-SEC-1 key is 32 bytes, expected 64"},
		{"trailing content", "SYM-SEC-1\nring-20160504220722\n\n" + good32 + "\nmore\n", "unexpected content after the key on line 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kf, err := ParseKeyFile([]byte(tt.text), "the-input")
			if err == nil {
				t.Fatalf("parsed %s %s; want an error", kf.Type, kf.NamedRevision)
			}
			if !errors.Is(err, ErrInvalidKey) || !strings.HasPrefix(err.Error(), "the-input: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q: want ErrInvalidKey, naming the-input, saying %q", err, tt.want)
			}
		})
	}
}

// TestSecretSigningKeyHalvesMustMatch refuses a SIG-SEC-1 key whose public
// half is not derived from its seed.
func TestSecretSigningKeyHalvesMustMatch(t *testing.T) {
	_, sec, err := GenerateSigningPair("foo", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kf := sec.KeyFile()
	kf.Key = bytes.Clone(kf.Key)
	kf.Key[40] ^= 1
	if _, err := SigningSecretKeyFrom(kf); err == nil || !strings.Contains(err.Error(), "does not match its seed") {
		t.Fatalf("error %v; want a mismatch between seed and public half", err)
	}
}

// TestLoadKeyFileNameMismatch refuses key files whose canonical file name
// disagrees with their content, and accepts keys under free-form names.
func TestLoadKeyFileNameMismatch(t *testing.T) {
	dir := t.TempDir()
	k, err := GenerateRingKey("ring", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	data := k.KeyFile().Encode()
	tests := []struct {
		file, want string
	}{
		{"ring-20240102030405.sym.key", ""},
		{"my-ring-key.txt", ""},
		{"ring-20240102030406.sym.key", "the file name says key ring-20240102030406 but the file holds key ring-20240102030405"},
		{"other-20240102030405.sym.key", "the file name says key other-20240102030405"},
		{"ring-20240102030405.box.key", "a SYM-SEC-1 key belongs in a .sym.key file, not .box.key"},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, tt.file)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKeyFile(p)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.file, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v; want one naming the file and saying %q", tt.file, err, tt.want)
		}
	}
	if _, err := LoadKeyFile(filepath.Join(dir, "absent-20240102030405.pub")); err == nil || !strings.Contains(err.Error(), "absent-20240102030405.pub") {
		t.Errorf("missing file: error %v; want one naming the file", err)
	}
}

// TestParseKeyFiles reads one key or several concatenated keys.
func TestParseKeyFiles(t *testing.T) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	pub, sec, err := GenerateSigningPair("foo", now)
	if err != nil {
		t.Fatal(err)
	}
	one := pub.KeyFile().Encode()
	two := append(append(bytes.Clone(one), '\n'), sec.KeyFile().Encode()...)
	noNewlines := strings.TrimSuffix(string(one), "\n") + "\n" + string(sec.KeyFile().Encode())
	for _, in := range []struct {
		name string
		data []byte
		n    int
	}{
		{"one", one, 1},
		{"two with blank line", two, 2},
		{"two back to back", []byte(noNewlines), 2},
		{"crlf and surrounding blank lines", []byte("\r\n" + strings.ReplaceAll(string(two), "\n", "\r\n") + "\r\n\r\n"), 2},
	} {
		kfs, err := ParseKeyFiles(in.data, "stdin")
		if err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		if len(kfs) != in.n || kfs[0].Type != SigPublic || (in.n == 2 && kfs[1].Type != SigSecret) {
			t.Fatalf("%s: got %d keys", in.name, len(kfs))
		}
	}
	if _, err := ParseKeyFiles([]byte("\n\n"), "stdin"); err == nil || !strings.Contains(err.Error(), "stdin: invalid key: no key found") {
		t.Fatalf("empty input: %v", err)
	}
	bad := string(one) + "\nSIG-SEC-1\nfoo\n\nAAAA\n"
	if _, err := ParseKeyFiles([]byte(bad), "stdin"); err == nil || !strings.Contains(err.Error(), "stdin (key 2 of 2): line 2") {
		t.Fatalf("bad second key: %v", err)
	}
}

func TestNamedRevision(t *testing.T) {
	for _, tt := range []struct{ in, name, rev string }{
		{"foo-20160504220722", "foo", "20160504220722"},
		{"foo-stuff-20160504220722", "foo-stuff", "20160504220722"},
		{"core.redis@chef-20160504220722", "core.redis@chef", "20160504220722"},
	} {
		nr, err := ParseNamedRevision(tt.in)
		if err != nil || nr.Name != tt.name || nr.Revision != tt.rev || nr.String() != tt.in {
			t.Errorf("%s: %+v %v", tt.in, nr, err)
		}
	}
	for _, in := range []string{"barf", "barf-123", "barf-20160504220722-wheeeeeeeee", "-20160504220722", ""} {
		if _, err := ParseNamedRevision(in); err == nil || !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%q: parsed; want an error", in)
		}
	}
	nr := NewRevision("foo", time.Date(2016, 5, 4, 22, 7, 22, 0, time.FixedZone("X", 3600)))
	if nr.String() != "foo-20160504210722" {
		t.Errorf("revision not in UTC: %s", nr)
	}
}

func TestValidKeyName(t *testing.T) {
	for _, ok := range []string{"core", "redis.default@acme", "my_user-1"} {
		if err := ValidKeyName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "a b", "a\nb", "a\tb"} {
		if err := ValidKeyName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
