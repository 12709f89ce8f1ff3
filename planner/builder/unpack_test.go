package builder

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func rawTar(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		h := &tar.Header{Name: name, Mode: 0o755, Size: int64(len(files[name])), ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg}
		if strings.HasPrefix(files[name], "->") {
			h = &tar.Header{Name: name, Linkname: strings.TrimPrefix(files[name], "->"), Typeflag: tar.TypeSymlink, ModTime: h.ModTime}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(files[name]))
		}
	}
	tw.Close()
	return buf.Bytes()
}

// tarCompressors are the tar formats hab unpacks, each a function that
// compresses a plain tar (bzip2 when the bzip2 program is there).
func tarCompressors(t *testing.T) map[string]func([]byte) []byte {
	compress := map[string]func([]byte) []byte{
		".tar": func(b []byte) []byte { return b },
		".tar.gz": func(b []byte) []byte {
			var buf bytes.Buffer
			w := gzip.NewWriter(&buf)
			w.Write(b)
			w.Close()
			return buf.Bytes()
		},
		".tar.xz": func(b []byte) []byte {
			var buf bytes.Buffer
			w, _ := xz.NewWriter(&buf)
			w.Write(b)
			w.Close()
			return buf.Bytes()
		},
		".tar.zst": func(b []byte) []byte {
			var buf bytes.Buffer
			w, _ := zstd.NewWriter(&buf)
			w.Write(b)
			w.Close()
			return buf.Bytes()
		},
	}
	if _, err := exec.LookPath("bzip2"); err == nil {
		compress[".tar.bz2"] = func(b []byte) []byte {
			cmd := exec.Command("bzip2", "-c")
			cmd.Stdin = bytes.NewReader(b)
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	return compress
}

// TestUnpackFormats unpacks each supported format and checks the files.
func TestUnpackFormats(t *testing.T) {
	files := map[string]string{"pkg-1.0/README": "read me\n", "pkg-1.0/bin/run": "#!/bin/sh\n", "pkg-1.0/link": "->README"}
	plain := rawTar(t, files)
	compress := tarCompressors(t)
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for _, name := range []string{"pkg-1.0/README", "pkg-1.0/bin/run"} {
		fh := &zip.FileHeader{Name: name, Method: zip.Deflate}
		fh.SetMode(0o755)
		w, _ := zw.CreateHeader(fh)
		w.Write([]byte(files[name]))
	}
	zw.Close()
	compress[".zip"] = func([]byte) []byte { return zbuf.Bytes() }

	for ext, c := range compress {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "pkg-1.0"+ext)
			if err := os.WriteFile(src, c(plain), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := Unpack(context.Background(), src, dir); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(dir, "pkg-1.0", "README")); got != "read me\n" {
				t.Errorf("README = %q", got)
			}
			fi, err := os.Stat(filepath.Join(dir, "pkg-1.0", "bin", "run"))
			if err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("bin/run: %v %v", fi, err)
			}
			if ext != ".zip" {
				if l, err := os.Readlink(filepath.Join(dir, "pkg-1.0", "link")); err != nil || l != "README" {
					t.Errorf("link: %q %v", l, err)
				}
			}
		})
	}
}

func TestUnpackSingleAndErrors(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write([]byte("one file\n"))
	w.Close()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt.gz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Unpack(context.Background(), filepath.Join(dir, "notes.txt.gz"), dir); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "notes.txt")); got != "one file\n" {
		t.Errorf("notes.txt = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt.gz")); !os.IsNotExist(err) {
		t.Error("the compressed file is kept, as gunzip would not")
	}

	evil := filepath.Join(dir, "evil.tar")
	os.WriteFile(evil, rawTar(t, map[string]string{"../escaped": "x"}), 0o644)
	if err := Unpack(context.Background(), evil, filepath.Join(dir, "out")); err == nil || err.Error() != `entry "../escaped" escapes the destination` {
		t.Errorf("escaping entry: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "escaped")); !os.IsNotExist(err) {
		t.Error("an escaping entry was written")
	}
	outside := t.TempDir()
	viaLink := filepath.Join(dir, "vialink.tar")
	os.WriteFile(viaLink, rawTar(t, map[string]string{"a/link": "->" + outside, "a/link/planted": "x"}), 0o644)
	if err := Unpack(context.Background(), viaLink, filepath.Join(dir, "out2")); err == nil || err.Error() != `entry "a/link/planted" escapes the destination through a symbolic link` {
		t.Errorf("entry through a symbolic link: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); !os.IsNotExist(err) {
		t.Error("an entry was written through a symbolic link")
	}
	odd := filepath.Join(dir, "src.rar")
	os.WriteFile(odd, []byte("x"), 0o644)
	if err := Unpack(context.Background(), odd, dir); err == nil || err.Error() != "unknown archive format '.rar'" {
		t.Errorf("unknown format: %v", err)
	}
}
