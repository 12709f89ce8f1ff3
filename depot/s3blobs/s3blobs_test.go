package s3blobs

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"golang.org/x/crypto/blake2b"

	"github.com/habgo/hab/depot/blobs"
)

// objectStore is an in-process S3 server (gofakes3, real S3 requests over
// HTTP) and its backend, which the tests look into directly; a test may
// answer requests itself first (intercept).
type objectStore struct {
	backend *s3mem.Backend
	srv     *httptest.Server
	mu      sync.Mutex
	// intercept, when set, sees each request first; true: it answered.
	intercept func(w http.ResponseWriter, r *http.Request) bool
}

func newObjectStore(t *testing.T) *objectStore {
	t.Helper()
	o := &objectStore{backend: s3mem.New()}
	fake := gofakes3.New(o.backend).Server()
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		f := o.intercept
		o.mu.Unlock()
		if f == nil || !f(w, r) {
			fake.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(o.srv.Close)
	return o
}

// interceptPuts answers every PUT of an object with answer.
func (o *objectStore) interceptPuts(answer func(w http.ResponseWriter, r *http.Request)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPut || strings.Count(strings.Trim(r.URL.Path, "/"), "/") < 1 {
			return false // not an object (a bucket)
		}
		answer(w, r)
		return true
	}
}

// url is the blob URL of bucket/prefix on the server.
func (o *objectStore) url(bucketPath string) string {
	return "s3+http://key:secret@" + strings.TrimPrefix(o.srv.URL, "http://") + "/" + bucketPath + "?region=us-east-1"
}

// keys are the object keys in bucket.
func (o *objectStore) keys(t *testing.T, bucket string) []string {
	t.Helper()
	l, err := o.backend.ListBucket(bucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatalf("list bucket %s: %v", bucket, err)
	}
	var keys []string
	for _, c := range l.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

// open opens a store on o's bucket "depot", prefix "blobs", staging its
// uploads in a directory of its own, which it returns.
func (o *objectStore) open(t *testing.T) (*Store, string) {
	t.Helper()
	staging := t.TempDir()
	s, err := New(context.Background(), o.url("depot/blobs"), staging)
	if err != nil {
		t.Fatal(err)
	}
	return s, staging
}

func digestOf(b []byte) string {
	d := blake2b.Sum256(b)
	return hex.EncodeToString(d[:])
}

// staged are the files left in the store's staging directory.
func staged(t *testing.T, staging string) []string {
	t.Helper()
	var left []string
	err := filepath.WalkDir(staging, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			left = append(left, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return left
}

// put writes b to a new blob and commits it as digest.
func put(ctx context.Context, s *Store, b []byte, digest string) error {
	w, err := s.Create(ctx)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		w.Abort()
		return err
	}
	return w.Commit(ctx, digest)
}

// TestCommitOpen stores blobs of several sizes and reads them back: the
// object is put under PREFIX/DD/DIGEST, Open gives the same bytes and
// size, storing the same content again keeps one object, a store opened
// afterwards on the same bucket finds it (the bucket is not created
// twice), and nothing stays staged.
func TestCommitOpen(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16+7)
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"small", []byte("a package\n")},
		{"3 MiB and a bit", big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			o := newObjectStore(t)
			s, staging := o.open(t)
			digest := digestOf(tc.content)
			for range 2 {
				if err := put(ctx, s, tc.content, digest); err != nil {
					t.Fatal(err)
				}
			}
			if got, want := o.keys(t, "depot"), []string{"blobs/" + digest[:2] + "/" + digest}; !slices.Equal(got, want) {
				t.Errorf("objects %q, want %q", got, want)
			}
			if left := staged(t, staging); len(left) > 0 {
				t.Errorf("staged files left: %q", left)
			}
			again, _ := o.open(t)
			if n, err := again.Count(ctx); err != nil || n != 1 {
				t.Errorf("Count = %d, %v; want 1", n, err)
			}
			r, size, err := again.Open(ctx, digest)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if size != int64(len(tc.content)) || !bytes.Equal(got, tc.content) {
				t.Errorf("read back %d bytes (size %d), want the %d written", len(got), size, len(tc.content))
			}
		})
	}
}

// TestRefused: each bad input or failure (a bad digest, an aborted blob,
// a canceled context, a put cut off midway or refused by the server, a
// removed bucket) is an error naming the blob (and the bucket where the
// server failed), leaves no object and no staged file, and only a blob
// that is not there is blobs.ErrNotFound.
func TestRefused(t *testing.T) {
	content := []byte("a package\n")
	digest := digestOf(content)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		// do acts on a store over o; its error is checked against want.
		do       func(ctx context.Context, s *Store, o *objectStore) error
		want     []string // in the error; none: no error
		notFound bool     // errors.Is(err, blobs.ErrNotFound)
	}{
		{"commit as an uppercase digest", func(ctx context.Context, s *Store, _ *objectStore) error {
			return put(ctx, s, content, strings.ToUpper(digest))
		}, []string{strings.ToUpper(digest), "not a lowercase hex BLAKE2b-256 digest"}, false},
		{"commit as a short digest", func(ctx context.Context, s *Store, _ *objectStore) error {
			return put(ctx, s, content, digest[:10])
		}, []string{`"` + digest[:10] + `"`, "not a lowercase hex"}, false},
		{"commit as a path", func(ctx context.Context, s *Store, _ *objectStore) error {
			return put(ctx, s, content, "../../"+digest[6:])
		}, []string{"not a lowercase hex"}, false},
		// The store does not hash (the depot's upload does, once): on a
		// digest that is not the one announced, the depot aborts the
		// blob, as it does a request cut off before the end.
		{"aborted, as on a digest mismatch", func(ctx context.Context, s *Store, _ *objectStore) error {
			w, err := s.Create(ctx)
			if err != nil {
				return err
			}
			if _, err := w.Write(content); err != nil {
				return err
			}
			w.Abort()
			return nil
		}, nil, false},
		{"commit with its context canceled", func(_ context.Context, s *Store, _ *objectStore) error {
			w, err := s.Create(canceled)
			if err != nil {
				return err
			}
			if _, err := w.Write(content); err != nil {
				return err
			}
			return w.Commit(canceled, digest)
		}, []string{"commit blob " + digest, "bucket depot", "context canceled"}, false},
		// The connection is cut once a third of the blob has arrived.
		{"an upload interrupted midway", func(_ context.Context, s *Store, o *objectStore) error {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o.interceptPuts(func(w http.ResponseWriter, r *http.Request) {
				if _, err := io.CopyN(io.Discard, r.Body, 1<<20); err == nil {
					cancel()
				}
				io.Copy(io.Discard, r.Body) // until the client hangs up
			})
			return put(ctx, s, bytes.Repeat([]byte("x"), 3<<20), digest)
		}, []string{"commit blob " + digest + " to bucket depot", "context canceled"}, false},
		{"the server refuses the put", func(ctx context.Context, s *Store, o *objectStore) error {
			o.interceptPuts(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			})
			return put(ctx, s, content, digest)
		}, []string{"commit blob " + digest + " to bucket depot", "Access Denied"}, false},
		{"commit, the bucket gone", func(ctx context.Context, s *Store, o *objectStore) error {
			if err := o.backend.ForceDeleteBucket("depot"); err != nil {
				return err
			}
			return put(ctx, s, content, digest)
		}, []string{"commit blob " + digest + " to bucket depot", "bucket does not exist"}, false},
		{"open a blob not stored", func(ctx context.Context, s *Store, _ *objectStore) error {
			_, _, err := s.Open(ctx, digest)
			return err
		}, []string{"open blob " + digest}, true},
		{"open a bad digest", func(ctx context.Context, s *Store, _ *objectStore) error {
			_, _, err := s.Open(ctx, "../"+digest)
			return err
		}, []string{`open blob "../` + digest + `"`}, true},
		{"open with its context canceled", func(_ context.Context, s *Store, _ *objectStore) error {
			_, _, err := s.Open(canceled, digest)
			return err
		}, []string{"open blob " + digest, "context canceled"}, false},
		// A HEAD's 404 has no body to tell a missing bucket from a
		// missing object.
		{"open, the bucket gone", func(ctx context.Context, s *Store, o *objectStore) error {
			if err := o.backend.ForceDeleteBucket("depot"); err != nil {
				return err
			}
			_, _, err := s.Open(ctx, digest)
			return err
		}, []string{"open blob " + digest}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newObjectStore(t)
			s, staging := o.open(t)
			err := tc.do(context.Background(), s, o)
			checkErr(t, err, tc.want, tc.notFound)
			if ok, _ := o.backend.BucketExists("depot"); ok {
				if keys := o.keys(t, "depot"); len(keys) > 0 {
					t.Errorf("objects stored: %q", keys)
				}
			}
			if left := staged(t, staging); len(left) > 0 {
				t.Errorf("staged files left: %q", left)
			}
		})
	}
}

// TestServerStopped: with the server gone, Commit, Open and New fail
// (after the client's retries, so the cases run side by side) with an
// error naming the blob or the bucket, and the server, and Commit leaves
// no staged file.
func TestServerStopped(t *testing.T) {
	content := []byte("a package\n")
	digest := digestOf(content)
	for _, tc := range []struct {
		name string
		do   func(ctx context.Context, o *objectStore, s *Store, staging string) error
		want []string
	}{
		{"commit", func(ctx context.Context, _ *objectStore, s *Store, _ string) error {
			return put(ctx, s, content, digest)
		}, []string{"commit blob " + digest + " to bucket depot"}},
		{"open", func(ctx context.Context, _ *objectStore, s *Store, _ string) error {
			_, _, err := s.Open(ctx, digest)
			return err
		}, []string{"open blob " + digest}},
		{"new", func(ctx context.Context, o *objectStore, _ *Store, staging string) error {
			_, err := New(ctx, o.url("depot"), staging)
			return err
		}, []string{"object storage", "bucket depot"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newObjectStore(t)
			s, staging := o.open(t)
			o.srv.Close()
			want := append(tc.want, strings.TrimPrefix(o.srv.URL, "http://"))
			checkErr(t, tc.do(context.Background(), o, s, staging), want, false)
			if left := staged(t, staging); len(left) > 0 {
				t.Errorf("staged files left: %q", left)
			}
		})
	}
}

// TestNew: the URL's forms, and a bucket created when missing and reused
// when present.
func TestNew(t *testing.T) {
	o := newObjectStore(t)
	host := strings.TrimPrefix(o.srv.URL, "http://")
	for _, tc := range []struct {
		name, url string
		want      []string // in the error; none: opened
	}{
		{"a new bucket without a prefix", o.url("fresh"), nil},
		{"the same bucket again, with a prefix", o.url("fresh/a/b"), nil},
		{"no bucket", "s3+http://key:secret@" + host + "/", []string{"no bucket"}},
		{"another scheme", "http://key:secret@" + host + "/depot", []string{"http://key:xxxxx@" + host + "/depot", "scheme must be s3 or s3+http"}},
		{"not a URL", "s3://key:secret@%zz/depot", []string{"blob URL", "invalid URL escape"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(context.Background(), tc.url, t.TempDir())
			checkErr(t, err, tc.want, false)
			if err != nil {
				if strings.Contains(err.Error(), ":secret@") {
					t.Errorf("the error shows the secret key: %v", err)
				}
				return
			}
			if ok, _ := o.backend.BucketExists("fresh"); !ok {
				t.Error("bucket fresh not created")
			}
			content := []byte(tc.name)
			if err := put(context.Background(), s, content, digestOf(content)); err != nil {
				t.Fatal(err)
			}
		})
	}
	if got := len(o.keys(t, "fresh")); got != 2 {
		t.Errorf("%d objects in the bucket, want 2", got)
	}
}

func checkErr(t *testing.T, err error, want []string, notFound bool) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want one saying %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if got := errors.Is(err, blobs.ErrNotFound); got != notFound {
		t.Errorf("errors.Is(%v, blobs.ErrNotFound) = %v, want %v", err, got, notFound)
	}
}
