package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/habgo/hab/core/atomicfile"
)

// ErrKeyNotFound is wrapped when a cache holds no key with the wanted name.
var ErrKeyNotFound = errors.New("key not found")

// Cache is a directory of key files named as the original names them
// (NAME-REVISION.sig.key, .pub, .sym.key, .box.key).
type Cache struct {
	Dir string
}

// Path is the file a key of this type and name would have in the cache.
func (c Cache) Path(kt KeyType, nr NamedRevision) string {
	return filepath.Join(c.Dir, nr.String()+kt.Extension())
}

// Read loads the key of type kt and exact name-revision nr. A name that
// ValidKeyName refuses is never turned into a path.
func (c Cache) Read(kt KeyType, nr NamedRevision) (*KeyFile, error) {
	if err := nr.Validate(); err != nil {
		return nil, fmt.Errorf("read %s key: %w", kindName(kt), err)
	}
	p := c.Path(kt, nr)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s key %s is not in the key cache %s", ErrKeyNotFound, kindName(kt), nr, c.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", nr, err)
	}
	kf, err := ParseKeyFile(data, p)
	if err != nil {
		return nil, err
	}
	// A .pub file may hold either a SIG-PUB-1 or a BOX-PUB-1 key.
	if kf.Type != kt {
		return nil, fmt.Errorf("%s: %w: holds a %s key, expected %s", p, ErrInvalidKey, kf.Type, kt)
	}
	if kf.NamedRevision != nr {
		return nil, fmt.Errorf("%s: %w: names key %s, expected %s", p, ErrInvalidKey, kf.NamedRevision, nr)
	}
	return kf, nil
}

// Revisions lists the revisions of name for which the cache has a key of
// type kt, newest first.
func (c Cache) Revisions(kt KeyType, name string) ([]NamedRevision, error) {
	all, err := c.all(kt)
	if err != nil {
		return nil, err
	}
	var out []NamedRevision
	for _, nr := range all {
		if nr.Name == name {
			out = append(out, nr)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Revision > out[j].Revision })
	return out, nil
}

// Names lists, sorted and once each, the names (origins, rings, users,
// service groups) for which the cache has a key file of type kt (by its
// extension; the files are not read).
func (c Cache) Names(kt KeyType) ([]string, error) {
	all, err := c.all(kt)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, nr := range all {
		out = append(out, nr.Name)
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// all lists the named revisions of the key files with kt's extension.
func (c Cache) all(kt KeyType) ([]NamedRevision, error) {
	entries, err := os.ReadDir(c.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list key cache %s: %w", c.Dir, err)
	}
	var out []NamedRevision
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), kt.Extension())
		if !ok || e.IsDir() {
			continue
		}
		if nr, err := ParseNamedRevision(base); err == nil {
			out = append(out, nr)
		}
	}
	return out, nil
}

// Latest loads the newest revision of name of type kt. Files that share the
// .pub extension but hold another type (a BOX-PUB-1 where a SIG-PUB-1 is
// wanted) are skipped.
func (c Cache) Latest(kt KeyType, name string) (*KeyFile, error) {
	revs, err := c.Revisions(kt, name)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, nr := range revs {
		kf, err := c.Read(kt, nr)
		if err == nil {
			return kf, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, fmt.Errorf("%w: no %s key for %s in the key cache %s", ErrKeyNotFound, kindName(kt), name, c.Dir)
}

// Write stores kf in the cache atomically (temporary file, then a hard
// link that cannot replace an existing file), with mode 0600 for secret
// keys and 0644 for public ones. Writing a key that is already present with
// the same content is a no-op; a different content under the same name is
// refused. It returns the key's path in the cache.
func (c Cache) Write(kf *KeyFile) (string, error) {
	p, _, err := c.write(kf)
	return p, err
}

// write is Write that also reports whether it created the file.
func (c Cache) write(kf *KeyFile) (path string, created bool, err error) {
	if err := kf.NamedRevision.Validate(); err != nil {
		return "", false, fmt.Errorf("write %s key: %w", kindName(kf.Type), err)
	}
	p := c.Path(kf.Type, kf.NamedRevision)
	if exists, err := c.check(kf); err != nil || exists {
		return p, false, err
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", false, fmt.Errorf("create key cache %s: %w", c.Dir, err)
	}
	mode := os.FileMode(0o644)
	if kf.Type.Secret() {
		mode = 0o600
	}
	// A key of the same name is never replaced, even by a writer racing us
	// past the check above: the complete file is linked to its name.
	err = atomicfile.WriteFile(p, kf.Encode(), mode, atomicfile.NoReplace(), atomicfile.Durable())
	if errors.Is(err, fs.ErrExist) {
		// Someone wrote the same name since the check.
		if exists, cerr := c.check(kf); cerr != nil || exists {
			return p, false, cerr
		}
	}
	if err != nil {
		return "", false, fmt.Errorf("write key %s: %w", kf.NamedRevision, err)
	}
	return p, true, nil
}

// check reports whether kf is already in the cache, and fails when another
// key occupies its file.
func (c Cache) check(kf *KeyFile) (bool, error) {
	if err := kf.NamedRevision.Validate(); err != nil {
		return false, fmt.Errorf("write %s key: %w", kindName(kf.Type), err)
	}
	p := c.Path(kf.Type, kf.NamedRevision)
	old, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, c.checkPair(kf)
	}
	if err != nil {
		return false, fmt.Errorf("write key %s: %w", kf.NamedRevision, err)
	}
	okf, perr := ParseKeyFile(old, p)
	if perr == nil && okf.Type == kf.Type && okf.NamedRevision == kf.NamedRevision && bytes.Equal(okf.Key, kf.Key) {
		return true, nil
	}
	return false, fmt.Errorf("write %s key %s: %s already exists with different content; refusing to overwrite it", kf.Type, kf.NamedRevision, p)
}

// checkPair refuses a signing key whose other half, already in the cache
// under the same name and revision, does not belong to it: a secret key
// that does not match the cached public key would sign harts that do not
// verify, and a public key that does not match the cached secret key would
// fail every hart signed with it.
func (c Cache) checkPair(kf *KeyFile) error {
	var other KeyType
	switch kf.Type {
	case SigSecret:
		if _, err := SigningSecretKeyFrom(kf); err != nil {
			return err
		}
		other = SigPublic
	case SigPublic:
		other = SigSecret
	default:
		return nil
	}
	okf, err := c.Read(other, kf.NamedRevision)
	if errors.Is(err, ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("write %s key %s: the cached %s key of the same name: %w", kf.Type, kf.NamedRevision, other, err)
	}
	return matchPair(kf, okf)
}

// matchPair checks that two signing keys of the same name and revision,
// one public and one secret, are halves of one pair.
func matchPair(a, b *KeyFile) error {
	pub, sec := a, b
	if a.Type == SigSecret {
		pub, sec = b, a
	}
	if pub.Type != SigPublic || sec.Type != SigSecret || pub.NamedRevision != sec.NamedRevision {
		return nil
	}
	sk, err := SigningSecretKeyFrom(sec)
	if err != nil {
		return err
	}
	if !bytes.Equal(sk.Public().Key, pub.Key) {
		return fmt.Errorf("%w: the secret signing key %s does not match the public key %s of the same name and revision (it would sign harts that do not verify); refusing it", ErrInvalidKey, sec.NamedRevision, pub.NamedRevision)
	}
	return nil
}

// Import stores every key of kfs, or none of them: all are checked against
// the cache first (a different key under the same name is refused), and
// files created before a failure are removed. Keys already present with the
// same content are left as they are. It returns the keys' paths.
func (c Cache) Import(kfs ...*KeyFile) ([]string, error) {
	for i, kf := range kfs {
		if _, err := c.check(kf); err != nil {
			return nil, err
		}
		for _, other := range kfs[:i] {
			if err := matchPair(kf, other); err != nil {
				return nil, err
			}
		}
	}
	var paths, created []string
	for _, kf := range kfs {
		p, made, err := c.write(kf)
		if err != nil {
			for _, q := range created {
				os.Remove(q)
			}
			return nil, err
		}
		if made {
			created = append(created, p)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// WritePair stores the public and secret halves of a pair, both or
// neither. Both must carry the same name and revision.
func (c Cache) WritePair(public, secret *KeyFile) (publicPath, secretPath string, err error) {
	if public.NamedRevision != secret.NamedRevision {
		return "", "", fmt.Errorf("write key pair: public key %s and secret key %s are not a pair", public.NamedRevision, secret.NamedRevision)
	}
	if public.Type.Secret() || !secret.Type.Secret() {
		return "", "", fmt.Errorf("write key pair %s: expected a public and a secret key, got %s and %s", public.NamedRevision, public.Type, secret.Type)
	}
	paths, err := c.Import(public, secret)
	if err != nil {
		return "", "", err
	}
	return paths[0], paths[1], nil
}

// NewSigningPair generates an origin signing pair revised at now and
// stores it in the cache.
func (c Cache) NewSigningPair(origin string, now time.Time) (*SigningPublicKey, *SigningSecretKey, error) {
	if err := ValidKeyName(origin); err != nil {
		return nil, nil, fmt.Errorf("generate origin key: %w", err)
	}
	pub, sec, err := GenerateSigningPair(origin, now)
	if err != nil {
		return nil, nil, err
	}
	if _, _, err := c.WritePair(pub.KeyFile(), sec.KeyFile()); err != nil {
		return nil, nil, err
	}
	return pub, sec, nil
}

// NewRingKey generates a ring key revised at now and stores it in the
// cache.
func (c Cache) NewRingKey(name string, now time.Time) (*RingKey, error) {
	k, err := GenerateRingKey(name, now)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write(k.KeyFile()); err != nil {
		return nil, err
	}
	return k, nil
}

// NewBoxPair generates a box pair (service or user key) revised at now and
// stores it in the cache.
func (c Cache) NewBoxPair(name string, now time.Time) (*BoxPublicKey, *BoxSecretKey, error) {
	pub, sec, err := GenerateBoxPair(name, now)
	if err != nil {
		return nil, nil, err
	}
	if _, _, err := c.WritePair(pub.KeyFile(), sec.KeyFile()); err != nil {
		return nil, nil, err
	}
	return pub, sec, nil
}

// LatestRingKey loads the newest revision of the ring key name.
func (c Cache) LatestRingKey(name string) (*RingKey, error) {
	kf, err := c.Latest(SymSecret, name)
	if err != nil {
		return nil, err
	}
	return RingKeyFrom(kf)
}

// RingKey loads the ring key with exactly this name-revision.
func (c Cache) RingKey(nameRev string) (*RingKey, error) {
	kf, err := c.readNamed(SymSecret, nameRev)
	if err != nil {
		return nil, err
	}
	return RingKeyFrom(kf)
}

// BoxPublicKey loads the public box key with exactly this name-revision.
func (c Cache) BoxPublicKey(nameRev string) (*BoxPublicKey, error) {
	kf, err := c.readNamed(BoxPublic, nameRev)
	if err != nil {
		return nil, err
	}
	return BoxPublicKeyFrom(kf)
}

// BoxSecretKey loads the secret box key with exactly this name-revision.
func (c Cache) BoxSecretKey(nameRev string) (*BoxSecretKey, error) {
	kf, err := c.readNamed(BoxSecret, nameRev)
	if err != nil {
		return nil, err
	}
	return BoxSecretKeyFrom(kf)
}

// LatestBoxPublicKey loads the newest public box key of name (a service
// key name "service.group@org" or a user name).
func (c Cache) LatestBoxPublicKey(name string) (*BoxPublicKey, error) {
	kf, err := c.Latest(BoxPublic, name)
	if err != nil {
		return nil, err
	}
	return BoxPublicKeyFrom(kf)
}

// LatestBoxSecretKey loads the newest secret box key of name.
func (c Cache) LatestBoxSecretKey(name string) (*BoxSecretKey, error) {
	kf, err := c.Latest(BoxSecret, name)
	if err != nil {
		return nil, err
	}
	return BoxSecretKeyFrom(kf)
}

// Decrypt opens an encrypted message in either of the original's formats
// with the keys the cache holds: a BOX-1 message needs the receiver's
// secret key and the sender's public key, an ANONYMOUS-BOX-1 message the
// receiver's secret key. source names the message in errors.
func (c Cache) Decrypt(data []byte, source string) ([]byte, error) {
	switch v := MessageVersion(data); v {
	case SignedBoxVersion:
		m, err := ParseSignedBox(data, source)
		if err != nil {
			return nil, err
		}
		sec, err := c.BoxSecretKey(m.Receiver.String())
		if err != nil {
			return nil, fmt.Errorf("decrypt %s: %w", source, err)
		}
		pub, err := c.BoxPublicKey(m.Sender.String())
		if err != nil {
			return nil, fmt.Errorf("decrypt %s: %w", source, err)
		}
		out, err := sec.DecryptFrom(m, pub)
		if err != nil {
			return nil, fmt.Errorf("decrypt %s: %w", source, err)
		}
		return out, nil
	case AnonymousBoxVersion:
		m, err := ParseAnonymousBox(data, source)
		if err != nil {
			return nil, err
		}
		sec, err := c.BoxSecretKey(m.Receiver.String())
		if err != nil {
			return nil, fmt.Errorf("decrypt %s: %w", source, err)
		}
		out, err := sec.DecryptAnonymous(m)
		if err != nil {
			return nil, fmt.Errorf("decrypt %s: %w", source, err)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("decrypt %s: unsupported message format %q, expected %s or %s", source, v, SignedBoxVersion, AnonymousBoxVersion)
	}
}

func (c Cache) readNamed(kt KeyType, nameRev string) (*KeyFile, error) {
	nr, err := ParseNamedRevision(nameRev)
	if err != nil {
		return nil, err
	}
	return c.Read(kt, nr)
}

// SigningPublicKey loads the public signing key with exactly this
// name-revision, as named in a .hart header.
func (c Cache) SigningPublicKey(nameRev string) (*SigningPublicKey, error) {
	nr, err := ParseNamedRevision(nameRev)
	if err != nil {
		return nil, err
	}
	kf, err := c.Read(SigPublic, nr)
	if err != nil {
		return nil, err
	}
	return SigningPublicKeyFrom(kf)
}

// LatestSigningSecretKey loads the newest secret signing key of origin.
func (c Cache) LatestSigningSecretKey(origin string) (*SigningSecretKey, error) {
	kf, err := c.Latest(SigSecret, origin)
	if err != nil {
		return nil, err
	}
	return SigningSecretKeyFrom(kf)
}

func kindName(kt KeyType) string {
	switch kt {
	case SigSecret:
		return "secret origin signing"
	case SigPublic:
		return "public origin signing"
	case SymSecret:
		return "ring"
	case BoxSecret:
		return "secret box"
	case BoxPublic:
		return "public box"
	}
	return kt.String()
}
