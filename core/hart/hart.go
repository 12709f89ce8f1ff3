// Package hart reads, verifies, extracts and writes Habitat artifacts
// (.hart files): a five-line signed header followed by an xz-compressed tar
// of one package's installed tree.
//
//	HART-1
//	<signer key NAME-REVISION>
//	BLAKE2b
//	<base64 of libsodium crypto_sign(hex BLAKE2b-256 of the payload)>
//	<empty line>
//	<payload: xz-compressed tar>
//
// Trust: nothing of a payload is decompressed or written before its
// digest and signature are known good (Extract hashes the compressed
// payload as it copies it into a private spool, then extracts from the
// spool, which nothing else can change); every entry must stay inside the package's prefix; sizes,
// entry counts and the metadata held in memory are bounded (Limits); the
// signer's key name is validated before it names a key file. Memory is
// constant whatever the size of the package, and every read honours its
// context (pipes and devices included).
//
// Streams: VerifyStream verifies a hart as it is read (a depot's upload),
// ExtractReader extracts one from a reader (spooled first), and
// ReadMetadataFrom reads one's metadata; one payload walk serves every
// reader. Tar is the deterministic tar stream of a package tree that
// Write compresses and signs.
//
// Compression: payloads are xz (LZMA2, CRC64 checks). Two implementations
// produce and accept the same format, chosen per call (WriteOptions.XZ,
// ExtractOptions.XZ, ReadOptions.XZ; the CLI reads $HAB_XZ into that
// value, this package reads no environment) or, by default, the xz
// program when XZ Utils' is on PATH, else pure Go:
//   - exec runs xz (multi-threaded, preset 5, blocks of 24 MiB): it
//     creates harts faster than `tar | xz -6` (twice as fast on an idle
//     machine with two cores), within a percent of its size, and extracts
//     about as fast as `xz -d | tar -x`;
//   - go (ulikunitz/xz to write, therootcompany/xz to read) always works,
//     including in the static binary where no xz exists. Payloads of
//     several blocks are decoded block-parallel on every core; the
//     encoder compresses 24 MiB pieces in parallel as concatenated xz
//     streams, faster than xz -6 but some 15-25% larger.
//
// Output is deterministic per encoder (see XZ).
package hart

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"golang.org/x/crypto/blake2b"

	"github.com/habgo/hab/core/crypto"
)

// ErrFormat is wrapped by every error about a file that is not a well-formed
// hart: malformed or truncated header, truncated or corrupt payload, a
// payload that is not an xz-compressed tar of one package.
var ErrFormat = errors.New("not a valid hart")

// The fixed values of the header.
const (
	FormatVersion = "HART-1"
	HashType      = "BLAKE2b"
)

// maxHeaderLine bounds a header line, so that a binary file with no newline
// is refused quickly instead of being read whole.
const maxHeaderLine = 4096

// Header is the signed header of a hart.
type Header struct {
	Format    string // "HART-1"
	KeyName   string // signer key NAME-REVISION, e.g. "core-20160810182414"
	HashType  string // "BLAKE2b"
	Signature []byte // decoded base64: libsodium combined signed message (64-byte sig + hex digest)
}

// EncodedSignature is the signature as it appears in the file (base64).
func (h Header) EncodedSignature() string { return base64.StdEncoding.EncodeToString(h.Signature) }

// SignedDigest is the message carried by the signature, which for a well
// formed hart is the hex BLAKE2b-256 digest of the payload. It is not
// verified: use Verify for that.
func (h Header) SignedDigest() string {
	if len(h.Signature) <= 64 {
		return ""
	}
	return string(h.Signature[64:])
}

// Encode renders the header with its empty terminating line.
func (h Header) Encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%s\n%s\n%s\n\n", h.Format, h.KeyName, h.HashType, h.EncodedSignature())
	return b.Bytes()
}

// KeyLookup finds public signing keys by NAME-REVISION; crypto.Cache
// satisfies it.
type KeyLookup interface {
	SigningPublicKey(nameRev string) (*crypto.SigningPublicKey, error)
}

var headerLines = [...]string{"format version", "signing key name", "hash type", "signature", "empty line ending the header"}

// ReadHeader reads the five header lines and leaves r at the first payload
// byte. Surrounding white space of each line is ignored, as the original
// does. Errors wrap ErrFormat and say which line is wrong.
func ReadHeader(r *bufio.Reader) (Header, error) {
	var lines [5]string
	for i := range lines {
		line, err := readHeaderLine(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				if i == 0 {
					return Header{}, fmt.Errorf("%w: empty file, no header", ErrFormat)
				}
				return Header{}, fmt.Errorf("%w: truncated header: the file ends before line %d (%s)", ErrFormat, i+1, headerLines[i])
			}
			return Header{}, fmt.Errorf("%w: header line %d (%s): %w", ErrFormat, i+1, headerLines[i], err)
		}
		lines[i] = line
		// Check each line as soon as it is read, so that a file with a
		// wrong first line is reported as such rather than as truncated.
		if err := checkHeaderLine(i, line); err != nil {
			return Header{}, err
		}
	}
	sig, _ := base64.StdEncoding.DecodeString(lines[3]) // checked above
	return Header{Format: lines[0], KeyName: lines[1], HashType: lines[2], Signature: sig}, nil
}

func checkHeaderLine(i int, line string) error {
	switch i {
	case 0:
		if line != FormatVersion {
			return fmt.Errorf("%w: unsupported format version %q on line 1 (expected %s)", ErrFormat, abbrev(line), FormatVersion)
		}
	case 1:
		// The name becomes a file name in the key cache: the one rule
		// for key names refuses separators, "..", control characters.
		if _, err := crypto.ParseNamedRevision(line); err != nil {
			return fmt.Errorf("%w: line 2: signing key name: %w", ErrFormat, err)
		}
	case 2:
		if line != HashType {
			return fmt.Errorf("%w: unsupported hash type %q on line 3 (expected %s)", ErrFormat, abbrev(line), HashType)
		}
	case 3:
		sig, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return fmt.Errorf("%w: line 4: signature is not valid base64: %v", ErrFormat, err)
		}
		if len(sig) == 0 {
			return fmt.Errorf("%w: line 4: empty signature", ErrFormat)
		}
	case 4:
		if line != "" {
			return fmt.Errorf("%w: line 5: expected the empty line ending the header, found %q", ErrFormat, abbrev(line))
		}
	}
	return nil
}

// readHeaderLine reads one line, trimmed. A final line without newline is
// returned as is; io.EOF means there was no line at all.
func readHeaderLine(r *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxHeaderLine {
			return "", fmt.Errorf("line longer than %d bytes (binary data where a header line should be?)", maxHeaderLine)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(buf) == 0 {
				return "", io.EOF
			}
			break
		}
		return "", err
	}
	return string(bytes.TrimSpace(buf)), nil
}

func abbrev(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// ReadHeaderFile reads the header of the hart at path.
func ReadHeaderFile(ctx context.Context, path string) (Header, error) {
	in, err := openInput(ctx, path)
	if err != nil {
		return Header{}, fmt.Errorf("read hart header: %w", err)
	}
	defer in.Close()
	h, err := ReadHeader(bufio.NewReaderSize(in, 8192))
	if err != nil {
		return Header{}, fmt.Errorf("read hart header of %s: %w", path, err)
	}
	return h, nil
}

// Hash is the lowercase hex BLAKE2b-256 digest of the whole file at path,
// as `hab pkg hash` prints it. It reads pipes and devices too, and stops
// when ctx is cancelled (also while waiting for a FIFO's writer).
func Hash(ctx context.Context, path string) (string, error) {
	in, err := openInput(ctx, path)
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	defer in.Close()
	sum, _, err := HashReader(ctx, in)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return sum, nil
}

// HashReader is the hex BLAKE2b-256 digest of everything r holds, and its
// length.
func HashReader(ctx context.Context, r io.Reader) (string, int64, error) {
	h := newHash()
	n, err := copyCtx(ctx, h, r)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func newHash() hash.Hash {
	h, err := blake2b.New256(nil)
	if err != nil {
		panic(err) // only for a key longer than 64 bytes
	}
	return h
}

// readSigned reads the header from br and opens its signature, returning
// the header and the signed hex digest.
func readSigned(br *bufio.Reader, keys KeyLookup) (Header, string, error) {
	h, err := ReadHeader(br)
	if err != nil {
		return Header{}, "", err
	}
	want, err := openSignature(h, keys)
	if err != nil {
		return Header{}, "", err
	}
	return h, want, nil
}

// openSignature finds the signer key and opens the signature, returning the
// signed hex digest.
func openSignature(h Header, keys KeyLookup) (string, error) {
	if keys == nil {
		return "", fmt.Errorf("no key cache to find the signing key %s in: %w", h.KeyName, crypto.ErrKeyNotFound)
	}
	pub, err := keys.SigningPublicKey(h.KeyName)
	if err != nil {
		return "", fmt.Errorf("signing key %s: %w", h.KeyName, err)
	}
	msg, err := pub.Open(h.Signature)
	if err != nil {
		return "", fmt.Errorf("signature by %s: %w", h.KeyName, err)
	}
	if !isHexDigest(msg) {
		return "", fmt.Errorf("signature by %s: %w: the signed message is not a hex BLAKE2b-256 digest", h.KeyName, crypto.ErrBadSignature)
	}
	return string(msg), nil
}

func isHexDigest(b []byte) bool {
	if len(b) != 2*blake2b.Size256 {
		return false
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// checkXZMagic looks at the first payload bytes without consuming them.
func checkXZMagic(br *bufio.Reader) error {
	magic, err := br.Peek(len(xzMagic))
	if len(magic) == 0 && errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: the payload is empty", ErrFormat)
	}
	if !bytes.Equal(magic, xzMagic) {
		return fmt.Errorf("%w: payload is not xz-compressed (no xz stream header)", ErrFormat)
	}
	return nil
}

// digestMismatch is the error for a payload whose digest is not the signed one.
func digestMismatch(keyName, got, want string) error {
	return fmt.Errorf("%w: payload digest %s differs from %s signed by %s (payload altered or truncated)", crypto.ErrBadSignature, got, want, keyName)
}

// Verify checks the hart at path: header, signer key (found in keys),
// signature, and the BLAKE2b digest of the payload, read once, streaming.
// A missing key wraps crypto.ErrKeyNotFound and names it; a bad signature
// or altered payload wraps crypto.ErrBadSignature; a malformed file wraps
// ErrFormat. The payload is not decompressed.
func Verify(ctx context.Context, path string, keys KeyLookup) (Header, error) {
	in, err := openInput(ctx, path)
	if err != nil {
		return Header{}, fmt.Errorf("verify %w", err)
	}
	defer in.Close()
	h, err := verifyReader(ctx, in, keys)
	if err != nil {
		return Header{}, fmt.Errorf("verify %s: %w", path, err)
	}
	return h, nil
}

// verifyReader verifies what r holds on the calling goroutine.
func verifyReader(ctx context.Context, r io.Reader, keys KeyLookup) (Header, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	h, want, err := readSigned(br, keys)
	if err != nil {
		return Header{}, err
	}
	got, _, err := HashReader(ctx, br)
	if err != nil {
		return Header{}, fmt.Errorf("read payload: %w", err)
	}
	if got != want {
		return Header{}, digestMismatch(h.KeyName, got, want)
	}
	return h, nil
}
