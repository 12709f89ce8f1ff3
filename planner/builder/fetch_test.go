package builder

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// tarGz returns a gzip-compressed tar holding files (name -> content).
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range sortedKeys(files) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[name]))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sourceServer serves one file; the first request of a test can be made
// to fail half-way through the body.
type sourceServer struct {
	mu       sync.Mutex
	body     []byte
	cutFirst bool
	requests []string // "GET path range"
}

func (s *sourceServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path+" "+r.Header.Get("Range"))
	cut := s.cutFirst
	s.cutFirst = false
	s.mu.Unlock()
	if cut {
		w.Header().Set("Content-Length", fmt.Sprint(len(s.body)))
		w.WriteHeader(http.StatusOK)
		w.Write(s.body[:len(s.body)/2])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	http.ServeContent(w, r, "src.tar.gz", time.Unix(1700000000, 0), bytes.NewReader(s.body))
}

func (s *sourceServer) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// TestDownloadResumeAndCache downloads a source over HTTP from a loopback
// server: an interrupted download fails and keeps its partial file; the
// next build resumes it with a Range request; the one after reuses the
// cached file by checksum without a request; a cached file with the wrong
// checksum is downloaded again.
func TestDownloadResumeAndCache(t *testing.T) {
	body := tarGz(t, map[string]string{"src-1.0/data.txt": strings.Repeat("habitat source\n", 20000)})
	srv := &sourceServer{body: body, cutFirst: true}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	e := newEnv(t)
	plan := fmt.Sprintf(`pkg_name=src
pkg_origin=habtest
pkg_version=1.0
pkg_source=%s/dl/src-1.0.tar.gz
pkg_shasum=%s
do_build() { test -f data.txt; }
do_install() { cp data.txt "$pkg_prefix/"; }
`, ts.URL, strings.ToUpper(sha(body)))
	dir := writePlan(t, map[string]string{"plan.sh": plan})
	cached := filepath.Join(e.root, "hab", "cache", "src", "src-1.0.tar.gz")

	var out bytes.Buffer
	_, err := Build(context.Background(), dir, e.options(&out))
	if err == nil || !strings.Contains(err.Error(), "build failed in do_download: download "+ts.URL+"/dl/src-1.0.tar.gz: ") {
		t.Fatalf("interrupted download: error %v\n%s", err, out.String())
	}
	fi, err := os.Stat(cached + ".part")
	if err != nil || fi.Size() != int64(len(body)/2) {
		t.Fatalf("partial download: %v, %v (want %d bytes)", fi, err, len(body)/2)
	}

	out.Reset()
	res, err := Build(context.Background(), dir, e.options(&out))
	if err != nil {
		t.Fatalf("resumed download: %v\n%s", err, out.String())
	}
	log := srv.log()
	if len(log) != 2 || log[1] != fmt.Sprintf("GET /dl/src-1.0.tar.gz bytes=%d-", len(body)/2) {
		t.Errorf("requests = %q, want a resuming Range request", log)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("Resuming download of 'src-1.0.tar.gz' at byte %d", len(body)/2)) ||
		!strings.Contains(out.String(), "src-1.0.tar.gz: ") || !strings.Contains(out.String(), "(100%), done") {
		t.Errorf("no resume and progress lines:\n%s", out.String())
	}
	if got := readFile(t, filepath.Join(res.Prefix, "data.txt")); got != strings.Repeat("habitat source\n", 20000) {
		t.Error("the package does not hold the downloaded source")
	}

	out.Reset()
	if _, err := Build(context.Background(), dir, e.options(&out)); err != nil {
		t.Fatalf("cached build: %v", err)
	}
	if n := len(srv.log()); n != 2 {
		t.Errorf("a cached, verified source was downloaded again (%d requests)", n)
	}
	if !strings.Contains(out.String(), "Using cached and verified 'src-1.0.tar.gz'") {
		t.Errorf("output:\n%s", out.String())
	}

	if err := os.WriteFile(cached, []byte("corrupted"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, err := Build(context.Background(), dir, e.options(&out)); err != nil {
		t.Fatalf("build over a corrupted cache: %v\n%s", err, out.String())
	}
	if log := srv.log(); len(log) != 3 || log[2] != "GET /dl/src-1.0.tar.gz " {
		t.Errorf("requests = %q, want a full download", log)
	}
	if !strings.Contains(out.String(), "Clearing previous 'src-1.0.tar.gz' file and re-attempting download") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestDownloadErrors: an HTTP error status and a file:// URL.
func TestDownloadErrors(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	defer ts.Close()
	body := tarGz(t, map[string]string{"f-1.0/x": "x"})
	local := filepath.Join(t.TempDir(), "f-1.0.tar.gz")
	if err := os.WriteFile(local, body, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, source, want string }{
		{"not found", ts.URL + "/f-1.0.tar.gz", "build failed in do_download: download " + ts.URL + "/f-1.0.tar.gz: GET " + ts.URL + "/f-1.0.tar.gz: 404 Not Found"},
		{"file url", "file://" + local, ""},
		{"unsupported scheme", "ftp://example.com/f-1.0.tar.gz", "build failed in do_download: download ftp://example.com/f-1.0.tar.gz: unsupported URL scheme \"ftp\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			plan := "pkg_name=f\npkg_origin=habtest\npkg_version=1.0\npkg_source=" + tt.source + "\npkg_shasum=" + sha(body) + "\ndo_build() { test -f x; }\ndo_install() { cp x \"$pkg_prefix/\"; }\n"
			dir := writePlan(t, map[string]string{"plan.sh": plan})
			var out bytes.Buffer
			_, err := Build(context.Background(), dir, e.options(&out))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("%v\n%s", err, out.String())
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v\nwant    %s", err, tt.want)
			}
			assertNothingLeft(t, e, "f")
		})
	}
}

// TestLocalSourceModeAndChecksum: a file:// source (or a path beside the
// plan) is copied into the source cache with its own mode, and a source
// whose checksum fails, however it came, is removed from the cache while
// the original stays.
func TestLocalSourceModeAndChecksum(t *testing.T) {
	body := []byte("#!/bin/sh\necho installer\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	for _, c := range []struct {
		name   string
		mode   os.FileMode
		source func(local string) string
		good   bool
	}{
		{"file url 0755", 0o755, func(l string) string { return "file://" + l }, true},
		{"file url 0600", 0o600, func(l string) string { return "file://" + l }, true},
		{"file url 0444", 0o444, func(l string) string { return "file://" + l }, true},
		{"relative path 0750", 0o750, func(string) string { return "installer.sh" }, true},
		{"file url bad checksum", 0o755, func(l string) string { return "file://" + l }, false},
		{"relative path bad checksum", 0o644, func(string) string { return "installer.sh" }, false},
		{"http bad checksum", 0o644, func(string) string { return srv.URL + "/installer.sh" }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			shasum := sha(body)
			if !c.good {
				shasum = strings.Repeat("0", 64)
			}
			dir := writePlan(t, map[string]string{"plan.sh": "pkg_name=inst\npkg_origin=habtest\npkg_version=1.0\npkg_filename=installer.sh\n" +
				"pkg_source=SOURCE\npkg_shasum=" + shasum + "\ndo_unpack() { :; }\ndo_build() { :; }\ndo_install() { :; }\n"})
			local := filepath.Join(dir, "installer.sh")
			if err := os.WriteFile(local, body, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(local, c.mode); err != nil {
				t.Fatal(err)
			}
			plan := filepath.Join(dir, "plan.sh")
			os.WriteFile(plan, []byte(strings.Replace(readFile(t, plan), "SOURCE", c.source(local), 1)), 0o644)
			var out bytes.Buffer
			_, err := Build(context.Background(), dir, e.options(&out))
			cached := filepath.Join(e.root, "hab", "cache", "src", "installer.sh")
			if c.good {
				if err != nil {
					t.Fatalf("%v\n%s", err, out.String())
				}
				fi, err := os.Stat(cached)
				if err != nil || fi.Mode().Perm() != c.mode {
					t.Errorf("cached copy: %v %v, want mode %v", fi, err, c.mode)
				}
				return
			}
			var be *Error
			if !errors.As(err, &be) || be.Phase != "do_verify" || !strings.Contains(err.Error(), "Checksum invalid for installer.sh") {
				t.Fatalf("build: %v, want a checksum failure in do_verify", err)
			}
			if _, err := os.Lstat(cached); !os.IsNotExist(err) {
				t.Errorf("the source that failed its checksum is still in the cache (%v)", err)
			}
			if got, err := os.ReadFile(local); err != nil || !bytes.Equal(got, body) {
				t.Errorf("the original source changed: %v", err)
			}
			if !strings.Contains(out.String(), "Removed 'installer.sh' from the source cache") {
				t.Errorf("the removal is not said:\n%s", out.String())
			}
		})
	}
}
