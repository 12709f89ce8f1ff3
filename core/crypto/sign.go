package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// ErrBadSignature is wrapped by every signature verification failure.
var ErrBadSignature = errors.New("signature verification failed")

// SigningPublicKey is an origin's public signing key (SIG-PUB-1).
type SigningPublicKey struct {
	NamedRevision
	Key ed25519.PublicKey
}

// SigningSecretKey is an origin's secret signing key (SIG-SEC-1), in
// libsodium's 64-byte layout (seed followed by public key), which is also
// Go's ed25519.PrivateKey layout.
type SigningSecretKey struct {
	NamedRevision
	Key ed25519.PrivateKey
}

// GenerateSigningPair makes a new origin signing pair for origin, with a
// revision taken from now.
func GenerateSigningPair(origin string, now time.Time) (*SigningPublicKey, *SigningSecretKey, error) {
	pub, sec, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate signing key for %s: %w", origin, err)
	}
	nr := NewRevision(origin, now)
	return &SigningPublicKey{nr, pub}, &SigningSecretKey{nr, sec}, nil
}

// SigningPublicKeyFrom converts a parsed key file.
func SigningPublicKeyFrom(kf *KeyFile) (*SigningPublicKey, error) {
	if kf.Type != SigPublic {
		return nil, fmt.Errorf("key %s: %w: is %s, not a public signing key (SIG-PUB-1)", kf.NamedRevision, ErrInvalidKey, kf.Type)
	}
	if len(kf.Key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("key %s: %w: public signing key is %d bytes, expected %d", kf.NamedRevision, ErrInvalidKey, len(kf.Key), ed25519.PublicKeySize)
	}
	return &SigningPublicKey{kf.NamedRevision, ed25519.PublicKey(bytes.Clone(kf.Key))}, nil
}

// SigningSecretKeyFrom converts a parsed key file.
func SigningSecretKeyFrom(kf *KeyFile) (*SigningSecretKey, error) {
	if kf.Type != SigSecret {
		return nil, fmt.Errorf("key %s: %w: is %s, not a secret signing key (SIG-SEC-1)", kf.NamedRevision, ErrInvalidKey, kf.Type)
	}
	if len(kf.Key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("key %s: %w: secret signing key is %d bytes, expected %d", kf.NamedRevision, ErrInvalidKey, len(kf.Key), ed25519.PrivateKeySize)
	}
	// libsodium stores the seed followed by the public key; a file whose
	// second half is not the public key of its seed would sign with a key
	// nobody can verify.
	derived := ed25519.NewKeyFromSeed(kf.Key[:ed25519.SeedSize])
	if !bytes.Equal(derived, kf.Key) {
		return nil, fmt.Errorf("key %s: %w: the public half of the secret signing key does not match its seed", kf.NamedRevision, ErrInvalidKey)
	}
	return &SigningSecretKey{kf.NamedRevision, derived}, nil
}

// KeyFile renders the key in its file form.
func (k *SigningPublicKey) KeyFile() *KeyFile {
	return &KeyFile{Type: SigPublic, NamedRevision: k.NamedRevision, Key: k.Key}
}

// KeyFile renders the key in its file form.
func (k *SigningSecretKey) KeyFile() *KeyFile {
	return &KeyFile{Type: SigSecret, NamedRevision: k.NamedRevision, Key: k.Key}
}

// Public returns the public half of the secret key.
func (k *SigningSecretKey) Public() *SigningPublicKey {
	return &SigningPublicKey{k.NamedRevision, k.Key.Public().(ed25519.PublicKey)}
}

// Sign produces a libsodium crypto_sign "combined" signed message: the
// 64-byte Ed25519 signature followed by msg itself. This is what the
// original stores (base64-encoded) in a .hart header, with msg being the
// lowercase hex BLAKE2b-256 digest of the payload.
func (k *SigningSecretKey) Sign(msg []byte) []byte {
	sig := ed25519.Sign(k.Key, msg)
	return append(sig, msg...)
}

// Open verifies a libsodium combined signed message and returns the message
// it carries.
func (k *SigningPublicKey) Open(signed []byte) ([]byte, error) {
	if len(signed) < ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signed message is %d bytes, shorter than a signature", ErrBadSignature, len(signed))
	}
	sig, msg := signed[:ed25519.SignatureSize], signed[ed25519.SignatureSize:]
	if !ed25519.Verify(k.Key, msg, sig) {
		return nil, fmt.Errorf("%w: not signed by %s", ErrBadSignature, k.NamedRevision)
	}
	return msg, nil
}
