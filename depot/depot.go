// Package depot puts a depot together from its settings: the metadata
// database (embedded SQLite under the data directory, or PostgreSQL), the
// blob store (a directory), and the HTTP server that speaks Builder's API.
package depot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/habgo/hab/depot/blobs"
	"github.com/habgo/hab/depot/s3blobs"
	"github.com/habgo/hab/depot/server"
	"github.com/habgo/hab/depot/sqlstore"
)

// Options are a depot's settings, resolved by the caller.
type Options struct {
	DataDir       string // holds depot.db and blobs/ unless the URLs below say otherwise
	DatabaseURL   string // postgres://... ; empty for the embedded database
	BlobURL       string // file:///dir or a directory path; empty for DataDir/blobs
	DevAuth       bool
	MaxUploadSize int64
	Log           *slog.Logger
}

// Depot is an opened depot.
type Depot struct {
	Store  *sqlstore.Store
	Server *server.Server
	Blobs  BlobStore
}

// DatabaseDSN is the database the options name.
func (o Options) DatabaseDSN() string {
	if o.DatabaseURL != "" {
		return o.DatabaseURL
	}
	return filepath.Join(o.DataDir, "depot.db")
}

// OpenStore opens (and migrates) the metadata database alone, as
// `hab depot token create` needs.
func OpenStore(ctx context.Context, o Options) (*sqlstore.Store, error) {
	return sqlstore.Open(ctx, o.DatabaseDSN())
}

// Open opens the database and the blob store and builds the server.
func Open(ctx context.Context, o Options) (*Depot, error) {
	bs, err := openBlobs(ctx, o)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, o)
	if err != nil {
		return nil, err
	}
	srv := server.New(server.Config{Store: st, Blobs: bs, Log: o.Log, DevAuth: o.DevAuth, MaxUploadSize: o.MaxUploadSize})
	return &Depot{Store: st, Server: srv, Blobs: bs}, nil
}

// openBlobs opens the blob store the options name: object storage for an
// s3:// or s3+http:// URL (uploads staged under DataDir), else a directory.
func openBlobs(ctx context.Context, o Options) (BlobStore, error) {
	switch {
	case o.BlobURL == "":
		return openDir(filepath.Join(o.DataDir, "blobs"))
	case strings.HasPrefix(o.BlobURL, "s3://"), strings.HasPrefix(o.BlobURL, "s3+http://"):
		s, err := s3blobs.New(ctx, o.BlobURL, filepath.Join(o.DataDir, "staging"))
		if err != nil {
			return nil, err
		}
		return s3Blobs{s}, nil
	case strings.HasPrefix(o.BlobURL, "file://"):
		return openDir(strings.TrimPrefix(o.BlobURL, "file://"))
	case strings.Contains(o.BlobURL, "://"):
		return nil, fmt.Errorf("blob URL %s: use a directory, file:///DIR, s3://KEY:SECRET@HOST/BUCKET or s3+http://…", o.BlobURL)
	}
	return openDir(o.BlobURL)
}

// BlobStore is the server's blob store, with a count of what it holds.
type BlobStore interface {
	server.BlobStore
	Count(ctx context.Context) (int, error)
}

func openDir(dir string) (BlobStore, error) {
	d, err := blobs.New(dir)
	if err != nil {
		return nil, err
	}
	return dirBlobs{d}, nil
}

// Close closes the database.
func (d *Depot) Close() error { return d.Store.Close() }

// dirBlobs adapts blobs.Dir to server.BlobStore.
type dirBlobs struct{ d *blobs.Dir }

func (b dirBlobs) Create(ctx context.Context) (server.BlobWriter, error) { return b.d.Create(ctx) }

func (b dirBlobs) Open(ctx context.Context, digest string) (io.ReadSeekCloser, int64, error) {
	return b.d.Open(ctx, digest)
}

func (b dirBlobs) Count(ctx context.Context) (int, error) { return b.d.Count() }

// s3Blobs adapts s3blobs.Store to server.BlobStore.
type s3Blobs struct{ s *s3blobs.Store }

func (b s3Blobs) Create(ctx context.Context) (server.BlobWriter, error) { return b.s.Create(ctx) }

func (b s3Blobs) Open(ctx context.Context, digest string) (io.ReadSeekCloser, int64, error) {
	return b.s.Open(ctx, digest)
}

func (b s3Blobs) Count(ctx context.Context) (int, error) { return b.s.Count(ctx) }
