package crypto

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
)

// ErrDecrypt is wrapped by every failure to open an encrypted message:
// wrong key, wrong nonce or tampered ciphertext.
var ErrDecrypt = errors.New("decryption failed")

// BoxPublicKey is the public half of a Curve25519 box pair (BOX-PUB-1):
// a service group key (NAME is "service.group@org"), a user key (NAME is
// the user name) or an origin encryption key (NAME is the origin). The
// file format does not say which; the name does.
type BoxPublicKey struct {
	NamedRevision
	Key [32]byte
}

// BoxSecretKey is the secret half of a Curve25519 box pair (BOX-SEC-1).
type BoxSecretKey struct {
	NamedRevision
	Key [32]byte
}

// ServiceKeyName is the key name of a service group in an organization:
// "service.group@org", as the original names service keys.
func ServiceKeyName(serviceGroup, org string) string {
	return serviceGroup + "@" + org
}

// GenerateBoxPair makes a new box pair named name, with a revision taken
// from now. Service keys are named with ServiceKeyName, user keys with the
// user name.
func GenerateBoxPair(name string, now time.Time) (*BoxPublicKey, *BoxSecretKey, error) {
	if err := ValidKeyName(name); err != nil {
		return nil, nil, fmt.Errorf("generate box key pair: %w", err)
	}
	pub, sec, err := box.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate box key pair for %s: %w", name, err)
	}
	nr := NewRevision(name, now)
	return &BoxPublicKey{nr, *pub}, &BoxSecretKey{nr, *sec}, nil
}

// BoxPublicKeyFrom converts a parsed key file.
func BoxPublicKeyFrom(kf *KeyFile) (*BoxPublicKey, error) {
	if kf.Type != BoxPublic {
		return nil, fmt.Errorf("key %s: %w: is %s, not a public box key (BOX-PUB-1)", kf.NamedRevision, ErrInvalidKey, kf.Type)
	}
	k := &BoxPublicKey{NamedRevision: kf.NamedRevision}
	if len(kf.Key) != len(k.Key) {
		return nil, fmt.Errorf("key %s: %w: public box key is %d bytes, expected %d", kf.NamedRevision, ErrInvalidKey, len(kf.Key), len(k.Key))
	}
	copy(k.Key[:], kf.Key)
	return k, nil
}

// BoxSecretKeyFrom converts a parsed key file.
func BoxSecretKeyFrom(kf *KeyFile) (*BoxSecretKey, error) {
	if kf.Type != BoxSecret {
		return nil, fmt.Errorf("key %s: %w: is %s, not a secret box key (BOX-SEC-1)", kf.NamedRevision, ErrInvalidKey, kf.Type)
	}
	k := &BoxSecretKey{NamedRevision: kf.NamedRevision}
	if len(kf.Key) != len(k.Key) {
		return nil, fmt.Errorf("key %s: %w: secret box key is %d bytes, expected %d", kf.NamedRevision, ErrInvalidKey, len(kf.Key), len(k.Key))
	}
	copy(k.Key[:], kf.Key)
	return k, nil
}

// KeyFile renders the key in its file form.
func (k *BoxPublicKey) KeyFile() *KeyFile {
	return &KeyFile{Type: BoxPublic, NamedRevision: k.NamedRevision, Key: append([]byte(nil), k.Key[:]...)}
}

// KeyFile renders the key in its file form.
func (k *BoxSecretKey) KeyFile() *KeyFile {
	return &KeyFile{Type: BoxSecret, NamedRevision: k.NamedRevision, Key: append([]byte(nil), k.Key[:]...)}
}

// Public derives the public half of the secret key.
func (k *BoxSecretKey) Public() (*BoxPublicKey, error) {
	pub, err := curve25519.X25519(k.Key[:], curve25519.Basepoint)
	if err != nil {
		return nil, fmt.Errorf("derive public key of %s: %w", k.NamedRevision, err)
	}
	p := &BoxPublicKey{NamedRevision: k.NamedRevision}
	copy(p.Key[:], pub)
	return p, nil
}

// EncryptFor encrypts msg from the owner of k to the owner of receiver
// (libsodium crypto_box_easy with a random nonce): what a user does for a
// service group with `hab file upload` and encrypted `hab config apply`.
// Encrypting for one's own public key is what Builder does with its key.
func (k *BoxSecretKey) EncryptFor(msg []byte, receiver *BoxPublicKey) (*SignedBox, error) {
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("encrypt for %s: nonce: %w", receiver.NamedRevision, err)
	}
	ct := box.Seal(nil, msg, &nonce, &receiver.Key, &k.Key)
	return &SignedBox{Sender: k.NamedRevision, Receiver: receiver.NamedRevision, Nonce: nonce, Ciphertext: ct}, nil
}

// DecryptFrom opens a message addressed to k and sent by the owner of
// sender. The names in the message must be those of the keys.
func (k *BoxSecretKey) DecryptFrom(m *SignedBox, sender *BoxPublicKey) ([]byte, error) {
	if m.Receiver != k.NamedRevision {
		return nil, fmt.Errorf("%w: message is for key %s, not %s", ErrDecrypt, m.Receiver, k.NamedRevision)
	}
	if m.Sender != sender.NamedRevision {
		return nil, fmt.Errorf("%w: message is from key %s, not %s", ErrDecrypt, m.Sender, sender.NamedRevision)
	}
	out, ok := box.Open(nil, m.Ciphertext, &m.Nonce, &sender.Key, &k.Key)
	if !ok {
		return nil, fmt.Errorf("%w: message from %s to %s does not open with these keys (wrong key or tampered ciphertext)", ErrDecrypt, m.Sender, m.Receiver)
	}
	return out, nil
}

// EncryptAnonymous encrypts msg for the owner of k without naming a sender
// (libsodium crypto_box_seal): how secrets are sent to an origin.
func (k *BoxPublicKey) EncryptAnonymous(msg []byte) (*AnonymousBox, error) {
	ct, err := box.SealAnonymous(nil, msg, &k.Key, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("encrypt for %s: %w", k.NamedRevision, err)
	}
	return &AnonymousBox{Receiver: k.NamedRevision, Ciphertext: ct}, nil
}

// DecryptAnonymous opens an anonymous message addressed to k.
func (k *BoxSecretKey) DecryptAnonymous(m *AnonymousBox) ([]byte, error) {
	if m.Receiver != k.NamedRevision {
		return nil, fmt.Errorf("%w: message is for key %s, not %s", ErrDecrypt, m.Receiver, k.NamedRevision)
	}
	pub, err := k.Public()
	if err != nil {
		return nil, err
	}
	out, ok := box.OpenAnonymous(nil, m.Ciphertext, &pub.Key, &k.Key)
	if !ok {
		return nil, fmt.Errorf("%w: anonymous message for %s does not open with this key (wrong key or tampered ciphertext)", ErrDecrypt, m.Receiver)
	}
	return out, nil
}

// Message format lines, as the original writes them.
const (
	SignedBoxVersion    = "BOX-1"
	AnonymousBoxVersion = "ANONYMOUS-BOX-1"
)

// SignedBox is an encrypted message from a sender's box pair to a
// receiver's box pair. Its text form has five lines: "BOX-1", the sender's
// key name, the receiver's key name, the base64 nonce, the base64
// ciphertext (MAC first, as crypto_box_easy produces), with no final
// newline.
type SignedBox struct {
	Sender     NamedRevision
	Receiver   NamedRevision
	Nonce      [24]byte
	Ciphertext []byte
}

// AnonymousBox is an encrypted message for a receiver's box pair whose
// sender is not known. Its text form has three lines: "ANONYMOUS-BOX-1",
// the receiver's key name and the base64 sealed box, with no final newline.
type AnonymousBox struct {
	Receiver   NamedRevision
	Ciphertext []byte
}

// String renders the message in the original's text format.
func (m *SignedBox) String() string {
	return strings.Join([]string{SignedBoxVersion, m.Sender.String(), m.Receiver.String(), b64(m.Nonce[:]), b64(m.Ciphertext)}, "\n")
}

// String renders the message in the original's text format.
func (m *AnonymousBox) String() string {
	return strings.Join([]string{AnonymousBoxVersion, m.Receiver.String(), b64(m.Ciphertext)}, "\n")
}

// ParseSignedBox reads a BOX-1 message. source names the input in errors.
func ParseSignedBox(data []byte, source string) (*SignedBox, error) {
	lines, err := messageLines(data, source, SignedBoxVersion, []string{"sender key name", "receiver key name", "nonce", "ciphertext"})
	if err != nil {
		return nil, err
	}
	m := &SignedBox{}
	if m.Sender, err = ParseNamedRevision(lines[1]); err != nil {
		return nil, fmt.Errorf("%s: line 2 (sender key name): %w", source, err)
	}
	if m.Receiver, err = ParseNamedRevision(lines[2]); err != nil {
		return nil, fmt.Errorf("%s: line 3 (receiver key name): %w", source, err)
	}
	nonce, err := unb64(lines[3])
	if err != nil {
		return nil, fmt.Errorf("%s: line 4: nonce is not valid base64: %w", source, err)
	}
	if len(nonce) != len(m.Nonce) {
		return nil, fmt.Errorf("%s: line 4: nonce is %d bytes, expected %d", source, len(nonce), len(m.Nonce))
	}
	copy(m.Nonce[:], nonce)
	if m.Ciphertext, err = unb64(lines[4]); err != nil {
		return nil, fmt.Errorf("%s: line 5: ciphertext is not valid base64: %w", source, err)
	}
	if len(m.Ciphertext) < box.Overhead {
		return nil, fmt.Errorf("%s: line 5: ciphertext is %d bytes, shorter than its %d-byte authenticator", source, len(m.Ciphertext), box.Overhead)
	}
	return m, nil
}

// ParseAnonymousBox reads an ANONYMOUS-BOX-1 message. source names the
// input in errors.
func ParseAnonymousBox(data []byte, source string) (*AnonymousBox, error) {
	lines, err := messageLines(data, source, AnonymousBoxVersion, []string{"receiver key name", "ciphertext"})
	if err != nil {
		return nil, err
	}
	m := &AnonymousBox{}
	if m.Receiver, err = ParseNamedRevision(lines[1]); err != nil {
		return nil, fmt.Errorf("%s: line 2 (receiver key name): %w", source, err)
	}
	if m.Ciphertext, err = unb64(lines[2]); err != nil {
		return nil, fmt.Errorf("%s: line 3: ciphertext is not valid base64: %w", source, err)
	}
	if len(m.Ciphertext) < box.AnonymousOverhead {
		return nil, fmt.Errorf("%s: line 3: ciphertext is %d bytes, shorter than the %d bytes of a sealed box's key and authenticator", source, len(m.Ciphertext), box.AnonymousOverhead)
	}
	return m, nil
}

// MessageVersion returns the format line of an encrypted message
// (SignedBoxVersion or AnonymousBoxVersion), so that a reader can tell
// which parser to use.
func MessageVersion(data []byte) string {
	first, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSpace(first)
}

// messageLines splits a message into its lines, checks the version line
// and that every expected line is present.
func messageLines(data []byte, source, version string, names []string) ([]string, error) {
	text := strings.TrimRight(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	if len(lines) == 0 || lines[0] == "" {
		return nil, fmt.Errorf("%s: message is empty, expected a %s message", source, version)
	}
	if lines[0] != version {
		return nil, fmt.Errorf("%s: line 1: unsupported message format %q, expected %q", source, lines[0], version)
	}
	if len(lines) < len(names)+1 {
		return nil, fmt.Errorf("%s: %s message is truncated: missing line %d (%s)", source, version, len(lines)+1, names[len(lines)-1])
	}
	if len(lines) > len(names)+1 {
		return nil, fmt.Errorf("%s: unexpected content after the %s message on line %d", source, version, len(names)+2)
	}
	return lines, nil
}
