// Package s3blobs keeps the depot's package files in S3-compatible object
// storage (what Builder uses), named by their BLAKE2b digest. An upload is
// received into a local temporary file (depot/blobs), verified there, and
// only then put as one object: S3 makes an object visible only once it is
// complete, so readers never see a partial package.
package s3blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/habgo/hab/depot/blobs"
)

// Store is a bucket (and key prefix) of package files.
type Store struct {
	c      *minio.Client
	bucket string
	prefix string
	tmp    *blobs.Dir
}

// New opens the store named by rawURL, s3://KEY:SECRET@HOST[:PORT]/BUCKET[/PREFIX]
// (s3+http:// for a plain-HTTP endpoint; ?region=R), creating the bucket
// if it does not exist. Uploads are staged in tmpDir.
func New(ctx context.Context, rawURL, tmpDir string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the URL, secret key and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("blob URL (not shown: it holds the secret key): %w", err)
	}
	secure := u.Scheme == "s3"
	if !secure && u.Scheme != "s3+http" {
		return nil, fmt.Errorf("blob URL %s: scheme must be s3 or s3+http", u.Redacted())
	}
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if bucket == "" {
		return nil, fmt.Errorf("blob URL %s: no bucket", u.Redacted())
	}
	secret, _ := u.User.Password()
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(u.User.Username(), secret, ""),
		Secure:       secure,
		Region:       u.Query().Get("region"),
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("blob URL %s: %w", u.Redacted(), err)
	}
	exists, err := c.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("object storage %s: bucket %s: %w", u.Host, bucket, err)
	}
	if !exists {
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: u.Query().Get("region")}); err != nil {
			return nil, fmt.Errorf("object storage %s: create bucket %s: %w", u.Host, bucket, err)
		}
	}
	tmp, err := blobs.New(tmpDir)
	if err != nil {
		return nil, err
	}
	return &Store{c: c, bucket: bucket, prefix: prefix, tmp: tmp}, nil
}

func (s *Store) key(digest string) string { return path.Join(s.prefix, digest[:2], digest) }

// Writer stages one blob locally and puts it on Commit.
type Writer struct {
	*blobs.Writer
	s *Store
}

// Create starts a new blob.
func (s *Store) Create(ctx context.Context) (*Writer, error) {
	w, err := s.tmp.Create(ctx)
	if err != nil {
		return nil, err
	}
	return &Writer{Writer: w, s: s}, nil
}

// Commit puts the staged file as the object named by digest (which the
// caller computed from the same bytes) and removes the local copy.
func (w *Writer) Commit(ctx context.Context, digest string) error {
	defer w.Abort()
	if !blobs.ValidDigest(digest) {
		return fmt.Errorf("commit blob as %q: not a lowercase hex BLAKE2b-256 digest", digest)
	}
	size, err := w.Finish()
	if err != nil {
		return err
	}
	f, err := os.Open(w.File())
	if err != nil {
		return fmt.Errorf("commit blob %s: %w", digest, err)
	}
	defer f.Close()
	// Over plain HTTP the client signs the body in aws-chunked streams,
	// and sends an empty one without a Content-Length, which S3 refuses
	// (MissingContentLength): an empty body, with nothing to sign, goes
	// unsigned in one piece.
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", DisableContentSha256: size == 0}
	if _, err := w.s.c.PutObject(ctx, w.s.bucket, w.s.key(digest), f, size, opts); err != nil {
		return fmt.Errorf("commit blob %s to bucket %s: %w", digest, w.s.bucket, err)
	}
	return nil
}

// Open opens a stored blob with its size; blobs.ErrNotFound if absent.
// S3 answers the HEAD that finds the size with a bare 404 also when the
// bucket itself is gone (New made sure it existed), so that is
// blobs.ErrNotFound too.
func (s *Store) Open(ctx context.Context, digest string) (io.ReadSeekCloser, int64, error) {
	if !blobs.ValidDigest(digest) {
		return nil, 0, fmt.Errorf("open blob %q: %w", digest, blobs.ErrNotFound)
	}
	o, err := s.c.GetObject(ctx, s.bucket, s.key(digest), minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("open blob %s: %w", digest, err)
	}
	st, err := o.Stat()
	if err != nil {
		o.Close()
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, 0, fmt.Errorf("open blob %s: %w", digest, blobs.ErrNotFound)
		}
		return nil, 0, fmt.Errorf("open blob %s: %w", digest, err)
	}
	return o, st.Size, nil
}

// Count is the number of objects under the store's prefix (for tests and
// checks).
func (s *Store) Count(ctx context.Context) (int, error) {
	n := 0
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if o.Err != nil {
			return n, o.Err
		}
		n++
	}
	return n, nil
}
