package server

import (
	"context"

	"github.com/habgo/hab/depot/sqlstore"
)

// Store is the metadata the server reads and writes, in the groups below;
// depot/sqlstore implements it on SQLite and on PostgreSQL.
type Store interface {
	Accounts
	Origins
	Keys
	Packages
	Channels
}

// Accounts holds accounts and their access tokens (stored hashed).
type Accounts interface {
	Account(ctx context.Context, name string) (sqlstore.Account, error)
	AccountByToken(ctx context.Context, hash string) (sqlstore.Account, error)
	EnsureAccount(ctx context.Context, name string) (sqlstore.Account, error)
	SetEmail(ctx context.Context, id int64, email string) error
	SetToken(ctx context.Context, accountID int64, hash string) (sqlstore.Token, error)
	Tokens(ctx context.Context, accountID int64) ([]sqlstore.Token, error)
	DeleteToken(ctx context.Context, accountID, id int64) error
	UserOrigins(ctx context.Context, accountID int64) ([]sqlstore.Origin, error)
}

// Origins holds origins, members and roles, invitations, secrets,
// integrations and package settings.
type Origins interface {
	CreateOrigin(ctx context.Context, name string, owner int64, visibility string) (sqlstore.Origin, error)
	Origin(ctx context.Context, name string) (sqlstore.Origin, error)
	OriginNames(ctx context.Context) ([]string, error)
	SetOriginVisibility(ctx context.Context, originID int64, visibility string) error
	DeleteOrigin(ctx context.Context, originID int64) error
	Role(ctx context.Context, originID, accountID int64) (string, error)
	Members(ctx context.Context, originID int64) ([]string, error)
	SetRole(ctx context.Context, originID, accountID int64, role string) error
	RemoveMember(ctx context.Context, originID, accountID int64) error
	Transfer(ctx context.Context, originID, from, to int64) error
	Invite(ctx context.Context, originID, accountID, ownerID int64) (sqlstore.Invitation, error)
	OriginInvitations(ctx context.Context, originID int64) ([]sqlstore.Invitation, error)
	AccountInvitations(ctx context.Context, accountID int64) ([]sqlstore.Invitation, error)
	AcceptInvitation(ctx context.Context, originID, id int64) error
	IgnoreInvitation(ctx context.Context, originID, id int64) error
	RescindInvitation(ctx context.Context, originID, id int64) error
	PutSecret(ctx context.Context, originID int64, name, value string, owner int64) error
	Secrets(ctx context.Context, originID int64) ([]sqlstore.Secret, error)
	DeleteSecret(ctx context.Context, originID int64, name string) error
	CreateIntegration(ctx context.Context, originID int64, integration, name, body string) error
	Integration(ctx context.Context, originID int64, integration, name string) (string, error)
	IntegrationNames(ctx context.Context, originID int64, integration string) ([]string, error)
	Integrations(ctx context.Context, originID int64) (map[string][]string, error)
	DeleteIntegration(ctx context.Context, originID int64, integration, name string) error
	Setting(ctx context.Context, originID int64, name string) (sqlstore.Setting, error)
	CreateSetting(ctx context.Context, originID int64, name, visibility string, owner int64) (sqlstore.Setting, error)
	UpdateSetting(ctx context.Context, originID int64, name, visibility string) (sqlstore.Setting, error)
	DeleteSetting(ctx context.Context, originID int64, name string) error
	SettingNames(ctx context.Context, originID int64, offset, limit int) ([]string, int, error)
}

// Keys holds origin signing keys and encryption keys.
type Keys interface {
	PutPublicKey(ctx context.Context, originID int64, revision, body string, owner int64) error
	PublicKeyRevisions(ctx context.Context, origin string) ([]string, error)
	PublicKey(ctx context.Context, origin, revision string) (rev, body string, err error)
	PutSecretKey(ctx context.Context, originID int64, revision, body string, owner int64) error
	SecretKey(ctx context.Context, origin, revision string) (rev, body string, err error)
	EncryptionKey(ctx context.Context, originID int64, generate func() (string, string, string, error)) (rev, public, secret string, err error)
}

// Packages holds package releases and answers queries about them.
type Packages interface {
	InsertPackage(ctx context.Context, p sqlstore.Package, forced bool) (sqlstore.Package, error)
	Exists(ctx context.Context, ident, target string) (bool, error)
	FindPackage(ctx context.Context, f sqlstore.Filter) (sqlstore.Package, error)
	FindReleases(ctx context.Context, idents []string, target string, visibilities []string) ([]sqlstore.Package, error)
	LatestPackage(ctx context.Context, f sqlstore.Filter) (sqlstore.Package, error)
	ListIdents(ctx context.Context, f sqlstore.Filter, distinct bool, offset, limit int) ([]string, int, error)
	ListReleases(ctx context.Context, f sqlstore.Filter) ([]sqlstore.Package, error)
	PageIdents(ctx context.Context, f sqlstore.Filter, offset, limit int) ([]string, int, error)
	LatestPerName(ctx context.Context, f sqlstore.Filter) ([]string, error)
	Platforms(ctx context.Context, idents []string, visibilities []string) (map[string][]string, error)
	ChannelsOf(ctx context.Context, ids []int64) (map[int64][]sqlstore.PackageChannel, error)
	ChannelNamesOfIdents(ctx context.Context, idents []string) (map[string][]string, error)
	Search(ctx context.Context, terms []string, privateOrigins []int64, distinct bool, offset, limit int) ([]sqlstore.SearchResult, int, error)
	SetVisibility(ctx context.Context, ident, visibility string) error
	DeletePackage(ctx context.Context, id int64) error
	ReverseDeps(ctx context.Context, origin, name, target string) ([]string, error)
}

// Channels holds channels and the packages promoted into them.
type Channels interface {
	Channel(ctx context.Context, originID int64, name string) (sqlstore.Channel, error)
	CreateChannel(ctx context.Context, originID int64, name string, owner int64) (sqlstore.Channel, error)
	EnsureChannel(ctx context.Context, originID int64, name string, owner int64) (sqlstore.Channel, error)
	DeleteChannel(ctx context.Context, originID int64, name string) error
	ChannelNames(ctx context.Context, origin string) ([]string, error)
	Promote(ctx context.Context, channelID, packageID int64) error
	Demote(ctx context.Context, channelID, packageID int64) error
	PromoteChannel(ctx context.Context, src, dst int64) error
	DemoteChannel(ctx context.Context, src, dst int64) error
}

var _ Store = (*sqlstore.Store)(nil)
