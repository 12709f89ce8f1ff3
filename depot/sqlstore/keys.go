package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// PutPublicKey stores an origin public key revision; ErrConflict if that
// revision exists.
func (s *Store) PutPublicKey(ctx context.Context, originID int64, revision, body string, owner int64) error {
	return s.putKey(ctx, "origin_public_keys", originID, revision, body, owner)
}

// PutSecretKey stores an origin secret key revision, replacing it if it
// exists.
func (s *Store) PutSecretKey(ctx context.Context, originID int64, revision, body string, owner int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO origin_secret_keys (origin_id, revision, body, owner_id, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (origin_id, revision) DO UPDATE SET body = excluded.body`, originID, revision, body, owner, s.stamp())
	if err != nil {
		return fmt.Errorf("store secret key %s: %w", revision, err)
	}
	return nil
}

func (s *Store) putKey(ctx context.Context, table string, originID int64, revision, body string, owner int64) error {
	var id int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO `+table+` (origin_id, revision, body, owner_id, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (origin_id, revision) DO NOTHING RETURNING id`, originID, revision, body, owner, s.stamp()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("key revision %s: %w", revision, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store key revision %s: %w", revision, err)
	}
	return nil
}

// PublicKeyRevisions lists an origin's public key revisions, newest first.
func (s *Store) PublicKeyRevisions(ctx context.Context, origin string) ([]string, error) {
	return s.strings(ctx, `SELECT k.revision FROM origin_public_keys k JOIN origins o ON o.id = k.origin_id WHERE o.name = $1 ORDER BY k.revision DESC`, origin)
}

// PublicKey returns a public key file; revision "" means the latest.
func (s *Store) PublicKey(ctx context.Context, origin, revision string) (rev, body string, err error) {
	return s.key(ctx, "origin_public_keys", origin, revision)
}

// SecretKey returns a secret key file; revision "" means the latest.
func (s *Store) SecretKey(ctx context.Context, origin, revision string) (rev, body string, err error) {
	return s.key(ctx, "origin_secret_keys", origin, revision)
}

func (s *Store) key(ctx context.Context, table, origin, revision string) (string, string, error) {
	q := `SELECT k.revision, k.body FROM ` + table + ` k JOIN origins o ON o.id = k.origin_id WHERE o.name = $1 `
	args := []any{origin}
	if revision != "" {
		q += `AND k.revision = $2`
		args = append(args, revision)
	} else {
		q += `ORDER BY k.revision DESC LIMIT 1`
	}
	var rev, body string
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&rev, &body)
	return rev, body, notFound(err, fmt.Sprintf("key %s-%s", origin, revision))
}

// EncryptionKey returns the origin's box key pair, made by generate (which
// returns revision, public and secret key files) and stored the first time.
func (s *Store) EncryptionKey(ctx context.Context, originID int64, generate func() (string, string, string, error)) (rev, public, secret string, err error) {
	q := `SELECT revision, public_body, secret_body FROM origin_encryption_keys WHERE origin_id = $1`
	err = s.db.QueryRowContext(ctx, q, originID).Scan(&rev, &public, &secret)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return rev, public, secret, err
	}
	rev, public, secret, err = generate()
	if err != nil {
		return "", "", "", err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO origin_encryption_keys (origin_id, revision, public_body, secret_body, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (origin_id) DO NOTHING`, originID, rev, public, secret, s.stamp()); err != nil {
		return "", "", "", fmt.Errorf("store encryption key: %w", err)
	}
	// Another request may have stored its own first: read back the winner.
	err = s.db.QueryRowContext(ctx, q, originID).Scan(&rev, &public, &secret)
	return rev, public, secret, err
}

// Secret is an origin secret (the value is an encrypted message).
type Secret struct {
	ID        int64
	Name      string
	Value     string
	OwnerID   int64
	CreatedAt string
	UpdatedAt string
}

// PutSecret creates or replaces an origin secret.
func (s *Store) PutSecret(ctx context.Context, originID int64, name, value string, owner int64) error {
	now := s.stamp()
	_, err := s.db.ExecContext(ctx, `INSERT INTO origin_secrets (origin_id, name, value, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (origin_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, originID, name, value, owner, now)
	if err != nil {
		return fmt.Errorf("store secret %s: %w", name, err)
	}
	return nil
}

// Secrets lists an origin's secrets by name.
func (s *Store) Secrets(ctx context.Context, originID int64) ([]Secret, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, value, owner_id, created_at, updated_at FROM origin_secrets WHERE origin_id = $1 ORDER BY name`, originID)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defer rows.Close()
	out := []Secret{}
	for rows.Next() {
		var v Secret
		if err := rows.Scan(&v.ID, &v.Name, &v.Value, &v.OwnerID, &v.CreatedAt, &v.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// DeleteSecret deletes an origin secret.
func (s *Store) DeleteSecret(ctx context.Context, originID int64, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM origin_secrets WHERE origin_id = $1 AND name = $2`, originID, name)
	return affected(res, err, "secret "+name)
}

// CreateIntegration stores an integration's body; ErrConflict when the
// origin has one of that kind and name (Builder inserts, and its unique
// index answers 409).
func (s *Store) CreateIntegration(ctx context.Context, originID int64, integration, name, body string) error {
	now := s.stamp()
	var id int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO origin_integrations (origin_id, integration, name, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (origin_id, integration, name) DO NOTHING RETURNING origin_id`, originID, integration, name, body, now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("integration %s/%s: %w", integration, name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store integration %s/%s: %w", integration, name, err)
	}
	return nil
}

// Integration returns an integration's body.
func (s *Store) Integration(ctx context.Context, originID int64, integration, name string) (string, error) {
	var body string
	err := s.db.QueryRowContext(ctx, `SELECT body FROM origin_integrations WHERE origin_id = $1 AND integration = $2 AND name = $3`, originID, integration, name).Scan(&body)
	return body, notFound(err, "integration "+integration+"/"+name)
}

// IntegrationNames lists the names of one integration kind, sorted.
func (s *Store) IntegrationNames(ctx context.Context, originID int64, integration string) ([]string, error) {
	return s.strings(ctx, `SELECT name FROM origin_integrations WHERE origin_id = $1 AND integration = $2 ORDER BY name`, originID, integration)
}

// Integrations lists the names of each of an origin's integration kinds,
// sorted, in one query.
func (s *Store) Integrations(ctx context.Context, originID int64) (map[string][]string, error) {
	out := map[string][]string{}
	err := eachRow(ctx, s.db, `SELECT integration, name FROM origin_integrations WHERE origin_id = $1 ORDER BY integration, name`, []any{originID}, pairs(out))
	if err != nil {
		return nil, fmt.Errorf("integrations of origin %d: %w", originID, err)
	}
	return out, nil
}

// DeleteIntegration deletes an integration.
func (s *Store) DeleteIntegration(ctx context.Context, originID int64, integration, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM origin_integrations WHERE origin_id = $1 AND integration = $2 AND name = $3`, originID, integration, name)
	return affected(res, err, "integration "+integration+"/"+name)
}

// Setting is a package's settings row.
type Setting struct {
	ID         int64
	Origin     string
	Name       string
	Visibility string
	OwnerID    int64
	CreatedAt  string
	UpdatedAt  string
}

const settingSelect = `SELECT s.id, o.name, s.name, s.visibility, s.owner_id, s.created_at, s.updated_at FROM package_settings s JOIN origins o ON o.id = s.origin_id `

func scanSetting(row interface{ Scan(...any) error }) (Setting, error) {
	var v Setting
	err := row.Scan(&v.ID, &v.Origin, &v.Name, &v.Visibility, &v.OwnerID, &v.CreatedAt, &v.UpdatedAt)
	return v, err
}

// Setting returns the settings of package origin/name.
func (s *Store) Setting(ctx context.Context, originID int64, name string) (Setting, error) {
	v, err := scanSetting(s.db.QueryRowContext(ctx, settingSelect+`WHERE s.origin_id = $1 AND s.name = $2`, originID, name))
	return v, notFound(err, "package settings of "+name)
}

// CreateSetting creates a settings row; ErrConflict if it exists.
func (s *Store) CreateSetting(ctx context.Context, originID int64, name, visibility string, owner int64) (Setting, error) {
	var id int64
	now := s.stamp()
	err := s.db.QueryRowContext(ctx, `INSERT INTO package_settings (origin_id, name, visibility, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (origin_id, name) DO NOTHING RETURNING id`, originID, name, visibility, owner, now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Setting{}, fmt.Errorf("package settings of %s: %w", name, ErrConflict)
	}
	if err != nil {
		return Setting{}, fmt.Errorf("package settings of %s: %w", name, err)
	}
	return s.Setting(ctx, originID, name)
}

// UpdateSetting changes a package's visibility setting.
func (s *Store) UpdateSetting(ctx context.Context, originID int64, name, visibility string) (Setting, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE package_settings SET visibility = $1, updated_at = $2 WHERE origin_id = $3 AND name = $4`, visibility, s.stamp(), originID, name)
	if err := affected(res, err, "package settings of "+name); err != nil {
		return Setting{}, err
	}
	return s.Setting(ctx, originID, name)
}

// DeleteSetting deletes a settings row; Refused while packages of that
// name remain (any release, target or visibility), as Builder refuses.
func (s *Store) DeleteSetting(ctx context.Context, originID int64, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM packages WHERE origin_id = $1 AND name = $2`, originID, name).Scan(&n); err != nil {
			return fmt.Errorf("package settings of %s: %w", name, err)
		}
		if n > 0 {
			return &Refused{Reason: fmt.Sprintf("%d packages of %s remain (delete them first)", n, name)}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM package_settings WHERE origin_id = $1 AND name = $2`, originID, name)
		return affected(res, err, "package settings of "+name)
	})
}

// SettingNames pages the distinct package names with settings rows.
func (s *Store) SettingNames(ctx context.Context, originID int64, offset, limit int) ([]string, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM package_settings WHERE origin_id = $1`, originID).Scan(&total); err != nil {
		return nil, 0, err
	}
	names, err := s.strings(ctx, `SELECT name FROM package_settings WHERE origin_id = $1 ORDER BY name LIMIT $2 OFFSET $3`, originID, limit, offset)
	return names, total, err
}
