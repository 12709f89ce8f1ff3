package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestReopenMigratesOnce: a second Open of the same database applies no
// migration again and keeps the data.
func TestReopenMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "depot.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.EnsureAccount(ctx, "bobo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOrigin(ctx, "core", a.ID, "public"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if s.Dialect() != "sqlite" {
		t.Errorf("dialect %s", s.Dialect())
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
		t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, len(migrations))
	}
	o, err := s.Origin(ctx, "core")
	if err != nil || o.OwnerName != "bobo" {
		t.Errorf("origin after reopen: %+v %v", o, err)
	}
	names, _ := s.ChannelNames(ctx, "core")
	if len(names) != 2 {
		t.Errorf("channels %v", names)
	}
	if _, err := s.CreateOrigin(ctx, "core", a.ID, "public"); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate origin: %v, want ErrConflict", err)
	}
}

// TestOpenErrors: an unreachable PostgreSQL and an unwritable file are
// reported with what was being opened (the password hidden).
func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := Open(ctx, "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2")
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "secret") {
		t.Errorf("unreachable postgres: %v", err)
	}
	_, err = Open(ctx, "/proc/no/such/depot.db")
	if err == nil || !strings.Contains(err.Error(), "/proc/no/such/depot.db") {
		t.Errorf("unwritable path: %v", err)
	}
}

// TestConcurrentOpenMigratesOnce: several depots starting at once against
// one fresh PostgreSQL database (behind a load balancer) all open it, and
// each migration is applied once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	if cluster == nil {
		t.Skip(pgReason)
	}
	dsn := cluster.NewDatabase(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := Open(context.Background(), dsn)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d of %d at once: %v", i+1, n, err)
		}
	}
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var rows, distinct int
	if err := s.db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&rows, &distinct); err != nil || rows != len(migrations) || distinct != rows {
		t.Errorf("schema_migrations has %d rows, %d versions (%v), want %d", rows, distinct, err, len(migrations))
	}
}
