// Package sqlstore keeps the depot's metadata (accounts, tokens, origins,
// members, keys, packages, channels) in an SQL database: an embedded SQLite
// file (pure Go, modernc.org/sqlite) by default, or PostgreSQL (pgx) when
// several depot processes share one database. Both run the same schema and
// the same queries; every write that touches more than one row runs in one
// transaction.
package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/sys/unix"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Errors callers test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// Refused is a write the data forbids (an origin that still has packages,
// a package in stable, ...); Reason says why.
type Refused struct{ Reason string }

func (r *Refused) Error() string { return r.Reason }

// TimeLayout is the original's naive timestamp format.
const TimeLayout = "2006-01-02T15:04:05.000000"

// Store is an open metadata database.
type Store struct {
	db  *sql.DB
	d   dialect
	now func() time.Time
}

// Open opens (and migrates) the database named by dsn: a postgres:// or
// postgresql:// URL for PostgreSQL, otherwise the path of an SQLite file,
// which is created with its directory.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, len(migrations))
}

// open opens the database and applies the migrations up to number upto
// (tests open a database as an older depot left it).
func open(ctx context.Context, dsn string, upto int) (*Store, error) {
	s := &Store{now: time.Now}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s.d = postgresDialect
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", redact(dsn), err)
		}
		// A pooled connection that PostgreSQL closed (a restart, a
		// failover) is found before use and replaced, so the depot lives
		// through a database restart: a peek at the socket that does not
		// wait checks every connection taken from the pool, and one idle
		// for more than a second, or that the peek finds closed or with
		// something unasked to read, is pinged (and dropped when that
		// fails). (pgconn's CheckConn waits a millisecond for a message:
		// a millisecond added to every query.)
		s.db = stdlib.OpenDB(*cfg, stdlib.OptionShouldPing(func(_ context.Context, p stdlib.ShouldPingParams) bool {
			pc := p.Conn.PgConn()
			return p.IdleDuration > time.Second || pc.IsClosed() || !quietSocket(pc.Conn())
		}))
		s.db.SetMaxOpenConns(20)
	} else {
		path := strings.TrimPrefix(dsn, "sqlite://")
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
		s.d = sqliteDialect
		q := url.Values{}
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "busy_timeout(30000)")
		q.Set("_txlock", "immediate")
		s.db, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
		s.db.SetMaxOpenConns(8)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("connect to database %s: %w", redact(dsn), err)
	}
	if err := s.migrate(ctx, upto); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("migrate database %s: %w", redact(dsn), err)
	}
	return s, nil
}

// redact hides a password in a database URL.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Dialect names the database kind: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) stamp() string { return s.now().UTC().Format(TimeLayout) }

func (s *Store) migrate(ctx context.Context, upto int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.d.name == "postgres" {
			// Several depots may start at once against one database.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(9636)`); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return err
		}
		for v := have + 1; v <= upto; v++ {
			if _, err := tx.ExecContext(ctx, s.d.expand(migrations[v-1])); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, v, s.stamp()); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
}

// tx runs fn in a transaction, committed when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// notFound turns sql.ErrNoRows into ErrNotFound naming what was looked for.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// placeholders returns "$from, $from+1, ..." for n values.
func placeholders(from, n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(p, ", ")
}

// valuesPerQuery bounds the values one query of a list read names
// (queryChunks), so that a statement stays far below the parameters
// SQLite (32,766) and PostgreSQL (65,535) take, however long the list.
const valuesPerQuery = 500

// queryChunks runs query once for each chunk of at most valuesPerQuery of
// values (sorted, each once; none, no query), with {{IN}} in query
// replaced by the chunk's placeholders, numbered after args, whose values
// follow args; scan reads each row. It is how a list of things is read in
// a few queries rather than one per thing.
func queryChunks[T cmp.Ordered](ctx context.Context, db querier, values []T, query string, args []any, scan func(*sql.Rows) error) error {
	l := slices.Clone(values)
	slices.Sort(l)
	for chunk := range slices.Chunk(slices.Compact(l), valuesPerQuery) {
		a := slices.Clone(args)
		for _, v := range chunk {
			a = append(a, v)
		}
		if err := eachRow(ctx, db, strings.Replace(query, "{{IN}}", placeholders(len(args)+1, len(chunk)), 1), a, scan); err != nil {
			return err
		}
	}
	return nil
}

// eachRow runs query and calls scan for each row.
func eachRow(ctx context.Context, db querier, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// quietSocket reports whether the connection's socket is open with
// nothing to read, without waiting: the state of an idle connection that
// the server has not closed. It is false when that cannot be told.
func quietSocket(c net.Conn) bool {
	if u, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS
		c = u.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	// Control, not Read: pgx may have a reader of its own blocked on the
	// connection, holding the descriptor's read lock; a peek that does
	// not wait needs no lock and takes nothing from that reader.
	quiet := false
	err = rc.Control(func(fd uintptr) {
		var b [1]byte
		// EAGAIN: open, nothing to read. No error: the end of the
		// stream, or bytes nobody asked for.
		_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		quiet = errors.Is(err, unix.EAGAIN)
	})
	return err == nil && quiet
}
