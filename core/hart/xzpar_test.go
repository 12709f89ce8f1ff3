package hart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// mixedData is 1.5 MiB of text and pseudo-random bytes.
func mixedData() []byte {
	var b bytes.Buffer
	x := uint64(2463534242)
	for b.Len() < 3<<19 {
		fmt.Fprintf(&b, "line %d of some text that compresses well\n", b.Len())
		for i := 0; i < 64; i++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			b.WriteByte(byte(x))
		}
	}
	return b.Bytes()
}

// encodeBlocks compresses data into blocks of blockSize with an encoder.
func encodeBlocks(t *testing.T, mode XZ, data []byte, blockSize int64) []byte {
	t.Helper()
	impl, err := mode.resolve()
	if err != nil {
		t.Skip(err)
	}
	var b bytes.Buffer
	enc, err := impl.newEncoder(context.Background(), &b, 6, blockSize)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decodePar(t *testing.T, xz []byte) ([]byte, error) {
	t.Helper()
	blocks, err := xzBlocks(bytes.NewReader(xz), int64(len(xz)))
	if err != nil {
		return nil, err
	}
	d := newParDecoder(bytes.NewReader(xz), int64(len(xz)), blocks, 2, nil)
	defer d.Close()
	return io.ReadAll(d)
}

// TestParallelXZ decodes multi-block payloads from both encoders, and
// concatenated streams with padding, block-parallel; a damaged block is an
// error, a damaged index falls back to sequential decoding.
func TestParallelXZ(t *testing.T) {
	data := mixedData()
	for _, mode := range xzModes(t) {
		t.Run(string(mode), func(t *testing.T) {
			xz := encodeBlocks(t, mode, data, 256<<10)
			blocks, err := xzBlocks(bytes.NewReader(xz), int64(len(xz)))
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for _, b := range blocks {
				total += b.uncompressed
			}
			if want := (len(data) + 256<<10 - 1) / (256 << 10); len(blocks) != want || total != int64(len(data)) {
				t.Fatalf("%d blocks of %d bytes, want %d of %d", len(blocks), total, want, len(data))
			}
			if !parallelUsable(blocks) {
				t.Fatal("not usable in parallel")
			}
			got, err := decodePar(t, xz)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("parallel decode: %v (equal %v)", err, bytes.Equal(got, data))
			}
			if p, err := exec.LookPath("xz"); err == nil {
				f := filepath.Join(t.TempDir(), "x.xz")
				os.WriteFile(f, xz, 0o644)
				out, err := exec.Command(p, "--robot", "--list", f).Output()
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(out), fmt.Sprintf("\t%d\t", len(blocks))) {
					t.Errorf("xz --list disagrees on %d blocks:\n%s", len(blocks), out)
				}
			}

			// Two streams with stream padding between and after.
			cat := append(append(append(append([]byte(nil), xz...), 0, 0, 0, 0), encodeBlocks(t, mode, data[:100000], 64<<10)...), 0, 0, 0, 0, 0, 0, 0, 0)
			got, err = decodePar(t, cat)
			if err != nil || !bytes.Equal(got, append(append([]byte(nil), data...), data[:100000]...)) {
				t.Fatalf("two streams: %v", err)
			}

			// A damaged block: the block's own check or LZMA2 data fails.
			bad := append([]byte(nil), xz...)
			bad[blocks[3].off+200] ^= 0x40
			if _, err := decodePar(t, bad); !errors.Is(err, ErrFormat) {
				t.Errorf("damaged block: %v", err)
			}
			// A damaged index or footer: no parallel decoding.
			for _, pos := range []int{len(xz) - 1, len(xz) - 14, len(xz) - 20} {
				bad := append([]byte(nil), xz...)
				bad[pos] ^= 0x01
				if _, err := xzBlocks(bytes.NewReader(bad), int64(len(bad))); err == nil {
					t.Errorf("damage at %d from the end not noticed", len(xz)-pos)
				}
			}
			if _, err := xzBlocks(bytes.NewReader(xz[:len(xz)/2]), int64(len(xz)/2)); err == nil {
				t.Error("truncated payload gave an index")
			}
			// An index that lies about a block's size.
			lie := append([]byte(nil), xz...)
			blocks[1].uncompressed++
			d := newParDecoder(bytes.NewReader(lie), int64(len(lie)), blocks, 2, nil)
			_, err = io.ReadAll(d)
			d.Close()
			if !errors.Is(err, ErrFormat) {
				t.Errorf("lying index: %v", err)
			}
		})
	}
	// A single-block payload is left to the sequential decoder.
	one := encodeBlocks(t, XZGo, data, -1)
	blocks, err := xzBlocks(bytes.NewReader(one), int64(len(one)))
	if err != nil || parallelUsable(blocks) {
		t.Errorf("single block: %d blocks, %v", len(blocks), err)
	}
}

// TestExtractParallel writes harts of many small blocks with both
// encoders, and extracts them with the pure-Go decoder, which takes the
// block-parallel path; then stops early through Close.
func TestExtractParallel(t *testing.T) {
	key, keys := testKey(t, "acme")
	src := t.TempDir()
	base := makeTree(t, src)
	t.Cleanup(func() { makeWritable(src) })
	if err := os.WriteFile(filepath.Join(base, "share", "data.bin"), mixedData(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, enc := range xzModes(t) {
		t.Run(string(enc), func(t *testing.T) {
			p := writeTestHart(t, t.TempDir(), src, key, WriteOptions{XZ: enc, BlockSize: 128 << 10})
			in, err := openInput(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			off := int64(len(mustHeader(t, p).Encode()))
			dec, ok := openParallel(in, off, in.size-off, Limits{}.resolved(), nil)
			if !ok {
				t.Fatal("the parallel path was not taken")
			}
			dec.Read(make([]byte, 10)) // then stop early
			dec.Close()
			in.Close()
			var last int64
			root := t.TempDir()
			t.Cleanup(func() { makeWritable(root) })
			if _, err := ExtractWith(ctx, p, keys, root, ExtractOptions{XZ: XZGo, Progress: func(n int64) { last = n }}); err != nil {
				t.Fatal(err)
			}
			compareTrees(t, base, filepath.Join(root, filepath.FromSlash(pfx)))
			st, _ := os.Stat(p)
			if last != st.Size()-int64(len(mustHeader(t, p).Encode())) {
				t.Errorf("progress ended at %d of %d", last, st.Size())
			}
			// Tampered: a byte inside a block.
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0x10
			os.WriteFile(p, b, 0o644)
			root2 := t.TempDir()
			if _, err := ExtractWith(ctx, p, keys, root2, ExtractOptions{XZ: XZGo}); err == nil {
				t.Error("tampered multi-block hart extracted")
			}
			makeWritable(root2)
		})
	}
}
