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
	blobDir := filepath.Join(o.DataDir, "blobs")
	if o.BlobURL != "" {
		switch {
		case strings.HasPrefix(o.BlobURL, "file://"):
			blobDir = strings.TrimPrefix(o.BlobURL, "file://")
		case strings.Contains(o.BlobURL, "://"):
			return nil, fmt.Errorf("blob URL %s: only file:// URLs and directories are supported", o.BlobURL)
		default:
			blobDir = o.BlobURL
		}
	}
	bs, err := blobs.New(blobDir)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, o)
	if err != nil {
		return nil, err
	}
	srv := server.New(server.Config{Store: st, Blobs: dirBlobs{bs}, Log: o.Log, DevAuth: o.DevAuth, MaxUploadSize: o.MaxUploadSize})
	return &Depot{Store: st, Server: srv}, nil
}

// Close closes the database.
func (d *Depot) Close() error { return d.Store.Close() }

// dirBlobs adapts blobs.Dir to server.BlobStore.
type dirBlobs struct{ d *blobs.Dir }

func (b dirBlobs) Create(ctx context.Context) (server.BlobWriter, error) { return b.d.Create(ctx) }

func (b dirBlobs) Open(ctx context.Context, digest string) (io.ReadSeekCloser, int64, error) {
	return b.d.Open(ctx, digest)
}
