package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// Account is a depot user.
type Account struct {
	ID        int64
	Name      string
	Email     string
	CreatedAt string
	UpdatedAt string
}

// Token is an account's access token; only its hash is stored.
type Token struct {
	ID        int64
	AccountID int64
	CreatedAt string
}

const accountCols = `id, name, email, created_at, updated_at`

func scanAccount(row interface{ Scan(...any) error }) (Account, error) {
	var a Account
	err := row.Scan(&a.ID, &a.Name, &a.Email, &a.CreatedAt, &a.UpdatedAt)
	return a, err
}

// Account finds an account by name.
func (s *Store) Account(ctx context.Context, name string) (Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE name = $1`, name))
	return a, notFound(err, "account "+name)
}

// AccountByID finds an account by id.
func (s *Store) AccountByID(ctx context.Context, id int64) (Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	return a, notFound(err, fmt.Sprintf("account %d", id))
}

// EnsureAccount returns the account called name, creating it if needed.
func (s *Store) EnsureAccount(ctx context.Context, name string) (Account, error) {
	now := s.stamp()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO accounts (name, email, created_at, updated_at) VALUES ($1, '', $2, $2) ON CONFLICT (name) DO NOTHING`, name, now); err != nil {
		return Account{}, fmt.Errorf("create account %s: %w", name, err)
	}
	return s.Account(ctx, name)
}

// SetEmail changes an account's email.
func (s *Store) SetEmail(ctx context.Context, id int64, email string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE accounts SET email = $1, updated_at = $2 WHERE id = $3`, email, s.stamp(), id)
	return notFound(err, "update account email")
}

// SetToken makes hash the account's only token, replacing any other.
func (s *Store) SetToken(ctx context.Context, accountID int64, hash string) (Token, error) {
	t := Token{AccountID: accountID, CreatedAt: s.stamp()}
	err := s.db.QueryRowContext(ctx, `INSERT INTO account_tokens (account_id, token_hash, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at
		RETURNING id`, accountID, hash, t.CreatedAt).Scan(&t.ID)
	if err != nil {
		return Token{}, fmt.Errorf("store token of account %d: %w", accountID, err)
	}
	return t, nil
}

// AccountByToken finds the account whose token has this hash.
func (s *Store) AccountByToken(ctx context.Context, hash string) (Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT a.id, a.name, a.email, a.created_at, a.updated_at
		FROM account_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token_hash = $1`, hash))
	return a, notFound(err, "token")
}

// Tokens lists an account's tokens (at most one).
func (s *Store) Tokens(ctx context.Context, accountID int64) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, account_id, created_at FROM account_tokens WHERE account_id = $1`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		if err := rows.Scan(&t.ID, &t.AccountID, &t.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteToken removes token id if it belongs to the account.
func (s *Store) DeleteToken(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM account_tokens WHERE id = $1 AND account_id = $2`, id, accountID)
	return affected(res, err, fmt.Sprintf("token %d", id))
}

// affected maps "no row changed" to ErrNotFound.
func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}
