package hart

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/habgo/hab/core/ident"
)

// payloadEntries decompresses a hart's payload and lists its tar headers.
func payloadEntries(t *testing.T, hartPath string) []*tar.Header {
	t.Helper()
	b, err := os.ReadFile(hartPath)
	if err != nil {
		t.Fatal(err)
	}
	_, payload := splitHart(t, b)
	dec := newGoDecoder(bytes.NewReader(payload))
	defer dec.Close()
	tr := tar.NewReader(dec)
	var out []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
}

// TestWriteDeterministic writes the same tree twice, per encoder: the
// harts are byte-identical; with SourceDateEpoch they stay identical when
// the files' mtimes change in between.
func TestWriteDeterministic(t *testing.T) {
	key, _ := testKey(t, "acme")
	src := t.TempDir()
	base := makeTree(t, src)
	t.Cleanup(func() { makeWritable(src) })
	epoch := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, mode := range xzModes(t) {
		t.Run(string(mode), func(t *testing.T) {
			out := t.TempDir()
			read := func(name string, opts WriteOptions) []byte {
				opts.XZ = mode
				p := writeTestHart(t, out, src, key, opts)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				os.Rename(p, filepath.Join(out, name))
				return b
			}
			a := read("a.hart", WriteOptions{})
			b := read("b.hart", WriteOptions{})
			if !bytes.Equal(a, b) {
				t.Fatal("two writes of the same tree differ")
			}
			// Into a stream (through a temporary file) and into a file at
			// an offset (header written last): the same bytes.
			var buf bytes.Buffer
			if err := Write(context.Background(), &buf, src, testID, key, WriteOptions{XZ: mode}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), a) {
				t.Fatal("writing to a stream and to a file differ")
			}
			f, _ := os.Create(filepath.Join(out, "offset.hart"))
			f.WriteString("leading bytes")
			if err := Write(context.Background(), f, src, testID, key, WriteOptions{XZ: mode}); err != nil {
				t.Fatal(err)
			}
			f.WriteString("trailing")
			f.Close()
			if got, _ := os.ReadFile(filepath.Join(out, "offset.hart")); string(got) != "leading bytes"+string(a)+"trailing" {
				t.Fatal("writing at a file offset went wrong")
			}
			e1 := read("e1.hart", WriteOptions{SourceDateEpoch: &epoch})
			// Change every mtime.
			filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type()&fs.ModeSymlink == 0 {
					os.Chtimes(p, time.Time{}, time.Now().Add(-time.Duration(len(p))*time.Hour))
				}
				return nil
			})
			e2 := read("e2.hart", WriteOptions{SourceDateEpoch: &epoch})
			if !bytes.Equal(e1, e2) {
				t.Fatal("with SOURCE_DATE_EPOCH, writes of trees differing only in mtimes differ")
			}
			if bytes.Equal(a, e1) {
				t.Fatal("SOURCE_DATE_EPOCH had no effect")
			}
			for _, h := range payloadEntries(t, filepath.Join(out, "e2.hart")) {
				if !h.ModTime.Equal(epoch) {
					t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, epoch)
				}
			}
		})
	}
}

// TestWriteEntries checks order, owners and the kinds of entries.
func TestWriteEntries(t *testing.T) {
	key, _ := testKey(t, "acme")
	src := t.TempDir()
	makeTree(t, src)
	t.Cleanup(func() { makeWritable(src) })
	// Give the files a non-root owner where possible; it must not show.
	if os.Geteuid() == 0 {
		filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err == nil {
				os.Lchown(p, 1234, 5678)
			}
			return nil
		})
	}
	p := writeTestHart(t, t.TempDir(), src, key, WriteOptions{XZ: XZGo})
	hdrs := payloadEntries(t, p)
	var names []string
	var prev []string
	for i, h := range hdrs {
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "root" || h.Gname != "root" {
			t.Errorf("%s: owner %d:%d %s:%s", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		comps := strings.Split(strings.TrimSuffix(h.Name, "/"), "/")
		if i > 0 && compareComps(prev, comps) >= 0 {
			t.Errorf("entry %s is not after %s", h.Name, strings.Join(prev, "/"))
		}
		prev = comps
	}
	want := []string{"hab/", "hab/pkgs/", "hab/pkgs/acme/", "hab/pkgs/acme/widget/", "hab/pkgs/acme/widget/1.2.3/", pfx,
		pfx + "BINDS_OPTIONAL", pfx + "DEPS", pfx + "IDENT", pfx + "MANIFEST", pfx + "TARGET",
		pfx + "bin/", pfx + "bin/w", pfx + "bin/widget", pfx + "bin/widget-hard",
		pfx + "config/", pfx + "config/app.toml", pfx + "data/", pfx + "hooks/", pfx + "hooks/run",
		pfx + "lib/", pfx + "lib/glibc", pfx + "lib/libw.so", pfx + "lib/libw.so.1", pfx + "lib/libw.so.1.0",
		pfx + "share/", pfx + "share/doc/", pfx + "share/doc/README", pfx + "var/", pfx + "var/empty/"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if hdrs[0].PAXRecords["comment"] != sortedMarker {
		t.Errorf("first entry lacks the sorted mark: %v", hdrs[0].PAXRecords)
	}
	byName := map[string]*tar.Header{}
	for _, h := range hdrs {
		byName[h.Name] = h
	}
	if h := byName[pfx+"bin/widget-hard"]; h.Typeflag != tar.TypeLink || h.Linkname != pfx+"bin/widget" {
		t.Errorf("hard link: %+v", h)
	}
	if h := byName[pfx+"lib/libw.so"]; h.Typeflag != tar.TypeSymlink || h.Linkname != "libw.so.1" {
		t.Errorf("symlink: %+v", h)
	}
	if h := byName[pfx+"hooks/run"]; h.Mode != 0o700 {
		t.Errorf("hooks/run mode %o", h.Mode)
	}
	if h := byName[pfx+"share/doc/"]; h.Mode != 0o555 {
		t.Errorf("share/doc mode %o", h.Mode)
	}
}

// TestWriteRoundTrip writes, verifies, extracts, and compares the
// extracted tree with the source: files, modes, symlinks, empty
// directories, hard links and mtimes; with every pair of encoder and
// decoder.
func TestWriteRoundTrip(t *testing.T) {
	key, keys := testKey(t, "acme")
	src := t.TempDir()
	base := makeTree(t, src)
	t.Cleanup(func() { makeWritable(src) })
	ctx := context.Background()
	for _, enc := range xzModes(t) {
		var progress []int64
		p := writeTestHart(t, t.TempDir(), src, key, WriteOptions{XZ: enc, Progress: func(n int64) { progress = append(progress, n) }})
		if len(progress) == 0 || progress[len(progress)-1] < 60000 {
			t.Errorf("write progress: %v", progress)
		}
		if _, err := Verify(ctx, p, keys); err != nil {
			t.Fatal(err)
		}
		m, err := ReadMetadataWith(ctx, p, ReadOptions{XZ: enc})
		if err != nil {
			t.Fatal(err)
		}
		if m.Ident != testID || m.Target != ident.X86_64Linux || string(m.Files["DEPS"]) != "core/glibc/2.27/20190115002733\n" || len(m.Files) != 5 {
			t.Errorf("metadata: %+v", m)
		}
		for _, dec := range xzModes(t) {
			t.Run(string(enc)+"-to-"+string(dec), func(t *testing.T) {
				root := t.TempDir()
				t.Cleanup(func() { makeWritable(root) })
				var last int64
				m, err := ExtractWith(ctx, p, keys, root, ExtractOptions{XZ: dec, Progress: func(n int64) { last = n }})
				if err != nil {
					t.Fatal(err)
				}
				st, _ := os.Stat(p)
				hdrLen := int64(len(mustHeader(t, p).Encode()))
				if last != st.Size()-hdrLen {
					t.Errorf("extract progress ended at %d, payload is %d bytes", last, st.Size()-hdrLen)
				}
				if m.Ident != testID || len(m.Files) != 5 {
					t.Errorf("metadata: %+v", m)
				}
				compareTrees(t, base, filepath.Join(root, filepath.FromSlash(pfx)))
			})
		}
	}
}

func mustHeader(t *testing.T, p string) Header {
	h, err := ReadHeaderFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// compareTrees compares two package trees: names, types, modes, content,
// symlink targets, mtimes, and hard links.
func compareTrees(t *testing.T, want, got string) {
	t.Helper()
	if a, b := listTree(t, want), listTree(t, got); !reflect.DeepEqual(a, b) {
		t.Fatalf("trees differ:\n%v\n%v", a, b)
	}
	filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(want, p)
		q := filepath.Join(got, rel)
		wi, _ := os.Lstat(p)
		gi, err := os.Lstat(q)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if wi.Mode() != gi.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, gi.Mode(), wi.Mode())
		}
		if !wi.ModTime().Truncate(time.Second).Equal(gi.ModTime()) {
			t.Errorf("%s: mtime %v, want %v", rel, gi.ModTime(), wi.ModTime())
		}
		if wi.Mode().IsRegular() {
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(q)
			if !bytes.Equal(a, b) {
				t.Errorf("%s: content differs", rel)
			}
			if wi.Sys().(*syscall.Stat_t).Nlink != gi.Sys().(*syscall.Stat_t).Nlink {
				t.Errorf("%s: %d links, want %d", rel, gi.Sys().(*syscall.Stat_t).Nlink, wi.Sys().(*syscall.Stat_t).Nlink)
			}
		}
		return nil
	})
}

// TestWriteRefuses checks trees Extract would refuse are refused when
// writing, with errors naming the file.
func TestWriteRefuses(t *testing.T) {
	key, _ := testKey(t, "acme")
	cases := []struct {
		name  string
		setup func(base string) error
		msg   string
	}{
		{"escaping symlink", func(b string) error {
			return os.Symlink("../../../../../../etc/passwd", filepath.Join(b, "bin", "evil"))
		}, "escapes the package prefix"},
		{"absolute symlink outside /hab", func(b string) error { return os.Symlink("/usr/bin/env", filepath.Join(b, "bin", "env")) }, "outside /hab/"},
		{"fifo", func(b string) error { return syscall.Mkfifo(filepath.Join(b, "fifo"), 0o644) }, "unsupported file type"},
		{"IDENT disagrees", func(b string) error {
			return os.WriteFile(filepath.Join(b, "IDENT"), []byte("acme/widget/9/20240102030405\n"), 0o644)
		}, "IDENT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := t.TempDir()
			base := makeTree(t, src)
			t.Cleanup(func() { makeWritable(src) })
			if err := c.setup(base); err != nil {
				t.Fatal(err)
			}
			err := Write(context.Background(), io.Discard, src, testID, key, WriteOptions{XZ: XZGo})
			if err == nil || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), testID.String()) {
				t.Errorf("got %v", err)
			}
		})
	}
	src := t.TempDir()
	if err := Write(context.Background(), io.Discard, src, testID, key, WriteOptions{}); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing tree: %v", err)
	}
	if err := Write(context.Background(), io.Discard, src, ident.MustParse("acme/widget"), key, WriteOptions{}); !errors.Is(err, ident.ErrInvalid) {
		t.Errorf("partial ident: %v", err)
	}
}

// TestReadMetadataStopsEarly truncates a sorted hart after its metadata:
// ReadMetadata still succeeds because it stops before the damage, while
// a full read fails.
func TestReadMetadataStopsEarly(t *testing.T) {
	key, keys := testKey(t, "acme")
	src := t.TempDir()
	base := makeTree(t, src)
	t.Cleanup(func() { makeWritable(src) })
	big := make([]byte, 1<<20)
	x := uint64(88172645463325252)
	for i := range big { // incompressible
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		big[i] = byte(x)
	}
	if err := os.WriteFile(filepath.Join(base, "share", "zz-big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, mode := range xzModes(t) {
		p := writeTestHart(t, t.TempDir(), src, key, WriteOptions{XZ: mode})
		b, _ := os.ReadFile(p)
		os.WriteFile(p, b[:len(b)/2], 0o644)
		m, err := ReadMetadataWith(ctx, p, ReadOptions{XZ: mode})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if m.Ident != testID || len(m.Files) != 5 {
			t.Errorf("%s: %+v", mode, m)
		}
		if _, err := ExtractWith(ctx, p, keys, t.TempDir(), ExtractOptions{XZ: mode}); err == nil {
			t.Errorf("%s: extracting the truncated hart succeeded", mode)
		}
	}
}

// TestSign wraps a .tar.xz made by the tools into a hart, from a file and
// from a pipe, and checks the two agree and verify.
func TestSign(t *testing.T) {
	key, keys := testKey(t, "acme")
	payload := xzBytes(t, tarBytes(t, []entry{dir(pfx), reg(pfx+"IDENT", testID.String()+"\n")}))
	dir := t.TempDir()
	src := filepath.Join(dir, "p.tar.xz")
	os.WriteFile(src, payload, 0o644)
	ctx := context.Background()

	var fromFile, fromPipe bytes.Buffer
	f, _ := os.Open(src)
	defer f.Close()
	if err := Sign(ctx, f, &fromFile, key); err != nil {
		t.Fatal(err)
	}
	if err := Sign(ctx, io.MultiReader(bytes.NewReader(payload)), &fromPipe, key); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fromFile.Bytes(), fromPipe.Bytes()) {
		t.Fatal("signing from a file and from a stream differ")
	}
	out := filepath.Join(dir, "p.hart")
	os.WriteFile(out, fromFile.Bytes(), 0o644)
	if _, err := Verify(ctx, out, keys); err != nil {
		t.Fatal(err)
	}
	if m, err := Extract(ctx, out, keys, t.TempDir()); err != nil || m.Ident != testID {
		t.Fatalf("%v %v", m, err)
	}
	if err := Sign(ctx, strings.NewReader("not xz"), io.Discard, key); !errors.Is(err, ErrFormat) {
		t.Errorf("non-xz payload: %v", err)
	}
	if err := Sign(ctx, strings.NewReader(""), io.Discard, key); !errors.Is(err, ErrFormat) {
		t.Errorf("empty payload: %v", err)
	}
}

// TestHash compares with a known digest: BLAKE2b-256 of "abc".
func TestHash(t *testing.T) {
	p := filepath.Join(t.TempDir(), "abc")
	os.WriteFile(p, []byte("abc"), 0o644)
	h, err := Hash(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if h != "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319" {
		t.Errorf("got %s", h)
	}
	if _, err := Hash(context.Background(), p+"-missing"); err == nil || !strings.Contains(err.Error(), "abc-missing") {
		t.Errorf("missing file: %v", err)
	}
}

// TestXZModes checks mode parsing and resolution.
func TestXZModes(t *testing.T) {
	for in, want := range map[string]XZ{"": XZAuto, "auto": XZAuto, "go": XZGo, "EXEC": XZExec} {
		if got, err := ParseXZ(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseXZ("zstd"); err == nil || !strings.Contains(err.Error(), "zstd") {
		t.Errorf("bad mode: %v", err)
	}
	if m, err := XZGo.Mode(); err != nil || m != XZGo {
		t.Errorf("go: %v %v", m, err)
	}
	t.Setenv("PATH", t.TempDir())
	t.Setenv(EnvXZ, "")
	if m, err := XZAuto.Mode(); err != nil || m != XZGo {
		t.Errorf("auto without xz on PATH: %v %v", m, err)
	}
	if _, err := XZExec.Mode(); err == nil {
		t.Error("exec without xz on PATH must fail")
	}
	// The library reads no environment: HAB_XZ is the CLI's to read.
	t.Setenv(EnvXZ, "bogus")
	if m, err := XZAuto.Mode(); err != nil || m != XZGo {
		t.Errorf("auto with HAB_XZ=bogus and no xz on PATH: %v %v", m, err)
	}
}
