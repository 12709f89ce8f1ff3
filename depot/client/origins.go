package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/core/ident"
)

// Origin is a depot's origin (GET /depot/origins/{o}, and the answer to
// its creation).
type Origin struct {
	Name                     string  `json:"name"`
	OwnerID                  string  `json:"owner_id"`
	OwnerAccount             string  `json:"owner_account,omitempty"`
	PrivateKeyName           *string `json:"private_key_name,omitempty"`
	DefaultPackageVisibility string  `json:"default_package_visibility"`
	CreatedAt                string  `json:"created_at,omitempty"`
	UpdatedAt                string  `json:"updated_at,omitempty"`
}

// Invitation to join an origin.
type Invitation struct {
	ID          string `json:"id"`
	Origin      string `json:"origin"`
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
	OwnerID     string `json:"owner_id"`
	Ignored     bool   `json:"ignored"`
	CreatedAt   string `json:"created_at,omitempty"`
	UpdatedAt   string `json:"updated_at,omitempty"`
}

// Secret is an origin secret as listed (its value stays encrypted).
type Secret struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// Roles of origin members, from lowest to highest.
var Roles = []string{"readonly_member", "member", "maintainer", "administrator", "owner"}

// ParseRole reads a role name, case-insensitively as the original does.
func ParseRole(s string) (string, error) {
	l := strings.ToLower(s)
	for _, r := range Roles {
		if r == l {
			return r, nil
		}
	}
	return "", fmt.Errorf("invalid role %q: one of %s", s, strings.Join(Roles, ", "))
}

func checkOrigin(o string) error {
	if !ident.ValidOrigin(o) {
		return fmt.Errorf("invalid origin name %q (lowercase letters, digits, _ and -, starting with a letter or digit)", o)
	}
	return nil
}

// checkAccount refuses account names that cannot be one path segment.
func checkAccount(a string) error {
	if a == "" || a == "." || a == ".." || strings.ContainsAny(a, "/\\\x00") {
		return fmt.Errorf("invalid account name %q", a)
	}
	return nil
}

// CreateOrigin creates an origin owned by the caller (POST
// /depot/origins, 201). visibility may be empty (public).
func (c *Client) CreateOrigin(ctx context.Context, name, visibility string) (*Origin, error) {
	if err := checkOrigin(name); err != nil {
		return nil, err
	}
	v := map[string]string{"name": name}
	if visibility != "" {
		v["default_package_visibility"] = visibility
	}
	body, size, err := jsonBody(v)
	if err != nil {
		return nil, err
	}
	var o Origin
	_, err = c.call(ctx, &request{method: http.MethodPost, segments: []string{"depot", "origins"}, body: body, size: size, ctype: "application/json", auth: true, expect: []int{http.StatusCreated}}, &o)
	if err != nil {
		return nil, fmt.Errorf("create origin %s: %w", name, err)
	}
	return &o, nil
}

// Origin shows an origin (GET /depot/origins/{o}).
func (c *Client) Origin(ctx context.Context, name string) (*Origin, error) {
	if err := checkOrigin(name); err != nil {
		return nil, err
	}
	var o Origin
	if _, err := c.call(ctx, &request{method: http.MethodGet, segments: []string{"depot", "origins", name}, expect: []int{http.StatusOK}}, &o); err != nil {
		return nil, fmt.Errorf("origin %s: %w", name, err)
	}
	return &o, nil
}

// originCall is an authenticated call on an origin's route with no
// answer body.
func (c *Client) originCall(ctx context.Context, what, method, origin string, expect int, q url.Values, rest ...string) error {
	if err := checkOrigin(origin); err != nil {
		return err
	}
	_, err := c.call(ctx, &request{method: method, segments: append([]string{"depot", "origins", origin}, rest...), query: q, auth: true, expect: []int{expect}}, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// DeleteOrigin deletes an empty origin (DELETE /depot/origins/{o}, 204).
func (c *Client) DeleteOrigin(ctx context.Context, name string) error {
	return c.originCall(ctx, "delete origin "+name, http.MethodDelete, name, http.StatusNoContent, nil)
}

// TransferOrigin hands the origin to another member (204).
func (c *Client) TransferOrigin(ctx context.Context, origin, account string) error {
	if err := checkAccount(account); err != nil {
		return err
	}
	return c.originCall(ctx, fmt.Sprintf("transfer origin %s to %s", origin, account), http.MethodPost, origin, http.StatusNoContent, nil, "transfer", account)
}

// DepartOrigin leaves the origin (204).
func (c *Client) DepartOrigin(ctx context.Context, origin string) error {
	return c.originCall(ctx, "depart from origin "+origin, http.MethodPost, origin, http.StatusNoContent, nil, "depart")
}

// UserInvitations lists the invitations addressed to the caller.
func (c *Client) UserInvitations(ctx context.Context) ([]Invitation, error) {
	var out []Invitation
	if _, err := c.call(ctx, &request{method: http.MethodGet, segments: []string{"user", "invitations"}, auth: true, expect: []int{http.StatusOK}}, &out); err != nil {
		return nil, fmt.Errorf("list my invitations: %w", err)
	}
	return out, nil
}

// OriginInvitations lists an origin's pending invitations.
func (c *Client) OriginInvitations(ctx context.Context, origin string) ([]Invitation, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	var out struct {
		Invitations []Invitation `json:"invitations"`
	}
	if _, err := c.call(ctx, &request{method: http.MethodGet, segments: []string{"depot", "origins", origin, "invitations"}, auth: true, expect: []int{http.StatusOK}}, &out); err != nil {
		return nil, fmt.Errorf("list invitations of origin %s: %w", origin, err)
	}
	return out.Invitations, nil
}

// SendInvitation invites an account into an origin (201).
func (c *Client) SendInvitation(ctx context.Context, origin, account string) (*Invitation, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	if err := checkAccount(account); err != nil {
		return nil, err
	}
	var inv Invitation
	if _, err := c.call(ctx, &request{method: http.MethodPost, segments: []string{"depot", "origins", origin, "users", account, "invitations"}, auth: true, expect: []int{http.StatusCreated}}, &inv); err != nil {
		return nil, fmt.Errorf("invite %s into origin %s: %w", account, origin, err)
	}
	return &inv, nil
}

// AcceptInvitation accepts invitation id of an origin (204).
func (c *Client) AcceptInvitation(ctx context.Context, origin string, id uint64) error {
	return c.originCall(ctx, fmt.Sprintf("accept invitation %d to origin %s", id, origin), http.MethodPut, origin, http.StatusNoContent, nil, "invitations", strconv.FormatUint(id, 10))
}

// IgnoreInvitation ignores invitation id of an origin (204).
func (c *Client) IgnoreInvitation(ctx context.Context, origin string, id uint64) error {
	return c.originCall(ctx, fmt.Sprintf("ignore invitation %d to origin %s", id, origin), http.MethodPut, origin, http.StatusNoContent, nil, "invitations", strconv.FormatUint(id, 10), "ignore")
}

// RescindInvitation withdraws invitation id of an origin (204).
func (c *Client) RescindInvitation(ctx context.Context, origin string, id uint64) error {
	return c.originCall(ctx, fmt.Sprintf("rescind invitation %d to origin %s", id, origin), http.MethodDelete, origin, http.StatusNoContent, nil, "invitations", strconv.FormatUint(id, 10))
}

// MemberRole is an origin member's role.
func (c *Client) MemberRole(ctx context.Context, origin, account string) (string, error) {
	if err := checkOrigin(origin); err != nil {
		return "", err
	}
	if err := checkAccount(account); err != nil {
		return "", err
	}
	var out struct {
		Role string `json:"role"`
	}
	if _, err := c.call(ctx, &request{method: http.MethodGet, segments: []string{"depot", "origins", origin, "users", account, "role"}, auth: true, expect: []int{http.StatusOK}}, &out); err != nil {
		return "", fmt.Errorf("role of %s in origin %s: %w", account, origin, err)
	}
	return out.Role, nil
}

// SetMemberRole changes an origin member's role (204).
func (c *Client) SetMemberRole(ctx context.Context, origin, account, role string) error {
	if err := checkAccount(account); err != nil {
		return err
	}
	r, err := ParseRole(role)
	if err != nil {
		return err
	}
	return c.originCall(ctx, fmt.Sprintf("set the role of %s in origin %s to %s", account, origin, r), http.MethodPut, origin, http.StatusNoContent, url.Values{"role": {r}}, "users", account, "role")
}

// Secrets lists an origin's secrets (names only; values stay encrypted).
func (c *Client) Secrets(ctx context.Context, origin string) ([]Secret, error) {
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	var out []Secret
	if _, err := c.call(ctx, &request{method: http.MethodGet, segments: []string{"depot", "origins", origin, "secret"}, auth: true, expect: []int{http.StatusOK}}, &out); err != nil {
		return nil, fmt.Errorf("list secrets of origin %s: %w", origin, err)
	}
	return out, nil
}

// UploadSecret encrypts value for the origin's public encryption key
// (fetched from the depot) and stores it as secret name; the plain value
// never leaves this machine.
func (c *Client) UploadSecret(ctx context.Context, origin, name, value string) error {
	if !ident.ValidName(name) {
		return fmt.Errorf("invalid secret name %q (letters, digits, _ and -)", name)
	}
	kd, err := c.OriginEncryptionKey(ctx, origin)
	if err != nil {
		return fmt.Errorf("upload secret %s: %w", name, err)
	}
	kf, err := crypto.ParseKeyFile(kd.Data, "the encryption key of origin "+origin)
	if err != nil {
		return fmt.Errorf("upload secret %s: %w", name, err)
	}
	pk, err := crypto.BoxPublicKeyFrom(kf)
	if err != nil {
		return fmt.Errorf("upload secret %s: the encryption key of origin %s: %w", name, origin, err)
	}
	box, err := pk.EncryptAnonymous([]byte(value))
	if err != nil {
		return fmt.Errorf("upload secret %s: encrypt: %w", name, err)
	}
	body, size, err := jsonBody(map[string]string{"name": name, "value": box.String()})
	if err != nil {
		return err
	}
	_, err = c.call(ctx, &request{method: http.MethodPost, segments: []string{"depot", "origins", origin, "secret"}, body: body, size: size, ctype: "application/json", auth: true, expect: []int{http.StatusOK, http.StatusCreated}}, nil)
	if err != nil {
		return fmt.Errorf("upload secret %s to origin %s: %w", name, origin, err)
	}
	return nil
}

// DeleteSecret deletes an origin secret (204).
func (c *Client) DeleteSecret(ctx context.Context, origin, name string) error {
	if !ident.ValidName(name) {
		return fmt.Errorf("invalid secret name %q (letters, digits, _ and -)", name)
	}
	return c.originCall(ctx, fmt.Sprintf("delete secret %s of origin %s", name, origin), http.MethodDelete, origin, http.StatusNoContent, nil, "secret", name)
}
