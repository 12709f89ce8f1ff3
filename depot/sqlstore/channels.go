package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Channel is a named set of packages in an origin.
type Channel struct {
	ID        int64
	OriginID  int64
	Origin    string
	Name      string
	OwnerID   int64
	CreatedAt string
	UpdatedAt string
}

const channelSelect = `SELECT c.id, c.origin_id, o.name, c.name, c.owner_id, c.created_at, c.updated_at FROM channels c JOIN origins o ON o.id = c.origin_id `

func scanChannel(row interface{ Scan(...any) error }) (Channel, error) {
	var c Channel
	err := row.Scan(&c.ID, &c.OriginID, &c.Origin, &c.Name, &c.OwnerID, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

// Channel finds a channel of an origin.
func (s *Store) Channel(ctx context.Context, originID int64, name string) (Channel, error) {
	c, err := scanChannel(s.db.QueryRowContext(ctx, channelSelect+`WHERE c.origin_id = $1 AND c.name = $2`, originID, name))
	return c, notFound(err, "channel "+name)
}

// CreateChannel creates a channel; ErrConflict if it exists.
func (s *Store) CreateChannel(ctx context.Context, originID int64, name string, owner int64) (Channel, error) {
	var id int64
	now := s.stamp()
	err := s.db.QueryRowContext(ctx, `INSERT INTO channels (origin_id, name, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (origin_id, name) DO NOTHING RETURNING id`, originID, name, owner, now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Channel{}, fmt.Errorf("channel %s: %w", name, ErrConflict)
	}
	if err != nil {
		return Channel{}, fmt.Errorf("create channel %s: %w", name, err)
	}
	return s.Channel(ctx, originID, name)
}

// EnsureChannel returns a channel, creating it if needed.
func (s *Store) EnsureChannel(ctx context.Context, originID int64, name string, owner int64) (Channel, error) {
	now := s.stamp()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO channels (origin_id, name, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (origin_id, name) DO NOTHING`, originID, name, owner, now); err != nil {
		return Channel{}, fmt.Errorf("create channel %s: %w", name, err)
	}
	return s.Channel(ctx, originID, name)
}

// DeleteChannel deletes a channel and its memberships, if it exists.
func (s *Store) DeleteChannel(ctx context.Context, originID int64, name string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM channels WHERE origin_id = $1 AND name = $2`, originID, name); err != nil {
		return fmt.Errorf("delete channel %s: %w", name, err)
	}
	return nil
}

// ChannelNames lists an origin's channels by name.
func (s *Store) ChannelNames(ctx context.Context, origin string) ([]string, error) {
	return s.strings(ctx, `SELECT c.name FROM channels c JOIN origins o ON o.id = c.origin_id WHERE o.name = $1 ORDER BY c.name`, origin)
}

// Promote puts a package in a channel; promoting twice changes nothing.
// ErrNotFound if there is no such package.
func (s *Store) Promote(ctx context.Context, channelID, packageID int64) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		return addToChannel(ctx, tx, channelID, packageID, s.stamp())
	})
	if err != nil {
		return fmt.Errorf("promote package %d: %w", packageID, err)
	}
	return nil
}

// addToChannel is THE insert of a channel membership, with the release's
// sort key (see channel_packages_latest); it is a no-op when the package
// is in the channel already, ErrNotFound when there is no such package.
func addToChannel(ctx context.Context, tx *sql.Tx, channelID, packageID int64, now string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO channel_packages (channel_id, package_id, name, target, version_key, release, created_at, updated_at)
		SELECT $1, p.id, p.name, p.target, p.version_key, p.release, $3, $3 FROM packages p WHERE p.id = $2
		ON CONFLICT (channel_id, package_id) DO NOTHING`, channelID, packageID, now); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM channel_packages WHERE channel_id = $1 AND package_id = $2`, channelID, packageID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("package %d: %w", packageID, ErrNotFound)
	}
	return nil
}

// Demote takes a package out of a channel; ErrNotFound if it is not in it.
func (s *Store) Demote(ctx context.Context, channelID, packageID int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM channel_packages WHERE channel_id = $1 AND package_id = $2`, channelID, packageID)
	return affected(res, err, fmt.Sprintf("package %d in channel", packageID))
}

// PromoteChannel puts every package of src in dst.
func (s *Store) PromoteChannel(ctx context.Context, src, dst int64) error {
	now := s.stamp()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO channel_packages (channel_id, package_id, name, target, version_key, release, created_at, updated_at)
		SELECT $1, package_id, name, target, version_key, release, $2, $2 FROM channel_packages WHERE channel_id = $3
		ON CONFLICT (channel_id, package_id) DO NOTHING`, dst, now, src); err != nil {
		return fmt.Errorf("promote channel: %w", err)
	}
	return nil
}

// DemoteChannel takes every package of src out of dst.
func (s *Store) DemoteChannel(ctx context.Context, src, dst int64) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM channel_packages WHERE channel_id = $1
		AND package_id IN (SELECT package_id FROM channel_packages WHERE channel_id = $2)`, dst, src); err != nil {
		return fmt.Errorf("demote channel: %w", err)
	}
	return nil
}
