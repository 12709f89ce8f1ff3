package hart

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/habgo/hab/core/crypto"
)

// bigHart is a signed hart of several pieces: a package holding size
// random (incompressible) bytes after its metadata.
func bigHart(t *testing.T, key *crypto.SigningSecretKey, size int) []byte {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	impl := xzImpl{mode: XZGo} // slow on random data: the xz program when present
	if x, err := XZExec.resolve(); err == nil {
		impl = x
	}
	var payload bytes.Buffer
	enc, err := impl.newEncoder(context.Background(), &payload, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	enc.Write(tarBytes(t, []entry{
		dir("hab/"), dir("hab/pkgs/"), dir("hab/pkgs/acme/"), dir("hab/pkgs/acme/widget/"), dir("hab/pkgs/acme/widget/1.2.3/"), dir(pfx),
		reg(pfx+"IDENT", "acme/widget/1.2.3/20240102030405\n"),
		reg(pfx+"TARGET", "x86_64-linux\n"),
		reg(pfx+"data", string(data)),
	}))
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(signedHart(t, t.TempDir(), "big.hart", key, payload.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countingSource counts what is read from it and can fail or cancel after
// a number of bytes.
type countingSource struct {
	r      io.Reader
	n      int
	failAt int // 0: never
	err    error
	cancel context.CancelFunc
}

func (c *countingSource) Read(p []byte) (int, error) {
	if c.failAt > 0 && c.n >= c.failAt {
		if c.cancel != nil {
			c.cancel()
		} else {
			return 0, c.err
		}
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// failingWriter fails once it has taken limit bytes.
type failingWriter struct {
	n, limit int
}

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		return 0, errDiskFull
	}
	w.n += len(p)
	return len(p), nil
}

// TestVerifyStreamOptions: one read gives the copy, the checksum and the
// metadata that the separate readers give, for harts of one piece and of
// many, sorted (Write's) and unsorted (the original's, from Builder).
func TestVerifyStreamOptions(t *testing.T) {
	ctx := context.Background()
	key, keys := testKey(t, "acme")
	builder := conformanceData(t, "builder")
	cases := []struct {
		name string
		b    []byte
		keys KeyLookup
	}{
		{"small, sorted", validHart(t, key), keys},
		{"20 pieces, sorted", bigHart(t, key, 20*pieceSize), keys},
	}
	for _, p := range realHarts(t) {
		if h, _ := ReadHeaderFile(ctx, p); h.KeyName == "neurosis-20171211220037" && len(cases) < 6 {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, struct {
				name string
				b    []byte
				keys KeyLookup
			}{filepath.Base(p), b, crypto.Cache{Dir: builder}})
		}
	}
	for _, c := range cases {
		for _, m := range digestModes {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "x.hart")
				if err := os.WriteFile(p, c.b, 0o644); err != nil {
					t.Fatal(err)
				}
				sum, _ := Hash(ctx, p)
				want, err := ReadMetadataWith(ctx, p, ReadOptions{XZ: XZGo})
				if err != nil {
					t.Fatal(err)
				}
				var copied bytes.Buffer
				v, err := m.verify(ctx, bytes.NewReader(c.b), c.keys, StreamOptions{Copy: &copied, Checksum: sum, Metadata: &ReadOptions{XZ: XZGo}})
				if err != nil {
					t.Fatalf("VerifyStream: %v", err)
				}
				if !bytes.Equal(copied.Bytes(), c.b) {
					t.Errorf("the copy differs from the input (%d bytes, want %d)", copied.Len(), len(c.b))
				}
				if v.Checksum != sum || v.Size != int64(len(c.b)) {
					t.Errorf("checksum %s size %d, want %s %d", v.Checksum, v.Size, sum, len(c.b))
				}
				if v.Metadata == nil || !reflect.DeepEqual(*v.Metadata, *want) {
					t.Errorf("metadata %+v, want %+v", v.Metadata, want)
				}
				// Without options: no copy, no metadata, the same checksum.
				v, err = m.verify(ctx, bytes.NewReader(c.b), c.keys, StreamOptions{})
				if err != nil || v.Checksum != sum || v.Metadata != nil {
					t.Errorf("without options: %+v %v", v, err)
				}
			})
		}
	}
}

// digestModes are the two ways VerifyStream computes its digests:
// together (blake2pair; VerifyStream's way where the machine compresses
// two chains at once) and apart, each in a consumer of its own.
var digestModes = []digestMode{{"together", true}, {"apart", false}}

type digestMode struct {
	name string
	pair bool
}

func (m digestMode) verify(ctx context.Context, r io.Reader, keys KeyLookup, opts StreamOptions) (*Verified, error) {
	return verifyStreamed(ctx, r, keys, streamJob{StreamOptions: opts, whole: true, pair: m.pair})
}

// TestVerifyStreamRefusals: each refusal is the first problem in the
// order VerifyStream documents, and a refusal known early (from the
// header, a failed copy, a cancellation) stops the reading: at most the
// pieces in flight are read after it.
func TestVerifyStreamRefusals(t *testing.T) {
	ctx := context.Background()
	key, keys := testKey(t, "acme")
	stranger, _ := testKey(t, "stranger")
	big := bigHart(t, key, 24*pieceSize)
	hdr, payload := splitHart(t, big)
	foreign, err := os.ReadFile(signedHart(t, t.TempDir(), "f.hart", stranger, payload))
	if err != nil {
		t.Fatal(err)
	}
	sumOf := func(b []byte) string {
		h := newHash()
		h.Write(b)
		return hexSum(h)
	}
	notTar := xzBytes(t, bytes.Repeat([]byte("this is not a tar archive\n"), 100))
	notTarHart, _ := os.ReadFile(signedHart(t, t.TempDir(), "n.hart", key, notTar))
	tampered := bytes.Clone(big)
	tampered[len(tampered)/2] ^= 1
	early := (piecesInUse + 1) * pieceSize // the most read after a refusal known early
	cases := []struct {
		name     string
		b        []byte
		checksum string
		copyTo   io.Writer
		failAt   int  // the source fails after this many bytes
		cancel   bool // ... or cancels the context
		want     error
		msg      string
		readMost int // 0: all of it
	}{
		{"unknown signer", foreign, "", nil, 0, false, crypto.ErrKeyNotFound, "stranger", early},
		{"bad header", append([]byte("HART-2\n"), big...), "", nil, 0, false, ErrFormat, "HART-2", early},
		{"empty", nil, "", nil, 0, false, ErrFormat, "empty file", 0},
		{"tampered", tampered, sumOf(tampered), nil, 0, false, crypto.ErrBadSignature, "differs from", 0},
		{"truncated", big[:len(big)/2], sumOf(big[:len(big)/2]), nil, 0, false, crypto.ErrBadSignature, "differs from", 0},
		{"header only", hdr, "", nil, 0, false, crypto.ErrBadSignature, "differs from", 0},
		{"wrong checksum", big, sumOf(nil), nil, 0, false, ErrChecksum, sumOf(big), 0},
		{"wrong checksum before bad metadata", notTarHart, sumOf(nil), nil, 0, false, ErrChecksum, sumOf(notTarHart), 0},
		{"bad metadata, good signature", notTarHart, sumOf(notTarHart), nil, 0, false, ErrFormat, "not a tar archive", 0},
		{"copy fails", big, "", &failingWriter{limit: pieceSize}, 0, false, errDiskFull, "disk full", early},
		{"source fails", big, "", nil, 3 * pieceSize, false, io.ErrClosedPipe, "read hart", 3*pieceSize + pieceSize},
		{"source fails before a tampered end", tampered, "", nil, len(tampered) - 10, false, io.ErrClosedPipe, "read hart", 0},
		{"cancelled", big, "", io.Discard, 2 * pieceSize, true, context.Canceled, "", 4 * pieceSize},
	}
	for _, c := range cases {
		for _, m := range digestModes {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				src := &countingSource{r: bytes.NewReader(c.b), failAt: c.failAt, err: io.ErrClosedPipe}
				if c.cancel {
					src.cancel = cancel
				}
				v, err := m.verify(ctx, src, keys, StreamOptions{Copy: c.copyTo, Checksum: c.checksum, Metadata: &ReadOptions{XZ: XZGo}})
				if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("got %+v, %v; want %v containing %q", v, err, c.want, c.msg)
				}
				if c.readMost > 0 && src.n > c.readMost {
					t.Errorf("read %d bytes after the refusal was known, want at most %d", src.n, c.readMost)
				}
				if c.readMost == 0 && c.failAt == 0 && src.n != len(c.b) {
					t.Errorf("read %d of %d bytes", src.n, len(c.b))
				}
			})
		}
	}
}

// TestExtractReadsTheFileOnce: extraction verifies while it copies the
// hart into its private spool, and extracts from the spool: a file
// emptied or overwritten once verification is done (here from the
// progress callback, when extraction begins) changes nothing, and what is
// extracted is what was verified.
func TestExtractReadsTheFileOnce(t *testing.T) {
	key, keys := testKey(t, "acme")
	src := t.TempDir()
	base := makeTree(t, src)
	t.Cleanup(func() { makeWritable(src) })
	ctx := context.Background()
	for _, mode := range xzModes(t) {
		for _, change := range []string{"emptied", "overwritten"} {
			t.Run(string(mode)+"/"+change, func(t *testing.T) {
				p := writeTestHart(t, t.TempDir(), src, key, WriteOptions{XZ: mode, BlockSize: 64 << 10})
				st, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				payload := st.Size() - int64(len(mustHeader(t, p).Encode()))
				changed := false
				root := t.TempDir()
				t.Cleanup(func() { makeWritable(root) })
				_, err = ExtractWith(ctx, p, keys, root, ExtractOptions{XZ: mode, Progress: func(n int64) {
					if n > payload/2 && !changed {
						changed = true
						b := []byte{}
						if change == "overwritten" {
							b = bytes.Repeat([]byte{0x5a}, int(st.Size()))
						}
						if err := os.WriteFile(p, b, 0o644); err != nil {
							t.Error(err)
						}
					}
				}})
				if err != nil {
					t.Fatalf("extract: %v", err)
				}
				if !changed {
					t.Fatal("the file was never changed: the test proves nothing")
				}
				compareTrees(t, base, filepath.Join(root, filepath.FromSlash(pfx)))
				if got := listTree(t, root); got[0] != "hab/" {
					t.Errorf("the spool is left in the destination: %v", got)
				}
			})
		}
	}
}
