package crypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Messages encrypted by the original (from its own test suite) for the
// conformance keys.
const (
	origSignedText    = "BOX-1\nruby-rhod-20200813204159\nservice-key-valid.default@acme-20160509181736\nE6kRUTjQayKDykfgTM9WvJLFmOk2M/CR\nFivenLwuZnrKaOxNHro+StLXRKmK+acDSXE+qgGKqPHpDH6H"
	origSignedPlain   = "HOT, HOT, HAAAAAWWT!"
	origAnonText      = "ANONYMOUS-BOX-1\nfhloston-paradise-20200813211603\nyCye2Rg/LtNwrNzVapYj8rrkbZpTnI3ld7oFTwGzGnsEhsxtebyW2CQDwB1IeZ2eDkNxqAQnD8AaQjK6M42fFCmadBNSMsp+AMFqnH2c"
	origAnonPlain     = "Negative, I am a meat popsicle"
	origBuilderKey    = "BOX-SEC-1\nbldr-20200825205529\n\nM9u8wuJmZMsmVG4tNgngYJDapjIJE1RnxJAFVN97Bxs="
	origBuilderText   = "BOX-1\nbldr-20200825205529\nbldr-20200825205529\nilnFU7aVNfkq6PrNXzXh3l1FTQftMzoM\nr6B4EAUIRO2tf169nPMeDPxVzZ7tslS/Oiv2ZQCcFBRyotwv5rh0NjN6KR5pCFOPWAmp62tSQQz6FIiKqHC2bBlk3A4MLugX"
	origBuilderPlain  = "Fear is the little-death that brings total obliteration."
	origRingNonce     = "r93tuERwKFALrdeagSeSCjOPlkeSYUZM"
	origRingCipher    = "oWp8B5AuCR1asM80PQPRKZAgSPWfj8AkBevxYucV"
	origRingPlain     = "This is a test"
	origSignedFormat  = "BOX-1\nruby-rhod-20200813204159\nservice-key-valid.default@acme-20160509181736\nB7e4QAO4aKZFNbiBQAOm+8kZhqVDtOwo\n+faMzEwgX1EDcjl9ab4MVBR8klaQnLegxSmGygWOHU+Y8PUz"
	origAnonFormat    = "ANONYMOUS-BOX-1\nfhloston-paradise-20200813211603\nDHcXh6dIhfpOg2jtwHFhNzDl19FsHnmERjlKucsAWiG9yTnu7DORBE/nxTrhzoU0ZxPkjNn2VL4xCDlb4EPEUJM="
	origFormatNonceHx = "07b7b84003b868a64535b8814003a6fbc91986a543b4ec28"
)

func keysCache(t *testing.T) Cache {
	return Cache{Dir: conformanceData(t, "habitat", "keys")}
}

// TestOriginalMessagesDecrypt opens messages the original encrypted: a
// user-to-service BOX-1, an ANONYMOUS-BOX-1 for an origin, a Builder
// self-addressed BOX-1 and a ring secretbox.
func TestOriginalMessagesDecrypt(t *testing.T) {
	c := keysCache(t)
	got, err := c.Decrypt([]byte(origSignedText), "signed message")
	if err != nil || string(got) != origSignedPlain {
		t.Fatalf("BOX-1: %q, %v", got, err)
	}
	got, err = c.Decrypt([]byte(origAnonText), "anonymous message")
	if err != nil || string(got) != origAnonPlain {
		t.Fatalf("ANONYMOUS-BOX-1: %q, %v", got, err)
	}

	kf, err := ParseKeyFile([]byte(origBuilderKey), "builder key")
	if err != nil {
		t.Fatal(err)
	}
	bldr, err := BoxSecretKeyFrom(kf)
	if err != nil {
		t.Fatal(err)
	}
	bpub, err := bldr.Public()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseSignedBox([]byte(origBuilderText), "builder message")
	if err != nil {
		t.Fatal(err)
	}
	got, err = bldr.DecryptFrom(m, bpub)
	if err != nil || string(got) != origBuilderPlain {
		t.Fatalf("builder BOX-1: %q, %v", got, err)
	}
	// And a self-addressed message of ours opens the same way.
	mine, err := bldr.EncryptFor([]byte("walk without rhythm"), bpub)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := bldr.DecryptFrom(mine, bpub); err != nil || string(got) != "walk without rhythm" {
		t.Fatalf("self-addressed round trip: %q, %v", got, err)
	}

	ring, err := c.LatestRingKey("ring-key-valid")
	if err != nil {
		t.Fatal(err)
	}
	nonce, _ := unb64(origRingNonce)
	ct, _ := unb64(origRingCipher)
	got, err = ring.Decrypt(nonce, ct)
	if err != nil || string(got) != origRingPlain {
		t.Fatalf("ring: %q, %v", got, err)
	}
}

// TestMessageFormatsRoundTrip parses the original's message texts and
// renders them back byte for byte.
func TestMessageFormatsRoundTrip(t *testing.T) {
	sb, err := ParseSignedBox([]byte(origSignedFormat), "signed")
	if err != nil {
		t.Fatal(err)
	}
	if sb.Sender.String() != "ruby-rhod-20200813204159" || sb.Receiver.String() != "service-key-valid.default@acme-20160509181736" {
		t.Fatalf("names %s -> %s", sb.Sender, sb.Receiver)
	}
	if h := hex.EncodeToString(sb.Nonce[:]); h != origFormatNonceHx {
		t.Fatalf("nonce %s", h)
	}
	if len(sb.Ciphertext) != 36 {
		t.Fatalf("ciphertext is %d bytes, want 36", len(sb.Ciphertext))
	}
	if sb.String() != origSignedFormat {
		t.Fatalf("rendered\n%s\nwant\n%s", sb, origSignedFormat)
	}
	ab, err := ParseAnonymousBox([]byte(origAnonFormat), "anonymous")
	if err != nil {
		t.Fatal(err)
	}
	if ab.Receiver.String() != "fhloston-paradise-20200813211603" || len(ab.Ciphertext) != 65 || ab.String() != origAnonFormat {
		t.Fatalf("anonymous box: %s, %d bytes", ab.Receiver, len(ab.Ciphertext))
	}
	// A final newline is tolerated.
	if _, err := ParseSignedBox([]byte(origSignedFormat+"\n"), "signed"); err != nil {
		t.Fatal(err)
	}
}

// TestBoxRoundTripAndFailures encrypts between generated user and service
// keys, and checks that wrong keys, tampering and mismatched names fail
// with ErrDecrypt.
func TestBoxRoundTripAndFailures(t *testing.T) {
	now := time.Now()
	userPub, userSec, err := GenerateBoxPair("korben", now)
	if err != nil {
		t.Fatal(err)
	}
	svcPub, svcSec, err := GenerateBoxPair(ServiceKeyName("redis.default", "acme"), now)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, otherSec, err := GenerateBoxPair(ServiceKeyName("redis.default", "acme"), now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("Korben, sweetheart, what was that?")
	sb, err := userSec.EncryptFor(msg, svcPub)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Sender != userSec.NamedRevision || sb.Receiver != svcPub.NamedRevision || svcPub.Name != "redis.default@acme" {
		t.Fatalf("names %s -> %s", sb.Sender, sb.Receiver)
	}
	// Through the text form.
	parsed, err := ParseSignedBox([]byte(sb.String()), "msg")
	if err != nil {
		t.Fatal(err)
	}
	got, err := svcSec.DecryptFrom(parsed, userPub)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("round trip: %q, %v", got, err)
	}

	tamper := func(f func(m *SignedBox)) *SignedBox {
		m := *parsed
		m.Ciphertext = bytes.Clone(parsed.Ciphertext)
		f(&m)
		return &m
	}
	tests := []struct {
		name   string
		m      *SignedBox
		sec    *BoxSecretKey
		sender *BoxPublicKey
		want   string
	}{
		{"flipped ciphertext byte", tamper(func(m *SignedBox) { m.Ciphertext[20] ^= 1 }), svcSec, userPub, "does not open"},
		{"flipped MAC byte", tamper(func(m *SignedBox) { m.Ciphertext[0] ^= 1 }), svcSec, userPub, "does not open"},
		{"truncated", tamper(func(m *SignedBox) { m.Ciphertext = m.Ciphertext[:len(m.Ciphertext)-1] }), svcSec, userPub, "does not open"},
		{"other nonce", tamper(func(m *SignedBox) { m.Nonce[3] ^= 1 }), svcSec, userPub, "does not open"},
		{"wrong receiver key with the right name", tamper(func(m *SignedBox) { m.Receiver = otherSec.NamedRevision }), otherSec, userPub, "does not open"},
		{"receiver name differs", parsed, otherSec, userPub, "message is for key redis.default@acme-"},
		{"sender name differs", parsed, svcSec, otherPub, "message is from key korben-"},
	}
	for _, tt := range tests {
		if _, err := tt.sec.DecryptFrom(tt.m, tt.sender); err == nil || !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v; want ErrDecrypt saying %q", tt.name, err, tt.want)
		}
	}

	// Anonymous messages.
	ab, err := svcPub.EncryptAnonymous(msg)
	if err != nil {
		t.Fatal(err)
	}
	pab, err := ParseAnonymousBox([]byte(ab.String()), "anon")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := svcSec.DecryptAnonymous(pab); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("anonymous round trip: %q, %v", got, err)
	}
	pab.Ciphertext[len(pab.Ciphertext)-1] ^= 1
	if _, err := svcSec.DecryptAnonymous(pab); !errors.Is(err, ErrDecrypt) {
		t.Errorf("tampered anonymous message: %v", err)
	}
	pab.Ciphertext[len(pab.Ciphertext)-1] ^= 1
	pab.Receiver = otherSec.NamedRevision
	if _, err := otherSec.DecryptAnonymous(pab); !errors.Is(err, ErrDecrypt) {
		t.Errorf("anonymous message opened with the wrong key: %v", err)
	}
}

// TestMalformedMessages refuses broken message texts with errors naming the
// input, the line and the problem.
func TestMalformedMessages(t *testing.T) {
	lines := strings.Split(origSignedText, "\n")
	join := func(l ...string) []byte { return []byte(strings.Join(l, "\n")) }
	signed := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "msg: message is empty, expected a BOX-1 message"},
		{"other version", join("BOX-2", lines[1], lines[2], lines[3], lines[4]), `msg: line 1: unsupported message format "BOX-2", expected "BOX-1"`},
		{"anonymous given", []byte(origAnonText), `unsupported message format "ANONYMOUS-BOX-1"`},
		{"no ciphertext", join(lines[:4]...), "msg: BOX-1 message is truncated: missing line 5 (ciphertext)"},
		{"no nonce", join(lines[:3]...), "missing line 4 (nonce)"},
		{"no receiver", join(lines[:2]...), "missing line 3 (receiver key name)"},
		{"bad sender", join(lines[0], "ruby-rhod", lines[2], lines[3], lines[4]), `msg: line 2 (sender key name): invalid key: key name "ruby-rhod" is not NAME-YYYYMMDDhhmmss`},
		{"bad receiver", join(lines[0], lines[1], "x-1", lines[3], lines[4]), "msg: line 3 (receiver key name)"},
		{"bad nonce base64", join(lines[0], lines[1], lines[2], "!!", lines[4]), "msg: line 4: nonce is not valid base64"},
		{"short nonce", join(lines[0], lines[1], lines[2], "AAAA", lines[4]), "msg: line 4: nonce is 3 bytes, expected 24"},
		{"bad ciphertext base64", join(lines[0], lines[1], lines[2], lines[3], "??"), "msg: line 5: ciphertext is not valid base64"},
		{"short ciphertext", join(lines[0], lines[1], lines[2], lines[3], "AAAA"), "msg: line 5: ciphertext is 3 bytes, shorter than its 16-byte authenticator"},
		{"extra line", join(append(lines, "more")...), "unexpected content after the BOX-1 message on line 6"},
	}
	for _, tt := range signed {
		if _, err := ParseSignedBox(tt.data, "msg"); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v; want %q", tt.name, err, tt.want)
		}
	}
	al := strings.Split(origAnonText, "\n")
	anon := []struct {
		name string
		data []byte
		want string
	}{
		{"signed given", []byte(origSignedText), `msg: line 1: unsupported message format "BOX-1", expected "ANONYMOUS-BOX-1"`},
		{"no ciphertext", join(al[:2]...), "missing line 3 (ciphertext)"},
		{"bad receiver", join(al[0], "nobody", al[2]), "msg: line 2 (receiver key name)"},
		{"bad base64", join(al[0], al[1], "%%"), "msg: line 3: ciphertext is not valid base64"},
		{"short", join(al[0], al[1], "AAAA"), "shorter than the 48 bytes"},
	}
	for _, tt := range anon {
		if _, err := ParseAnonymousBox(tt.data, "msg"); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v; want %q", tt.name, err, tt.want)
		}
	}
	c := keysCache(t)
	if _, err := c.Decrypt([]byte("HELLO-1\nx"), "msg"); err == nil || !strings.Contains(err.Error(), `decrypt msg: unsupported message format "HELLO-1"`) {
		t.Errorf("unknown format: %v", err)
	}
	// A message for a key the cache lacks names the key.
	missing := strings.Replace(origSignedText, "service-key-valid.default@acme-20160509181736", "service-key-valid.default@acme-20160509181737", 1)
	if _, err := c.Decrypt([]byte(missing), "msg"); !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), "service-key-valid.default@acme-20160509181737") {
		t.Errorf("missing key: %v", err)
	}
}

// TestRingKey round-trips gossip payloads and refuses wrong keys,
// tampering and malformed nonces.
func TestRingKey(t *testing.T) {
	k, err := GenerateRingKey("beyonce", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateRingKey("beyonce", time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	nonce, ct, err := k.Encrypt([]byte("Ringonit"))
	if err != nil {
		t.Fatal(err)
	}
	if len(nonce) != RingNonceSize || len(ct) != len("Ringonit")+16 {
		t.Fatalf("nonce %d bytes, ciphertext %d bytes", len(nonce), len(ct))
	}
	if got, err := k.Decrypt(nonce, ct); err != nil || string(got) != "Ringonit" {
		t.Fatalf("round trip: %q, %v", got, err)
	}
	n2, ct2, _ := k.Encrypt([]byte("Ringonit"))
	if bytes.Equal(n2, nonce) || bytes.Equal(ct2, ct) {
		t.Fatal("two encryptions share a nonce")
	}
	bad := bytes.Clone(ct)
	bad[5] ^= 1
	for name, f := range map[string]func() error{
		"wrong key":       func() error { _, err := other.Decrypt(nonce, ct); return err },
		"tampered":        func() error { _, err := k.Decrypt(nonce, bad); return err },
		"other nonce":     func() error { _, err := k.Decrypt(n2, ct); return err },
		"short nonce":     func() error { _, err := k.Decrypt([]byte("crazyinlove"), ct); return err },
		"junk ciphertext": func() error { _, err := k.Decrypt(nonce, []byte("singleladies")); return err },
		"empty":           func() error { _, err := k.Decrypt(nonce, nil); return err },
	} {
		if err := f(); !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "beyonce-") {
			t.Errorf("%s: error %v; want ErrDecrypt naming the key", name, err)
		}
	}
	// Key file round trip.
	back, err := RingKeyFrom(k.KeyFile())
	if err != nil || back.Key != k.Key || back.NamedRevision != k.NamedRevision {
		t.Fatalf("key file round trip: %v", err)
	}
	if _, err := RingKeyFrom((&BoxPublicKey{NamedRevision: k.NamedRevision}).KeyFile()); err == nil || !strings.Contains(err.Error(), "not a ring key") {
		t.Fatalf("box key taken as ring key: %v", err)
	}
}

// TestCacheDecryptGenerated writes generated keys to a temporary cache and
// decrypts through it.
func TestCacheDecryptGenerated(t *testing.T) {
	c := Cache{Dir: filepath.Join(t.TempDir(), "keys")}
	now := time.Now()
	userPub, userSec, err := c.NewBoxPair("leeloo", now)
	if err != nil {
		t.Fatal(err)
	}
	svcPub, _, err := c.NewBoxPair(ServiceKeyName("web.prod", "fhloston"), now)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := userSec.EncryptFor([]byte("multipass"), svcPub)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Decrypt([]byte(sb.String()), "upload"); err != nil || string(got) != "multipass" {
		t.Fatalf("%q, %v", got, err)
	}
	ab, err := userPub.EncryptAnonymous([]byte("anon"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Decrypt([]byte(ab.String()), "anon"); err != nil || string(got) != "anon" {
		t.Fatalf("%q, %v", got, err)
	}
}
