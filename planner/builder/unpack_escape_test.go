package builder

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// entry is one archive entry: kind 'f' file, 'd' directory, 's'
// symbolic link, 'h' hard link.
type entry struct {
	kind       byte
	name, link string
	mode       int64
}

func tarOf(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Mode: e.mode, ModTime: time.Unix(1000000000, 0)}
		switch e.kind {
		case 'f':
			h.Typeflag, h.Size = tar.TypeReg, int64(len("payload\n"))
		case 'd':
			h.Typeflag = tar.TypeDir
		case 's':
			h.Typeflag = tar.TypeSymlink
		case 'h':
			h.Typeflag = tar.TypeLink
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.kind == 'f' {
			tw.Write([]byte("payload\n"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipOf(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		body := "payload\n"
		switch e.kind {
		case 'f':
			fh.SetMode(os.FileMode(max(e.mode, 0o644)))
		case 'd':
			fh.Name = strings.TrimSuffix(e.name, "/") + "/"
			fh.SetMode(os.ModeDir | os.FileMode(max(e.mode, 0o755)))
			body = ""
		case 's':
			fh.SetMode(os.ModeSymlink | 0o777)
			body = e.link
		default:
			t.Fatalf("zip has no entry kind %c", e.kind)
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hostState is what a test must find unchanged outside the destination.
type hostState struct {
	mode  os.FileMode
	mtime time.Time
	nlink uint64
	data  string
	names int
}

func snapshot(t *testing.T, dir, file string) hostState {
	t.Helper()
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	ents, _ := os.ReadDir(dir)
	return hostState{mode: di.Mode() | fi.Mode()<<1, mtime: fi.ModTime(), nlink: uint64(fi.Sys().(*syscall.Stat_t).Nlink), data: string(data), names: len(ents)}
}

// TestUnpackEscapes: no archive entry, in any format hab unpacks, changes
// a file outside the destination: links in the archive are created last
// and never resolved through, links already in the destination are never
// followed, and neither chmod nor times go through a link.
func TestUnpackEscapes(t *testing.T) {
	type archiveCase struct {
		name    string
		entries []entry
		wantErr string                               // "" for success
		check   func(t *testing.T, out, host string) // what the destination holds
	}
	isDir := func(rel string) func(t *testing.T, out, host string) {
		return func(t *testing.T, out, host string) {
			rel := strings.ReplaceAll(rel, "HOST", host)
			if fi, err := os.Lstat(filepath.Join(out, rel)); err != nil || !fi.IsDir() {
				t.Errorf("%s is not a real directory: %v %v", rel, fi, err)
			}
		}
	}
	isFile := func(rel string) func(t *testing.T, out, host string) {
		return func(t *testing.T, out, host string) {
			rel := strings.ReplaceAll(rel, "HOST", host)
			if fi, err := os.Lstat(filepath.Join(out, rel)); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("%s is not a regular file: %v %v", rel, fi, err)
			}
		}
	}
	// HOST is replaced by the host directory's path.
	cases := []archiveCase{
		{name: "symlink then directory of the same name", entries: []entry{{kind: 's', name: "d", link: "HOST"}, {kind: 'd', name: "d", mode: 0o777}}, check: isDir("d")},
		{name: "symlink then directory beneath", entries: []entry{{kind: 's', name: "d", link: "HOST"}, {kind: 'd', name: "d/sub", mode: 0o777}}, wantErr: "through a symbolic link"},
		{name: "symlink then file beneath", entries: []entry{{kind: 's', name: "etc", link: "HOST"}, {kind: 'f', name: "etc/passwd"}}, wantErr: `entry "etc/passwd" escapes the destination through a symbolic link`},
		{name: "relative symlink then file beneath", entries: []entry{{kind: 'd', name: "a"}, {kind: 's', name: "a/up", link: "../../../../../../../../../HOST"}, {kind: 'f', name: "a/up/victim"}}, wantErr: "through a symbolic link"},
		{name: "symlink then file of the same name", entries: []entry{{kind: 's', name: "x", link: "HOST/victim"}, {kind: 'f', name: "x", mode: 0o600}}, check: isFile("x")},
		{name: "file then symlink of the same name", entries: []entry{{kind: 'f', name: "x"}, {kind: 's', name: "x", link: "HOST/victim"}}},
		{name: "absolute name", entries: []entry{{kind: 'f', name: "HOST/victim"}}, check: isFile("HOST/victim")},
		{name: "absolute directory", entries: []entry{{kind: 'd', name: "HOST", mode: 0o777}}},
		{name: "the destination itself", entries: []entry{{kind: 'd', name: "./", mode: 0o777}, {kind: 'f', name: "./x"}}, check: func(t *testing.T, out, host string) {
			if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("the destination's mode changed: %v %v", fi, err)
			}
		}},
		{name: "dot-dot name", entries: []entry{{kind: 'f', name: "../victim"}}, wantErr: "escapes the destination"},
		{name: "dot-dot inside", entries: []entry{{kind: 'f', name: "a/../../victim"}}, wantErr: "escapes the destination"},
		{name: "dot-dot directory", entries: []entry{{kind: 'd', name: "..", mode: 0o777}}, wantErr: "escapes the destination"},
		{name: "hard link through an archived symlink", entries: []entry{{kind: 's', name: "l", link: "HOST"}, {kind: 'h', name: "h", link: "l/victim"}}, wantErr: "through a symbolic link"},
		{name: "hard link through a directory symlink", entries: []entry{{kind: 'd', name: "src"}, {kind: 's', name: "src/l", link: "HOST"}, {kind: 'h', name: "src/h", link: "src/l/victim"}}, wantErr: "through a symbolic link"},
		{name: "hard link to dot-dot", entries: []entry{{kind: 'h', name: "h", link: "../host/victim"}}, wantErr: "escapes the destination"},
		{name: "hard link to an absolute host file", entries: []entry{{kind: 'h', name: "h", link: "HOST/victim"}}, wantErr: "no such file"},
		{name: "hard link to an archived symlink", entries: []entry{{kind: 's', name: "l", link: "HOST/victim"}, {kind: 'h', name: "h", link: "l"}}, check: func(t *testing.T, out, host string) {
			if l, err := os.Readlink(filepath.Join(out, "h")); err != nil || !strings.HasSuffix(l, "/victim") {
				t.Errorf("h = %q %v, want the link itself", l, err)
			}
		}},
		{name: "file beneath a planted link", entries: []entry{{kind: 'f', name: "planted/victim"}}, wantErr: "through a symbolic link"},
		{name: "directory over a planted link", entries: []entry{{kind: 'd', name: "planted", mode: 0o777}}, check: isDir("planted")},
		{name: "file over a planted link", entries: []entry{{kind: 'f', name: "plantedfile", mode: 0o666}}, check: isFile("plantedfile")},
		{name: "hard link through a planted link", entries: []entry{{kind: 'h', name: "h", link: "planted/victim"}}, wantErr: "through a symbolic link"},
		{name: "hard link to a planted link", entries: []entry{{kind: 'h', name: "h", link: "plantedfile"}}},
		{name: "file beneath a file", entries: []entry{{kind: 'f', name: "f"}, {kind: 'f', name: "f/x"}}, wantErr: "not a directory"},
	}
	tarFormats := tarCompressors(t)
	for _, c := range cases {
		formats := map[string]func(*testing.T, []entry) []byte{}
		for ext, z := range tarFormats {
			formats[ext] = func(t *testing.T, e []entry) []byte { return z(tarOf(t, e)) }
		}
		zipOK := true
		for _, e := range c.entries {
			zipOK = zipOK && e.kind != 'h'
		}
		if zipOK {
			formats[".zip"] = zipOf
		}
		for ext, make := range formats {
			t.Run(c.name+"/"+ext, func(t *testing.T) {
				tmp := t.TempDir()
				host := filepath.Join(tmp, "host")
				out := filepath.Join(tmp, "cache", "src")
				for _, d := range []string{host, out} {
					if err := os.MkdirAll(d, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				victim := filepath.Join(host, "victim")
				if err := os.WriteFile(victim, []byte("host file\n"), 0o640); err != nil {
					t.Fatal(err)
				}
				old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
				os.Chtimes(victim, old, old)
				os.Chtimes(host, old, old)
				// Links left in the destination by an earlier archive.
				os.Symlink(host, filepath.Join(out, "planted"))
				os.Symlink(victim, filepath.Join(out, "plantedfile"))
				before := snapshot(t, host, victim)
				var entries []entry
				for _, e := range c.entries {
					e.name = strings.ReplaceAll(e.name, "HOST", host)
					e.link = strings.ReplaceAll(e.link, "HOST", host)
					entries = append(entries, e)
				}
				archive := filepath.Join(tmp, "cache", "evil"+ext)
				if err := os.WriteFile(archive, make(t, entries), 0o644); err != nil {
					t.Fatal(err)
				}
				err := Unpack(context.Background(), archive, out)
				switch {
				case c.wantErr == "" && err != nil:
					t.Errorf("Unpack: %v", err)
				case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
					t.Errorf("Unpack: %v, want an error saying %q", err, c.wantErr)
				}
				if after := snapshot(t, host, victim); after != before {
					t.Errorf("the host directory changed: %+v, was %+v", after, before)
				}
				if di, _ := os.Stat(host); !di.ModTime().Equal(old) {
					t.Errorf("the host directory's time changed to %v", di.ModTime())
				}
				if err == nil && c.check != nil {
					c.check(t, out, strings.TrimPrefix(host, "/"))
				}
			})
		}
	}
}

// TestUnpackRealEtc: a symbolic link to the real /etc followed by a file
// beneath it writes nothing into /etc.
func TestUnpackRealEtc(t *testing.T) {
	probe := "hab-unpack-probe-" + strings.ReplaceAll(t.Name(), "/", "-")
	tmp := t.TempDir()
	for _, c := range []struct {
		ext  string
		data []byte
	}{
		{".tar", tarOf(t, []entry{{kind: 's', name: "etc", link: "/etc"}, {kind: 'f', name: "etc/" + probe}, {kind: 'd', name: "etc", mode: 0o777}})},
		{".zip", zipOf(t, []entry{{kind: 's', name: "etc", link: "/etc"}, {kind: 'f', name: "etc/" + probe}})},
	} {
		archive := filepath.Join(tmp, "etc"+c.ext)
		if err := os.WriteFile(archive, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		before, err := os.Stat("/etc")
		if err != nil {
			t.Fatal(err)
		}
		if err := Unpack(context.Background(), archive, filepath.Join(tmp, "out"+c.ext)); err == nil || !strings.Contains(err.Error(), "through a symbolic link") {
			t.Errorf("%s: %v", c.ext, err)
		}
		if _, err := os.Lstat("/etc/" + probe); !os.IsNotExist(err) {
			os.Remove("/etc/" + probe)
			t.Errorf("%s: a file was written into /etc", c.ext)
		}
		if after, _ := os.Stat("/etc"); after.Mode() != before.Mode() {
			t.Errorf("%s: /etc changed mode to %v", c.ext, after.Mode())
		}
	}
}
