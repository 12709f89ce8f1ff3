package crypto

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
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

// Read loads the key of type kt and exact name-revision nr.
func (c Cache) Read(kt KeyType, nr NamedRevision) (*KeyFile, error) {
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
		nr, err := ParseNamedRevision(base)
		if err != nil || nr.Name != name {
			continue
		}
		out = append(out, nr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Revision > out[j].Revision })
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

// Write stores kf in the cache atomically (temporary file then rename),
// with mode 0600 for secret keys and 0644 for public ones. Writing a key
// that is already present with the same content is a no-op; a different
// content under the same name is refused.
func (c Cache) Write(kf *KeyFile) (string, error) {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", fmt.Errorf("create key cache %s: %w", c.Dir, err)
	}
	p := c.Path(kf.Type, kf.NamedRevision)
	data := kf.Encode()
	if old, err := os.ReadFile(p); err == nil {
		if okf, perr := ParseKeyFile(old, p); perr == nil && okf.Type == kf.Type && string(okf.Key) == string(kf.Key) {
			return p, nil
		}
		return "", fmt.Errorf("write key %s: %s already exists with different content", kf.NamedRevision, p)
	}
	mode := os.FileMode(0o644)
	if kf.Type.Secret() {
		mode = 0o600
	}
	tmp, err := os.CreateTemp(c.Dir, ".tmp-"+kf.FileName()+"-*")
	if err != nil {
		return "", fmt.Errorf("write key %s: %w", kf.NamedRevision, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write key %s: %w", kf.NamedRevision, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write key %s: %w", kf.NamedRevision, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("write key %s: %w", kf.NamedRevision, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", fmt.Errorf("write key %s: %w", kf.NamedRevision, err)
	}
	return p, nil
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
