package crypto

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"golang.org/x/crypto/nacl/secretbox"
)

// RingNonceSize is the length of the nonce that travels beside every
// ring-encrypted message.
const RingNonceSize = 24

// RingKey is a symmetric key (SYM-SEC-1) shared by every supervisor of a
// ring to encrypt their gossip.
type RingKey struct {
	NamedRevision
	Key [32]byte
}

// GenerateRingKey makes a new ring key named name, with a revision taken
// from now.
func GenerateRingKey(name string, now time.Time) (*RingKey, error) {
	if err := ValidKeyName(name); err != nil {
		return nil, fmt.Errorf("generate ring key: %w", err)
	}
	k := &RingKey{NamedRevision: NewRevision(name, now)}
	if _, err := rand.Read(k.Key[:]); err != nil {
		return nil, fmt.Errorf("generate ring key %s: %w", name, err)
	}
	return k, nil
}

// RingKeyFrom converts a parsed key file.
func RingKeyFrom(kf *KeyFile) (*RingKey, error) {
	if kf.Type != SymSecret {
		return nil, fmt.Errorf("key %s: %w: is %s, not a ring key (SYM-SEC-1)", kf.NamedRevision, ErrInvalidKey, kf.Type)
	}
	k := &RingKey{NamedRevision: kf.NamedRevision}
	if len(kf.Key) != len(k.Key) {
		return nil, fmt.Errorf("key %s: %w: ring key is %d bytes, expected %d", kf.NamedRevision, ErrInvalidKey, len(kf.Key), len(k.Key))
	}
	copy(k.Key[:], kf.Key)
	return k, nil
}

// KeyFile renders the key in its file form.
func (k *RingKey) KeyFile() *KeyFile {
	return &KeyFile{Type: SymSecret, NamedRevision: k.NamedRevision, Key: append([]byte(nil), k.Key[:]...)}
}

// Encrypt seals msg with a fresh random nonce (libsodium
// crypto_secretbox_easy). As in the original's gossip wire message, the
// nonce and the ciphertext (MAC first) travel as two separate fields.
func (k *RingKey) Encrypt(msg []byte) (nonce, ciphertext []byte, err error) {
	var n [RingNonceSize]byte
	if _, err := rand.Read(n[:]); err != nil {
		return nil, nil, fmt.Errorf("encrypt with ring key %s: nonce: %w", k.NamedRevision, err)
	}
	return n[:], secretbox.Seal(nil, msg, &n, &k.Key), nil
}

// Decrypt opens a ciphertext sealed with k and nonce.
func (k *RingKey) Decrypt(nonce, ciphertext []byte) ([]byte, error) {
	if len(nonce) != RingNonceSize {
		return nil, fmt.Errorf("%w: ring key %s: nonce is %d bytes, expected %d", ErrDecrypt, k.NamedRevision, len(nonce), RingNonceSize)
	}
	var n [RingNonceSize]byte
	copy(n[:], nonce)
	out, ok := secretbox.Open(nil, ciphertext, &n, &k.Key)
	if !ok {
		return nil, fmt.Errorf("%w: message does not open with ring key %s (wrong key or tampered ciphertext)", ErrDecrypt, k.NamedRevision)
	}
	return out, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
