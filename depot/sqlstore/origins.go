package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Origin is an origin with its owner's name.
type Origin struct {
	ID                       int64
	Name                     string
	OwnerID                  int64
	OwnerName                string
	DefaultPackageVisibility string
	CreatedAt                string
	UpdatedAt                string
	PackageCount             int64 // filled by UserOrigins only
}

// Default channels, present in every origin.
const (
	Unstable = "unstable"
	Stable   = "stable"
)

const originCols = `o.id, o.name, o.owner_id, a.name, o.default_package_visibility, o.created_at, o.updated_at`

func scanOrigin(row interface{ Scan(...any) error }) (Origin, error) {
	var o Origin
	err := row.Scan(&o.ID, &o.Name, &o.OwnerID, &o.OwnerName, &o.DefaultPackageVisibility, &o.CreatedAt, &o.UpdatedAt)
	return o, err
}

// CreateOrigin creates an origin owned by owner, with its owner membership
// and its unstable and stable channels. ErrConflict if it exists.
func (s *Store) CreateOrigin(ctx context.Context, name string, owner int64, visibility string) (Origin, error) {
	now := s.stamp()
	var o Origin
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO origins (name, owner_id, default_package_visibility, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name) DO NOTHING RETURNING id`, name, owner, visibility, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("origin %s: %w", name, ErrConflict)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO origin_members (origin_id, account_id, role, created_at, updated_at) VALUES ($1, $2, 'owner', $3, $3)`, id, owner, now); err != nil {
			return err
		}
		for _, ch := range []string{Unstable, Stable} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO channels (origin_id, name, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`, id, ch, owner, now); err != nil {
				return err
			}
		}
		o, err = scanOrigin(tx.QueryRowContext(ctx, `SELECT `+originCols+` FROM origins o JOIN accounts a ON a.id = o.owner_id WHERE o.id = $1`, id))
		return err
	})
	if err != nil {
		return Origin{}, fmt.Errorf("create origin %s: %w", name, err)
	}
	return o, nil
}

// Origin finds an origin by name.
func (s *Store) Origin(ctx context.Context, name string) (Origin, error) {
	o, err := scanOrigin(s.db.QueryRowContext(ctx, `SELECT `+originCols+` FROM origins o JOIN accounts a ON a.id = o.owner_id WHERE o.name = $1`, name))
	return o, notFound(err, "origin "+name)
}

// SetOriginVisibility changes an origin's default package visibility.
func (s *Store) SetOriginVisibility(ctx context.Context, originID int64, visibility string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE origins SET default_package_visibility = $1, updated_at = $2 WHERE id = $3`, visibility, s.stamp(), originID)
	return affected(res, err, "update origin")
}

// DeleteOrigin deletes an origin that holds nothing but its owner and its
// two default channels; otherwise it returns a *Refused saying what is left.
func (s *Store) DeleteOrigin(ctx context.Context, originID int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		checks := []struct {
			query string
			want  int
			what  string
		}{
			{`SELECT COUNT(*) FROM origin_members WHERE origin_id = $1`, 1, "members other than its owner"},
			{`SELECT COUNT(*) FROM origin_secrets WHERE origin_id = $1`, 0, "secrets"},
			{`SELECT COUNT(*) FROM origin_integrations WHERE origin_id = $1`, 0, "integrations"},
			{`SELECT COUNT(*) FROM channels WHERE origin_id = $1`, 2, "channels other than unstable and stable"},
			{`SELECT COUNT(*) FROM packages WHERE origin_id = $1`, 0, "packages"},
			{`SELECT COUNT(*) FROM package_settings WHERE origin_id = $1`, 0, "package settings"},
		}
		for _, c := range checks {
			var n int
			if err := tx.QueryRowContext(ctx, c.query, originID).Scan(&n); err != nil {
				return err
			}
			if n != c.want {
				return &Refused{Reason: "the origin still has " + c.what}
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM origins WHERE id = $1`, originID)
		return err
	})
}

// Role is an account's role in an origin, ErrNotFound if not a member.
func (s *Store) Role(ctx context.Context, originID, accountID int64) (string, error) {
	var role string
	err := s.db.QueryRowContext(ctx, `SELECT role FROM origin_members WHERE origin_id = $1 AND account_id = $2`, originID, accountID).Scan(&role)
	return role, notFound(err, "membership")
}

// Members lists the names of an origin's members, sorted.
func (s *Store) Members(ctx context.Context, originID int64) ([]string, error) {
	return s.strings(ctx, `SELECT a.name FROM origin_members m JOIN accounts a ON a.id = m.account_id WHERE m.origin_id = $1 ORDER BY a.name`, originID)
}

func (s *Store) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	out := []string{}
	err := eachRow(ctx, s.db, query, args, func(rows *sql.Rows) error {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetRole changes a member's role; ErrNotFound if not a member.
func (s *Store) SetRole(ctx context.Context, originID, accountID int64, role string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE origin_members SET role = $1, updated_at = $2 WHERE origin_id = $3 AND account_id = $4`, role, s.stamp(), originID, accountID)
	return affected(res, err, "membership")
}

// RemoveMember removes a member; ErrNotFound if not a member.
func (s *Store) RemoveMember(ctx context.Context, originID, accountID int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM origin_members WHERE origin_id = $1 AND account_id = $2`, originID, accountID)
	return affected(res, err, "membership")
}

// Transfer makes to (a member) the owner and from a maintainer.
func (s *Store) Transfer(ctx context.Context, originID, from, to int64) error {
	now := s.stamp()
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE origins SET owner_id = $1, updated_at = $2 WHERE id = $3`, to, now, originID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE origin_members SET role = 'maintainer', updated_at = $1 WHERE origin_id = $2 AND account_id = $3`, now, originID, from); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE origin_members SET role = 'owner', updated_at = $1 WHERE origin_id = $2 AND account_id = $3`, now, originID, to)
		return affected(res, err, "membership of the new owner")
	})
}

// UserOrigins lists the origins an account belongs to, with package counts.
func (s *Store) UserOrigins(ctx context.Context, accountID int64) ([]Origin, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+originCols+`, (SELECT COUNT(*) FROM packages p WHERE p.origin_id = o.id)
		FROM origin_members m JOIN origins o ON o.id = m.origin_id JOIN accounts a ON a.id = o.owner_id
		WHERE m.account_id = $1 ORDER BY o.name`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list origins of account %d: %w", accountID, err)
	}
	defer rows.Close()
	out := []Origin{}
	for rows.Next() {
		var o Origin
		if err := rows.Scan(&o.ID, &o.Name, &o.OwnerID, &o.OwnerName, &o.DefaultPackageVisibility, &o.CreatedAt, &o.UpdatedAt, &o.PackageCount); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Invitation to join an origin.
type Invitation struct {
	ID          int64
	Origin      string
	AccountID   int64
	AccountName string
	OwnerID     int64
	Ignored     bool
	CreatedAt   string
	UpdatedAt   string
}

const invitationSelect = `SELECT i.id, o.name, i.account_id, a.name, i.owner_id, i.ignored, i.created_at, i.updated_at
	FROM origin_invitations i JOIN origins o ON o.id = i.origin_id JOIN accounts a ON a.id = i.account_id `

func (s *Store) invitations(ctx context.Context, where string, args ...any) ([]Invitation, error) {
	rows, err := s.db.QueryContext(ctx, invitationSelect+where+` ORDER BY i.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	defer rows.Close()
	out := []Invitation{}
	for rows.Next() {
		var v Invitation
		var ignored int
		if err := rows.Scan(&v.ID, &v.Origin, &v.AccountID, &v.AccountName, &v.OwnerID, &ignored, &v.CreatedAt, &v.UpdatedAt); err != nil {
			return nil, err
		}
		v.Ignored = ignored != 0
		out = append(out, v)
	}
	return out, rows.Err()
}

// Invite invites an account to an origin; ErrConflict if already invited.
func (s *Store) Invite(ctx context.Context, originID, accountID, ownerID int64) (Invitation, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO origin_invitations (origin_id, account_id, owner_id, ignored, created_at, updated_at)
		VALUES ($1, $2, $3, 0, $4, $4) ON CONFLICT (origin_id, account_id) DO NOTHING RETURNING id`, originID, accountID, ownerID, s.stamp()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Invitation{}, fmt.Errorf("invitation: %w", ErrConflict)
	}
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation: %w", err)
	}
	l, err := s.invitations(ctx, `WHERE i.id = $1`, id)
	if err != nil || len(l) == 0 {
		return Invitation{}, fmt.Errorf("invitation %d: %w", id, errors.Join(err, ErrNotFound))
	}
	return l[0], nil
}

// OriginInvitations lists an origin's invitations.
func (s *Store) OriginInvitations(ctx context.Context, originID int64) ([]Invitation, error) {
	return s.invitations(ctx, `WHERE i.origin_id = $1`, originID)
}

// AccountInvitations lists the invitations of an account not ignored.
func (s *Store) AccountInvitations(ctx context.Context, accountID int64) ([]Invitation, error) {
	return s.invitations(ctx, `WHERE i.account_id = $1 AND i.ignored = 0`, accountID)
}

// AcceptInvitation adds the invited account as readonly_member and removes
// the invitation.
func (s *Store) AcceptInvitation(ctx context.Context, originID, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var account int64
		err := tx.QueryRowContext(ctx, `DELETE FROM origin_invitations WHERE id = $1 AND origin_id = $2 RETURNING account_id`, id, originID).Scan(&account)
		if err != nil {
			return notFound(err, fmt.Sprintf("invitation %d", id))
		}
		now := s.stamp()
		_, err = tx.ExecContext(ctx, `INSERT INTO origin_members (origin_id, account_id, role, created_at, updated_at) VALUES ($1, $2, 'readonly_member', $3, $3)
			ON CONFLICT (origin_id, account_id) DO NOTHING`, originID, account, now)
		return err
	})
}

// IgnoreInvitation marks an invitation ignored.
func (s *Store) IgnoreInvitation(ctx context.Context, originID, id int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE origin_invitations SET ignored = 1, updated_at = $1 WHERE id = $2 AND origin_id = $3`, s.stamp(), id, originID)
	return affected(res, err, fmt.Sprintf("invitation %d", id))
}

// RescindInvitation deletes an invitation.
func (s *Store) RescindInvitation(ctx context.Context, originID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM origin_invitations WHERE id = $1 AND origin_id = $2`, id, originID)
	return affected(res, err, fmt.Sprintf("invitation %d", id))
}

// OriginNames lists every origin's name, sorted (the web page's index).
func (s *Store) OriginNames(ctx context.Context) ([]string, error) {
	l, err := s.strings(ctx, `SELECT name FROM origins ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list origins: %w", err)
	}
	return l, nil
}
