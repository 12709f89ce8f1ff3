package hart

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
)

// bombPayload is an xz payload of a few hundred kilobytes that expands to
// a tar holding one file of `size` bytes of zeros under the test prefix:
// a tar header, then concatenated xz streams of zeros.
func bombPayload(t *testing.T, size int64) []byte {
	t.Helper()
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	for _, d := range []string{"hab/", "hab/pkgs/", "hab/pkgs/acme/", "hab/pkgs/acme/widget/", "hab/pkgs/acme/widget/1.2.3/", pfx} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: pfx + "big", Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
		t.Fatal(err)
	}
	tw.Flush() // no Close: the zeros follow
	out := xzBytes(t, hdr.Bytes())
	const chunk = 64 << 20
	zeros := xzBytes(t, make([]byte, chunk))
	for n := int64(0); n < size; n += chunk {
		out = append(out, zeros...)
	}
	return out
}

// dirBytes is the total size of the regular files under root.
func dirBytes(t *testing.T, root string) int64 {
	t.Helper()
	var n int64
	filepath.Walk(root, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// TestForgedPayloadsAreRefusedBeforeExtraction puts forged payloads
// behind a genuine signed header: each is refused as a forgery
// (crypto.ErrBadSignature), and nothing at all is written, whatever the
// payload would expand to (a 4 GiB bomb of a few hundred KB, another
// package, unsafe entries, garbage).
func TestForgedPayloadsAreRefusedBeforeExtraction(t *testing.T) {
	key, keys := testKey(t, "acme")
	genuineHdr, _ := splitHart(t, validHart(t, key))
	bomb := bombPayload(t, 4<<30)
	t.Logf("bomb: %d bytes expanding to 4 GiB", len(bomb))
	forged := map[string][]byte{
		"bomb of zeros": bomb,
		"another valid package": xzBytes(t, tarBytes(t, []entry{
			dir(pfx), reg(pfx+"IDENT", "acme/widget/1.2.3/20240102030405\n"), reg(pfx+"bin/evil", "#!/bin/sh\nrm -rf /\n"),
		})),
		"unsafe entries": xzBytes(t, tarBytes(t, []entry{reg("../../etc/evil", "x"), symlink(pfx+"l", "/etc")})),
		"garbage":        bytes.Repeat([]byte("not xz at all "), 1000),
		"empty":          nil,
	}
	ctx := context.Background()
	for name, payload := range forged {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			p := filepath.Join(tmp, "forged.hart")
			if err := os.WriteFile(p, append(append([]byte(nil), genuineHdr...), payload...), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, mode := range xzModes(t) {
				root := t.TempDir()
				_, err := ExtractWith(ctx, p, keys, root, ExtractOptions{XZ: mode})
				if !errors.Is(err, crypto.ErrBadSignature) || !strings.Contains(err.Error(), p) {
					t.Fatalf("%s: %v; want a forgery (ErrBadSignature) naming the hart", mode, err)
				}
				if got := listTree(t, root); len(got) != 0 {
					t.Fatalf("%s: written before verification: %v", mode, got)
				}
				// The same from a stream.
				f, _ := os.Open(p)
				_, err = ExtractReader(ctx, f, keys, root, ExtractOptions{XZ: mode})
				f.Close()
				if !errors.Is(err, crypto.ErrBadSignature) {
					t.Fatalf("%s: ExtractReader: %v", mode, err)
				}
				if got := listTree(t, root); len(got) != 0 {
					t.Fatalf("%s: ExtractReader wrote before verification: %v", mode, got)
				}
			}
		})
	}
}

// TestLimitsBoundSignedPayloads: a payload signed by a trusted key is
// still bounded: decompressed bytes, file bytes and entries over the
// limits are refused with ErrLimit naming the limit, having written no
// more than the limit.
func TestLimitsBoundSignedPayloads(t *testing.T) {
	key, keys := testKey(t, "acme")
	dir := t.TempDir()
	bomb := signedHart(t, dir, "bomb.hart", key, bombPayload(t, 1<<30))
	var many []entry
	many = append(many, entry{name: pfx, typ: tar.TypeDir, mode: 0o755})
	for i := range 300 {
		many = append(many, reg(fmt.Sprintf("%sf%03d", pfx, i), "x"))
	}
	manyHart := signedHart(t, dir, "many.hart", key, xzBytes(t, tarBytes(t, many)))
	cases := []struct {
		name string
		path string
		lim  Limits
		want string
	}{
		{"decompressed bytes", bomb, Limits{MaxBytes: 32 << 20}, "Limits.MaxBytes"},
		{"file bytes", manyHart, Limits{MaxBytes: 100 << 10}, "Limits.MaxBytes"},
		{"entries", manyHart, Limits{MaxEntries: 100}, "Limits.MaxEntries"},
	}
	ctx := context.Background()
	for _, c := range cases {
		for _, mode := range xzModes(t) {
			t.Run(c.name+"/"+string(mode), func(t *testing.T) {
				root := t.TempDir()
				_, err := ExtractWith(ctx, c.path, keys, root, ExtractOptions{XZ: mode, Limits: c.lim})
				if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
					t.Fatalf("%v; want ErrLimit naming %s and the hart", err, c.want)
				}
				if n := dirBytes(t, root); c.lim.MaxBytes > 0 && n > c.lim.MaxBytes {
					t.Errorf("%d bytes written, more than the limit %d", n, c.lim.MaxBytes)
				}
			})
		}
	}
	// A raised limit extracts what a lower one refused.
	root := t.TempDir()
	if _, err := ExtractWith(ctx, manyHart, keys, root, ExtractOptions{XZ: XZGo, Limits: Limits{MaxEntries: 1000}}); err != nil {
		t.Fatalf("raised entry limit: %v", err)
	}
}

// peakHeap samples the heap in use while f runs and returns the peak
// above what was in use before.
func peakHeap(f func()) uint64 {
	// Garbage is collected at a tenth over the live heap rather than at
	// twice it, so the peak measures what is held, not how far the
	// collector let garbage run ahead on a loaded machine.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var s runtime.MemStats
		for {
			runtime.ReadMemStats(&s)
			if s.HeapInuse > base && s.HeapInuse-base > peak.Load() {
				peak.Store(s.HeapInuse - base)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
		peak.Store(ms.HeapInuse - base)
	}
	return peak.Load()
}

// TestMetadataMemoryIsBounded: a small hart with many large top-level
// upper-case files. Readers that keep only the files they know hold none
// of them; readers that keep all are refused at MaxMetadata; memory stays
// bounded either way (measured, with a generous bound).
func TestMetadataMemoryIsBounded(t *testing.T) {
	key, keys := testKey(t, "acme")
	src := t.TempDir()
	base := makeTree(t, src)
	t.Cleanup(func() { makeWritable(src) })
	const files, size = 24, 8 << 20 // 192 MiB in all
	blob := bytes.Repeat([]byte{'A'}, size)
	for i := range files {
		if err := os.WriteFile(filepath.Join(base, fmt.Sprintf("BLOB_%02d", i)), blob, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	blob = nil
	p := writeTestHart(t, t.TempDir(), src, key, WriteOptions{})
	st, _ := os.Stat(p)
	t.Logf("hart of %d KiB with %d MiB of upper-case files", st.Size()>>10, files*size>>20)
	known := func(name string) bool { return name == "IDENT" || name == "TARGET" || name == "DEPS" }
	const bound = 96 << 20 // half of what holding the files would take
	ctx := context.Background()
	for _, mode := range xzModes(t) {
		var m *Metadata
		var err error
		peak := peakHeap(func() { m, err = ReadMetadataWith(ctx, p, ReadOptions{XZ: mode, Keep: known}) })
		if err != nil || m.Ident != testID || len(m.Files) != 3 {
			t.Fatalf("%s: ReadMetadata keeping known files: %v %v", mode, m, err)
		}
		if peak > bound {
			t.Errorf("%s: ReadMetadata peaked at %d MiB", mode, peak>>20)
		}
		peak = peakHeap(func() { _, err = Inspect(ctx, p, ReadOptions{XZ: mode, Keep: known}) })
		if err != nil || peak > bound {
			t.Errorf("%s: Inspect: %v, peak %d MiB", mode, err, peak>>20)
		}
		root := t.TempDir()
		peak = peakHeap(func() { m, err = ExtractWith(ctx, p, keys, root, ExtractOptions{XZ: mode, Keep: known}) })
		if err != nil || len(m.Files) != 3 {
			t.Fatalf("%s: Extract: %v", mode, err)
		}
		t.Logf("%s: Extract peaked at %d MiB (bound %d MiB)", mode, peak>>20, bound>>20)
		if peak > bound {
			t.Errorf("%s: Extract peaked at %d MiB", mode, peak>>20)
		}
		if fi, err := os.Stat(filepath.Join(root, pfx, "BLOB_07")); err != nil || fi.Size() != size {
			t.Errorf("%s: the unknown files are still extracted: %v", mode, err)
		}
		// Keeping every upper-case file: refused at the budget.
		peak = peakHeap(func() { _, err = ReadMetadataWith(ctx, p, ReadOptions{XZ: mode}) })
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "Limits.MaxMetadata") {
			t.Errorf("%s: keeping all: %v", mode, err)
		}
		if peak > bound {
			t.Errorf("%s: keeping all peaked at %d MiB", mode, peak>>20)
		}
	}
}

// TestHeaderKeyNameCannotLeaveTheCache: a hart whose header names its
// signer with a path (and is validly signed by the key planted there) is
// refused by every reader, with an empty key cache and a full one.
func TestHeaderKeyNameCannotLeaveTheCache(t *testing.T) {
	base := t.TempDir()
	cache := crypto.Cache{Dir: filepath.Join(base, "keys")}
	evilPub, evil, _ := crypto.GenerateSigningPair("evil", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	os.MkdirAll(filepath.Join(base, "out"), 0o755)
	os.WriteFile(filepath.Join(base, "out", "evil-20200101000000.pub"), evilPub.KeyFile().Encode(), 0o644)
	_, payload := splitHart(t, validHart(t, evil))
	h := newHash()
	h.Write(payload)
	sig := Header{Signature: evil.Sign([]byte(hexSum(h)))}.EncodedSignature()
	ctx := context.Background()
	for _, name := range []string{"../out/evil-20200101000000", "keys/../../out/evil-20200101000000", "..%2fout/evil-20200101000000", "evil\x1b]0;pwned\x07-20200101000000"} {
		p := filepath.Join(base, "x.hart")
		os.WriteFile(p, append([]byte("HART-1\n"+name+"\nBLAKE2b\n"+sig+"\n\n"), payload...), 0o644)
		for _, full := range []bool{false, true} {
			if full {
				if _, err := cache.Import(evilPub.KeyFile(), evil.KeyFile()); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Verify(ctx, p, cache); !errors.Is(err, ErrFormat) {
				t.Errorf("%q (cache full: %v): Verify: %v", name, full, err)
			} else if strings.ContainsAny(err.Error(), "\x1b\x07") {
				t.Errorf("%q: the error prints the name raw: %q", name, err)
			}
			if _, err := ExtractWith(ctx, p, cache, t.TempDir(), ExtractOptions{XZ: XZGo}); !errors.Is(err, ErrFormat) {
				t.Errorf("%q: Extract: %v", name, err)
			}
			if _, err := ReadHeaderFile(ctx, p); !errors.Is(err, ErrFormat) {
				t.Errorf("%q: ReadHeaderFile: %v", name, err)
			}
		}
	}
}

// TestStreams: a hart verified, read and extracted from a stream (a pipe,
// with no size and no seeking) gives what the file gives; VerifyStream
// reports the whole file's checksum and size.
func TestStreams(t *testing.T) {
	key, keys := testKey(t, "acme")
	src := t.TempDir()
	base := makeTree(t, src)
	t.Cleanup(func() { makeWritable(src) })
	ctx := context.Background()
	for _, mode := range xzModes(t) {
		p := writeTestHart(t, t.TempDir(), src, key, WriteOptions{XZ: mode, BlockSize: 64 << 10})
		b, _ := os.ReadFile(p)
		pipe := func() io.Reader {
			r, w := io.Pipe()
			go func() { w.CloseWithError(iotestWriteSlowly(w, b)) }()
			return r
		}
		v, err := VerifyStream(ctx, pipe(), keys, StreamOptions{})
		sum, _ := Hash(ctx, p)
		if err != nil || v.Checksum != sum || v.Size != int64(len(b)) || v.Header.KeyName != key.NamedRevision.String() {
			t.Fatalf("%s: VerifyStream: %+v %v (hash %s)", mode, v, err, sum)
		}
		h, m, err := ReadMetadataFrom(ctx, pipe(), ReadOptions{XZ: mode})
		if err != nil || m.Ident != testID || h.KeyName != key.NamedRevision.String() {
			t.Fatalf("%s: ReadMetadataFrom: %v %v", mode, m, err)
		}
		root := t.TempDir()
		t.Cleanup(func() { makeWritable(root) })
		if m, err = ExtractReader(ctx, pipe(), keys, root, ExtractOptions{XZ: mode}); err != nil || m.Ident != testID {
			t.Fatalf("%s: ExtractReader: %v", mode, err)
		}
		compareTrees(t, base, filepath.Join(root, filepath.FromSlash(pfx)))
		if got := listTree(t, root); got[0] != "hab/" {
			t.Errorf("%s: the spool file is left in the destination: %v", mode, got)
		}
		// A stream altered by one byte fails verification.
		bad := append([]byte(nil), b...)
		bad[len(bad)-100] ^= 1
		if _, err := VerifyStream(ctx, bytes.NewReader(bad), keys, StreamOptions{}); !errors.Is(err, crypto.ErrBadSignature) {
			t.Errorf("%s: altered stream: %v", mode, err)
		}
	}
}

// iotestWriteSlowly writes b in small pieces, as a network would.
func iotestWriteSlowly(w io.Writer, b []byte) error {
	for len(b) > 0 {
		n := min(len(b), 1000)
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// TestTarIsDeterministic: the tar stream of a tree is the same bytes
// across runs and across copies of the tree with other mtimes and owners,
// given ModTime; Write's payload is that stream compressed.
func TestTarIsDeterministic(t *testing.T) {
	src := t.TempDir()
	makeTree(t, src)
	t.Cleanup(func() { makeWritable(src) })
	epoch := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	ctx := context.Background()
	stream := func(root string) []byte {
		var b bytes.Buffer
		if err := Tar(ctx, &b, root, testID, TarOptions{ModTime: &epoch}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	first := stream(src)
	if !bytes.Equal(first, stream(src)) {
		t.Fatal("two runs differ")
	}
	// A copy made later, with other mtimes (and, as root, other owners).
	cp := t.TempDir()
	t.Cleanup(func() { makeWritable(cp) })
	if out, err := exec.Command("cp", "-a", filepath.Join(src, "hab"), cp).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	later := time.Now().Add(-time.Hour)
	filepath.Walk(filepath.Join(cp, "hab"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSymlink == 0 {
			os.Chtimes(p, later, later)
			if os.Geteuid() == 0 {
				os.Lchown(p, 1234, 5678)
			}
		}
		return nil
	})
	if !bytes.Equal(first, stream(cp)) {
		t.Fatal("the copy with other mtimes and owners gives another stream")
	}
	tr := tar.NewReader(bytes.NewReader(first))
	var prev string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "root" || !hdr.ModTime.Equal(epoch) {
			t.Errorf("%s: owner %d/%d %s, mtime %v", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.ModTime)
		}
		if prev != "" && compareComps(strings.Split(strings.TrimSuffix(prev, "/"), "/"), strings.Split(strings.TrimSuffix(hdr.Name, "/"), "/")) >= 0 {
			t.Errorf("%s after %s: not sorted", hdr.Name, prev)
		}
		prev = hdr.Name
	}
	// Write's payload decompresses to exactly this stream.
	key, _ := testKey(t, "acme")
	p := writeTestHart(t, t.TempDir(), src, key, WriteOptions{SourceDateEpoch: &epoch, XZ: XZGo})
	in, err := openInput(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	off := int64(len(mustHeader(t, p).Encode()))
	dec, err := xzImpl{mode: XZGo}.newDecoder(ctx, io.NewSectionReader(in.f, off, in.size-off))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	got, err := io.ReadAll(dec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, first) {
		t.Errorf("Write's payload (%d bytes) is not Tar's stream (%d bytes)", len(got), len(first))
	}
	if err := Tar(ctx, io.Discard, src, ident.Ident{Origin: "acme", Name: "widget"}, TarOptions{}); err == nil {
		t.Error("Tar of a partial ident succeeded")
	}
}
