// Package crypto owns Habitat keys: origin signing pairs, ring keys, service
// group and user box pairs, in the original's text file formats, the key
// cache on disk, and the signatures and encrypted messages made with them.
package crypto

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidKey is wrapped by every key parsing error.
var ErrInvalidKey = errors.New("invalid key")

// KeyType is the kind of a key file, named by its first line.
type KeyType int

// The key types the original Habitat writes.
const (
	SigSecret KeyType = iota + 1 // SIG-SEC-1, origin signing secret key (.sig.key)
	SigPublic                    // SIG-PUB-1, origin signing public key (.pub)
	SymSecret                    // SYM-SEC-1, ring key (.sym.key)
	BoxSecret                    // BOX-SEC-1, service group or user secret key (.box.key)
	BoxPublic                    // BOX-PUB-1, service group or user public key (.pub)
)

type keyTypeInfo struct {
	header string
	ext    string
	size   int // decoded key length in bytes
	secret bool
}

func (t KeyType) info() keyTypeInfo {
	switch t {
	case SigSecret:
		return keyTypeInfo{"SIG-SEC-1", ".sig.key", 64, true}
	case SigPublic:
		return keyTypeInfo{"SIG-PUB-1", ".pub", 32, false}
	case SymSecret:
		return keyTypeInfo{"SYM-SEC-1", ".sym.key", 32, true}
	case BoxSecret:
		return keyTypeInfo{"BOX-SEC-1", ".box.key", 32, true}
	case BoxPublic:
		return keyTypeInfo{"BOX-PUB-1", ".pub", 32, false}
	}
	return keyTypeInfo{}
}

// Header is the format line of the key file, such as "SIG-SEC-1".
func (t KeyType) Header() string { return t.info().header }

// Extension is the file name extension of the key file, such as ".sig.key".
func (t KeyType) Extension() string { return t.info().ext }

// Secret reports whether the key type holds secret material (written 0600).
func (t KeyType) Secret() bool { return t.info().secret }

// KeySize is the length of the decoded key in bytes.
func (t KeyType) KeySize() int { return t.info().size }

func (t KeyType) String() string {
	if h := t.Header(); h != "" {
		return h
	}
	return fmt.Sprintf("KeyType(%d)", int(t))
}

// ParseKeyType maps a format line to its key type.
func ParseKeyType(header string) (KeyType, error) {
	for t := SigSecret; t <= BoxPublic; t++ {
		if t.Header() == header {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w: unsupported key format %q (expected one of SIG-SEC-1, SIG-PUB-1, SYM-SEC-1, BOX-SEC-1, BOX-PUB-1)", ErrInvalidKey, header)
}

// RevisionLayout is the time layout of a key revision: YYYYMMDDhhmmss, UTC.
const RevisionLayout = "20060102150405"

var revisionRE = regexp.MustCompile(`^(.+)-(\d{14})$`)

// NamedRevision names a key: NAME-REVISION, such as "core-20160810182414".
type NamedRevision struct {
	Name     string
	Revision string
}

// ParseNamedRevision splits "NAME-YYYYMMDDhhmmss". NAME must pass
// ValidKeyName, the rule key generation applies: a name read from a hart
// header, a key file, standard input or a depot becomes part of a file
// name in the key cache, so a separator, "..", white space or a control
// character in it is refused here, wherever it is parsed.
func ParseNamedRevision(s string) (NamedRevision, error) {
	m := revisionRE.FindStringSubmatch(s)
	if m == nil {
		return NamedRevision{}, fmt.Errorf("%w: key name %s is not NAME-YYYYMMDDhhmmss", ErrInvalidKey, QuoteName(s))
	}
	if err := ValidKeyName(m[1]); err != nil {
		return NamedRevision{}, err
	}
	return NamedRevision{Name: m[1], Revision: m[2]}, nil
}

// Validate checks the name with ValidKeyName and the revision's form.
func (n NamedRevision) Validate() error {
	if err := ValidKeyName(n.Name); err != nil {
		return err
	}
	if len(n.Revision) != len(RevisionLayout) || strings.Trim(n.Revision, "0123456789") != "" {
		return fmt.Errorf("%w: key revision %s of %s is not YYYYMMDDhhmmss", ErrInvalidKey, QuoteName(n.Revision), QuoteName(n.Name))
	}
	return nil
}

// maxQuoted bounds how much of an untrusted name an error message shows.
const maxQuoted = 80

// QuoteName renders an untrusted key name (or any name read from a file or
// the network) for a message: Go-quoted, so that control characters,
// escape sequences and direction overrides are shown escaped, never
// interpreted by a terminal, and cut after 80 bytes.
func QuoteName(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}

// NewRevision names a new key revision of name made at t.
func NewRevision(name string, t time.Time) NamedRevision {
	return NamedRevision{Name: name, Revision: t.UTC().Format(RevisionLayout)}
}

func (n NamedRevision) String() string { return n.Name + "-" + n.Revision }

// KeyFile is the content of one key file: its type, its name and revision,
// and the decoded key bytes.
type KeyFile struct {
	Type KeyType
	NamedRevision
	Key []byte
}

// FileName is the name the original gives this key in a key cache.
func (k *KeyFile) FileName() string { return k.NamedRevision.String() + k.Type.Extension() }

// Encode renders the key file in the original's text format:
// format line, name-revision line, empty line, base64 key, newline.
func (k *KeyFile) Encode() []byte {
	var b bytes.Buffer
	b.WriteString(k.Type.Header())
	b.WriteByte('\n')
	b.WriteString(k.NamedRevision.String())
	b.WriteString("\n\n")
	b.WriteString(base64.StdEncoding.EncodeToString(k.Key))
	b.WriteByte('\n')
	return b.Bytes()
}

// ParseKeyFile reads a key file. source names the file (or "standard input")
// in error messages.
func ParseKeyFile(data []byte, source string) (*KeyFile, error) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	lines := strings.Split(text, "\n")
	// Drop trailing empty lines (a final newline is optional).
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) < 4 {
		return nil, fmt.Errorf("%s: %w: expected 4 lines (format, NAME-REVISION, empty line, base64 key), found %d", source, ErrInvalidKey, len(lines))
	}
	if len(lines) > 4 {
		return nil, fmt.Errorf("%s: %w: unexpected content after the key on line 5", source, ErrInvalidKey)
	}
	kt, err := ParseKeyType(strings.TrimSpace(lines[0]))
	if err != nil {
		return nil, fmt.Errorf("%s: line 1: %w", source, err)
	}
	nr, err := ParseNamedRevision(strings.TrimSpace(lines[1]))
	if err != nil {
		return nil, fmt.Errorf("%s: line 2: %w", source, err)
	}
	if strings.TrimSpace(lines[2]) != "" {
		return nil, fmt.Errorf("%s: line 3: %w: expected an empty line", source, ErrInvalidKey)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(lines[3]))
	if err != nil {
		return nil, fmt.Errorf("%s: line 4: %w: key is not valid base64: %v", source, ErrInvalidKey, err)
	}
	if len(key) != kt.KeySize() {
		return nil, fmt.Errorf("%s: line 4: %w: %s key is %d bytes, expected %d", source, ErrInvalidKey, kt, len(key), kt.KeySize())
	}
	kf := &KeyFile{Type: kt, NamedRevision: nr, Key: key}
	if kt == SigSecret {
		// A secret signing key whose public half is not its seed's would
		// sign harts that verify with no key: refused wherever it is read.
		if _, err := SigningSecretKeyFrom(kf); err != nil {
			return nil, fmt.Errorf("%s: line 4: %w", source, err)
		}
	}
	return kf, nil
}

// keyFileNameRE matches the canonical name of a key file in a cache:
// NAME-REVISION followed by one of the key extensions.
var keyFileNameRE = regexp.MustCompile(`^(.+-\d{14})(\.pub|\.sig\.key|\.sym\.key|\.box\.key)$`)

// LoadKeyFile reads and parses the key file at path. When the file's base
// name has the canonical form NAME-REVISION.EXT, the name, revision and
// extension must agree with the key the file holds; a file renamed by hand
// (or holding another key than its name says) is refused.
func LoadKeyFile(path string) (*KeyFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	kf, err := ParseKeyFile(data, path)
	if err != nil {
		return nil, err
	}
	base := filepath.Base(path)
	if m := keyFileNameRE.FindStringSubmatch(base); m != nil {
		if m[1] != kf.NamedRevision.String() {
			return nil, fmt.Errorf("%s: %w: the file name says key %s but the file holds key %s", path, ErrInvalidKey, m[1], kf.NamedRevision)
		}
		if m[2] != kf.Type.Extension() {
			return nil, fmt.Errorf("%s: %w: a %s key belongs in a %s file, not %s", path, ErrInvalidKey, kf.Type, kf.Type.Extension(), m[2])
		}
	}
	return kf, nil
}

// ParseKeyFiles reads one key, or several keys written one after the other
// (such as a public key followed by its secret key), separated by optional
// empty lines. source names the input in error messages; each key is
// numbered when there are several.
func ParseKeyFiles(data []byte, source string) ([]*KeyFile, error) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	lines := strings.Split(text, "\n")
	var blocks [][]string
	for i := 0; i < len(lines); {
		if strings.TrimSpace(lines[i]) == "" {
			i++
			continue
		}
		end := min(i+4, len(lines))
		blocks = append(blocks, lines[i:end])
		i = end
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%s: %w: no key found (the input is empty)", source, ErrInvalidKey)
	}
	out := make([]*KeyFile, 0, len(blocks))
	for n, b := range blocks {
		src := source
		if len(blocks) > 1 {
			src = fmt.Sprintf("%s (key %d of %d)", source, n+1, len(blocks))
		}
		kf, err := ParseKeyFile([]byte(strings.Join(b, "\n")), src)
		if err != nil {
			return nil, err
		}
		out = append(out, kf)
	}
	return out, nil
}

// MaxKeyNameLen bounds a key name, so that NAME-REVISION.EXT fits in a
// file name (255 bytes) with room to spare for temporary names.
const MaxKeyNameLen = 200

// ValidKeyName reports whether name can name a key: it becomes part of a
// file name and of a line in key files and encrypted messages, so it must
// be valid UTF-8, non-empty, at most MaxKeyNameLen bytes, not "." or "..",
// hold no "..", and be free of path separators, white space, control
// characters and invisible formatting characters (direction overrides).
// Generation, parsing (hart headers, key files, imports) and the key cache
// all apply this one rule.
func ValidKeyName(name string) error {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "..") {
		return fmt.Errorf("%w: key name %s is empty, a directory name or holds \"..\"", ErrInvalidKey, QuoteName(name))
	}
	if len(name) > MaxKeyNameLen {
		return fmt.Errorf("%w: key name %s is %d bytes long, more than %d", ErrInvalidKey, QuoteName(name), len(name), MaxKeyNameLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: key name %s is not valid UTF-8", ErrInvalidKey, QuoteName(name))
	}
	for _, r := range name {
		if r == '/' || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%w: key name %s contains %q; path separators, white space, control and formatting characters are not allowed", ErrInvalidKey, QuoteName(name), r)
		}
	}
	return nil
}
